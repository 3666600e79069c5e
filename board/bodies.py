"""Request bodies and query strings, bounded and parsed safely.

Form bodies are bounded by ``MAX_CONTENT_LENGTH``, ``MAX_FORM_PARTS`` and
``MAX_FORM_MEMORY_SIZE`` (Flask's settings for multipart bodies, applied here to urlencoded
ones too; over them is a 413 page); a query string longer than
``MAX_QUERY_STRING`` is a 414; JSON is read through :func:`json_body`, which refuses a body
over ``MAX_JSON_BYTES``, nested deeper than ``MAX_JSON_DEPTH`` or not JSON at all with a 400
that says so in the user's language (never a 500 from the parser's recursion).
"""

from __future__ import annotations

import json
import re

from flask import Flask, abort, current_app, request
from flask_babel import gettext as _

#: JSON strings (with their escapes), removed before brackets are counted.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


class BadBody(ValueError):
    """The body cannot be read; ``message`` is for the user, ``status`` the HTTP code."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw`` (without parsing it)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_body():
    """The request's JSON, or BadBody."""
    cfg = current_app.config
    if request.content_length is not None and request.content_length > cfg["MAX_JSON_BYTES"]:
        raise BadBody(_("The text is too long."), 413)
    raw = request.get_data(cache=True)
    if len(raw) > cfg["MAX_JSON_BYTES"]:
        raise BadBody(_("The text is too long."), 413)
    if json_depth(raw) > cfg["MAX_JSON_DEPTH"]:
        raise BadBody(_("The request is nested too deeply to be read."))
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise BadBody(_("The request is not valid JSON.")) from None


def check_request():
    """Refuse an overlong query string, and a urlencoded form over the multipart bounds
    (Werkzeug applies MAX_FORM_PARTS and MAX_FORM_MEMORY_SIZE to multipart bodies only)."""
    cfg = current_app.config
    if len(request.query_string) > cfg["MAX_QUERY_STRING"]:
        abort(414, description=_("The address is too long to be read."))
    if request.mimetype == "application/x-www-form-urlencoded":
        if (request.content_length or 0) > cfg["MAX_FORM_MEMORY_SIZE"]:
            abort(413)
        if request.get_data(cache=True).count(b"&") >= cfg["MAX_FORM_PARTS"]:
            abort(413)


def init_app(app: Flask) -> None:
    # First of all before-request functions: before the CSRF check parses the form.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
