"""The outcome funnel: how far each demand has come, counts per stage for a set of demands,
a demand's timeline, and the figures of the staff dashboard.

Stages, in order: published → matched (a stored match at or above the threshold that staff
did not dismiss, or one they confirmed) → replied (a reply not withdrawn) → shortlisted →
met (a meeting outcome, or a meeting on one of its replies that was held or accepted and has
started) → agreement (an agreement outcome). A demand's stage is the furthest it reached; the
stages need not come in order (an agreement signed offline may have no reply on the board),
so a demand counts in every stage up to its own. A closed demand keeps its stage and is
also counted as closed, with its reason.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Capability,
    Demand,
    DemandRevision,
    DemandStatus,
    Match,
    MatchStatus,
    Meeting,
    MeetingStatus,
    Organization,
    Outcome,
    OutcomeKind,
    Reply,
    ReplyStatus,
    RevisionStatus,
    User,
    capability_theme,
    demand_theme,
    utcnow,
)
from . import audit, rights, rounds
from .errors import Invalid, NotFound

STAGES = ("published", "matched", "replied", "shortlisted", "met", "agreement")
STAGE_LABELS = {
    "submitted": _l("Awaiting review"),
    "published": _l("Published"),
    "matched": _l("Matched"),
    "replied": _l("Replied"),
    "shortlisted": _l("Shortlisted"),
    "met": _l("Met"),
    "agreement": _l("Agreement signed"),
}


def stage_label(stage: str) -> str:
    return str(STAGE_LABELS.get(stage, stage))


# -- which demands -----------------------------------------------------------------
def scope(round_id: int | None = None, segment: str | None = None):
    """The ids of a set of demands staff see (never drafts): a round's, a segment's, all."""
    query = sa.select(Demand.id).where(Demand.status != DemandStatus.DRAFT)
    if round_id is not None:
        query = query.where(Demand.round_id == round_id)
    if segment:
        query = query.where(Demand.segment_code == segment)
    return query


# -- stages ------------------------------------------------------------------------
@dataclass
class DemandStage:
    demand_id: int
    status: DemandStatus
    reached: frozenset[str] = frozenset()  # the stages whose condition holds
    close_reason: str | None = None

    @property
    def published(self) -> bool:
        return "published" in self.reached

    @property
    def stage(self) -> str:
        """The furthest stage reached ("submitted" before publication)."""
        if not self.published:
            return "submitted"
        return [s for s in STAGES if s in self.reached][-1]

    @property
    def closed(self) -> bool:
        return self.status == DemandStatus.CLOSED

    @property
    def label(self) -> str:
        return stage_label(self.stage)


def _met_condition(now: dt.datetime):
    return sa.or_(
        Meeting.status == MeetingStatus.HELD,
        sa.and_(Meeting.status == MeetingStatus.ACCEPTED, Meeting.starts_at <= now),
    )


def stages(ids_query) -> dict[int, DemandStage]:
    """Each demand's stage, for the demands a query of ids selects (five grouped queries)."""
    ids = ids_query.scalar_subquery()
    rows = db.session.execute(
        sa.select(Demand.id, Demand.status, Demand.published_at, Demand.close_reason)
        .where(Demand.id.in_(ids), Demand.status != DemandStatus.DRAFT)
    ).all()
    flags: dict[int, set[str]] = {r.id: ({"published"} if r.published_at else set()) for r in rows}
    if not flags:
        return {}

    def mark(stage, demand_ids):
        for i in demand_ids:
            if i in flags and "published" in flags[i]:
                flags[i].add(stage)

    mark("matched", db.session.scalars(
        sa.select(Match.demand_id).where(Match.demand_id.in_(ids), rounds._matched()).distinct()))
    for demand_id, shortlisted in db.session.execute(
        sa.select(Reply.demand_id,
                  sa.func.max(sa.case((Reply.status == ReplyStatus.SHORTLISTED, 1), else_=0)))
        .where(Reply.demand_id.in_(ids), Reply.status != ReplyStatus.WITHDRAWN)
        .group_by(Reply.demand_id)
    ):
        mark("replied", [demand_id])
        if shortlisted:
            mark("shortlisted", [demand_id])
    mark("met", db.session.scalars(
        sa.select(Reply.demand_id).join(Meeting, Meeting.reply_id == Reply.id)
        .where(Reply.demand_id.in_(ids), _met_condition(utcnow())).distinct()))
    for demand_id, kind in db.session.execute(
        sa.select(Outcome.demand_id, Outcome.kind).where(Outcome.demand_id.in_(ids))
        .group_by(Outcome.demand_id, Outcome.kind)
    ):
        mark("met" if OutcomeKind(kind) == OutcomeKind.MEETING else "agreement", [demand_id])
    return {
        r.id: DemandStage(r.id, DemandStatus(r.status), frozenset(flags[r.id]), r.close_reason)
        for r in rows
    }


