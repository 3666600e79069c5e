"""Error pages in the user's language, and JSON errors for the API."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from . import logs
from .extensions import db
from .services.errors import Forbidden, NotFound

MESSAGES = {
    400: lambda: _("The request could not be understood."),
    401: lambda: _("Please sign in to continue."),
    403: lambda: _("You do not have access to this page."),
    404: lambda: _("We could not find this page. It may have been moved or closed."),
    405: lambda: _("This action is not allowed here."),
    413: lambda: _("The upload is too large."),
    500: lambda: _("Something went wrong on our side. Please try again in a moment."),
}
#: Said on a 500 after a form was sent: the request's writes were rolled back.
NOT_SAVED = lambda: _("Nothing you entered was saved.")  # noqa: E731


FALLBACK = (
    "<!doctype html><meta charset=utf-8><title>{code}</title>"
    "<h1>{code}</h1><p>出错了，请稍后再试。您填写的内容未被保存。</p>"
    "<p>Something went wrong; please try again later. Nothing was saved.</p>"
    "<p>错误编号 · Reference: <code>{reference}</code></p>"
    '<p><a href="/">融通对接板 · Rail Transit Matchmaking Board</a></p>'
)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(code: int, message: str | None = None, *, detail: str | None = None,
                 again: str | None = None):
    """The error page (JSON under /api). ``again``: a link back to the form that failed."""
    message = message or MESSAGES.get(code, MESSAGES[400])()
    # The request id, for the user to quote: it finds the request's lines in the log.
    reference = logs.request_id()
    if _wants_json():
        return jsonify(error=message, status=code, reference=reference), code
    detail = detail or (NOT_SAVED() if code >= 500 and request.method == "POST" else None)
    # The way back never leads to the page that just failed.
    home = url_for("public.index")
    back = url_for("public.event") if request.path == home else home
    try:
        return render_template(
            "errors/error.html", code=code, message=message, detail=detail, back=back,
            reference=reference if code >= 500 else None, again=again,
        ), code
    except Exception:  # the page itself failed (e.g. the database is down): plain text
        current_app.logger.exception("Error page failed to render")
        page = FALLBACK.format(code=code, reference=escape(reference))
        return page, code, {"Content-Type": "text/html; charset=utf-8"}


def _form_again() -> str | None:
    """The address of the page that holds the form just sent, when it can be opened."""
    try:
        current_app.url_map.bind(request.host).match(request.path, method="GET")
    except Exception:  # no page to open there (or the address is not ours)
        return None
    return request.path


def init_app(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def not_found(exc):
        return render_error(404)

    @app.errorhandler(Forbidden)
    def forbidden(exc):
        return render_error(403)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(
            400,
            _("This form has expired or was sent from another site. Reload the page and try again."),
            detail=NOT_SAVED() if request.method == "POST" else None,
            again=_form_again(),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code >= 500:
            db.session.rollback()
        return render_error(code, MESSAGES[code]() if code in MESSAGES else exc.description)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        # The traceback's line carries the request id the error page shows (board/logs.py).
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        app.logger.exception("Unhandled error on %s %s", request.method, route)
        db.session.rollback()
        return render_error(500)
