"""Stored matches kept fresh: saving a demand or capability rescores only that record
against the other side; ``rematch_all`` recomputes everything."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload, undefer

from ..extensions import db
from ..matching import Analysis, Engine, query_keys
from ..models import (
    Capability,
    Demand,
    DemandStatus,
    IndexRebuild,
    Match,
    MatchKey,
    MatchStatus,
    utcnow,
)
from . import announce, audit, forked, idsets, rights
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
        sa.delete(MatchKey).where(MatchKey.side == side, MatchKey.record_id == record_id),
        execution_options={"synchronize_session": False},
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
    """The records on ``side`` sharing the most weight with ``a`` through keys that can make
    a match (specific concepts, terms of art), summed in the database: broad keys, which
    nearly every record shares, neither generate candidates nor cost a row each."""
    keys, generating = query_keys(a, engine.lexicon, engine.weights)
    if side == "d":  # a capability looking for demands: what it offers
        keys = engine.keys(a)
        generating = {k for k in generating if k in keys}
    weights = {k: keys[k] for k in generating}
    if not weights:
        return []
    qweight = sa.case(weights, value=MatchKey.key, else_=0.0)
    shared = sa.func.sum(sa.case((MatchKey.weight < qweight, MatchKey.weight), else_=qweight))
    rows = db.session.execute(
        sa.select(MatchKey.record_id, shared.label("shared"))
        .where(MatchKey.side == side, MatchKey.key.in_(list(weights)))
        .group_by(MatchKey.record_id)
        .order_by(shared.desc(), MatchKey.record_id)
        .limit(limit)
    )
    return [rid for rid, _ in rows]


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
    existing = {
        m.demand_id: m
        for m in db.session.scalars(
            sa.select(Match)
            .join(Match.demand)
            .where(Match.capability_id == cap.id, Demand.status.in_(ACTIVE_DEMAND))
        )
    }
    wanted = [i for i in ids if i not in skip_demands]
    wanted += sorted(set(existing) - set(wanted) - set(skip_demands))
    demands = _demand_analyses(engine, wanted)
    # the words only this capability's keywords could share, counted once for every pair
    stats = engine.demand_stats(a)
    # A demand already holding K suggestions takes a new one only above its K-th.
    floors = _kth_scores([i for i in sorted(demands) if i not in existing], top_k)
    now = utcnow()
    crowded: set[int] = set()  # demands that may now hold more than K suggestions
    refill: set[int] = set()  # demands that lost this capability and may take another
    new_rows: list[dict] = []  # inserted with one statement
    for demand_id in sorted(demands):
        m = existing.get(demand_id)
        d_an = demands[demand_id]
        s = engine.score(d_an, a, explain=False, stats=stats)
        if m is None and s.score < floors.get(demand_id, 0.0):
            continue  # it would be trimmed at once
        if m is not None or (s.score > 0 and s.score >= threshold):
            s = engine.score(d_an, a, stats=stats)  # with reasons, only for what gets written
        if m is not None and m.status in REVIEWED:
            m.score, m.reasons, m.computed_at = s.score, s.reasons, now
        elif s.score > 0 and s.score >= threshold:
            if m is None:
                new_rows.append({"demand_id": demand_id, "capability_id": cap.id,
                                 "score": s.score, "reasons": s.reasons, "computed_at": now,
                                 "status": MatchStatus.SUGGESTED})
                crowded.add(demand_id)
            else:
                if s.score < m.score:
                    refill.add(demand_id)
                m.score, m.reasons, m.computed_at = s.score, s.reasons, now
        elif m is not None:
            db.session.delete(m)
            refill.add(demand_id)
    db.session.flush()
    if new_rows:
        db.session.execute(sa.insert(Match.__table__), new_rows)
    _trim(sorted(crowded - refill), top_k)
    # A demand that lost this capability (or saw it drop) is ranked again in full.
    for d in _load(Demand, sorted(refill)):
        refresh_demand(d, engine)
    db.session.flush()


def _demand_analyses(engine: Engine, ids: list[int]) -> dict[int, Analysis]:
    """The analyses of these demands that are active. Each worker keeps the most recently
    used ones (with the profile the scorer derives from each) for as long as the demand is
    not saved again: a capability's save scores hundreds of demands, mostly the same ones."""
    out: dict[int, Analysis] = {}
    if not ids:
        return out
    cache = engine.recent_analyses
    stamps = dict(db.session.execute(
        sa.select(Demand.id, Demand.updated_at)
        .where(idsets.among(Demand.id, ids), Demand.status.in_(ACTIVE_DEMAND))).all())
    missing = []
    for did, stamp in stamps.items():
        a = cache.get(("d", did, stamp))
        if a is None:
            missing.append(did)
        else:
            out[did] = a
    for d in _load(Demand, missing):
        a = analysis_of(engine, d)
        if not db.session.is_modified(d):  # an analysis made again is stored first
            cache.put(("d", d.id, d.updated_at), a)
        out[d.id] = a
    return out


