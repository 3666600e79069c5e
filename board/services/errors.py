"""Errors services raise; views turn them into 404, 403 or a message on the form."""

from __future__ import annotations


class ServiceError(Exception):
    def __init__(self, message: str = "", field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class Invalid(ServiceError):
    """The request is well-formed but breaks a rule (message is user-facing)."""


class Duplicate(Invalid):
    """What the request would create exists already (sent twice, or by two people at once);
    ``existing`` is that record, for the answer."""

    def __init__(self, message: str = "", existing=None):
        super().__init__(message)
        self.existing = existing
