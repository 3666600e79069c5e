"""Stored matches kept fresh: saving a demand or capability rescores only that record
against the other side; ``rematch_all`` recomputes everything."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload, undefer

from ..extensions import db
from ..matching import Analysis, Engine, rank_candidates
from ..models import Capability, Demand, DemandStatus, Match, MatchKey, MatchStatus, utcnow
from . import announce, audit, rights
from .errors import Invalid, NotFound
from .matcher import get_engine, to_doc

ACTIVE_DEMAND = (DemandStatus.DRAFT, DemandStatus.SUBMITTED, DemandStatus.PUBLISHED)
REVIEWED = (MatchStatus.CONFIRMED, MatchStatus.DISMISSED)


def settings() -> tuple[int, float]:
    cfg = current_app.config
    return int(cfg["MATCH_TOP_K"]), float(cfg["MATCH_THRESHOLD"])


# -- analyses and the inverted index ------------------------------------------------
def analysis_of(engine: Engine, record: Demand | Capability) -> Analysis:
    """The record's stored analysis, recomputed when the lexicon has changed since."""
    a = engine.load(record.analysis)
    if a is None:
        a = engine.analyze(to_doc(record))
        record.analysis = a.to_json()
        record.analysis_version = engine.version
    return a


def _side(record: Demand | Capability) -> str:
    return "d" if isinstance(record, Demand) else "c"


def _write_keys(engine: Engine, side: str, record_id: int, a: Analysis | None) -> None:
    db.session.execute(
        sa.delete(MatchKey).where(MatchKey.side == side, MatchKey.record_id == record_id)
    )
    if a is not None:
        rows = [
            {"side": side, "record_id": record_id, "key": k, "weight": v}
            for k, v in engine.keys(a).items()
        ]
        if rows:
            db.session.execute(sa.insert(MatchKey), rows)


def reindex(engine: Engine, record: Demand | Capability) -> Analysis:
    """Analyse a record afresh and file it in the index (closed demands are not filed)."""
    a = engine.analyze(to_doc(record))
    record.analysis = a.to_json()
    record.analysis_version = engine.version
    active = not (isinstance(record, Demand) and record.status not in ACTIVE_DEMAND)
    _write_keys(engine, _side(record), record.id, a if active else None)
    return a


def candidates(engine: Engine, side: str, a: Analysis, limit: int) -> list[int]:
    keys = engine.keys(a)
    if not keys:
        return []
    rows = db.session.execute(
        sa.select(MatchKey.record_id, MatchKey.key, MatchKey.weight).where(
            MatchKey.side == side, MatchKey.key.in_(list(keys))
        )
    )
    return rank_candidates(keys, rows, limit)


# -- writing matches -----------------------------------------------------------------
# One rule on every path: a demand keeps the top K unreviewed capabilities at or above the
# threshold as "suggested"; matches staff confirmed or dismissed stay, rescored, on top of those.


def _rank_demand(
    engine: Engine,
    demand_id: int,
    a: Analysis,
    pool: Iterable[tuple[int, Analysis]],
    lookup: Callable[[int], Analysis | None],
) -> None:
    """Rewrite one demand's matches from a pool of candidate capabilities."""
    top_k, threshold = settings()
    existing = {
        m.capability_id: m
        for m in db.session.scalars(sa.select(Match).where(Match.demand_id == demand_id))
    }
    reviewed = {cid for cid, m in existing.items() if m.status in REVIEWED}
    ranked = engine.rank(a, ((cid, an) for cid, an in pool if cid not in reviewed), top_k, threshold)
    now = utcnow()
    for r in ranked:
        m = existing.pop(r.id, None)
        if m is None:
            db.session.add(Match(demand_id=demand_id, capability_id=r.id, score=r.score,
                                 reasons=r.reasons, computed_at=now))
        else:
            m.score, m.reasons, m.computed_at = r.score, r.reasons, now
    for cap_id, m in existing.items():
        if m.status in REVIEWED:
            cap = lookup(cap_id)
            s = engine.score(a, cap) if cap is not None else None
            m.score, m.reasons = (s.score, s.reasons) if s else (0.0, {})
            m.computed_at = now
        else:
            db.session.delete(m)


