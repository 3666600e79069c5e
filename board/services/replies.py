"""Replies: a supplier's expression of interest, and the company's answer to it."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Capability, Demand, Reply, ReplyStatus, User
from . import rights
from .errors import Forbidden, Invalid, NotFound


def existing(org_id: int, demand_id: int) -> Reply | None:
    return db.session.scalar(
        sa.select(Reply).where(Reply.organization_id == org_id, Reply.demand_id == demand_id)
    )


def create(user: User, demand: Demand, data: dict) -> Reply:
    if not rights.is_supplier(user):
        raise Forbidden()
    if not rights.demand(user, demand).reply:
        if demand.organization_id == user.organization_id:
            raise Invalid(_l("Your organisation posted this demand; it cannot reply to it."))
        raise Invalid(_l("This demand is not open for replies."))
    reply = existing(user.organization_id, demand.id)
    if reply is not None and reply.status != ReplyStatus.WITHDRAWN:
        raise Invalid(_l("Your organisation has already replied to this demand."))
    cap_id = data.get("capability_id") or None
    if cap_id:
        cap = db.session.get(Capability, cap_id)
        if cap is None or cap.organization_id != user.organization_id:
            raise Invalid(_l("Choose one of your own capabilities."), "capability_id")
    if reply is None:  # a withdrawn reply is replaced by the new one
        reply = Reply(demand=demand, organization_id=user.organization_id)
        db.session.add(reply)
    reply.author = user
    reply.capability_id = cap_id
    reply.fit = data["fit"].strip()
    reply.cases = (data.get("cases") or "").strip() or None
    reply.contact_name = data["contact_name"].strip()
    reply.contact_email = data["contact_email"].strip().lower()
    reply.contact_phone = (data.get("contact_phone") or "").strip() or None
    reply.status = ReplyStatus.SENT
    reply.status_reason = None
    db.session.flush()
    return reply


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


def answer(user: User, reply: Reply, status: ReplyStatus, reason: str = "") -> Reply:
    """The company shortlists or declines a reply (a decline carries a reason)."""
    if status not in (ReplyStatus.SHORTLISTED, ReplyStatus.DECLINED):
        raise Invalid(_l("Unknown answer."))
    if reply.status == ReplyStatus.WITHDRAWN:
        raise Invalid(_l("This reply was withdrawn by the supplier."))
    if not rights.reply(user, reply).answer:
        raise Invalid(_l("The demand is closed; its replies can no longer be answered."))
    if status == ReplyStatus.DECLINED and not reason.strip():
        raise Invalid(_l("Tell the supplier why, in a sentence."), "reason")
    reply.status = status
    reply.status_reason = reason.strip() or None
    db.session.flush()
    return reply


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
