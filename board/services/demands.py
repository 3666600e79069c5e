"""Demands: posting, editing, submitting, reviewing, closing and finding them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Demand,
    DemandRevision,
    DemandStatus,
    MatchStatus,
    RevisionStatus,
    Round,
    Theme,
    User,
    Visibility,
    utcnow,
)
from . import announce, audit, matches, revisions, rights, search
from .errors import Forbidden, Invalid, NotFound
from .records import apply_fields, new_ref


def get(demand_id: int) -> Demand:
    d = db.session.get(Demand, demand_id)
    if d is None:
        raise NotFound()
    return d


def get_visible(user, demand_id: int) -> Demand:
    """A demand this user may see at all; 404 otherwise (a hidden demand is not there)."""
    d = get(demand_id)
    if not rights.demand(user, d).see:
        raise NotFound()
    return d


def get_owned(user: User, demand_id: int) -> Demand:
    """A demand the user's organisation posted; 404 if missing, 403 if someone else's."""
    d = get(demand_id)
    if not rights.demand(user, d).manage:
        raise Forbidden()
    return d


def get_for_review(user: User, demand_id: int) -> Demand:
    """A demand as staff see it: from "submitted" on; a draft is not there for them."""
    d = get(demand_id)
    if not rights.demand(user, d).review:
        raise NotFound()
    return d


def get_published(demand_id: int) -> Demand:
    d = get(demand_id)
    if not d.was_published:
        raise NotFound()
    return d


def open_round(on: dt.date) -> Round | None:
    """The collection round open on a date (the latest opened, if several overlap)."""
    return db.session.scalar(
        sa.select(Round)
        .where(Round.opens_on <= on)
        .where(sa.or_(Round.closes_on.is_(None), Round.closes_on >= on))
        .order_by(Round.opens_on.desc(), Round.id.desc())
        .limit(1)
    )


def _check_deadline(new: dt.date | None, old: dt.date | None = None) -> None:
    if new is not None and new != old and new < rights.today():
        raise Invalid(_l("The reply-by date has passed; choose today or a later date."), "deadline")


def create(user: User, data: dict) -> Demand:
    _check_deadline(data.get("deadline"))
    d = Demand(
        ref=new_ref("D"),
        organization_id=user.organization_id,
        author=user,
        status=DemandStatus.DRAFT,
    )
    _apply(d, data)
    db.session.add(d)
    db.session.flush()
    matches.refresh_demand(d)
    return d


def _apply(d: Demand, data: dict) -> None:
    apply_fields(d, data)
    d.visibility = Visibility(data.get("visibility") or Visibility.PUBLIC)
    d.deadline = data.get("deadline")


def update(user: User, d: Demand, data: dict) -> Demand:
    """Save the poster's changes. A published demand keeps its published text, public and
    matchable, until staff approve the changes (a pending revision)."""
    if d.status == DemandStatus.CLOSED:
        raise Invalid(_l("A closed demand cannot be edited."))
    _check_deadline(data.get("deadline"), d.deadline)
    if d.status == DemandStatus.PUBLISHED:
        revisions.propose(user, d, data)
        return d
    _apply(d, data)
    db.session.flush()
    matches.refresh_demand(d)
    return d


def submit(user: User, d: Demand) -> Demand:
    if d.status != DemandStatus.DRAFT:
        raise Invalid(_l("Only a draft can be submitted for review."))
    d.status = DemandStatus.SUBMITTED
    d.submitted_at = utcnow()
    d.round = open_round(rights.local_date(d.submitted_at))
    db.session.flush()
    return d


def close(user: User, d: Demand, reason: str) -> Demand:
    if d.status == DemandStatus.CLOSED:
        raise Invalid(_l("This demand is already closed."))
    d.status = DemandStatus.CLOSED
    d.close_reason = reason.strip()
    d.closed_at = utcnow()
    revisions.discard_pending(d)
    db.session.flush()
    matches.refresh_demand(d)  # removes it from the index; stored matches stay as history
    return d


def publish(staff: User, d: Demand) -> Demand:
    if d.status != DemandStatus.SUBMITTED:
        raise Invalid(_l("Only a demand awaiting review can be published."))
    d.status = DemandStatus.PUBLISHED
    d.published_at = utcnow()
    d.return_reason = None
    audit.record(staff, "demand.publish", d, before={"status": "submitted"},
                 after={"status": "published"})
    db.session.flush()
    announce.demand_published(d, staff)
    # Suppliers of matches staff confirmed during the review learn of them now.
    for m in matches.for_demand(d):
        if m.status == MatchStatus.CONFIRMED:
            announce.match_confirmed(m, staff, sides=("supplier",))
    return d


def return_to_poster(staff: User, d: Demand, reason: str) -> Demand:
    if d.status != DemandStatus.SUBMITTED:
        raise Invalid(_l("Only a demand awaiting review can be returned."))
    d.status = DemandStatus.DRAFT
    d.return_reason = reason.strip()
    audit.record(staff, "demand.return", d, before={"status": "submitted"},
                 after={"status": "draft", "reason": d.return_reason})
    db.session.flush()
    announce.demand_returned(d, d.return_reason, staff)
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
    query: search.Query | None = None,
    sort: str = "relevance",
    segment: str | None = None,
    theme: str | None = None,
    round_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Published demands, filtered; with a query, those the engine finds for it, ranked by
    relevance (or newest first)."""
    select = (
        sa.select(Demand)
        .where(Demand.status == DemandStatus.PUBLISHED)
        .options(selectinload(Demand.organization), selectinload(Demand.themes),
                 selectinload(Demand.segment))
        .order_by(Demand.published_at.desc(), Demand.id.desc())
    )
    if segment:
        select = select.where(Demand.segment_code == segment)
    if theme:
        select = select.where(Demand.themes.any(Theme.code == theme))
    if round_id:
        select = select.where(Demand.round_id == round_id)
    return search.results(select, Demand, query, sort, page, per_page)


