"""The contact-the-park form: a message from anyone, mailed to every active staff account."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..models import OutboundMail, Role, User
from . import accounts, notices


def staff_recipients() -> list[User]:
    """Active staff accounts; the shared demo staff account only in demo mode."""
    q = sa.select(User).where(User.role == Role.STAFF, User.active.is_(True)).order_by(User.id)
    if not current_app.config["BOARD_DEMO"]:
        q = q.where(User.is_demo.is_(False))
    return list(db.session.scalars(q))


def one_line(text: str) -> str:
    """Text for a mail subject: no line breaks, single spaces."""
    return " ".join((text or "").split())


def send_to_staff(
    *, name: str, email: str, subject: str, message: str, organization: str | None = None
) -> list[OutboundMail]:
    """Queue the message for each staff member, in their language, with the sender's address
    to reply to. Returns the queued mails (none when there is no staff account)."""
    sender = accounts.normalise_email(email)
    topic = one_line(subject)
    out = []
    for user in staff_recipients():
        lang = notices.user_lang(user)
        with force_locale(lang):
            heading = _("Contact form: %(subject)s", subject=topic)
        out.append(
            notices.queue_mail(
                to=user.email, user=user, kind="contact", lang=lang, subject=heading,
                template="contact", sender_name=one_line(name), sender_email=sender,
                organization=one_line(organization or ""), topic=topic, message=message,
            )
        )
    db.session.flush()
    return out