def stage_of(d: Demand) -> DemandStage:
    found = stages(sa.select(Demand.id).where(Demand.id == d.id))
    return found.get(d.id) or DemandStage(d.id, d.status)


@dataclass
class Counts:
    reached: dict[str, int]  # demands at this stage or further
    at: dict[str, int]  # demands whose furthest stage is this one
    submitted: int = 0  # awaiting review (not in the funnel yet)
    closed: int = 0  # closed after publication without an agreement
    closed_unpublished: int = 0  # closed before anyone published them
    total: int = 0  # every demand of the set, from submitted on

    @property
    def published(self) -> int:
        return self.reached["published"]


def counts(ids_query) -> Counts:
    found = stages(ids_query)
    at = dict.fromkeys(STAGES, 0)
    c = Counts(reached=dict.fromkeys(STAGES, 0), at=at, total=len(found))
    for s in found.values():
        if not s.published:
            if s.closed:
                c.closed_unpublished += 1
            else:
                c.submitted += 1
            continue
        at[s.stage] += 1
        if s.closed and s.stage != "agreement":
            c.closed += 1
    running = 0
    for stage in reversed(STAGES):
        running += at[stage]
        c.reached[stage] = running
    return c


# -- outcomes ----------------------------------------------------------------------
#: Values at or above this (in 万元) are refused: a typing slip, not an agreement.
MAX_VALUE_WAN = 100_000_000
OUTCOME_FIELDS = ("kind", "organization_a_id", "organization_b_id", "occurred_on", "value_wan",
                  "note", "note_en", "reply_id")


def get_outcome(outcome_id: int) -> Outcome:
    o = db.session.get(Outcome, outcome_id)
    if o is None:
        raise NotFound()
    return o


def partner_choices(party_a_id: int | None, current: Outcome | None = None) -> list[Organization]:
    """Organisations an outcome may name as the other party: every organisation on the board
    but the first party and those merged into another (the one already named stays)."""
    query = sa.select(Organization).where(Organization.merged_into_id.is_(None))
    if party_a_id is not None:
        query = query.where(Organization.id != party_a_id)
    orgs = list(db.session.scalars(query.order_by(Organization.name)))
    if current is not None and all(o.id != current.organization_b_id for o in orgs):
        orgs.insert(0, current.organization_b)
    return orgs


