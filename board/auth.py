"""Flask-Login wiring and the per-audience guards used by every blueprint."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, abort, current_app, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import db, login_manager


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(token: str):
        from .services import accounts

        return accounts.load_session_user(token, current_app.config["BOARD_DEMO"])

    @app.before_request
    def touch_session():
        """Load the signed-in user before the view runs, so that the idle timeout is checked
        on every request and the session's last request is saved apart from the view's work."""
        # Static files and the probes (/healthz, /readyz, /metrics) neither load nor touch it.
        if request.endpoint == "static" or request.blueprint == "ops" or "_user_id" not in session:
            return
        current_user._get_current_object()
        if db.session.dirty:
            try:
                db.session.commit()
            except sa.exc.OperationalError:  # a busy database: the next request tries again
                db.session.rollback()


def require_audience(*audiences: str):
    """A before_request guard for a whole blueprint: signed in, and allowed into one of
    ``audiences`` ("company", "supplier", "admin"). Object rules live in services.rights."""
    from .services import rights

    def guard():
        if not current_user.is_authenticated:
            if request.blueprint == "api":
                abort(401)
            return login_manager.unauthorized()
        if not any(rights.may_enter(current_user, a) for a in audiences):
            abort(403)
        # A member on both sides: the menu follows the side last opened.
        if len(rights.sides(current_user)) > 1 and session.get("side") != request.blueprint:
            session["side"] = request.blueprint
        return None

    return guard


def is_safe_next(target: str | None) -> bool:
    """Follow ``next`` only to a path on this site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    return True


def commit() -> None:
    """The request's single commit."""
    db.session.commit()

