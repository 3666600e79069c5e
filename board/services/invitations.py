"""Invitations: the poster of a demand (or staff on its behalf) asks a likely partner to reply."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Capability,
    Demand,
    DemandStatus,
    Invitation,
    Match,
    MatchStatus,
    Reply,
    ReplyStatus,
    User,
)
from . import announce, rights
from .errors import Forbidden, Invalid, NotFound


def match_for_invite(user: User, match_id: int) -> Match:
    """A match shown on a demand page this user may invite from (404 if missing, 403 if the
    demand is someone else's)."""
    m = db.session.get(Match, match_id)
    if m is None:
        raise NotFound()
    r = rights.demand(user, m.demand)
    if not r.see:
        raise NotFound()
    if not (r.manage or r.review):
        raise Forbidden()
    return m


def invite_for_match(user: User, m: Match, message: str = "") -> tuple[Invitation, bool]:
    """Invite the organisation behind a match's capability (not from a match staff dismissed)."""
    if m.status == MatchStatus.DISMISSED:
        raise Invalid(_l("This match was dismissed by the park staff; nobody is invited from it."))
    return invite(user, m.demand, m.capability, message)


def invite(user: User, d: Demand, cap: Capability, message: str = "") -> tuple[Invitation, bool]:
    """Invite a capability's organisation to reply to a demand. Returns the invitation and
    whether it is new: inviting again (a second click, two people at once) changes nothing."""
    org_id = cap.organization_id
    if not rights.demand(user, d).invite:
        if d.status == DemandStatus.PUBLISHED:
            raise Invalid(_l("Replies to this demand are closed; nobody can be invited now."))
        raise Invalid(_l("Only a published demand can invite replies."))
    if not rights.invitable(user, d, org_id):
        raise Invalid(_l("Your organisation cannot invite itself."))
    if _replied(d.id, org_id):
        raise Invalid(_l("This supplier has already replied."))
    found = existing(d.id, org_id)
    if found is not None:
        return found, False
    inv = Invitation(demand=d, organization_id=org_id, capability_id=cap.id, invited_by=user,
                     message=(message or "").strip() or None)
    try:
        with db.session.begin_nested():  # a concurrent invitation only rolls this back
            db.session.add(inv)
            db.session.flush()
    except IntegrityError:
        found = existing(d.id, org_id)
        if found is None:
            raise
        return found, False
    announce.invitation(inv, user)
    return inv, True


def existing(demand_id: int, org_id: int) -> Invitation | None:
    return db.session.scalar(
        sa.select(Invitation).where(
            Invitation.demand_id == demand_id, Invitation.organization_id == org_id
        )
    )


def _replied(demand_id: int, org_id: int) -> bool:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Reply).where(
            Reply.demand_id == demand_id,
            Reply.organization_id == org_id,
            Reply.status != ReplyStatus.WITHDRAWN,
        )
    ) > 0


def states_for_demand(d: Demand) -> dict[int, str]:
    """What each organisation already did about a demand, by organisation id: "replied" or
    "invited" (for the match cards' invite buttons)."""
    out: dict[int, str] = {}
    for org_id in db.session.scalars(sa.select(Invitation.organization_id).where(Invitation.demand_id == d.id)):
        out[org_id] = "invited"
    for org_id in db.session.scalars(
        sa.select(Reply.organization_id).where(Reply.demand_id == d.id, Reply.status != ReplyStatus.WITHDRAWN)
    ):
        out[org_id] = "replied"
    return out


def card_states(user: User, d: Demand, shown) -> dict[int, str]:
    """For each match card of a demand page, by match id: "replied", "invited", "invite"
    (this user may invite that supplier now) or nothing."""
    done = states_for_demand(d)
    out = {}
    for m in shown:
        org_id = m.capability.organization_id
        if org_id in done:
            out[m.id] = done[org_id]
        elif m.status != MatchStatus.DISMISSED and rights.invitable(user, d, org_id):
            out[m.id] = "invite"
    return out


@dataclass(frozen=True)
class Received:
    """An invitation as the supplier sees it, with the match that explains it (if stored)."""

    invitation: Invitation
    match: Match | None


def for_supplier(org_id: int) -> list[Received]:
    """Invitations an organisation received for demands still on the board, newest first."""
    rows = db.session.scalars(
        sa.select(Invitation)
        .join(Invitation.demand)
        .where(Invitation.organization_id == org_id, Demand.status == DemandStatus.PUBLISHED)
        .options(
            selectinload(Invitation.demand).options(
                selectinload(Demand.organization), selectinload(Demand.themes), selectinload(Demand.segment)
            ),
            selectinload(Invitation.invited_by),
            selectinload(Invitation.capability),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()
    if not rows:
        return []
    shown = db.session.scalars(
        sa.select(Match)
        .join(Match.capability)
        .where(
            Match.demand_id.in_({i.demand_id for i in rows}),
            Capability.organization_id == org_id,
            Match.status != MatchStatus.DISMISSED,
        )
        .options(selectinload(Match.capability))
        .order_by(Match.score.desc(), Match.capability_id)
    ).all()
    out = []
    for inv in rows:
        mine = [m for m in shown if m.demand_id == inv.demand_id]
        # The match it was sent from, else the organisation's best one for that demand.
        best = next((m for m in mine if m.capability_id == inv.capability_id), mine[0] if mine else None)
        out.append(Received(inv, best))
    return out


def by_staff(inv: Invitation) -> bool:
    return inv.invited_by is not None and rights.is_staff(inv.invited_by)
