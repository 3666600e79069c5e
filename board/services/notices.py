"""Notices: the in-app list and the e-mail that goes with each notice.

A notice is written in the same transaction as what caused it, and so is its e-mail (queued in
``outbound_mail``; ``flask send-mail`` delivers it). Nothing here talks to a mail server, so a
request never waits for one and never fails because of one.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import MailStatus, Notification, OutboundMail, User, utcnow

#: Every kind of notice: the label users see in their e-mail settings, and the sentence
#: shown in the list and the e-mail (its %(...)s come from the notice's params).
KINDS: dict[str, tuple] = {
    "match_confirmed": (
        _l("A match recommended by the park"),
        _l("The park staff recommend “%(capability)s” for the demand “%(demand)s”."),
    ),
    "invitation": (
        _l("An invitation to reply"),
        _l("%(org)s invites you to reply to the demand “%(demand)s”."),
    ),
    "reply_received": (
        _l("A new reply to your demand"),
        _l("%(org)s replied to your demand “%(demand)s”."),
    ),
    "reply_status": (
        _l("An answer to your reply"),
        _l("Your reply to “%(demand)s” was answered: %(status)s."),
    ),
    "reply_reminder": (
        _l("A reply waiting for your answer"),
        _l("A reply to your demand “%(demand)s” has waited %(days)s days for your answer."),
    ),
    "message": (
        _l("A new message"),
        _l("%(org)s wrote about the demand “%(demand)s”."),
    ),
    "meeting_request": (
        _l("A meeting request"),
        _l("%(org)s proposes a meeting about the demand “%(demand)s”."),
    ),
    "meeting_answer": (
        _l("An answer to a meeting request"),
        _l("%(org)s answered your meeting request about “%(demand)s”: %(status)s."),
    ),
    "meeting_cancelled": (
        _l("A meeting request withdrawn"),
        _l("%(org)s withdrew its meeting request about “%(demand)s”."),
    ),
    "demand_published": (
        _l("Your demand was published"),
        _l("Your demand “%(demand)s” is published on the board."),
    ),
    "demand_returned": (
        _l("Your demand was returned"),
        _l("The park staff returned your demand “%(demand)s”: %(reason)s"),
    ),
    "changes_approved": (
        _l("Your changes were approved"),
        _l("The changes to your demand “%(demand)s” are published."),
    ),
    "changes_returned": (
        _l("Your changes were returned"),
        _l("The park staff returned the changes to your demand “%(demand)s”: %(reason)s"),
    ),
    "deadline_soon": (
        _l("A reply-by date two days away"),
        _l("Replies to the demand “%(demand)s” close on %(date)s."),
    ),
}


def label(kind: str) -> str:
    return str(KINDS[kind][0]) if kind in KINDS else kind


def text(kind: str, params: dict) -> str:
    """The notice's sentence in the current language."""
    if kind not in KINDS:
        return kind
    values = {k: _param(v) for k, v in (params or {}).items()}
    try:
        return str(KINDS[kind][1]) % values
    except (KeyError, TypeError, ValueError):  # a notice written by an older release
        return label(kind)


def _param(value):
    """Params may carry a value per language ({"zh": ..., "en": ...}) or lazy text."""
    if isinstance(value, dict) and {"zh", "en"} & value.keys():
        from ..i18n import lang

        return value.get(lang()) or value.get("zh") or value.get("en") or ""
    return str(value) if value is not None else ""


def absolute(path: str) -> str:
    """A link for an e-mail: on this request's host, or on BOARD_URL outside a request."""
    if path.startswith(("http://", "https://")):
        return path
    base = request.host_url.rstrip("/") if has_request_context() else current_app.config["BOARD_URL"]
    return base + path


def user_lang(user: User | None) -> str:
    langs = current_app.config["BOARD_LANGUAGES"]
    return user.locale if user is not None and user.locale in langs else langs[0]


def notify(users: Iterable[User], kind: str, params: dict, link: str | None = None, *,
           actor: User | None = None) -> list[Notification]:
    """Tell each user (once, active accounts only, never the one who acted) in the app, and by
    e-mail unless they turned this kind off or read a daily digest instead."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    seen: set[int] = set()
    out = []
    for user in users:
        if user is None or user.id in seen or not user.active:
            continue
        if actor is not None and user.id == actor.id:
            continue
        seen.add(user.id)
        n = Notification(user=user, kind=kind, params=params, link=link)
        db.session.add(n)
        out.append(n)
        if wants_email(user, kind) and not user.email_digest:
            lang = user_lang(user)
            with force_locale(lang):
                sentence = text(kind, params)
                queue_mail(
                    to=user.email, user=user, kind=kind, lang=lang, subject=label(kind),
                    template="notice", sentence=sentence, link=absolute(link) if link else None,
                )
    db.session.flush()
    return out


def wants_email(user: User, kind: str) -> bool:
    return kind not in (user.email_muted or [])


def queue_mail(*, to: str, kind: str, lang: str, subject: str, template: str,
               user: User | None = None, **context) -> OutboundMail:
    """Render ``templates/mail/<template>.txt`` and ``.html`` in ``lang`` and queue the e-mail.
    With no mail server configured it goes straight to the outbox staff read."""
    with force_locale(lang):
        context.update(subject=subject, user=user, settings_link=absolute("/account/notices"))
        body_text = render_template(f"mail/{template}.txt", **context)
        body_html = render_template(f"mail/{template}.html", **context)
        subject = f"{subject} · {_('Rail Transit Matchmaking Board')}"
    status = MailStatus.QUEUED if current_app.config.get("MAIL_SERVER") else MailStatus.OUTBOX
    mail = OutboundMail(
        user_id=user.id if user is not None else None, to_email=to, kind=kind, lang=lang, subject=subject[:300],
        body_text=body_text, body_html=body_html, status=status,
    )
    db.session.add(mail)
    return mail


# -- the in-app list ----------------------------------------------------------------
def unread_count(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def mark_read(user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notices read (all of them when ``ids`` is None)."""
    q = sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        q = q.where(Notification.id.in_(list(ids)))
    return db.session.execute(q.values(read_at=utcnow())).rowcount or 0