def _suggestions_ranked(demand_ids: list[int]):
    """A subquery of these demands' suggestions (id, demand_id, score) with ``n``, each one's
    place in its demand's order (best first)."""
    return (
        sa.select(Match.id, Match.demand_id, Match.score, sa.func.row_number().over(
            partition_by=Match.demand_id,
            order_by=(Match.score.desc(), Match.capability_id)).label("n"))
        .where(Match.demand_id.in_(demand_ids), Match.status == MatchStatus.SUGGESTED)
        .subquery()
    )


def _kth_scores(demand_ids: list[int], top_k: int) -> dict[int, float]:
    """The score of the K-th suggestion of each of these demands that holds K or more."""
    floors: dict[int, float] = {}
    for part in range(0, len(demand_ids), 500):
        ranked = _suggestions_ranked(demand_ids[part : part + 500])
        floors.update(db.session.execute(
            sa.select(ranked.c.demand_id, ranked.c.score).where(ranked.c.n == top_k)).all())
    return floors


def _trim(demand_ids: list[int], top_k: int) -> None:
    """Keep each demand's best ``top_k`` suggestions: the database ranks them and names the
    rest (ids only: loading every suggestion with its reasons was most of a capability's save)."""
    if not demand_ids:
        return
    db.session.flush()
    surplus: list[int] = []
    for part in range(0, len(demand_ids), 500):
        ranked = _suggestions_ranked(demand_ids[part : part + 500])
        surplus += db.session.scalars(sa.select(ranked.c.id).where(ranked.c.n > top_k)).all()
    if not surplus:
        return
    for i in range(0, len(surplus), 500):
        db.session.execute(sa.delete(Match).where(Match.id.in_(surplus[i : i + 500])),
                           execution_options={"synchronize_session": False})
    gone = set(surplus)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Match) and obj.id in gone:
            db.session.expunge(obj)


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


def _key_rows(engine: Engine, side: str, record_id: int, a: Analysis) -> Iterable[dict]:
    return _rows_of(side, record_id, engine.keys(a))


def _rows_of(side: str, record_id: int, keys: dict[str, float]) -> Iterable[dict]:
    return ({"side": side, "record_id": record_id, "key": k, "weight": v} for k, v in keys.items())


class _Batch:
    """Rows written with one statement per few thousand (executemany), not one per row."""

    def __init__(self, statement, size: int = 5000):
        self.statement, self.size, self.rows = statement, size, []

    def add(self, rows) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            db.session.execute(self.statement, self.rows)
            self.rows = []


def reindex_many(engine: Engine, records: list[Demand | Capability]) -> None:
    """``reindex`` for many records: their index keys replaced with a few statements."""
    for side, model in (("d", Demand), ("c", Capability)):
        ids = [r.id for r in records if isinstance(r, model)]
        for i in range(0, len(ids), 500):
            db.session.execute(
                sa.delete(MatchKey).where(MatchKey.side == side,
                                          MatchKey.record_id.in_(ids[i : i + 500])),
                execution_options={"synchronize_session": False},
            )
    keys = _Batch(sa.insert(MatchKey.__table__))
    docs = [to_doc(r) for r in records]  # analysed on every core when there are many

    def analysed(doc):
        a = engine.analyze(doc)
        return a.to_json(), engine.keys(a)

    for record, (data, filed) in zip(
            records, forked.imap(analysed, docs, forked.processes(len(docs))), strict=True):
        record.analysis = data
        record.analysis_version = engine.version
        if not (isinstance(record, Demand) and record.status not in ACTIVE_DEMAND):
            keys.add(_rows_of(_side(record), record.id, filed))
    keys.flush()


