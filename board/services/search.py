"""Search through the matching engine, for demands and capabilities alike: a query is
analysed like a record (width, script, case, Chinese/English synonyms and abbreviations all
fold to the same concepts) and looked up in the stored index keys (``match_key``), never by
scanning texts. The board, the supplier's and the staff's lists all go through ``results``."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import undefer

from ..extensions import db
from ..matching import Doc
from ..models import Capability, Demand, MatchKey
from .matcher import get_engine

MAX_QUERY = 100


@dataclass(frozen=True)
class Query:
    """An analysed search query: its index keys with weights, and its direct concepts."""

    text: str
    keys: dict[str, float] = field(default_factory=dict)
    concepts: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.keys

    #: The keys a found record must share (the others only weigh in the ranking).
    finding: tuple[str, ...] = ()


def parse(q: str) -> Query:
    q = (q or "").strip()[:MAX_QUERY]
    if not q:
        return Query(q)
    engine = get_engine()
    a = engine.analyze(Doc(id="query", title=q))
    concepts = tuple(dict.fromkeys(c for fa in a.fields.values() for c in fa.concepts))
    keys = engine.keys(a)
    # The query's own concepts and words find records, and so do the broader concepts the
    # engine adds when they are specific enough to make a match alone ("联锁" finds the
    # signalling records); a broad one only ranks ("车门" does not list all rolling stock).
    cutoff, weights = engine.weights.match_cutoff, engine.lexicon.weights
    finding = tuple(k for k in keys if not k.startswith("c:") or k[2:] in concepts
                    or weights.get(k[2:], 0.0) >= cutoff)
    return Query(q, keys, concepts, finding or tuple(keys))


def found(query: Query, side: str):
    """A select of the ids of the records on one side that the query finds."""
    return sa.select(MatchKey.record_id).where(MatchKey.side == side,
                                               MatchKey.key.in_(query.finding))


def relevance(query: Query, side: str, within=None):
    """A subquery (id, relevance) of the records on one side ('d' or 'c') sharing a key with
    the query (and among ``within``, a select of record ids, when given); relevance adds up
    the weight each shared key has in both."""
    qweight = sa.case(
        {k: v for k, v in query.keys.items()}, value=MatchKey.key, else_=0.0
    )
    select = (
        sa.select(
            MatchKey.record_id.label("id"),
            sa.func.sum(MatchKey.weight * qweight).label("relevance"),
        )
        .where(MatchKey.side == side, MatchKey.key.in_(list(query.keys)),
               MatchKey.record_id.in_(found(query, side)))
        .group_by(MatchKey.record_id)
    )
    if within is not None:
        select = select.where(MatchKey.record_id.in_(within))
    return select.subquery()


def apply(select, model: type[Demand] | type[Capability], query: Query, sort: str, newest=None):
    """Restrict a select of demands or capabilities to those matching ``query``, ordered by
    relevance (or newest first by ``newest``, a column, when ``sort`` is "newest")."""
    side = "d" if model is Demand else "c"
    scored = relevance(query, side)
    select = select.join(scored, scored.c.id == model.id).options(undefer(model.analysis))
    if newest is None:
        newest = model.published_at if model is Demand else model.created_at
    if sort == "newest":
        return select.order_by(None).order_by(newest.desc(), model.id.desc())
    return select.order_by(None).order_by(scored.c.relevance.desc(), model.id.desc())


def results(select, model: type[Demand] | type[Capability], query: Query | None, sort: str,
            page: int, per_page: int, newest=None):
    """One page of a filtered select of demands or capabilities: with a query, only the
    records the engine finds for it, ranked (see ``apply``); without one, in the select's order.

    With a query the total counts the records that share a key with it straight from the
    index's primary key; only the page itself sums the relevance (a broad key can be shared
    by most records, and summing every posting's weight twice doubled the cost)."""
    from .demands import Page, paginate  # demands imports this module

    if query is None or not query.text:
        return paginate(select, page, per_page)
    page = max(1, page)
    if query.empty:
        return Page([], page, per_page, 0)
    side = "d" if model is Demand else "c"
    counted = select.where(model.id.in_(found(query, side))).order_by(None).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted))
    ranked = apply(select, model, query, sort, newest)
    items = db.session.scalars(ranked.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), page, per_page, total or 0)


def extras(query: Query | None, page) -> dict:
    """What a result page shows besides the records: each record's matched words, and related
    concepts to try when nothing was found."""
    if query is None or not query.text:
        return {"marks": {}, "related": []}
    return {
        "marks": highlights(query, page.items),
        "related": related(query) if not page.total else [],
    }


def sort_arg(raw: str | None) -> str:
    return "newest" if raw == "newest" else "relevance"


def highlights(query: Query, records) -> dict[int, list[str]]:
    """Per record, the words in its own text that mean what the query asked for: a query
    concept or one of its narrower concepts, or a shared word outside the lexicon."""
    engine = get_engine()
    lex = engine.lexicon
    asked = set(query.concepts)
    out: dict[int, list[str]] = {}
    for r in records:
        a = engine.load(r.analysis)
        if a is None:
            continue
        words: list[str] = []
        for fa in a.fields.values():
            for cid, surfaces in fa.concepts.items():
                if cid in lex.concepts and asked & {cid, *lex.ancestors(cid)}:
                    words.extend(surfaces)
            words.extend(t for t in fa.terms if "t:" + t in query.keys)
        out[r.id] = list(dict.fromkeys(words))
    return out


def related(query: Query, limit: int = 6) -> list[dict]:
    """Concepts near the query's own (broader and narrower ones), to try when nothing matched."""
    lex = get_engine().lexicon
    found: list[str] = []
    for cid in query.concepts:
        if cid not in lex.concepts:
            continue
        found.extend(lex.ancestors(cid)[:1])
        found.extend(c.id for c in lex.concepts.values() if c.broader == cid)
    out = []
    for cid in dict.fromkeys(c for c in found if c not in query.concepts):
        c = lex.concepts[cid]
        out.append({"id": cid, "zh": c.label_zh, "en": c.label_en})
        if len(out) >= limit:
            break
    return out

