"""Use cases. Services change the session and flush; the request or command commits once."""
