"""Replies: a supplier's expression of interest, and the company's answer to it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Capability,
    Cooperation,
    DeclineReason,
    Demand,
    Match,
    MatchStatus,
    Reply,
    ReplyStatus,
    User,
    utcnow,
)
from . import announce, rights, uploads
from .errors import Duplicate, Forbidden, Invalid, NotFound

ALREADY_REPLIED = _l("Your organisation has already replied to this demand.")
#: Technology readiness levels a reply may state.
TRL_LEVELS = range(1, 10)


def existing(org_id: int, demand_id: int) -> Reply | None:
    return db.session.scalar(
        sa.select(Reply).where(Reply.organization_id == org_id, Reply.demand_id == demand_id)
    )


def _closed_message(demand: Demand):
    if rights.reply_window(demand) == "past":
        return _l("Replies to this demand closed on %(date)s.", date=format_date(demand.deadline))
    return _l("This demand is not open for replies.")


def create(user: User, demand: Demand, data: dict, attachment=None) -> Reply:
    """Send a reply (an expression of interest); ``attachment`` is an uploaded file or None."""
    if not rights.is_supplier(user):
        raise Forbidden()
    if not rights.demand(user, demand).reply:
        if demand.organization_id == user.organization_id:
            raise Invalid(_l("Your organisation posted this demand; it cannot reply to it."))
        raise Invalid(_closed_message(demand))
    org_id, demand_id = user.organization_id, demand.id
    reply = existing(org_id, demand_id)
    if reply is not None and reply.status != ReplyStatus.WITHDRAWN:
        raise Duplicate(ALREADY_REPLIED, reply)
    fields = _checked(user, data)
    if reply is None:  # a withdrawn reply is replaced by the new one
        reply = Reply(demand=demand, organization_id=org_id)
        db.session.add(reply)
    else:
        _drop_attachment(reply)
        reply.decline_reason = None
        reply.opened_at = reply.answered_at = reply.reminded_at = None
        reply.created_at = utcnow()
    _fill(reply, user, fields)
    reply.status = ReplyStatus.SENT
    reply.status_reason = None
    try:
        db.session.flush()
    except IntegrityError:
        # The same reply sent again at the same moment (a double click, two tabs, two
        # colleagues): the one that got in first stands, and is the answer.
        db.session.rollback()
        raise Duplicate(ALREADY_REPLIED, existing(org_id, demand_id)) from None
    if attachment is not None:
        _attach(reply, attachment)
        db.session.flush()
    announce.reply_received(reply, user)
    return reply


def update(user: User, reply: Reply, data: dict, attachment=None, remove_attachment: bool = False) -> Reply:
    """The sender changes its reply, until the company has opened it."""
    if not rights.reply(user, reply).edit:
        raise Invalid(_edit_refusal(user, reply))
    fields = _checked(user, data)
    _fill(reply, user, fields)
    if attachment is not None:
        _drop_attachment(reply)
        _attach(reply, attachment)
    elif remove_attachment:
        _drop_attachment(reply)
    db.session.flush()
    return reply


def _edit_refusal(user: User, reply: Reply):
    if reply.status != ReplyStatus.SENT:
        return _l("This reply can no longer be changed.")
    if reply.opened_at is not None:
        return _l("The company has opened your reply; it can no longer be changed.")
    return _closed_message(reply.demand)


def _checked(user: User, data: dict) -> dict:
    """The fields of a reply, checked: the capability must be the organisation's own, the
    maturity level 1-9, the form of cooperation one of ours."""
    cap_id = data.get("capability_id") or None
    if cap_id:
        cap = db.session.get(Capability, cap_id)
        if cap is None or cap.organization_id != user.organization_id:
            raise Invalid(_l("Choose one of your own capabilities."), "capability_id")
    trl = data.get("trl")
    if trl in ("", None):
        trl = None
    else:
        try:
            trl = int(trl)
        except (TypeError, ValueError):
            trl = 0
        if trl not in TRL_LEVELS:
            raise Invalid(_l("Choose a level from 1 to 9."), "trl")
    cooperation = data.get("cooperation") or None
    if cooperation is not None:
        try:
            cooperation = Cooperation(cooperation)
        except ValueError:
            raise Invalid(_l("Choose one."), "cooperation") from None
    return {
        "capability_id": cap_id,
        "fit": data["fit"].strip(),
        "cases": (data.get("cases") or "").strip() or None,
        "trl": trl,
        "cooperation": cooperation,
        "contact_name": data["contact_name"].strip(),
        "contact_email": data["contact_email"].strip().lower(),
        "contact_phone": (data.get("contact_phone") or "").strip() or None,
    }


def _fill(reply: Reply, user: User, fields: dict) -> None:
    reply.author = user
    for name, value in fields.items():
        setattr(reply, name, value)


def _attach(reply: Reply, attachment) -> None:
    stored = uploads.store(attachment)
    reply.attachment_key = stored.key
    reply.attachment_name = stored.name
    reply.attachment_size = stored.size


def _drop_attachment(reply: Reply) -> None:
    """Forget the reply's file (deleted from disk once this is committed)."""
    if reply.attachment_key:
        uploads.discard(reply.attachment_key)
    reply.attachment_key = reply.attachment_name = reply.attachment_size = None


def get_own(user: User, reply_id: int) -> Reply:
    """A reply the user's organisation sent; 404 if missing, 403 if someone else's."""
    r = db.session.get(Reply, reply_id)
    if r is None:
        raise NotFound()
    if not (rights.is_supplier(user) and r.organization_id == user.organization_id):
        raise Forbidden()
    return r


