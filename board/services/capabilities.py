"""Capabilities: what suppliers offer."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Capability, Organization, Theme, User
from . import matches, rights, search
from .errors import Forbidden, NotFound
from .records import apply_fields, new_ref


def get_owned(user: User, cap_id: int) -> Capability:
    cap = db.session.get(Capability, cap_id)
    if cap is None:
        raise NotFound()
    if not rights.capability(user, cap).edit:
        raise Forbidden()
    return cap


def of_organization(org_id: int) -> list[Capability]:
    return list(
        db.session.scalars(
            sa.select(Capability)
            .where(Capability.organization_id == org_id)
            .options(selectinload(Capability.themes), selectinload(Capability.segment))
            .order_by(Capability.updated_at.desc(), Capability.id.desc())
        )
    )


def search_own(org_id: int, query: search.Query | None = None, sort: str = "relevance",
               segment: str | None = None, theme: str | None = None, page: int = 1,
               per_page: int = 20):
    """An organisation's capabilities, filtered; with a query, those the engine finds for it
    (the board's search, on the capability side), ranked by relevance or newest first."""
    select = (
        sa.select(Capability)
        .where(Capability.organization_id == org_id)
        .options(selectinload(Capability.themes), selectinload(Capability.segment))
        .order_by(Capability.updated_at.desc(), Capability.id.desc())
    )
    if segment:
        select = select.where(Capability.segment_code == segment)
    if theme:
        select = select.where(Capability.themes.any(Theme.code == theme))
    return search.results(select, Capability, query, sort, page, per_page)


def create(user: User, data: dict) -> Capability:
    cap = Capability(ref=new_ref("C"), organization_id=user.organization_id, author=user)
    apply_fields(cap, data)
    db.session.add(cap)
    db.session.flush()
    matches.refresh_capability(cap)
    return cap


def update(user: User, cap: Capability, data: dict) -> Capability:
    apply_fields(cap, data)
    db.session.flush()
    matches.refresh_capability(cap)
    return cap


def delete(user: User, cap: Capability) -> None:
    refill = matches.forget_capability(cap)
    db.session.delete(cap)
    db.session.flush()
    matches.refill_demands(refill)


def update_profile(user: User, data: dict) -> Organization:
    org = user.organization
    org.website = (data.get("website") or "").strip() or None
    org.description = (data.get("description") or "").strip() or None
    db.session.flush()
    return org
