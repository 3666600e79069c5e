"""Demands: posting, editing, submitting, reviewing, closing and finding them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Demand, DemandStatus, Role, Round, Theme, User, Visibility, utcnow
from . import matches
from .errors import Forbidden, Invalid, NotFound
from .records import apply_fields, new_ref


def get(demand_id: int) -> Demand:
    d = db.session.get(Demand, demand_id)
    if d is None:
        raise NotFound()
    return d


def get_owned(user: User, demand_id: int) -> Demand:
    """A demand the user's organisation posted; 404 if missing, 403 if someone else's."""
    d = get(demand_id)
    if user.role != Role.COMPANY or d.organization_id != user.organization_id:
        raise Forbidden()
    return d


def get_published(demand_id: int) -> Demand:
    d = get(demand_id)
    if d.status not in (DemandStatus.PUBLISHED, DemandStatus.CLOSED) or d.published_at is None:
        raise NotFound()
    return d


def can_view(user, d: Demand) -> bool:
    if d.status == DemandStatus.PUBLISHED or (d.status == DemandStatus.CLOSED and d.published_at):
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return user.role == Role.STAFF or (
        user.role == Role.COMPANY and user.organization_id == d.organization_id
    )


def current_round() -> Round | None:
    return db.session.scalar(
        sa.select(Round).order_by(Round.opens_on.desc().nulls_last(), Round.id.desc()).limit(1)
    )


def create(user: User, data: dict) -> Demand:
    d = Demand(
        ref=new_ref("D"),
        organization_id=user.organization_id,
        author=user,
        status=DemandStatus.DRAFT,
        visibility=Visibility(data.get("visibility") or Visibility.PUBLIC),
        deadline=data.get("deadline"),
        round=current_round(),
    )
    apply_fields(d, data)
    db.session.add(d)
    db.session.flush()
    matches.refresh_demand(d)
    return d


def update(user: User, d: Demand, data: dict) -> Demand:
    if d.status == DemandStatus.CLOSED:
        raise Invalid(_l("A closed demand cannot be edited."))
    apply_fields(d, data)
    d.visibility = Visibility(data.get("visibility") or Visibility.PUBLIC)
    d.deadline = data.get("deadline")
    if d.status == DemandStatus.PUBLISHED:
        # Changes to a published demand are checked again before they are shown: until
        # staff publish it again it is not public, even if it is closed meanwhile.
        d.status = DemandStatus.SUBMITTED
        d.submitted_at = utcnow()
        d.published_at = None
    db.session.flush()
    matches.refresh_demand(d)
    return d


def submit(user: User, d: Demand) -> Demand:
    if d.status != DemandStatus.DRAFT:
        raise Invalid(_l("Only a draft can be submitted for review."))
    d.status = DemandStatus.SUBMITTED
    d.submitted_at = utcnow()
    db.session.flush()
    return d


def close(user: User, d: Demand, reason: str) -> Demand:
    if d.status == DemandStatus.CLOSED:
        raise Invalid(_l("This demand is already closed."))
    d.status = DemandStatus.CLOSED
    d.close_reason = reason.strip()
    d.closed_at = utcnow()
    db.session.flush()
    matches.refresh_demand(d)  # removes it from the index; stored matches stay as history
    return d


def publish(staff: User, d: Demand) -> Demand:
    if d.status != DemandStatus.SUBMITTED:
        raise Invalid(_l("Only a demand awaiting review can be published."))
    d.status = DemandStatus.PUBLISHED
    d.published_at = utcnow()
    d.return_reason = None
    db.session.flush()
    return d


def return_to_poster(staff: User, d: Demand, reason: str) -> Demand:
    if d.status != DemandStatus.SUBMITTED:
        raise Invalid(_l("Only a demand awaiting review can be returned."))
    d.status = DemandStatus.DRAFT
    d.return_reason = reason.strip()
    db.session.flush()
    return d


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(query, page: int, per_page: int) -> Page:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    page = max(1, page)
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), page, per_page, total or 0)


def search_published(
    *,
    q: str = "",
    segment: str | None = None,
    theme: str | None = None,
    round_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    query = (
        sa.select(Demand)
        .where(Demand.status == DemandStatus.PUBLISHED)
        .options(selectinload(Demand.organization), selectinload(Demand.themes),
                 selectinload(Demand.segment))
        .order_by(Demand.published_at.desc(), Demand.id.desc())
    )
    if segment:
        query = query.where(Demand.segment_code == segment)
    if theme:
        query = query.where(Demand.themes.any(Theme.code == theme))
    if round_id:
        query = query.where(Demand.round_id == round_id)
    for word in (q or "").split()[:5]:
        like = f"%{_escape_like(word[:50])}%"
        query = query.where(
            sa.or_(
                Demand.title.ilike(like, escape="\\"),
                Demand.description.ilike(like, escape="\\"),
                Demand.keywords.ilike(like, escape="\\"),
            )
        )
    return paginate(query, page, per_page)


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def of_organization(org_id: int) -> list[Demand]:
    return list(
        db.session.scalars(
            sa.select(Demand)
            .where(Demand.organization_id == org_id)
            .options(selectinload(Demand.themes), selectinload(Demand.segment))
            .order_by(Demand.updated_at.desc(), Demand.id.desc())
        )
    )


def by_status(status: DemandStatus | None, page: int, per_page: int) -> Page:
    query = (
        sa.select(Demand)
        .options(selectinload(Demand.organization), selectinload(Demand.segment))
        .order_by(Demand.updated_at.desc(), Demand.id.desc())
    )
    if status:
        query = query.where(Demand.status == status)
    return paginate(query, page, per_page)


def status_counts() -> dict[DemandStatus, int]:
    rows = db.session.execute(
        sa.select(Demand.status, sa.func.count()).group_by(Demand.status)
    ).all()
    counts = {s: 0 for s in DemandStatus}
    counts.update({DemandStatus(s): n for s, n in rows})
    return counts