def _stored_analyses(engine: Engine, model, where=None) -> Iterable[tuple[int, Analysis, bool]]:
    """(id, analysis, reused) of every record of a kind, read as plain rows; the records
    whose stored analysis another lexicon or engine made are analysed again (and saved)."""
    q = sa.select(model.id, model.analysis).order_by(model.id)
    if where is not None:
        q = q.where(where)
    stale_ids: list[int] = []
    for rid, data in db.session.execute(q).all():
        a = engine.load(data)
        if a is None:
            stale_ids.append(rid)
        else:
            yield rid, a, True
    for i in range(0, len(stale_ids), 500):
        for record in _load(model, stale_ids[i : i + 500]):
            yield record.id, analysis_of(engine, record), False


def _index_complete() -> bool:
    """Whether every capability and active demand has index keys (one aggregate per side)."""
    for side, model, where in (("c", Capability, None),
                               ("d", Demand, Demand.status.in_(ACTIVE_DEMAND))):
        q = sa.select(sa.func.count(model.id))
        filed = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(MatchKey.record_id))).where(MatchKey.side == side))
        if db.session.scalar(q if where is None else q.where(where)) != filed:
            return False
    return True


def rematch_all(progress: Callable[[Iterable], Iterable] | None = None,
                rebuild_keys: bool | None = None, processes: int | None = None) -> dict:
    """Rebuild the index and every active demand's matches. Analyses are recomputed when
    they were made with another lexicon or engine version, reused otherwise; the index keys
    of the records analysed again are rewritten, all of them when some record has none
    (``rebuild_keys``: all of them, or none).

    The capabilities go into an in-memory index once; each demand is ranked from it by the
    max-score search, on several cores when it may (``processes``, see ``forked``); the
    matches are written with a few batched statements (a pair that stays keeps its row, so
    links to it hold)."""
    progress = progress or (lambda it: it)
    started = time.perf_counter()
    engine = get_engine()
    top_k, threshold = settings()
    db.session.flush()  # the statements below bypass the unit of work
    if rebuild_keys is None and not _index_complete():
        rebuild_keys = True
    if rebuild_keys:
        db.session.execute(sa.delete(MatchKey), execution_options={"synchronize_session": False})
    keys = _Batch(sa.insert(MatchKey.__table__))
    if rebuild_keys is None:  # the records analysed again below lose their old keys first
        for side, model in (("c", Capability), ("d", Demand)):
            stale_ids = db.session.scalars(sa.select(model.id).where(sa.or_(
                model.analysis_version.is_(None), model.analysis_version != engine.version))).all()
            for i in range(0, len(stale_ids), 500):
                db.session.execute(
                    sa.delete(MatchKey).where(MatchKey.side == side,
                                              MatchKey.record_id.in_(stale_ids[i : i + 500])),
                    execution_options={"synchronize_session": False})
    index = engine.new_index()
    caps = 0
    for cid, a, reused in _stored_analyses(engine, Capability):
        index.add(cid, a)
        caps += 1
        if rebuild_keys or (rebuild_keys is None and not reused):
            keys.add(_key_rows(engine, "c", cid, a))
    demands = list(_stored_analyses(engine, Demand, Demand.status.in_(ACTIVE_DEMAND)))
    existing: dict[int, dict[int, tuple[int, MatchStatus]]] = {}
    for mid, did, cid, status in db.session.execute(
        sa.select(Match.id, Match.demand_id, Match.capability_id, Match.status)
        .join(Match.demand).where(Demand.status.in_(ACTIVE_DEMAND))
    ):
        existing.setdefault(did, {})[cid] = (mid, status)
    table = Match.__table__
    inserts = _Batch(sa.insert(table))
    updates = _Batch(
        sa.update(table).where(table.c.id == sa.bindparam("mid")).values(
            score=sa.bindparam("score"), reasons=sa.bindparam("reasons"),
            computed_at=sa.bindparam("computed_at"))
    )
    deletes: list[int] = []
    now = utcnow()
    work = [(did, a, {cid for cid, (_, st) in existing.get(did, {}).items() if st in REVIEWED})
            for did, a, _ in demands]
    used = forked.processes(len(work), processes)
    if used > 1:
        index.size()  # its arrays are built once, here, and read by every process
    ranked_all = _Counted(forked.imap(
        lambda w: _rank_one(engine, index, w[1], w[2], top_k, threshold), work, used), len(work))
    for (did, a, reused), (ranked, rescored) in zip(demands, progress(ranked_all), strict=True):
        if rebuild_keys or (rebuild_keys is None and not reused):
            keys.add(_key_rows(engine, "d", did, a))
        mine = existing.get(did, {})
        got = {r.id for r in ranked}
        for r in ranked:
            row = mine.get(r.id)
            if row is None:
                inserts.add([{"demand_id": did, "capability_id": r.id, "score": r.score,
                              "reasons": r.reasons, "computed_at": now,
                              "status": MatchStatus.SUGGESTED}])
            else:
                updates.add([{"mid": row[0], "score": r.score, "reasons": r.reasons,
                              "computed_at": now}])
        for cid, (mid, st) in mine.items():
            if st in REVIEWED:
                score, reasons = rescored.get(cid, (0.0, {}))
                updates.add([{"mid": mid, "score": score, "reasons": reasons,
                              "computed_at": now}])
            elif cid not in got:
                deletes.append(mid)
    for i in range(0, len(deletes), 500):
        db.session.execute(sa.delete(Match).where(Match.id.in_(deletes[i : i + 500])),
                           execution_options={"synchronize_session": False})
    updates.flush()
    inserts.flush()
    keys.flush()
    db.session.flush()
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Match):
            db.session.expire(obj)  # rewritten above
    # The directory's profile keys follow the lexicon the records were just filed with.
    from ..models import Organization
    from . import directory

    directory.reindex_many(db.session.scalars(sa.select(Organization)), engine)
    _refresh_statistics()
    db.session.add(IndexRebuild(seconds=time.perf_counter() - started, demands=len(demands),
                                capabilities=caps, lexicon_version=engine.version[:80]))
    return {"capabilities": caps, "demands": len(demands), "processes": used}


