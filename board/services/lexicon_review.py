"""Which concepts matched where, for staff reviewing the lexicon: per concept the demands and
capabilities filed under it in the index (``match_key``) and the stored matches whose reasons
name it; per concept the records with the words that fired it marked. Nothing is analysed
again: record counts come from the index keys, match counts from the stored reasons, both
kept in the process until the records or the stored matches change."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload, undefer

from ..extensions import db
from ..matching import fold
from ..models import Capability, Demand, DemandStatus, Match, MatchKey
from . import search
from .demands import Page
from .matcher import get_engine

CONCEPT = "c:"  # the index key prefix of a concept (as board.matching.index files it)
SORTS = ("matches", "demands", "capabilities", "concept")
#: Matches listed on a concept's page (the best first); the count covers all of them.
MATCHES_SHOWN = 50


@dataclass(frozen=True)
class Row:
    id: str
    label_zh: str
    label_en: str
    domain: str | None
    broader: str | None
    demands: int
    capabilities: int
    matches: int


def _staff_visible():
    """Index rows staff may see: every capability, and demands from "submitted" on."""
    return sa.or_(MatchKey.side == "c", Demand.status != DemandStatus.DRAFT)


def _keys_query(*cols):
    return (
        sa.select(*cols)
        .select_from(MatchKey)
        .outerjoin(Demand, sa.and_(MatchKey.side == "d", Demand.id == MatchKey.record_id))
        .where(_staff_visible())
    )


_lock = threading.Lock()
_cache: dict[str, tuple[tuple, object]] = {}


def _cached(name: str, sig: tuple, compute):
    """``compute()``, kept in the process until ``sig`` (cheap to read) changes."""
    sig = sig + (str(current_app.config["SQLALCHEMY_DATABASE_URI"]),)
    with _lock:
        hit = _cache.get(name)
    if hit is not None and hit[0] == sig:
        return hit[1]
    value = compute()
    with _lock:
        _cache[name] = (sig, value)
    return value


def _records_signature() -> tuple:
    """Changes whenever a record is filed again: saving, a status change or a rematch touches
    ``updated_at``; a deletion the count; a new lexicon the engine version."""
    out: tuple = (get_engine().version,)
    for model in (Demand, Capability):
        out += tuple(db.session.execute(
            sa.select(sa.func.count(model.id), sa.func.max(model.updated_at))
        ).one())
    return out


def record_counts() -> dict[str, dict[str, int]]:
    """Per concept id, how many demands ("d") and capabilities ("c") are filed under it."""
    return _cached("records", _records_signature(), _count_records)


def _count_records() -> dict[str, dict[str, int]]:
    rows = db.session.execute(
        _keys_query(MatchKey.key, MatchKey.side, sa.func.count())
        .where(MatchKey.key.like(CONCEPT + "%"))
        .group_by(MatchKey.key, MatchKey.side)
    )
    out: dict[str, dict[str, int]] = {}
    for key, side, n in rows:
        out.setdefault(key[len(CONCEPT):], {})[side] = int(n)
    return out


def _visible_matches():
    return sa.select(Match).join(Match.demand).where(Demand.status != DemandStatus.DRAFT)


def match_counts() -> Counter:
    """Per concept id, how many stored matches (of demands staff see) name it as a reason.
    Recounted only when the stored matches have changed since the last count."""
    sig = tuple(
        db.session.execute(
            sa.select(sa.func.count(Match.id), sa.func.max(Match.id), sa.func.max(Match.computed_at))
        ).one()
    ) + _records_signature()[1:3]  # a demand submitted or closed changes what staff may see
    return _cached("matches", sig, _count_matches)


def _count_matches() -> Counter:
    counts: Counter = Counter()
    rows = db.session.execute(
        _visible_matches().with_only_columns(Match.reasons).execution_options(yield_per=2000)
    )
    for (reasons,) in rows:
        for c in (reasons or {}).get("concepts", ()):
            counts[c.get("id")] += 1
    return counts


def rows(q: str = "", sort: str = "matches", used_only: bool = True) -> list[Row]:
    """Every concept of the lexicon with its counts, filtered by ``q`` (id or any term) and
    sorted by ``sort`` (most first; "concept" by id)."""
    lex = get_engine().lexicon
    records = record_counts()
    explained = match_counts()
    needle = fold(q).strip() if q else ""
    out = []
    for cid, c in lex.concepts.items():
        if needle and needle not in cid and not any(needle in fold(t) for t in c.terms):
            continue
        n = records.get(cid, {})
        row = Row(cid, c.label_zh, c.label_en, c.domain, c.broader, n.get("d", 0), n.get("c", 0),
                  explained.get(cid, 0))
        if used_only and not (row.demands or row.capabilities or row.matches):
            continue
        out.append(row)
    if sort == "concept":
        out.sort(key=lambda r: r.id)
    else:
        field = sort if sort in SORTS else "matches"
        out.sort(key=lambda r: (-getattr(r, field), -r.matches, r.id))
    return out


def page_of(items: list, page: int, per_page: int) -> Page:
    page = max(1, page)
    return Page(items[(page - 1) * per_page : page * per_page], page, per_page, len(items))


@dataclass
class Filed:
    """A record filed under a concept, with the words in it that fired the concept."""

    side: str  # "d" or "c"
    record: Demand | Capability
    weight: float
    words: list[str]


def records(cid: str, page: int = 1, per_page: int = 20) -> Page:
    """The demands and capabilities filed under a concept, heaviest first, one page, each with
    the words that fired it (the concept or a narrower one) from its stored analysis."""
    base = _keys_query(MatchKey.side, MatchKey.record_id, MatchKey.weight).where(
        MatchKey.key == CONCEPT + cid
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    page = max(1, page)
    hits = db.session.execute(
        base.order_by(MatchKey.weight.desc(), MatchKey.side, MatchKey.record_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    loaded = {}
    for side, model in (("d", Demand), ("c", Capability)):
        ids = [rid for s, rid, _w in hits if s == side]
        if not ids:
            continue
        objs = db.session.scalars(
            sa.select(model).where(model.id.in_(ids))
            .options(undefer(model.analysis), selectinload(model.organization))
        ).all()
        marks = search.highlights(search.Query(cid, {}, (cid,)), objs)
        loaded.update({(side, o.id): (o, marks.get(o.id, [])) for o in objs})
    items = []
    for side, rid, weight in hits:
        if (side, rid) in loaded:
            record, words = loaded[(side, rid)]
            items.append(Filed(side, record, weight, words))
    return Page(items, page, per_page, int(total))


def matches(cid: str, limit: int = MATCHES_SHOWN) -> list[tuple[Match, dict]]:
    """The best stored matches whose reasons name a concept, each with that reason. Only pairs
    whose two records are both filed under the concept can have it as a reason, so only
    those are read."""
    d_keys = sa.select(MatchKey.record_id).where(MatchKey.side == "d", MatchKey.key == CONCEPT + cid)
    c_keys = sa.select(MatchKey.record_id).where(MatchKey.side == "c", MatchKey.key == CONCEPT + cid)
    rows = db.session.execute(
        _visible_matches()
        .where(Match.demand_id.in_(d_keys), Match.capability_id.in_(c_keys))
        .options(selectinload(Match.demand), selectinload(Match.capability).selectinload(Capability.organization))
        .order_by(Match.score.desc(), Match.id)
        .execution_options(yield_per=500)
    ).scalars()
    out: list[tuple[Match, dict]] = []
    for m in rows:
        reason = next((c for c in (m.reasons or {}).get("concepts", ()) if c.get("id") == cid), None)
        if reason is not None:
            out.append((m, reason))
            if len(out) >= limit:
                break
    return out
