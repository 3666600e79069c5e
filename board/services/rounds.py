"""Collection rounds: creating, opening and closing them, carrying open demands from one
round into the next, what the board says about them, and their round-on-round figures.

Dates are inclusive: a round is open from ``opens_on`` through ``closes_on`` (no closing date:
open until staff close it), the rule ``demands.open_round`` files submitted demands by.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (
    AuditEntry,
    Capability,
    Demand,
    DemandStatus,
    Match,
    MatchStatus,
    Outcome,
    OutcomeKind,
    Reply,
    ReplyStatus,
    Round,
    RoundMove,
    User,
)
from . import audit
from .demands import Page, paginate
from .errors import Invalid, NotFound
from .records import all_segments, all_themes
from .rights import today

#: What a demand must be to be carried into another round: not yet answered for good.
OPEN_DEMAND = (DemandStatus.SUBMITTED, DemandStatus.PUBLISHED)
#: The fields staff edit, as the audit log records them.
FIELDS = ("name", "name_en", "opens_on", "closes_on", "description", "description_en",
          "segments", "themes")
#: The figures of the round-on-round table, in column order.
FIGURES = ("demands", "suppliers", "confirmed", "replies", "meetings", "agreements")


# -- reading -------------------------------------------------------------------------
def get(round_id: int) -> Round:
    r = db.session.get(Round, round_id)
    if r is None:
        raise NotFound()
    return r


def state(r: Round, on: dt.date | None = None) -> str:
    """"unscheduled" (no opening date), "upcoming", "open" or "closed" on a date."""
    on = on or today()
    if r.opens_on is None:
        return "unscheduled"
    if r.opens_on > on:
        return "upcoming"
    if r.closes_on is not None and r.closes_on < on:
        return "closed"
    return "open"


def _chronological():
    return (Round.opens_on.is_(None), Round.opens_on, Round.id)


def page(page_no: int, per_page: int = 30) -> Page:
    """Every round, newest first (rounds with no opening date last)."""
    query = sa.select(Round).order_by(
        Round.opens_on.is_(None), Round.opens_on.desc(), Round.id.desc()
    )
    return paginate(query, page_no, per_page)


def all_rounds() -> list[Round]:
    """Every round, oldest first (for selects)."""
    return list(db.session.scalars(sa.select(Round).order_by(*_chronological())))


def open_on(on: dt.date | None = None) -> list[Round]:
    """The rounds open on a date, the one closing first first."""
    on = on or today()
    return list(
        db.session.scalars(
            sa.select(Round)
            .where(Round.opens_on <= on)
            .where(sa.or_(Round.closes_on.is_(None), Round.closes_on >= on))
            .order_by(Round.closes_on.is_(None), Round.closes_on, Round.opens_on, Round.id)
        )
    )


def next_upcoming(on: dt.date | None = None) -> Round | None:
    on = on or today()
    return db.session.scalar(
        sa.select(Round).where(Round.opens_on > on).order_by(Round.opens_on, Round.id).limit(1)
    )


@dataclass
class Notice:
    """What the public board says about collection: the open rounds, else the next one."""

    open: list[Round] = field(default_factory=list)
    upcoming: Round | None = None


def board_notice(on: dt.date | None = None) -> Notice:
    rounds = open_on(on)
    return Notice(open=rounds, upcoming=None if rounds else next_upcoming(on))


def carry_targets(r: Round, on: dt.date | None = None) -> list[Round]:
    """Rounds a round's open demands may be carried into: open or upcoming ones, not itself."""
    on = on or today()
    return list(
        db.session.scalars(
            sa.select(Round)
            .where(Round.id != r.id, Round.opens_on.is_not(None))
            .where(sa.or_(Round.closes_on.is_(None), Round.closes_on >= on))
            .order_by(Round.opens_on, Round.id)
        )
    )


def open_demand_count(r: Round) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Demand)
        .where(Demand.round_id == r.id, Demand.status.in_(OPEN_DEMAND))
    ) or 0