def refresh_demand(demand: Demand, engine: Engine | None = None) -> None:
    """Rescore one demand against the capabilities that share something with it."""
    engine = engine or get_engine()
    a = reindex(engine, demand)
    if demand.status not in ACTIVE_DEMAND:
        return  # closed: out of the index; its stored matches stay as history
    top_k, _ = settings()
    caps = _load(Capability, candidates(engine, "c", a, engine.candidate_limit(top_k)))
    analyses = {c.id: analysis_of(engine, c) for c in caps}

    def lookup(cap_id: int) -> Analysis | None:
        if cap_id not in analyses:
            cap = db.session.get(Capability, cap_id)
            analyses[cap_id] = analysis_of(engine, cap) if cap else None
        return analyses[cap_id]

    _rank_demand(engine, demand.id, a, list(analyses.items()), lookup)
    db.session.flush()


def refresh_capability(
    cap: Capability, engine: Engine | None = None, skip_demands: set[int] = frozenset()
) -> None:
    """Rescore one capability against the active demands that share something with it
    (``skip_demands`` were just ranked in full and need nothing more)."""
    engine = engine or get_engine()
    top_k, threshold = settings()
    a = reindex(engine, cap)
    ids = candidates(engine, "d", a, max(500, engine.candidate_limit(top_k)))
    demands = {d.id: d for d in _load(Demand, ids) if d.status in ACTIVE_DEMAND}
    existing = {
        m.demand_id: m
        for m in db.session.scalars(
            sa.select(Match)
            .join(Match.demand)
            .where(Match.capability_id == cap.id, Demand.status.in_(ACTIVE_DEMAND))
        )
    }
    now = utcnow()
    crowded: set[int] = set()  # demands that may now hold more than K suggestions
    refill: set[int] = set()  # demands that lost this capability and may take another
    for demand_id in sorted(set(demands) | set(existing)):
        if demand_id in skip_demands:
            continue
        m = existing.get(demand_id)
        d = demands.get(demand_id) or db.session.get(Demand, demand_id)
        d_an = analysis_of(engine, d)
        s = engine.score(d_an, a, explain=False)
        if m is not None or (s.score > 0 and s.score >= threshold):
            s = engine.score(d_an, a)  # with reasons, only for what gets written
        if m is not None and m.status in REVIEWED:
            m.score, m.reasons, m.computed_at = s.score, s.reasons, now
        elif s.score > 0 and s.score >= threshold:
            if m is None:
                db.session.add(Match(demand_id=demand_id, capability_id=cap.id, score=s.score,
                                     reasons=s.reasons, computed_at=now))
                crowded.add(demand_id)
            else:
                if s.score < m.score:
                    refill.add(demand_id)
                m.score, m.reasons, m.computed_at = s.score, s.reasons, now
        elif m is not None:
            db.session.delete(m)
            refill.add(demand_id)
    db.session.flush()
    for demand_id in sorted(crowded - refill):
        _trim(demand_id, top_k)
    # A demand that lost this capability (or saw it drop) is ranked again in full.
    for d in _load(Demand, sorted(refill)):
        refresh_demand(d, engine)
    db.session.flush()


def _trim(demand_id: int, top_k: int) -> None:
    suggested = db.session.scalars(
        sa.select(Match)
        .where(Match.demand_id == demand_id, Match.status == MatchStatus.SUGGESTED)
        .order_by(Match.score.desc(), Match.capability_id)
    ).all()
    for m in suggested[top_k:]:
        db.session.delete(m)


def forget_capability(cap: Capability) -> list[int]:
    """Before deleting a capability: drop it from the index; return the demands to refill."""
    engine = get_engine()
    _write_keys(engine, "c", cap.id, None)
    return [
        m.demand_id
        for m in db.session.scalars(
            sa.select(Match)
            .join(Match.demand)
            .where(Match.capability_id == cap.id, Demand.status.in_(ACTIVE_DEMAND))
        )
    ]


def refill_demands(demand_ids: Iterable[int]) -> None:
    engine = get_engine()
    for d in _load(Demand, list(demand_ids)):
        if d.status in ACTIVE_DEMAND:
            refresh_demand(d, engine)


def _load(model, ids: list[int]) -> list:
    if not ids:
        return []
    rows = db.session.scalars(
        sa.select(model).where(model.id.in_(ids)).options(undefer(model.analysis),
                                                          selectinload(model.themes))
    ).all()
    order = {rid: i for i, rid in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r.id])