def _outcome_values(o: Outcome, d: Demand | None, data: dict) -> None:
    kind = OutcomeKind(data["kind"])
    partner_id = data.get("organization_b_id")
    partner = db.session.get(Organization, partner_id) if partner_id else None
    if partner is None:
        raise Invalid(_l("Choose the supplier organisation."), "organization_b_id")
    party_a = d.organization_id if d is not None else o.organization_a_id
    if partner.id == party_a:
        raise Invalid(_l("Choose an organisation other than the demand's own."), "organization_b_id")
    if partner.merged_into_id is not None and partner.id != o.organization_b_id:
        raise Invalid(_l("This organisation was merged into another; choose that one."),
                      "organization_b_id")
    occurred = data.get("occurred_on")
    if occurred is None:
        raise Invalid(_l("This field is required."), "occurred_on")
    if occurred > rounds.today():
        raise Invalid(_l("An outcome records what has happened: the date cannot be in the future."),
                      "occurred_on")
    value = data.get("value_wan")
    if value is not None:
        if kind != OutcomeKind.AGREEMENT:
            raise Invalid(_l("Only an agreement has a value; leave this empty for a meeting."),
                          "value_wan")
        if value < 0:
            raise Invalid(_l("The value cannot be negative."), "value_wan")
        if value >= MAX_VALUE_WAN:
            raise Invalid(_l("The value is too large: enter it in units of 10,000 yuan."), "value_wan")
    o.kind = kind
    o.organization_a_id = party_a
    o.organization_b_id = partner.id
    o.occurred_on = occurred
    o.value_wan = float(value) if value is not None else None
    o.note = (data.get("note") or "").strip() or None
    o.note_en = (data.get("note_en") or "").strip() or None
    if d is not None:  # the supplier's reply on this demand, when it sent one
        o.reply_id = db.session.scalar(
            sa.select(Reply.id).where(Reply.demand_id == d.id, Reply.organization_id == partner.id)
        )


def _lock_demand(d: Demand) -> None:
    """Serialise staff recording outcomes on one demand (see ``rounds._lock``)."""
    table = Demand.__table__
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            sa.update(table).where(table.c.id == d.id)
            .values(id=table.c.id, updated_at=table.c.updated_at)
        )
    else:
        db.session.execute(sa.select(table.c.id).where(table.c.id == d.id).with_for_update())


def record_outcome(staff: User, d: Demand, data: dict) -> tuple[Outcome, bool]:
    """Record a meeting held or an agreement signed offline between the demand's organisation
    and a supplier organisation. The same outcome recorded twice (same kind, party and date)
    is kept once: returns it and False."""
    if not rights.record_outcome(staff, d):
        raise NotFound()
    o = Outcome(demand_id=d.id, event_id=None, recorded_by_id=staff.id)
    _outcome_values(o, d, data)
    _lock_demand(d)
    same = db.session.scalar(
        sa.select(Outcome).where(
            Outcome.demand_id == d.id, Outcome.kind == o.kind,
            Outcome.organization_b_id == o.organization_b_id, Outcome.occurred_on == o.occurred_on,
        ).limit(1)
    )
    if same is not None:
        return same, False
    db.session.add(o)
    db.session.flush()
    audit.record(staff, f"outcome.{o.kind.value}", o, after=audit.snapshot(o, *OUTCOME_FIELDS,
                 "demand_id"))
    return o, True


def update_outcome(staff: User, o: Outcome, data: dict) -> Outcome:
    if not rights.edit_outcome(staff, o):
        raise NotFound()
    before = audit.snapshot(o, *OUTCOME_FIELDS)
    _outcome_values(o, o.demand, data)
    after = audit.snapshot(o, *OUTCOME_FIELDS)
    changed = [k for k in OUTCOME_FIELDS if before[k] != after[k]]
    if changed:
        o.recorded_by_id = staff.id
        audit.record(staff, "outcome.update", o, before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed})
    db.session.flush()
    return o


def outcomes_page(kind: str | None, round_id: int | None, page_no: int, per_page: int = 30):
    from .demands import paginate

    oc = rounds.outcome_rounds()
    query = (
        sa.select(Outcome)
        .options(selectinload(Outcome.organization_a), selectinload(Outcome.organization_b),
                 selectinload(Outcome.demand))
        .order_by(Outcome.occurred_on.desc().nulls_last(), Outcome.id.desc())
    )
    if kind:
        query = query.where(Outcome.kind == OutcomeKind(kind))
    if round_id is not None:
        query = query.where(Outcome.id.in_(sa.select(oc.c.outcome_id).where(oc.c.round_id == round_id)))
    return paginate(query, page_no, per_page)


def outcomes_of(d: Demand) -> list[Outcome]:
    return list(
        db.session.scalars(
            sa.select(Outcome).where(Outcome.demand_id == d.id)
            .options(selectinload(Outcome.organization_b))
            .order_by(Outcome.occurred_on, Outcome.id)
        )
    )