def moves_of(demand_id: int) -> list[RoundMove]:
    """A demand's moves between rounds, oldest first, with both rounds loaded."""
    rows = db.session.scalars(
        sa.select(RoundMove).where(RoundMove.demand_id == demand_id)
        .order_by(RoundMove.moved_at, RoundMove.id)
    ).all()
    ids = {i for m in rows for i in (m.from_round_id, m.to_round_id) if i}
    rounds = {r.id: r for r in db.session.scalars(sa.select(Round).where(Round.id.in_(ids)))} if ids else {}
    for m in rows:
        m.from_round = rounds.get(m.from_round_id)  # plain attributes for the template
        m.to_round = rounds.get(m.to_round_id)
    return list(rows)


def history(r: Round, limit: int = 50) -> list[AuditEntry]:
    """The audit entries about a round, newest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.object_type == Round.__tablename__, AuditEntry.object_id == r.id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


# -- writing -------------------------------------------------------------------------
def _lock(r: Round) -> Round:
    """Hold the round's row until the transaction ends and read it afresh, so that two staff
    acting on one round at once act one after the other (the second sees the first's result).
    SQLite takes its database write lock on the first write; PostgreSQL locks the row."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            sa.update(Round.__table__).where(Round.__table__.c.id == r.id)
            .values(id=Round.__table__.c.id)
        )
    fresh = db.session.scalar(
        sa.select(Round).where(Round.id == r.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if fresh is None:
        raise NotFound()
    return fresh


def _codes(values, known) -> list[str]:
    allowed = {x.code for x in known}
    return [v for v in dict.fromkeys(values or []) if v in allowed]


def _clean(data: dict) -> dict:
    def text(key):
        return (data.get(key) or "").strip() or None

    out = {
        "name": (data.get("name") or "").strip(),
        "name_en": text("name_en"),
        "opens_on": data.get("opens_on"),
        "closes_on": data.get("closes_on"),
        "description": text("description"),
        "description_en": text("description_en"),
        "segments": _codes(data.get("segments"), all_segments()),
        "themes": _codes(data.get("themes"), all_themes()),
    }
    if not out["name"]:
        raise Invalid(_l("This field is required."), "name")
    if out["opens_on"] is None:
        raise Invalid(_l("This field is required."), "opens_on")
    if out["closes_on"] is not None and out["closes_on"] < out["opens_on"]:
        raise Invalid(_l("A round cannot close before it opens."), "closes_on")
    return out


def _check_name(name: str, exclude_id: int | None = None) -> None:
    query = sa.select(Round.id).where(sa.func.lower(Round.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Round.id != exclude_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise Invalid(_l("Another round already has this name."), "name")


def create(staff: User, data: dict) -> Round:
    values = _clean(data)
    _check_name(values["name"])
    r = Round(**values)
    db.session.add(r)
    db.session.flush()
    audit.record(staff, "round.create", r, after=audit.snapshot(r, *FIELDS))
    return r


def update(staff: User, r: Round, data: dict) -> Round:
    values = _clean(data)
    _check_name(values["name"], exclude_id=r.id)
    r = _lock(r)
    before = audit.snapshot(r, *FIELDS)
    for key, value in values.items():
        setattr(r, key, value)
    after = audit.snapshot(r, *FIELDS)
    changed = [k for k in FIELDS if before[k] != after[k]]
    if changed:
        audit.record(staff, "round.update", r, before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed})
    db.session.flush()
    return r


def open_now(staff: User, r: Round) -> bool:
    """Open a round today: an opening date in the future becomes today, a closing date in
    the past is removed. False if it was open already (nothing changes)."""
    r = _lock(r)
    on = today()
    if state(r, on) == "open":
        return False
    before = audit.snapshot(r, "opens_on", "closes_on")
    if r.opens_on is None or r.opens_on > on:
        r.opens_on = on
    if r.closes_on is not None and r.closes_on < on:
        r.closes_on = None
    audit.record(staff, "round.open", r, before=before, after=audit.snapshot(r, "opens_on", "closes_on"))
    db.session.flush()
    return True


@dataclass
class CloseResult:
    closed: bool  # this request closed it (False: it was closed already)
    carried: int  # demands carried into the other round


def close_now(staff: User, r: Round, carry_to: Round | None = None) -> CloseResult:
    """Close a round today (its closing date becomes today, the last day it takes demands)
    and, if asked, carry its open demands into another round."""
    r = _lock(r)
    on = today()
    current = state(r, on)
    if current in ("upcoming", "unscheduled"):
        raise Invalid(_l("This round has not opened yet; change its dates instead."))
    closed = False
    if current == "open" and r.closes_on != on:
        before = audit.snapshot(r, "closes_on")
        r.closes_on = on
        audit.record(staff, "round.close", r, before=before, after=audit.snapshot(r, "closes_on"))
        closed = True
    carried = carry(staff, r, carry_to, locked=True) if carry_to is not None else 0
    db.session.flush()
    return CloseResult(closed, carried)


def carry(staff: User, r: Round, target: Round, *, locked: bool = False) -> int:
    """Move the round's open demands (submitted or published) into ``target``: each gets the
    new round and one RoundMove row; the audit log records the move. Returns how many."""
    if not locked:
        r = _lock(r)
    on = today()
    if target.id == r.id:
        raise Invalid(_l("Choose another round."), "carry_to")
    if target.opens_on is None or state(target, on) == "closed":
        raise Invalid(_l("Demands can be carried only into an open or upcoming round."), "carry_to")
    ids = list(
        db.session.scalars(
            sa.select(Demand.id)
            .where(Demand.round_id == r.id, Demand.status.in_(OPEN_DEMAND))
            .order_by(Demand.id)
        )
    )
    if not ids:
        return 0
    db.session.execute(
        sa.update(Demand).where(Demand.id.in_(ids), Demand.round_id == r.id)
        .values(round_id=target.id)
    )
    now = dt.datetime.now(dt.UTC)
    db.session.add_all(
        RoundMove(demand_id=i, from_round_id=r.id, to_round_id=target.id,
                  moved_by_id=staff.id, moved_at=now)
        for i in ids
    )
    audit.record(staff, "round.carry", r, before={"round_id": r.id},
                 after={"round_id": target.id, "demands": ids})
    db.session.flush()
    return len(ids)


# -- round-on-round figures ----------------------------------------------------------
def outcome_rounds():
    """A subquery of (outcome id, kind, round id): an outcome counts in its demand's round;
    one without a demand in a round (like the agreements signed at the event) counts in the
    round that was open on its date."""
    by_date = aliased(Round)
    on_date = (
        sa.select(by_date.id)
        .where(by_date.opens_on <= Outcome.occurred_on)
        .where(sa.or_(by_date.closes_on.is_(None), by_date.closes_on >= Outcome.occurred_on))
        .order_by(by_date.opens_on.desc(), by_date.id.desc())
        .limit(1)
        .correlate(Outcome)
        .scalar_subquery()
    )
    return (
        sa.select(
            Outcome.id.label("outcome_id"),
            Outcome.kind.label("kind"),
            Outcome.occurred_on.label("occurred_on"),
            sa.func.coalesce(Demand.round_id, on_date).label("round_id"),
        )
        .select_from(Outcome)
        .outerjoin(Demand, Outcome.demand_id == Demand.id)
        .subquery()
    )


def threshold() -> float:
    return float(current_app.config["MATCH_THRESHOLD"])


def _matched():
    """A stored match that counts: not dismissed and at or above the threshold, or confirmed."""
    return sa.or_(
        sa.and_(Match.status != MatchStatus.DISMISSED, Match.score >= threshold()),
        Match.status == MatchStatus.CONFIRMED,
    )


def figures(round_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per round: demands submitted in it (not returned to draft; carried-in ones included),
    suppliers (organisations that replied to its demands or own a capability matched to one
    of them), confirmed matches, replies (not withdrawn), meetings held and agreements
    signed (outcomes). One grouped query per figure, whatever the number of rounds."""
    out = {rid: dict.fromkeys(FIGURES + ("carried_in",), 0) for rid in round_ids}
    if not round_ids:
        return out

    def put(name, rows):
        for rid, n in rows:
            if rid in out:
                out[rid][name] = n

    in_rounds = Demand.round_id.in_(round_ids)
    not_draft = Demand.status != DemandStatus.DRAFT
    put("demands", db.session.execute(
        sa.select(Demand.round_id, sa.func.count()).where(in_rounds, not_draft)
        .group_by(Demand.round_id)))
    put("carried_in", db.session.execute(
        sa.select(RoundMove.to_round_id, sa.func.count(sa.distinct(RoundMove.demand_id)))
        .where(RoundMove.to_round_id.in_(round_ids)).group_by(RoundMove.to_round_id)))
    repliers = (
        sa.select(Demand.round_id.label("rid"), Reply.organization_id.label("org"))
        .join(Reply, Reply.demand_id == Demand.id)
        .where(in_rounds, not_draft, Reply.status != ReplyStatus.WITHDRAWN)
    )
    matched = (
        sa.select(Demand.round_id.label("rid"), Capability.organization_id.label("org"))
        .select_from(Match)
        .join(Demand, Match.demand_id == Demand.id)
        .join(Capability, Match.capability_id == Capability.id)
        .where(in_rounds, not_draft, _matched(),
               Capability.organization_id != Demand.organization_id)
    )
    both = sa.union(repliers, matched).subquery()
    put("suppliers", db.session.execute(
        sa.select(both.c.rid, sa.func.count(sa.distinct(both.c.org))).group_by(both.c.rid)))
    put("confirmed", db.session.execute(
        sa.select(Demand.round_id, sa.func.count(Match.id))
        .join(Match, Match.demand_id == Demand.id)
        .where(in_rounds, not_draft, Match.status == MatchStatus.CONFIRMED)
        .group_by(Demand.round_id)))
    put("replies", db.session.execute(
        sa.select(Demand.round_id, sa.func.count(Reply.id))
        .join(Reply, Reply.demand_id == Demand.id)
        .where(in_rounds, not_draft, Reply.status != ReplyStatus.WITHDRAWN)
        .group_by(Demand.round_id)))
    oc = outcome_rounds()
    for rid, kind, n in db.session.execute(
        sa.select(oc.c.round_id, oc.c.kind, sa.func.count())
        .where(oc.c.round_id.in_(round_ids)).group_by(oc.c.round_id, oc.c.kind)
    ):
        name = "meetings" if OutcomeKind(kind) == OutcomeKind.MEETING else "agreements"
        if rid in out:
            out[rid][name] += n
    return out


@dataclass
class RoundRow:
    round: Round
    state: str
    figures: dict[str, int]
    previous: Round | None  # the round before it, which the change is measured against
    change: dict[str, int | None]  # None: no earlier round


def table(rounds: list[Round]) -> list[RoundRow]:
    """Figures for some rounds with the change from each one's previous round (by opening
    date, whether or not the previous one is among them)."""
    if not rounds:
        return []
    ordered = all_rounds()
    previous = {}
    for before, after in zip(ordered, ordered[1:], strict=False):
        previous[after.id] = before
    wanted = {r.id for r in rounds} | {p.id for r in rounds if (p := previous.get(r.id))}
    figs = figures(sorted(wanted))
    on = today()
    rows = []
    for r in rounds:
        prev = previous.get(r.id)
        change = {k: (figs[r.id][k] - figs[prev.id][k]) if prev else None for k in FIGURES}
        rows.append(RoundRow(r, state(r, on), figs[r.id], prev, change))
    return rows