class _Counted:
    """An iterator with a known length, so that progress bars can count it as it runs."""

    def __init__(self, items: Iterator, n: int):
        self.items, self.n = items, n

    def __iter__(self) -> Iterator:
        return self.items

    def __len__(self) -> int:
        return self.n


def _rank_one(engine: Engine, index, a: Analysis, reviewed: set[int], top_k: int,
              threshold: float) -> tuple[list, dict]:
    """One demand's top suggestions (leaving out the pairs staff reviewed) and the scores of
    its reviewed pairs."""
    ranked = engine.search(a, index, top_k, threshold, exclude=reviewed)
    rescored = {}
    for cid in reviewed:
        cap = index.records.get(cid)
        if cap is not None:
            s = engine.score(a, cap, stats=index)
            rescored[cid] = (s.score, s.reasons)
    return ranked, rescored


#: The tables a rebuild rewrites in bulk.
_REBUILT = ("match_key", "organization_key", "match", "capability", "demand")


def _refresh_statistics() -> None:
    """Let the database's planner see the rewritten tables as they are now. Without table
    statistics SQLite reads a search's postings through the index that sorts them by record
    (every posting of the side) instead of the one that finds the query's keys: three times
    slower at 10,000 capabilities. PostgreSQL's autovacuum would get there later."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.text("ANALYZE"))
    else:
        db.session.execute(sa.text("ANALYZE " + ", ".join(_REBUILT)))


def refresh_many(demands: list[Demand], capabilities: list[Capability]) -> None:
    """After a bulk write (an import): the same result as saving each record in turn, by
    the cheaper of two routes. Rescoring each new capability against the demands costs
    about len(capabilities) x min(active demands, 500) pair scores; ranking every active
    demand from an in-memory index costs about active demands x the candidate limit."""
    engine = get_engine()
    top_k, _ = settings()
    reindex_many(engine, [*capabilities, *demands])
    db.session.flush()
    active = db.session.scalar(
        sa.select(sa.func.count(Demand.id)).where(Demand.status.in_(ACTIVE_DEMAND))
    )
    per_record = len(capabilities) * min(active, 500)
    per_demand = active * engine.candidate_limit(top_k)
    if capabilities and per_record > per_demand:
        rematch_all(rebuild_keys=False)  # the keys were just written
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