# -- a demand's timeline -------------------------------------------------------------
@dataclass
class Event:
    when: dt.datetime  # for ordering
    kind: str
    day: dt.date | None = None  # set for events known by their date only
    data: dict = field(default_factory=dict)

    @property
    def date_only(self) -> bool:
        return self.day is not None


def _at(day: dt.date | None) -> dt.datetime | None:
    """A date on the timeline: after everything else that happened that day (in the board's
    time zone, the one dates are shown in)."""
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time.max, tzinfo=rights.zone()).astimezone(dt.UTC)


@dataclass
class Story:
    stage: DemandStage
    events: list[Event]
    replies: list[Reply]
    outcomes: list[Outcome]
    moves: list


def story(d: Demand) -> Story:
    """Everything that happened to a demand, oldest first, and its replies in full."""
    events: list[Event] = []

    def add(when, kind, day=None, **data):
        if when is not None:
            events.append(Event(when, kind, day, data))

    add(d.submitted_at, "submitted")
    add(d.published_at, "published")
    for rev in db.session.scalars(
        sa.select(DemandRevision).where(DemandRevision.demand_id == d.id)
        .order_by(DemandRevision.created_at)
    ):
        add(rev.created_at, "revision_proposed")
        if rev.status != RevisionStatus.PENDING:
            add(rev.decided_at or rev.updated_at, f"revision_{rev.status.value}", reason=rev.reason)
    for m in db.session.scalars(
        sa.select(Match).where(Match.demand_id == d.id, Match.status == MatchStatus.CONFIRMED)
        .options(selectinload(Match.capability).selectinload(Capability.organization))
    ):
        add(m.reviewed_at or m.computed_at, "match_confirmed", org=m.capability.organization,
            title=m.capability.title)
    reply_list = list(
        db.session.scalars(
            sa.select(Reply).where(Reply.demand_id == d.id)
            .options(selectinload(Reply.organization), selectinload(Reply.capability))
            .order_by(Reply.created_at, Reply.id)
        )
    )
    for r in reply_list:
        add(r.created_at, "reply", org=r.organization)
        if r.status in (ReplyStatus.SHORTLISTED, ReplyStatus.DECLINED, ReplyStatus.WITHDRAWN):
            add(r.answered_at or r.updated_at, f"reply_{r.status.value}", org=r.organization,
                reason=r.status_reason)
    for mt in db.session.scalars(
        sa.select(Meeting).join(Reply, Meeting.reply_id == Reply.id)
        .where(Reply.demand_id == d.id)
        .options(selectinload(Meeting.reply).selectinload(Reply.organization))
    ):
        add(mt.created_at, "meeting_proposed", org=mt.reply.organization)
        if mt.status in (MeetingStatus.ACCEPTED, MeetingStatus.HELD) and mt.starts_at:
            add(mt.starts_at, f"meeting_{mt.status.value}", org=mt.reply.organization)
        elif mt.status in (MeetingStatus.DECLINED, MeetingStatus.CANCELLED):
            add(mt.answered_at or mt.created_at, f"meeting_{mt.status.value}",
                org=mt.reply.organization)
    outcome_list = outcomes_of(d)
    for o in outcome_list:
        add(_at(o.occurred_on), f"outcome_{o.kind.value}", o.occurred_on, outcome=o)
    moves = rounds.moves_of(d.id)
    for mv in moves:
        add(mv.moved_at, "carried", move=mv)
    if d.status == DemandStatus.CLOSED:
        add(d.closed_at, "closed", reason=d.close_reason)
    order = {e: i for i, e in enumerate(("submitted", "published"))}
    events.sort(key=lambda e: (e.when, order.get(e.kind, 9)))
    return Story(stage_of(d), events, list(reversed(reply_list)), outcome_list, moves)


# -- the dashboard -------------------------------------------------------------------
@dataclass
class Insights:
    counts: Counts
    replied: int
    published: int
    median_days: float | None
    segments: list  # [(segment, demands, capabilities)]
    themes: list
    matrix: dict  # (segment code or "", theme code or "") -> (demands, capabilities)
    months: list  # [("2023-02", n)]

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.published if self.published else None