def stale() -> bool:
    """Whether any record was analysed with another lexicon or engine than the current one."""
    version = get_engine().version
    for model in (Capability, Demand):
        hit = db.session.scalar(
            sa.select(model.id)
            .where(sa.or_(model.analysis_version.is_(None), model.analysis_version != version))
            .limit(1)
        )
        if hit is not None:
            return True
    return False


def rematch_all(progress: Callable[[Iterable], Iterable] | None = None) -> dict:
    """Rebuild the index and every active demand's matches. Analyses are recomputed when
    they were made with another lexicon or engine version, reused otherwise."""
    progress = progress or (lambda it: it)
    engine = get_engine()
    top_k, _ = settings()
    db.session.execute(sa.delete(MatchKey))
    index = engine.new_index()
    caps = db.session.scalars(
        sa.select(Capability).options(undefer(Capability.analysis), selectinload(Capability.themes))
    ).all()
    demands = db.session.scalars(
        sa.select(Demand)
        .where(Demand.status.in_(ACTIVE_DEMAND))
        .options(undefer(Demand.analysis), selectinload(Demand.themes))
    ).all()
    key_rows: list[dict] = []

    def flush_keys() -> None:
        if key_rows:
            db.session.execute(sa.insert(MatchKey), key_rows)
            key_rows.clear()

    work = [("c", c) for c in caps] + [("d", d) for d in demands]
    for side, record in progress(work):
        a = analysis_of(engine, record)
        if side == "d" and key_rows and key_rows[-1]["side"] == "c":
            flush_keys()  # every capability's keys first: the engine reads word frequencies there
        key_rows.extend(
            {"side": side, "record_id": record.id, "key": k, "weight": v}
            for k, v in engine.keys(a).items()
        )
        if len(key_rows) >= 5000:
            flush_keys()
        if side == "c":
            index.add(record.id, a)
        else:
            pool = [(i, index.records[i]) for i in index.candidates(a, engine.candidate_limit(top_k))]
            _rank_demand(engine, record.id, a, pool, index.records.get)
    flush_keys()
    db.session.flush()
    return {"capabilities": len(caps), "demands": len(demands)}


def refresh_many(demands: list[Demand], capabilities: list[Capability]) -> None:
    """After a bulk write (an import): the same result as saving each record in turn, by
    the cheaper of two routes. Rescoring each new capability against the demands costs
    about len(capabilities) x min(active demands, 500) pair scores; ranking every active
    demand from an in-memory index costs about active demands x the candidate limit."""
    engine = get_engine()
    top_k, _ = settings()
    for record in [*capabilities, *demands]:
        reindex(engine, record)
    db.session.flush()
    active = db.session.scalar(
        sa.select(sa.func.count(Demand.id)).where(Demand.status.in_(ACTIVE_DEMAND))
    )
    per_record = len(capabilities) * min(active, 500)
    per_demand = active * engine.candidate_limit(top_k)
    if capabilities and per_record > per_demand:
        rematch_all()
        return
    for d in demands:
        refresh_demand(d, engine)
    done = {d.id for d in demands}
    for cap in capabilities:
        refresh_capability(cap, engine, skip_demands=done)


# -- reading matches -----------------------------------------------------------------
def for_demand(demand: Demand, include_dismissed: bool = False) -> list[Match]:
    q = (
        sa.select(Match)
        .where(Match.demand_id == demand.id)
        .options(
            selectinload(Match.capability).options(
                selectinload(Capability.organization),
                selectinload(Capability.themes),
                selectinload(Capability.segment),
            ),
            selectinload(Match.reviewed_by),
        )
    )
    if not include_dismissed:
        q = q.where(Match.status != MatchStatus.DISMISSED)
    rows = db.session.scalars(q).all()
    return sorted(rows, key=_display_order)


def top_for_demands(demand_ids: list[int], n: int) -> dict[int, list[Match]]:
    """The best ``n`` shown matches of each demand (for list pages)."""
    top: dict[int, list[Match]] = {}
    if not demand_ids:
        return top
    rows = db.session.scalars(
        sa.select(Match)
        .where(Match.demand_id.in_(demand_ids), Match.status != MatchStatus.DISMISSED)
        .options(selectinload(Match.capability).selectinload(Capability.organization))
        .order_by(Match.demand_id, Match.score.desc(), Match.capability_id)
    )
    for m in rows:
        shown = top.setdefault(m.demand_id, [])
        if len(shown) < n:
            shown.append(m)
    return top


