"""Logging: one structured line per request, a request id on every line, one format for the
web server, the CLI and the background worker.

``LOG_FORMAT`` is ``json``, ``logfmt`` or ``text`` (readable; the default outside production),
``LOG_LEVEL`` the level (``INFO`` by default). Lines go to standard error; the process
supervisor (systemd's journal, Docker, a file redirect) keeps and rotates them.

A request line holds the time, the request id, the method, the route rule (never the raw URL
with its query), the status, the duration in ms and the signed-in user's id. Nothing a user
typed is ever logged: no e-mail, name, password, token, contact or form text.

The request id comes from ``X-Request-ID`` only when the request came through a proxy in
``TRUSTED_PROXIES`` (and looks like an id); otherwise the board makes one. It is returned in
the ``X-Request-ID`` response header and shown on error pages as the reference to quote.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sys
import time

from flask import Flask, g, has_request_context, request, request_finished, request_started

from . import net

FORMATS = ("json", "logfmt", "text")
HEADER = "X-Request-ID"
REQUEST_LOGGER = "board.request"
#: An id a trusted proxy may hand us: short, and nothing but id characters.
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Attributes every LogRecord has; anything else was passed as ``extra`` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_MARK = "_board_handler"


def new_request_id() -> str:
    return secrets.token_hex(8)


def request_id() -> str | None:
    """The current request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get(HEADER, "")
        rid = given if net.via_trusted_proxy(request) and _GOOD_ID.fullmatch(given) else None
        rid = rid or new_request_id()
        g.request_id = rid
    return rid


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id()
        return True


def _fields(record: logging.LogRecord) -> dict:
    out = {
        "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    rid = getattr(record, "request_id", None)
    if rid:
        out["request_id"] = rid
    for key, value in vars(record).items():
        if key not in _STANDARD and key != "request_id" and not key.startswith("_"):
            if value is not None:
                out[key] = value
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = _fields(record)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


def _logfmt_value(value) -> str:
    text = "" if value is None else str(value)
    if text and not any(c in text for c in ' ="\\\n\r\t'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace(
        "\r", "\\r").replace("\t", "\\t") + '"'


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = _fields(record)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in out.items())


class TextFormatter(logging.Formatter):
    """Readable lines for a developer's terminal; tracebacks on the lines that follow."""

    def format(self, record: logging.LogRecord) -> str:
        out = _fields(record)
        head = f"{out.pop('time')[11:23]} {out.pop('level').upper():7} {out.pop('logger')}: {out.pop('msg')}"
        extra = " ".join(f"{k}={_logfmt_value(v)}" for k, v in out.items())
        line = f"{head} {extra}" if extra else head
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def make_formatter(fmt: str) -> logging.Formatter:
    return {"json": JsonFormatter, "logfmt": LogfmtFormatter}.get(fmt, TextFormatter)()


def configure(fmt: str = "text", level: str | int = "INFO", stream=None) -> logging.Handler:
    """Send every logger's records through one handler on the root logger, in ``fmt``.
    Calling it again replaces that handler (apps built in tests, the CLI after gunicorn)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _MARK, True)
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # Flask's own handler on the app logger would print every error a second time.
    from flask.logging import default_handler

    logging.getLogger("board").removeHandler(default_handler)
    return handler


def settings(env: dict, board_env: str) -> tuple[str, str]:
    """LOG_FORMAT and LOG_LEVEL from the environment; raises ValueError on a bad value."""
    fmt = (env.get("LOG_FORMAT") or ("json" if board_env == "production" else "text")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, got {fmt!r}")
    level = (env.get("LOG_LEVEL") or "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError(f"LOG_LEVEL must be a logging level (DEBUG, INFO, WARNING, ERROR), got {level!r}")
    return fmt, level


def _user_id():
    # Flask-Login keeps the user it loaded for this request on g; the request line never
    # loads one itself (a probe without a session costs no query).
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return user.id
    return None


def _start(sender, **extra) -> None:
    g.request_started = time.perf_counter()
    request_id()


def _finish(sender, response, **extra) -> None:
    response.headers[HEADER] = request_id()
    started = g.get("request_started")
    duration = (time.perf_counter() - started) * 1000 if started else 0.0
    route = request.url_rule.rule if request.url_rule is not None else None
    logging.getLogger(REQUEST_LOGGER).info(
        "request",
        extra={
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(duration, 1),
            "user_id": _user_id(),
        },
    )


def init_app(app: Flask) -> None:
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    # Signals, not before/after-request functions: they come before the first of those
    # (a throttle or a body check may answer early) and after the last, whatever order
    # other modules register theirs in.
    request_started.connect(_start, app)
    request_finished.connect(_finish, app)