def _first_reply_days(ids) -> list[float]:
    """Days from publication to the first reply (not withdrawn), per replied demand."""
    rows = db.session.execute(
        sa.select(Demand.published_at, sa.func.min(Reply.created_at))
        .join(Reply, Reply.demand_id == Demand.id)
        .where(Demand.id.in_(ids), Demand.published_at.is_not(None),
               Reply.status != ReplyStatus.WITHDRAWN)
        .group_by(Demand.id, Demand.published_at)
    ).all()
    out = []
    for published, first in rows:
        if isinstance(first, str):  # SQLite may hand back an aggregate as text
            first = dt.datetime.fromisoformat(first)
        if first.tzinfo is None:
            first = first.replace(tzinfo=dt.UTC)
        out.append(max(0.0, (first - published).total_seconds() / 86400))
    return out


def insights(round_id: int | None = None) -> Insights:
    from .records import all_segments, all_themes

    ids_query = scope(round_id)
    c = counts(ids_query)
    ids = ids_query.scalar_subquery()
    days = _first_reply_days(ids)
    published_ids = sa.select(Demand.id).where(Demand.id.in_(ids), Demand.published_at.is_not(None))
    segs, themes = all_segments(), all_themes()
    matrix: dict[tuple[str, str], list[int]] = {}
    for seg, theme, n in db.session.execute(
        sa.select(Demand.segment_code, demand_theme.c.theme_code, sa.func.count())
        .select_from(Demand).outerjoin(demand_theme, demand_theme.c.demand_id == Demand.id)
        .where(Demand.id.in_(published_ids.scalar_subquery()))
        .group_by(Demand.segment_code, demand_theme.c.theme_code)
    ):
        matrix.setdefault((seg or "", theme or ""), [0, 0])[0] = n
    for seg, theme, n in db.session.execute(
        sa.select(Capability.segment_code, capability_theme.c.theme_code, sa.func.count())
        .select_from(Capability)
        .outerjoin(capability_theme, capability_theme.c.capability_id == Capability.id)
        .group_by(Capability.segment_code, capability_theme.c.theme_code)
    ):
        matrix.setdefault((seg or "", theme or ""), [0, 0])[1] = n
    per_segment: dict[str, list[int]] = {}
    for seg, n in db.session.execute(
        sa.select(Demand.segment_code, sa.func.count())
        .where(Demand.id.in_(published_ids.scalar_subquery())).group_by(Demand.segment_code)
    ):
        per_segment.setdefault(seg or "", [0, 0])[0] = n
    for seg, n in db.session.execute(
        sa.select(Capability.segment_code, sa.func.count()).group_by(Capability.segment_code)
    ):
        per_segment.setdefault(seg or "", [0, 0])[1] = n
    segment_rows = [(s, *per_segment.get(s.code, [0, 0])) for s in segs]
    if "" in per_segment:
        segment_rows.append((None, *per_segment[""]))
    return Insights(
        counts=c,
        replied=c.reached["replied"],
        published=c.published,
        median_days=statistics.median(days) if days else None,
        segments=segment_rows,
        themes=themes,
        matrix={k: tuple(v) for k, v in matrix.items()},
        months=agreements_by_month(round_id),
    )


def agreements_by_month(round_id: int | None = None) -> list[tuple[str, int]]:
    """Agreements signed per month ("2023-02"), oldest first, months without any included
    between the first and the last."""
    oc = rounds.outcome_rounds()
    year = sa.extract("year", oc.c.occurred_on)
    month = sa.extract("month", oc.c.occurred_on)
    query = (
        sa.select(year, month, sa.func.count())
        .where(oc.c.kind == OutcomeKind.AGREEMENT, oc.c.occurred_on.is_not(None))
        .group_by(year, month)
    )
    if round_id is not None:
        query = query.where(oc.c.round_id == round_id)
    found = {(int(y), int(m)): n for y, m, n in db.session.execute(query)}
    if not found:
        return []
    (y, m), last = min(found), max(found)
    out = []
    while (y, m) <= last:
        out.append((f"{y:04d}-{m:02d}", found.get((y, m), 0)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