def of_organization(org_id: int) -> list[Demand]:
    return list(
        db.session.scalars(
            sa.select(Demand)
            .where(Demand.organization_id == org_id)
            .options(selectinload(Demand.themes), selectinload(Demand.segment))
            .order_by(Demand.updated_at.desc(), Demand.id.desc())
        )
    )


#: What staff see on their list: every demand from "submitted" on, never a draft.
STAFF_STATUSES = (DemandStatus.SUBMITTED, DemandStatus.PUBLISHED, DemandStatus.CLOSED)
#: The staff list's tabs: the statuses, demands with changes awaiting review, and all.
STAFF_TABS = ("submitted", "changes", "published", "closed", "all")


def _pending_revision():
    return sa.exists().where(
        DemandRevision.demand_id == Demand.id, DemandRevision.status == RevisionStatus.PENDING
    )


def for_staff(tab: str, page: int, per_page: int, query: search.Query | None = None,
              sort: str = "relevance") -> Page:
    """One tab of the staff list (see ``STAFF_TABS``); with a query, the demands the engine
    finds for it (closed demands have left the index, so a query finds none of them)."""
    select = (
        sa.select(Demand)
        .where(Demand.status.in_(STAFF_STATUSES))
        .options(selectinload(Demand.organization), selectinload(Demand.segment))
        .order_by(Demand.updated_at.desc(), Demand.id.desc())
    )
    if tab == "changes":
        select = select.where(_pending_revision())
    elif tab != "all":
        select = select.where(Demand.status == DemandStatus(tab))
    return search.results(select, Demand, query, sort, page, per_page, newest=Demand.updated_at)


def staff_counts() -> dict[str, int]:
    """How many demands each staff tab holds (drafts are nobody's business but their own)."""
    rows = db.session.execute(
        sa.select(Demand.status, sa.func.count())
        .where(Demand.status.in_(STAFF_STATUSES))
        .group_by(Demand.status)
    ).all()
    counts = {tab: 0 for tab in STAFF_TABS}
    for status, n in rows:
        counts[DemandStatus(status).value] = n
    counts["all"] = sum(n for _, n in rows)
    counts["changes"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(Demand).where(_pending_revision())
    )
    counts["no_round"] = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Demand)
        .where(Demand.status == DemandStatus.SUBMITTED, Demand.round_id.is_(None))
    )
    return counts
