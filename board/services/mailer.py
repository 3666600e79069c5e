"""The mail worker behind ``flask send-mail``: due reminders, daily digests, then the SMTP queue.

It runs outside any web request (a timer or the job runner calls the command). Unlike the
other services it commits: each step, and each e-mail sent, is its own transaction, so one
bad address or a server going down halfway never loses the rest.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (
    Capability,
    Demand,
    DemandStatus,
    Invitation,
    MailStatus,
    Match,
    MatchStatus,
    Notification,
    OutboundMail,
    Reply,
    ReplyStatus,
    User,
    utcnow,
)
from . import notices
from .demands import paginate
from .errors import Invalid
from .rights import COMPANY_ROLES, SUPPLIER_ROLES, local_date

#: The first retry waits this long; each further one twice as long as the one before.
RETRY_BASE = dt.timedelta(minutes=5)
#: Mails sent per run at most (the next run takes the rest).
BATCH = 500
#: Errors that concern one message only: the connection stays usable for the next one.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def run(now: dt.datetime | None = None) -> dict:
    """Everything one run of ``send-mail`` does; returns what it did, by name."""
    now = now or utcnow()
    result = {"reminders": queue_reminders(now)}
    db.session.commit()
    result["deadlines"] = queue_deadline_notices(now)
    db.session.commit()
    result["digests"] = queue_digests(now)
    db.session.commit()
    result.update(deliver(now))
    return result


def summary(result: dict) -> str:
    line = (
        "{reminders} reply reminders, {deadlines} deadline notices, {digests} digests; "
        "mail: {sent} sent, {retry} to retry, {failed} failed".format(**result)
    )
    if not current_app.config.get("MAIL_SERVER"):
        line += " (no MAIL_SERVER: mail is kept in the outbox)"
    return line


# -- notices that come from the passing of time -----------------------------------------
def _path(endpoint: str, **values) -> str:
    """A local link built outside a request."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _members(org_ids, roles) -> list[User]:
    if not org_ids:
        return []
    return list(db.session.scalars(
        sa.select(User)
        .where(User.organization_id.in_(list(org_ids)), User.role.in_(list(roles)), User.active)
        .order_by(User.id)
    ))


def queue_reminders(now: dt.datetime) -> int:
    """Remind the company, once, of each reply that has waited REPLY_REMINDER_DAYS unanswered."""
    days = current_app.config["REPLY_REMINDER_DAYS"]
    due = db.session.scalars(
        sa.select(Reply)
        .where(
            Reply.status == ReplyStatus.SENT,
            Reply.answered_at.is_(None),
            Reply.reminded_at.is_(None),
            Reply.created_at <= now - dt.timedelta(days=days),
        )
        .order_by(Reply.id)
    ).all()
    for reply in due:
        d = reply.demand
        waited = max(days, (now - reply.created_at).days)
        notices.notify(
            _members([d.organization_id], COMPANY_ROLES), "reply_reminder",
            {"demand": d.title, "days": waited, "demand_id": d.id, "reply_id": reply.id},
            _path("company.demand", demand_id=d.id) + f"#reply-{reply.id}",
        )
        reply.reminded_at = now
    db.session.flush()
    return len(due)


def queue_deadline_notices(now: dt.datetime) -> int:
    """Two days before a published demand's reply-by date, tell the suppliers it was matched
    with or invited (unless they replied already) and the poster. Once per demand."""
    day = local_date(now) + dt.timedelta(days=2)  # reply-by dates are the park's
    due = db.session.scalars(
        sa.select(Demand)
        .where(Demand.status == DemandStatus.PUBLISHED, Demand.deadline == day)
        .order_by(Demand.id)
    ).all()
    if not due:
        return 0
    told = {
        (params or {}).get("demand_id")
        for params in db.session.scalars(
            sa.select(Notification.params).where(Notification.kind == "deadline_soon")
        )
    }
    count = 0
    for d in due:
        if d.id in told:
            continue
        matched = sa.select(Match.capability_id).where(
            Match.demand_id == d.id, Match.status != MatchStatus.DISMISSED)
        orgs = set(db.session.scalars(
            sa.select(Capability.organization_id).where(Capability.id.in_(matched))))
        orgs |= set(db.session.scalars(
            sa.select(Invitation.organization_id).where(Invitation.demand_id == d.id)))
        orgs -= set(db.session.scalars(
            sa.select(Reply.organization_id).where(Reply.demand_id == d.id)))
        orgs.discard(d.organization_id)
        dates = {}
        for lang in current_app.config["BOARD_LANGUAGES"]:
            with force_locale(lang):
                dates[lang] = format_date(d.deadline, "long")
        params = {"demand": d.title, "date": dates, "demand_id": d.id}
        sent = notices.notify(_members(orgs, SUPPLIER_ROLES), "deadline_soon", params,
                              _path("public.demand", demand_id=d.id))
        sent += notices.notify(_members([d.organization_id], COMPANY_ROLES), "deadline_soon", params,
                               _path("company.demand", demand_id=d.id))
        count += bool(sent)
    return count


