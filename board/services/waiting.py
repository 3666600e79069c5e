"""Replies waiting for the company's answer: sent, unanswered, REPLY_REMINDER_DAYS old or more,
on a demand still open. The company is reminded of each (``flask send-mail``); staff see them
on the console so nobody's reply goes unanswered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Demand, DemandStatus, Reply, ReplyStatus, utcnow
from . import replies as reply_service


@dataclass(frozen=True)
class Waiting:
    reply: Reply
    days: int


def _query(now: dt.datetime):
    days = int(current_app.config["REPLY_REMINDER_DAYS"])
    return (
        sa.select(Reply)
        .join(Demand, Demand.id == Reply.demand_id)
        .where(
            Reply.status == ReplyStatus.SENT,
            Reply.answered_at.is_(None),
            Reply.created_at <= now - dt.timedelta(days=days),
            Demand.status == DemandStatus.PUBLISHED,
        )
    )


def days(r: Reply) -> int | None:
    """Days one reply has waited for the company's answer, while its demand is open and once
    that is REPLY_REMINDER_DAYS or more; None otherwise."""
    if r.demand.status != DemandStatus.PUBLISHED:
        return None
    return reply_service.waiting_days(r)


def replies(limit: int = 20, now: dt.datetime | None = None) -> tuple[list[Waiting], int]:
    """The longest-waiting replies first (at most ``limit``), and how many wait in all."""
    now = now or utcnow()
    q = _query(now)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
    rows = db.session.scalars(
        q.options(selectinload(Reply.organization),
                  selectinload(Reply.demand).selectinload(Demand.organization))
        .order_by(Reply.created_at, Reply.id)
        .limit(limit)
    ).all()
    return [Waiting(r, (now - r.created_at).days) for r in rows], total
