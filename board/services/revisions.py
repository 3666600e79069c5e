"""Changes to a published demand: proposed by the poster, approved or returned by staff.

Until staff approve them, the published text stays public and is what the engine matches.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Demand, DemandRevision, RevisionStatus, User, Visibility, utcnow
from . import announce, audit, matches
from .errors import Invalid
from .records import apply_fields, current_data, split_keywords

#: The fields a revision may change, in the order they are compared.
FIELDS = (
    "title",
    "description",
    "keywords",
    "segment",
    "themes",
    "visibility",
    "deadline",
    "contact_name",
    "contact_email",
    "website",
)


def _stored(data: dict) -> dict:
    """Form data in the shape a revision keeps (JSON: dates as ISO text, lists sorted)."""
    out = {}
    for name in FIELDS:
        value = data.get(name)
        if name == "keywords":
            value = split_keywords(value)
        elif name == "themes":
            value = sorted(value or [])
        elif name == "deadline":
            value = value.isoformat() if value else None
        elif name == "visibility":
            value = Visibility(value or Visibility.PUBLIC).value
        else:
            value = (value.strip() if isinstance(value, str) else value) or None
            if name == "contact_email" and value:
                value = value.lower()
        out[name] = value
    return out


def as_form_data(stored: dict) -> dict:
    """A revision's fields as the demand form and ``apply_fields`` take them."""
    data = dict(stored)
    data["deadline"] = dt.date.fromisoformat(stored["deadline"]) if stored.get("deadline") else None
    data["title"] = stored.get("title") or ""
    return data


def pending(d: Demand) -> DemandRevision | None:
    return db.session.scalar(
        sa.select(DemandRevision)
        .where(DemandRevision.demand_id == d.id, DemandRevision.status == RevisionStatus.PENDING)
        .order_by(DemandRevision.id.desc())
        .limit(1)
    )


def latest_returned(d: Demand) -> DemandRevision | None:
    """The last revision staff returned, when nothing newer is pending (shown to the poster)."""
    last = db.session.scalar(
        sa.select(DemandRevision)
        .where(DemandRevision.demand_id == d.id)
        .order_by(DemandRevision.id.desc())
        .limit(1)
    )
    return last if last is not None and last.status == RevisionStatus.RETURNED else None


def propose(user: User, d: Demand, data: dict) -> DemandRevision | None:
    """Keep the poster's changes as the demand's pending revision (one at a time: a new edit
    replaces it). Changes identical to the published text leave nothing pending."""
    proposed = _stored(data)
    rev = pending(d)
    if proposed == _stored(current_data(d)):
        if rev is not None:
            rev.status = RevisionStatus.DISCARDED
            rev.decided_at = utcnow()
        db.session.flush()
        return None
    if rev is None:
        rev = DemandRevision(demand=d)
        db.session.add(rev)
    rev.author = user
    rev.data = proposed
    db.session.flush()
    return rev


@dataclass(frozen=True)
class Change:
    field: str
    published: object
    proposed: object

    @property
    def changed(self) -> bool:
        return self.published != self.proposed


def compare(d: Demand, rev: DemandRevision) -> list[Change]:
    """The published and the proposed value of every field, side by side."""
    now = _stored(current_data(d))
    return [Change(name, now.get(name), rev.data.get(name)) for name in FIELDS]


def approve(staff: User, d: Demand) -> Demand:
    rev = pending(d)
    if rev is None:
        raise Invalid(_l("There are no changes waiting for review."))
    data = as_form_data(rev.data)
    apply_fields(d, data)
    d.visibility = Visibility(data.get("visibility") or Visibility.PUBLIC)
    d.deadline = data.get("deadline")
    before = _stored(current_data(d))
    rev.status = RevisionStatus.APPROVED
    rev.decided_by = staff
    rev.decided_at = utcnow()
    audit.record(staff, "revision.approve", d, before=before, after=rev.data)
    db.session.flush()
    matches.refresh_demand(d)
    announce.changes_approved(d, staff)
    return d


def return_to_poster(staff: User, d: Demand, reason: str) -> DemandRevision:
    rev = pending(d)
    if rev is None:
        raise Invalid(_l("There are no changes waiting for review."))
    rev.status = RevisionStatus.RETURNED
    rev.reason = reason.strip()
    rev.decided_by = staff
    rev.decided_at = utcnow()
    audit.record(staff, "revision.return", d, before=rev.data, after={"reason": rev.reason})
    db.session.flush()
    announce.changes_returned(d, rev.reason, staff)
    return rev


def discard_pending(d: Demand) -> None:
    """Drop pending changes (the demand was closed: the published text is its record)."""
    rev = pending(d)
    if rev is not None:
        rev.status = RevisionStatus.DISCARDED
        rev.decided_at = utcnow()
