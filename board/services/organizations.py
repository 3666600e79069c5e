"""Organisations as staff see them: members and activity."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Capability, Demand, Organization, User
from .demands import Page, paginate
from .errors import NotFound


def get(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound()
    return org


def search(q: str, page: int, per_page: int = 30) -> Page:
    query = sa.select(Organization).order_by(Organization.name)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')[:50]}%"
        query = query.where(sa.or_(Organization.name.ilike(like), Organization.name_en.ilike(like)))
    return paginate(query, page, per_page)


def activity(org_ids: list[int]) -> dict[int, dict[str, int]]:
    """Members, demands and capabilities per organisation."""
    out = {i: {"users": 0, "demands": 0, "capabilities": 0} for i in org_ids}
    if not org_ids:
        return out
    for name, model in (("users", User), ("demands", Demand), ("capabilities", Capability)):
        rows = db.session.execute(
            sa.select(model.organization_id, sa.func.count())
            .where(model.organization_id.in_(org_ids))
            .group_by(model.organization_id)
        )
        for org_id, n in rows:
            out[org_id][name] = n
    return out


def members(org: Organization) -> list[User]:
    return list(
        db.session.scalars(sa.select(User).where(User.organization_id == org.id).order_by(User.id))
    )