# -- the daily digest --------------------------------------------------------------------
def queue_digests(now: dt.datetime) -> int:
    """One e-mail a day per digest reader with the notices of the day (or since the last
    digest) that it has not carried yet; kinds the reader muted stay in the app only."""
    day = dt.timedelta(days=1)
    last_digest = (
        sa.select(Notification.user_id, sa.func.max(Notification.digested_at).label("last"))
        .group_by(Notification.user_id)
        .subquery()
    )
    readers = db.session.execute(
        sa.select(User, last_digest.c.last)
        .outerjoin(last_digest, last_digest.c.user_id == User.id)
        .where(User.email_digest, User.active)
        .order_by(User.id)
    ).all()
    queued = 0
    for user, last in readers:
        if last is not None and last > now - day:
            continue  # it had today's digest
        since = last if last is not None and last > now - 2 * day else now - day
        items = [
            n for n in db.session.scalars(
                sa.select(Notification)
                .where(Notification.user_id == user.id, Notification.digested_at.is_(None),
                       Notification.created_at > since)
                .order_by(Notification.created_at, Notification.id)
            )
            if notices.wants_email(user, n.kind)
        ]
        if not items:
            continue
        lang = notices.user_lang(user)
        with force_locale(lang):
            lines = [(notices.text(n.kind, n.params),
                      notices.absolute(n.link) if n.link else None) for n in items]
            notices.queue_mail(
                to=user.email, user=user, kind="digest", lang=lang,
                subject=_("Your notices of the day"), template="digest", items=lines,
            )
        for n in items:
            n.digested_at = now
        queued += 1
    db.session.flush()
    return queued


# -- sending -----------------------------------------------------------------------------
def deliver(now: dt.datetime) -> dict:
    """Send the queued mail that is due, each in its own transaction."""
    result = {"sent": 0, "retry": 0, "failed": 0}
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        return result
    due = db.session.scalars(
        sa.select(OutboundMail)
        .where(OutboundMail.status == MailStatus.QUEUED,
               sa.or_(OutboundMail.next_attempt_at.is_(None), OutboundMail.next_attempt_at <= now))
        .order_by(OutboundMail.id)
        .limit(BATCH)
    ).all()
    smtp, connect_error = None, None
    try:
        for mail in due:
            try:
                if connect_error is not None:
                    raise connect_error
                if smtp is None:
                    try:
                        smtp = connect(cfg)
                    except (OSError, smtplib.SMTPException) as exc:
                        connect_error = exc  # the rest of this run would fail the same way
                        raise
                smtp.send_message(message(mail, cfg))
            except (OSError, smtplib.SMTPException) as exc:
                if not isinstance(exc, MESSAGE_ERRORS) and smtp is not None:
                    _close(smtp)
                    smtp = None
                record_failure(mail, exc, now, cfg)
                result["failed" if mail.status == MailStatus.FAILED else "retry"] += 1
            else:
                mail.status, mail.sent_at, mail.next_attempt_at = MailStatus.SENT, now, None
                mail.attempts += 1
                result["sent"] += 1
            db.session.commit()
    finally:
        if smtp is not None:
            _close(smtp)
    return result


def connect(cfg) -> smtplib.SMTP:
    smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=20)
    try:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def message(mail: OutboundMail, cfg) -> EmailMessage:
    """The e-mail as sent: plain text and HTML alternatives, UTF-8 throughout."""
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = mail.to_email
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=cfg["MAIL_FROM"].rpartition("@")[2] or None)
    msg["Content-Language"] = "zh-CN" if mail.lang == "zh" else mail.lang
    msg.set_content(mail.body_text, charset="utf-8")
    msg.add_alternative(mail.body_html, subtype="html", charset="utf-8")
    return msg


def record_failure(mail: OutboundMail, exc: BaseException, now: dt.datetime, cfg) -> None:
    """Count the attempt, keep the error (never the password) and schedule the next try,
    or give up after MAIL_MAX_ATTEMPTS."""
    mail.attempts += 1
    error = f"{type(exc).__name__}: {exc}"
    if cfg.get("MAIL_PASSWORD"):
        error = error.replace(cfg["MAIL_PASSWORD"], "***")
    mail.last_error = error[:500]
    if mail.attempts >= cfg["MAIL_MAX_ATTEMPTS"]:
        mail.status, mail.next_attempt_at = MailStatus.FAILED, None
    else:
        mail.next_attempt_at = now + RETRY_BASE * 2 ** (mail.attempts - 1)


# -- staff -------------------------------------------------------------------------------
#: The e-mails that are not notices, named on the staff mail page.
OTHER_KINDS = {
    "digest": _l("Daily digest"),
    "password_reset": _l("Password reset"),
    "email_change": _l("Confirm a new e-mail address"),
    "email_change_notice": _l("E-mail address changed"),
    "contact": _l("A message to the park"),
}


def kind_label(kind: str) -> str:
    return str(OTHER_KINDS[kind]) if kind in OTHER_KINDS else notices.label(kind)


#: The filters of the staff mail page, in order; "all" shows every status.
STAFF_TABS = ("all", MailStatus.OUTBOX.value, MailStatus.QUEUED.value, MailStatus.SENT.value,
              MailStatus.FAILED.value)


def for_staff(tab: str, page: int, per_page: int = 30):
    query = sa.select(OutboundMail).order_by(OutboundMail.created_at.desc(), OutboundMail.id.desc())
    if tab != "all":
        query = query.where(OutboundMail.status == MailStatus(tab))
    return paginate(query, page, per_page)


def staff_counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(OutboundMail.status, sa.func.count()).group_by(OutboundMail.status)).all()
    counts = {MailStatus(status).value: n for status, n in rows}
    counts["all"] = sum(counts.values())
    return counts


def retry(mail: OutboundMail) -> None:
    """Queue a failed mail again, with a fresh set of attempts."""
    if mail.status != MailStatus.FAILED:
        raise Invalid(_("Only a failed e-mail can be sent again."))
    mail.status, mail.attempts, mail.next_attempt_at = MailStatus.QUEUED, 0, None
    db.session.flush()
