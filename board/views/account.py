"""A signed-in user's own things: notices and e-mail settings. Every query is by the user's id."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField

from ..auth import commit, is_safe_next
from ..extensions import db, login_manager
from ..forms import ActionForm, Form, MultiCheckboxField, opts
from ..models import Notification, utcnow
from ..services import notices
from ..services.demands import paginate
from . import back, form_status, int_arg

bp = Blueprint("account", __name__, url_prefix="/account")

PER_PAGE = 20


@bp.before_request
def signed_in():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.app_context_processor
def unread_notices():
    """``unread_notices()`` in templates: the signed-in user's unread count, counted once a page."""

    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        if "unread_notices" not in g:
            g.unread_notices = notices.unread_count(current_user)
        return g.unread_notices

    return {"unread_notices": count}


class SettingsForm(Form):
    by_email = MultiCheckboxField(_l("Send me an e-mail for"))
    digest = BooleanField(_l("Gather the day's notices into one e-mail (a daily digest)"))


def _own_notice(notice_id: int) -> Notification:
    n = db.session.scalar(
        sa.select(Notification).where(Notification.id == notice_id, Notification.user_id == current_user.id)
    )
    if n is None:
        abort(404)
    return n


@bp.get("/notices")
def notices_list():
    page = paginate(
        sa.select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()),
        int_arg("page", 1),
        PER_PAGE,
    )
    return render_template("account/notices.html", page=page, text=notices.text, form=ActionForm())


@bp.get("/notices/<int:notice_id>/open")
def open_notice(notice_id: int):
    """Mark one's own notice read and follow its link (a path on this site only)."""
    n = _own_notice(notice_id)
    if n.read_at is None:
        n.read_at = utcnow()
        commit()
    if is_safe_next(n.link):
        return redirect(n.link)
    return redirect(url_for("account.notices_list"))


@bp.post("/notices/<int:notice_id>/read")
def read_notice(notice_id: int):
    n = _own_notice(notice_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    notices.mark_read(current_user, [n.id])
    commit()
    return back("account.notices_list")


@bp.post("/notices/read")
def mark_all_read():
    if not ActionForm().validate_on_submit():
        abort(400)
    notices.mark_read(current_user)
    commit()
    flash(_("All notices are marked read."), "success")
    return redirect(url_for("account.notices_list"))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    form = SettingsForm()
    form.by_email.choices = opts((kind, notices.label(kind)) for kind in notices.KINDS)
    if form.validate_on_submit():
        chosen = set(form.by_email.data or [])
        current_user.email_muted = [kind for kind in notices.KINDS if kind not in chosen]
        current_user.email_digest = bool(form.digest.data)
        commit()
        flash(_("Your e-mail settings are saved."), "success")
        return redirect(url_for("account.settings"))
    if not form.is_submitted():
        form.by_email.data = [k for k in notices.KINDS if notices.wants_email(current_user, k)]
        form.digest.data = current_user.email_digest
    return render_template("account/settings.html", form=form), form_status(form)