def _display_order(m: Match):
    return (0 if m.status == MatchStatus.CONFIRMED else 1, -m.score, m.capability_id)


def for_supplier(org_id: int, limit: int = 500) -> list[tuple[Demand, list[Match]]]:
    """Published demands that match any of an organisation's capabilities, best first."""
    rows = db.session.scalars(
        sa.select(Match)
        .join(Match.capability)
        .join(Match.demand)
        .where(
            Capability.organization_id == org_id,
            Demand.status == DemandStatus.PUBLISHED,
            Match.status != MatchStatus.DISMISSED,
        )
        .options(
            selectinload(Match.demand).options(
                selectinload(Demand.organization),
                selectinload(Demand.themes),
                selectinload(Demand.segment),
            ),
            selectinload(Match.capability),
        )
        .order_by(Match.score.desc(), Match.demand_id, Match.capability_id)
        .limit(limit)
    ).all()
    grouped: dict[int, tuple[Demand, list[Match]]] = {}
    for m in rows:
        grouped.setdefault(m.demand_id, (m.demand, []))[1].append(m)
    return sorted(
        grouped.values(),
        key=lambda item: (
            0 if any(m.status == MatchStatus.CONFIRMED for m in item[1]) else 1,
            -item[1][0].score,
            item[0].id,
        ),
    )


class AlreadyReviewed(Invalid):
    """Another staff member changed the match first; nothing was written."""


def _last_reviewer(m: Match) -> str:
    """Who last changed a match's status, from the audit log (else the stored reviewer)."""
    from ..models import AuditEntry, User

    entry = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.object_type == Match.__tablename__, AuditEntry.object_id == m.id,
               AuditEntry.action.like("match.%"))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    if entry is not None and (entry.actor or entry.actor_email):
        return entry.actor.display_name if entry.actor else entry.actor_email
    reviewer = db.session.get(User, m.reviewed_by_id) if m.reviewed_by_id else None
    return reviewer.display_name if reviewer else _("another staff member")


def review(match_id: int, status: MatchStatus, staff_user, *, reason: str | None = None,
           expected: MatchStatus | None = None, refresh: bool = True) -> Match:
    """Confirm, dismiss (with a reason) or reset a match; the demand's other suggestions are
    re-ranked so that it keeps K of them (``refresh=False`` leaves that to the caller).

    The change is one conditional UPDATE from the status the reviewer saw (``expected``,
    else the one loaded now): when two staff act at once, the first wins and the second
    gets ``AlreadyReviewed`` naming who did it, with nothing written."""
    from ..i18n import label

    m = db.session.get(Match, match_id)
    if m is None or not rights.demand(staff_user, m.demand).review:
        raise NotFound()
    reason = (reason or "").strip() or None
    if status == MatchStatus.DISMISSED and not reason:
        raise Invalid(_("Give a reason for dismissing this match."), field="reason")
    # Reviews of one demand's matches run one at a time (its suggestions are re-ranked).
    db.session.execute(sa.select(Demand.id).where(Demand.id == m.demand_id).with_for_update())
    expected = MatchStatus(expected) if expected else m.status
    reviewed = status in REVIEWED
    changed = 0
    if expected != status:
        changed = db.session.execute(
            sa.update(Match)
            .where(Match.id == m.id, Match.status == expected)
            .values(
                status=status,
                reviewed_by_id=staff_user.id if reviewed else None,
                reviewed_at=utcnow() if reviewed else None,
                dismiss_reason=reason if status == MatchStatus.DISMISSED else None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    m = db.session.get(Match, match_id, populate_existing=True)
    if m is None:
        raise AlreadyReviewed(_("This match is no longer on the list: the demand's matches were refreshed."))
    if changed != 1:
        raise AlreadyReviewed(
            _("Already reviewed by %(name)s: the match is now “%(status)s”. Nothing was changed.",
              name=_last_reviewer(m), status=label(m.status))
        )
    after = {"status": status}
    if status == MatchStatus.DISMISSED:
        after["dismiss_reason"] = reason
    audit.record(staff_user, f"match.{status.value}", m, before={"status": expected}, after=after)
    db.session.flush()
    if status == MatchStatus.CONFIRMED and expected != MatchStatus.CONFIRMED:
        announce.match_confirmed(m, staff_user)
    if refresh and m.demand.status in ACTIVE_DEMAND:
        refresh_demand(m.demand)
    return m