def withdraw(user: User, reply: Reply) -> Reply:
    if reply.status == ReplyStatus.WITHDRAWN:
        raise Invalid(_l("This reply was already withdrawn."))
    if not rights.reply(user, reply).withdraw:
        raise Invalid(_l("The demand is closed; its replies can no longer be withdrawn."))
    reply.status = ReplyStatus.WITHDRAWN
    db.session.flush()
    return reply


def get_received(user: User, reply_id: int) -> Reply:
    """A reply to one of the user's organisation's demands."""
    r = db.session.get(Reply, reply_id)
    if r is None:
        raise NotFound()
    if not (rights.is_company(user) and r.demand.organization_id == user.organization_id):
        raise Forbidden()
    return r


def get_visible(user: User, reply_id: int) -> Reply:
    """A reply the user may read (the two parties and staff); 404 for everyone else, so
    guessing ids tells nothing."""
    r = db.session.get(Reply, reply_id)
    if r is None or not rights.reply(user, r).see:
        raise NotFound()
    return r


def answer(user: User, reply: Reply, status: ReplyStatus, reason: str = "",
           decline_reason: DeclineReason | str | None = None) -> Reply:
    """The company shortlists or declines a reply. A decline carries a structured reason
    (“other” with a sentence); a sentence alone counts as “other”."""
    if status not in (ReplyStatus.SHORTLISTED, ReplyStatus.DECLINED):
        raise Invalid(_l("Unknown answer."))
    if reply.status == ReplyStatus.WITHDRAWN:
        raise Invalid(_l("This reply was withdrawn by the supplier."))
    if not rights.reply(user, reply).answer:
        raise Invalid(_l("The demand is closed; its replies can no longer be answered."))
    reason = (reason or "").strip()
    why = None
    if status == ReplyStatus.DECLINED:
        if decline_reason:
            try:
                why = DeclineReason(decline_reason)
            except ValueError:
                raise Invalid(_l("Choose one."), "decline_reason") from None
        elif reason:
            why = DeclineReason.OTHER
        else:
            raise Invalid(_l("Tell the supplier why: choose a reason."), "decline_reason")
        if why == DeclineReason.OTHER and not reason:
            raise Invalid(_l("Tell the supplier why, in a sentence."), "reason")
    changed = (reply.status, reply.decline_reason) != (status, why)
    reply.status = status
    reply.decline_reason = why
    reply.status_reason = reason or None
    reply.opened_at = reply.opened_at or utcnow()
    reply.answered_at = reply.answered_at or utcnow()
    db.session.flush()
    if changed:
        announce.reply_status(reply, user)
    return reply


def mark_opened(user: User, items) -> int:
    """The company has seen these replies: from now on their senders cannot change them.
    Only the receiving company's members open a reply; calling it again changes nothing (and
    opening is not an edit: ``updated_at`` stays)."""
    ids = [r.id for r in items if r.opened_at is None and rights.reply(user, r).opens]
    if not ids:
        return 0
    result = db.session.execute(
        sa.update(Reply)
        .where(Reply.id.in_(ids), Reply.opened_at.is_(None))
        .values(opened_at=utcnow(), updated_at=Reply.updated_at)
    )
    return result.rowcount or 0


def waiting_days(r: Reply, now: dt.datetime | None = None) -> int | None:
    """Days a sent reply has waited for the company's answer, once that is at least
    REPLY_REMINDER_DAYS; None otherwise."""
    if r.status != ReplyStatus.SENT or r.answered_at is not None:
        return None
    days = ((now or utcnow()) - r.created_at).days
    return days if days >= int(current_app.config["REPLY_REMINDER_DAYS"]) else None


def match_for(r: Reply) -> Match | None:
    """The stored match of the reply's capability for its demand (unless staff dismissed it)."""
    if r.capability_id is None:
        return None
    return db.session.scalar(
        sa.select(Match).where(
            Match.demand_id == r.demand_id,
            Match.capability_id == r.capability_id,
            Match.status != MatchStatus.DISMISSED,
        )
    )


def matches_for(items) -> dict[int, Match]:
    """``match_for`` for a list of replies, by reply id, in one query."""
    pairs = {(r.demand_id, r.capability_id): r.id for r in items if r.capability_id is not None}
    if not pairs:
        return {}
    rows = db.session.scalars(
        sa.select(Match).where(
            Match.demand_id.in_({d for d, _ in pairs}),
            Match.capability_id.in_({c for _, c in pairs}),
            Match.status != MatchStatus.DISMISSED,
        )
    )
    return {pairs[(m.demand_id, m.capability_id)]: m for m in rows if (m.demand_id, m.capability_id) in pairs}


def of_organization(org_id: int) -> list[Reply]:
    return list(
        db.session.scalars(
            sa.select(Reply)
            .where(Reply.organization_id == org_id)
            .options(selectinload(Reply.demand).selectinload(Demand.organization))
            .order_by(Reply.created_at.desc(), Reply.id.desc())
        )
    )


def for_demand(demand: Demand) -> list[Reply]:
    return list(
        db.session.scalars(
            sa.select(Reply)
            .where(Reply.demand_id == demand.id)
            .options(selectinload(Reply.organization), selectinload(Reply.capability))
            .order_by(Reply.created_at.desc(), Reply.id.desc())
        )
    )


def counts_for_demands(demand_ids: list[int]) -> dict[int, int]:
    if not demand_ids:
        return {}
    rows = db.session.execute(
        sa.select(Reply.demand_id, sa.func.count())
        .where(Reply.demand_id.in_(demand_ids), Reply.status != ReplyStatus.WITHDRAWN)
        .group_by(Reply.demand_id)
    ).all()
    return dict(rows)
