"""The industry map (产业图谱) and the lists the district works from: gaps to fill (补短板)
and strengths to extend (锻长板).

Every count is a grouped query (no query per row). Concepts come from the stored index
(``match_key``: side "d" or "c", key "c:<concept id>"); a record is filed under its concepts
and their broader concepts, so a top-level concept counts every record of its sub-field.

The ``*_rows`` functions give the lists as plain dicts for exports; their columns are listed
in each docstring. Names are in the current UI language."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from ..extensions import db
from ..i18n import lang, loc
from ..models import (
    Capability,
    Demand,
    DemandStatus,
    Match,
    MatchKey,
    MatchStatus,
    Round,
    Theme,
    capability_theme,
    demand_theme,
)
from . import records, review_queue, rights, search
from .demands import Page
from .matcher import get_engine

#: Key of the "all" column or row in the count tables (None is "not given").
ALL = "*"
CONCEPT = "c:"


# -- the lexicon's concepts ------------------------------------------------------------
class Concepts:
    """The lexicon's concepts as the map uses them. A concept counts as a field when it is
    more specific than the generic cutoff (so 系统, 地铁, 车站 do not) and is not one of the
    other industries' settings (商场, 写字楼 ...). A sub-field is a counted concept with
    narrower ones whose broader concept, if any, does not count (signalling under rail
    transit, civil engineering ...)."""

    def __init__(self):
        engine = get_engine()
        self.lex = engine.lexicon
        w = engine.weights
        self.cutoff = w.generic_cutoff
        self.settings = {
            cid for cid in self.lex.concepts
            if cid == w.other_setting or w.other_setting in self.lex.ancestors(cid)
        }
        parents = {c.broader for c in self.lex.concepts.values() if c.broader}
        self.subfields = sorted(
            cid for cid, c in self.lex.concepts.items()
            if cid in parents and self.counts(cid) and not (c.broader and self.counts(c.broader))
        )

    def counts(self, cid: str | None) -> bool:
        """Whether a concept is a field of its own (specific enough, not another setting)."""
        return (
            cid in self.lex.concepts
            and cid not in self.settings
            and self.lex.weights[cid] > self.cutoff
        )

    def label(self, cid: str) -> str:
        c = self.lex.concepts.get(cid)
        return c.label(lang()) if c else cid

    def broader(self, cid: str) -> str | None:
        c = self.lex.concepts.get(cid)
        return c.broader if c else None

    def specific_first(self, ids) -> list[str]:
        """Concepts without those that are broader than another in the list, most specific
        (then alphabetical) first."""
        ids = [c for c in dict.fromkeys(ids) if self.counts(c)]
        implied = {a for c in ids for a in self.lex.ancestors(c)}
        kept = [c for c in ids if c not in implied]
        return sorted(kept, key=lambda c: (-self.lex.weights[c], c))


def _published(round_id: int | None):
    cond = [Demand.status == DemandStatus.PUBLISHED]
    if round_id:
        cond.append(Demand.round_id == round_id)
    return cond


# -- segment x theme -------------------------------------------------------------------
@dataclass
class Cell:
    demands: int = 0
    capabilities: int = 0
    confirmed: int = 0
    level: int = 0  # 0-4, for the colour grade

    @property
    def records(self) -> int:
        return self.demands + self.capabilities


def _grouped(entity, theme_table, theme_key, theme_col) -> dict:
    """Counts of an entity (a select of id, segment, tkey) per (segment, theme), per segment,
    per theme and in all; ``None`` is "segment not given", ``ALL`` a total."""
    e = entity.subquery()
    n = sa.func.count(sa.distinct(e.c.id))
    out: dict = {}
    joined = sa.select(e.c.segment, theme_col, n).select_from(e).join(theme_table, theme_key == e.c.tkey)
    for seg, theme, count in db.session.execute(joined.group_by(e.c.segment, theme_col)):
        out[(seg, theme)] = count
    for seg, count in db.session.execute(sa.select(e.c.segment, n).group_by(e.c.segment)):
        out[(seg, ALL)] = count
    for theme, count in db.session.execute(
        sa.select(theme_col, n).select_from(e).join(theme_table, theme_key == e.c.tkey).group_by(theme_col)
    ):
        out[(ALL, theme)] = count
    out[(ALL, ALL)] = db.session.scalar(sa.select(n)) or 0
    return out


def map_counts(round_id: int | None = None) -> dict[str, dict]:
    """Published demands, registered capabilities and confirmed matches (of published
    demands, placed by the demand's segment and themes) per segment x theme."""
    demands = sa.select(
        Demand.id.label("id"), Demand.segment_code.label("segment"), Demand.id.label("tkey")
    ).where(*_published(round_id))
    caps = sa.select(
        Capability.id.label("id"), Capability.segment_code.label("segment"), Capability.id.label("tkey")
    )
    confirmed = (
        sa.select(Match.id.label("id"), Demand.segment_code.label("segment"), Match.demand_id.label("tkey"))
        .join(Demand, Demand.id == Match.demand_id)
        .where(Match.status == MatchStatus.CONFIRMED, *_published(round_id))
    )
    return {
        "demands": _grouped(demands, demand_theme, demand_theme.c.demand_id, demand_theme.c.theme_code),
        "capabilities": _grouped(caps, capability_theme, capability_theme.c.capability_id,
                                 capability_theme.c.theme_code),
        "confirmed": _grouped(confirmed, demand_theme, demand_theme.c.demand_id, demand_theme.c.theme_code),
    }


def _level(value: int, top: int) -> int:
    if value <= 0 or top <= 0:
        return 0
    return max(1, min(4, -(-4 * value // top)))


def matrix(round_id: int | None = None) -> dict:
    """The segment x theme matrix: rows per segment (and "not given" when some record has no
    segment), a cell per theme plus the row's total; a last row of totals."""
    counts = map_counts(round_id)
    segments = records.all_segments()
    themes = records.all_themes()
    seg_keys = [s.code for s in segments]
    if any(counts[m].get((None, ALL)) for m in counts):
        seg_keys.append(None)

    def cell(seg, theme) -> Cell:
        return Cell(*(counts[m].get((seg, theme), 0) for m in ("demands", "capabilities", "confirmed")))

    rows = [
        {"code": s, "segment": next((x for x in segments if x.code == s), None),
         "cells": [cell(s, t.code) for t in themes], "total": cell(s, ALL)}
        for s in seg_keys
    ]
    totals = {"cells": [cell(ALL, t.code) for t in themes], "total": cell(ALL, ALL)}
    top = max((c.records for r in rows for c in r["cells"]), default=0)
    for r in rows:
        for c in r["cells"]:
            c.level = _level(c.records, top)
    return {"themes": themes, "rows": rows, "totals": totals}


def map_rows(round_id: int | None = None) -> list[dict]:
    """One row per segment x theme cell, then per segment over all themes ("theme" empty),
    then per theme over all segments ("segment" empty), then the grand total.

    Columns: ``segment`` (code; "" for all, "-" for not given), ``segment_name``, ``theme``
    (code; "" for all themes), ``theme_name``, ``demands`` (published), ``capabilities``
    (registered), ``confirmed_matches`` (confirmed matches of published demands)."""
    from flask_babel import gettext as _

    m = matrix(round_id)
    all_segments, all_themes = _("All segments"), _("All themes")

    def seg_name(r):
        return loc(r["segment"], "name") if r["segment"] else _("Segment not given")

    def row(seg_code, seg_label, theme_code, theme_label, c: Cell) -> dict:
        return {"segment": seg_code, "segment_name": seg_label, "theme": theme_code,
                "theme_name": theme_label, "demands": c.demands, "capabilities": c.capabilities,
                "confirmed_matches": c.confirmed}

    out = []
    for r in m["rows"]:
        code = r["code"] or "-"
        for t, c in zip(m["themes"], r["cells"], strict=True):
            out.append(row(code, seg_name(r), t.code, loc(t, "name"), c))
    for r in m["rows"]:
        out.append(row(r["code"] or "-", seg_name(r), "", all_themes, r["total"]))
    for t, c in zip(m["themes"], m["totals"]["cells"], strict=True):
        out.append(row("", all_segments, t.code, loc(t, "name"), c))
    out.append(row("", all_segments, "", all_themes, m["totals"]["total"]))
    return out


# -- segment x sub-field ---------------------------------------------------------------
def subfield_matrix(round_id: int | None = None, concepts: Concepts | None = None) -> dict:
    """Published demands and capabilities per top-level concept (sub-field) and segment;
    sub-fields with no record are left out, the busiest first."""
    concepts = concepts or Concepts()
    keys = [CONCEPT + c for c in concepts.subfields]
    counts: dict[tuple[str, str, str | None], int] = {}
    if keys:
        for side, model, cond in (("d", Demand, _published(round_id)), ("c", Capability, [])):
            q = (
                sa.select(MatchKey.key, model.segment_code, sa.func.count(sa.distinct(model.id)))
                .join(model, sa.and_(MatchKey.side == side, MatchKey.record_id == model.id))
                .where(MatchKey.key.in_(keys), *cond)
                .group_by(MatchKey.key, model.segment_code)
            )
            for key, seg, n in db.session.execute(q):
                counts[(side, key[len(CONCEPT):], seg)] = n
    segments = records.all_segments()
    seg_keys = [s.code for s in segments]
    if any(seg is None for (_s, _k, seg) in counts):
        seg_keys.append(None)
    rows = []
    for cid in concepts.subfields:
        cells = [{"demands": counts.get(("d", cid, s), 0), "capabilities": counts.get(("c", cid, s), 0)}
                 for s in seg_keys]
        total = {"demands": sum(c["demands"] for c in cells),
                 "capabilities": sum(c["capabilities"] for c in cells)}
        if total["demands"] or total["capabilities"]:
            rows.append({"concept": cid, "label": concepts.label(cid), "cells": cells, "total": total})
    rows.sort(key=lambda r: (-(r["total"]["demands"] + r["total"]["capabilities"]), r["concept"]))
    top = max((c["demands"] + c["capabilities"] for r in rows for c in r["cells"]), default=0)
    for r in rows:
        for c in r["cells"]:
            c["level"] = _level(c["demands"] + c["capabilities"], top)
    by_code = {s.code: s for s in segments}
    return {"segments": [by_code.get(s) for s in seg_keys], "codes": seg_keys, "rows": rows}


def subfield_rows(round_id: int | None = None) -> list[dict]:
    """One row per sub-field and segment that holds a record.

    Columns: ``concept`` (id), ``concept_name``, ``segment`` (code, "-" for not given),
    ``segment_name``, ``demands`` (published), ``capabilities``."""
    from flask_babel import gettext as _

    m = subfield_matrix(round_id)
    out = []
    for r in m["rows"]:
        for code, seg, c in zip(m["codes"], m["segments"], r["cells"], strict=True):
            if c["demands"] or c["capabilities"]:
                out.append({"concept": r["concept"], "concept_name": r["label"], "segment": code or "-",
                            "segment_name": loc(seg, "name") if seg else _("Segment not given"),
                            "demands": c["demands"], "capabilities": c["capabilities"]})
    return out


# -- gaps to fill (补短板) ------------------------------------------------------------------
def _gap_query(round_id: int | None = None, segment: str | None = None, theme: str | None = None):
    """Published demands with no confirmed match whose best match that staff did not dismiss
    is below the review floor, or that have none; those with no match first, then the
    weakest."""
    best = (
        sa.select(Match.demand_id.label("demand_id"), sa.func.max(Match.score).label("best"))
        .where(Match.status != MatchStatus.DISMISSED)
        .group_by(Match.demand_id)
        .subquery()
    )
    confirmed = sa.exists().where(Match.demand_id == Demand.id, Match.status == MatchStatus.CONFIRMED)
    q = (
        sa.select(Demand, best.c.best)
        .outerjoin(best, best.c.demand_id == Demand.id)
        .where(*_published(round_id), ~confirmed,
               sa.or_(best.c.best.is_(None), best.c.best < review_queue.floor()))
        .order_by(sa.func.coalesce(best.c.best, -1.0), Demand.published_at.desc(), Demand.id)
    )
    if segment:
        q = q.where(Demand.segment_code == segment)
    if theme:
        q = q.where(Demand.themes.any(Theme.code == theme))
    return q


def missing_concepts(demand_ids: list[int], concepts: Concepts | None = None) -> dict[int, list[str]]:
    """Per demand, the concepts it is filed under that no capability is filed under (most
    specific first; a broader concept is left out when a narrower one of it is listed)."""
    concepts = concepts or Concepts()
    out: dict[int, list[str]] = {i: [] for i in demand_ids}
    if not demand_ids:
        return out
    d, c = aliased(MatchKey), aliased(MatchKey)
    offered = sa.exists().where(c.side == "c", c.key == d.key)
    rows = db.session.execute(
        sa.select(d.record_id, d.key).where(
            d.side == "d", d.record_id.in_(demand_ids), d.key.like(CONCEPT + "%"), ~offered
        )
    )
    found: dict[int, list[str]] = {i: [] for i in demand_ids}
    for rid, key in rows:
        found[rid].append(key[len(CONCEPT):])
    for rid, ids in found.items():
        out[rid] = concepts.specific_first(ids)
    return out


@dataclass
class Gap:
    demand: Demand
    best: float | None
    best_match: Match | None = None
    missing: list[str] = field(default_factory=list)


def _best_matches(demand_ids: list[int]) -> dict[int, Match]:
    best: dict[int, Match] = {}
    if not demand_ids:
        return best
    rows = db.session.scalars(
        sa.select(Match)
        .where(Match.demand_id.in_(demand_ids), Match.status != MatchStatus.DISMISSED)
        .options(selectinload(Match.capability).selectinload(Capability.organization))
        .order_by(Match.demand_id, Match.score.desc(), Match.capability_id)
    )
    for m in rows:
        best.setdefault(m.demand_id, m)
    return best


def _gaps(pairs, concepts: Concepts) -> list[Gap]:
    ids = [d.id for d, _b in pairs]
    missing = missing_concepts(ids, concepts)
    best = _best_matches(ids)
    return [Gap(d, b, best.get(d.id), missing[d.id]) for d, b in pairs]


def gaps(round_id=None, segment=None, theme=None, page: int = 1, per_page: int = 20) -> Page:
    """One page of the gap list (items are ``Gap``)."""
    q = _gap_query(round_id, segment, theme).options(
        selectinload(Demand.organization), selectinload(Demand.segment), selectinload(Demand.themes),
        selectinload(Demand.round),
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.order_by(None).subquery())) or 0
    page = max(1, page)
    pairs = db.session.execute(q.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(_gaps(pairs, Concepts()), page, per_page, total)


def gap_rows(round_id: int | None = None, segment: str | None = None, theme: str | None = None) -> list[dict]:
    """Every gap, one row per demand, in the screen's order.

    Columns: ``demand_id``, ``ref``, ``title``, ``organization``, ``segment`` (code or ""),
    ``segment_name``, ``themes`` (codes, "; "), ``theme_names`` (list in the UI language),
    ``round`` (name or ""), ``published_on`` (ISO date or ""), ``best_score`` (float, or None
    when no match is stored), ``best_capability`` (title or ""), ``best_organization`` (or ""),
    ``missing_concepts`` (labels, joined in the UI language), ``missing_concept_ids`` ("; ")."""
    from ..i18n import join_list

    q = _gap_query(round_id, segment, theme).options(
        selectinload(Demand.organization), selectinload(Demand.segment), selectinload(Demand.themes),
        selectinload(Demand.round),
    )
    concepts = Concepts()
    out = []
    for g in _gaps(db.session.execute(q).all(), concepts):
        d, m = g.demand, g.best_match
        out.append({
            "demand_id": d.id,
            "ref": d.ref,
            "title": d.title,
            "organization": loc(d.organization, "name"),
            "segment": d.segment_code or "",
            "segment_name": loc(d.segment, "name") if d.segment else "",
            "themes": "; ".join(t.code for t in d.themes),
            "theme_names": str(join_list(loc(t, "name") for t in d.themes)),
            "round": loc(d.round, "name") if d.round else "",
            "published_on": rights.local_date(d.published_at).isoformat() if d.published_at else "",
            "best_score": round(g.best, 1) if g.best is not None else None,
            "best_capability": m.capability.title if m else "",
            "best_organization": loc(m.capability.organization, "name") if m else "",
            "missing_concepts": str(join_list(concepts.label(c) for c in g.missing)),
            "missing_concept_ids": "; ".join(g.missing),
        })
    return out


# -- strengths to extend (锻长板) ----------------------------------------------------------
def strengths(limit: int = 20, segment: str | None = None, round_id: int | None = None,
              concepts: Concepts | None = None) -> list[dict]:
    """Concepts the park's suppliers are dense and strong in: per concept, the capabilities
    (and their organisations) filed under it, and the confirmed and the strong matches (of
    published demands) those capabilities take part in. Ordered by capabilities, then by
    confirmed-or-strong matches, then by concept id; the first ``limit``."""
    concepts = concepts or Concepts()
    cap_cond = [MatchKey.side == "c", MatchKey.key.like(CONCEPT + "%")]
    if segment:
        cap_cond.append(Capability.segment_code == segment)
    dense = db.session.execute(
        sa.select(MatchKey.key, sa.func.count(sa.distinct(Capability.id)),
                  sa.func.count(sa.distinct(Capability.organization_id)))
        .join(Capability, Capability.id == MatchKey.record_id)
        .where(*cap_cond)
        .group_by(MatchKey.key)
    ).all()
    hi = review_queue.strong()
    confirmed = sa.case((Match.status == MatchStatus.CONFIRMED, 1), else_=0)
    strong = sa.case((sa.and_(Match.score >= hi, Match.status != MatchStatus.DISMISSED), 1), else_=0)
    good = sa.case(
        (sa.or_(Match.status == MatchStatus.CONFIRMED,
                sa.and_(Match.score >= hi, Match.status != MatchStatus.DISMISSED)), 1),
        else_=0,
    )
    taken = {
        key: (c or 0, s or 0, g or 0)
        for key, c, s, g in db.session.execute(
            sa.select(MatchKey.key, sa.func.sum(confirmed), sa.func.sum(strong), sa.func.sum(good))
            .join(Capability, Capability.id == MatchKey.record_id)
            .join(Match, Match.capability_id == Capability.id)
            .join(Demand, Demand.id == Match.demand_id)
            .where(*cap_cond, *_published(round_id))
            .group_by(MatchKey.key)
        )
    }
    rows = []
    for key, n_caps, n_orgs in dense:
        cid = key[len(CONCEPT):]
        if not concepts.counts(cid):
            continue
        c, s, g = taken.get(key, (0, 0, 0))
        rows.append({"concept": cid, "capabilities": n_caps, "organizations": n_orgs,
                     "confirmed": int(c), "strong": int(s), "good": int(g)})
    rows.sort(key=lambda r: (-r["capabilities"], -r["good"], r["concept"]))
    rows = rows[:limit]
    for rank, r in enumerate(rows, start=1):
        r["rank"] = rank
        r["label"] = concepts.label(r["concept"])
        b = concepts.broader(r["concept"])
        r["broader"] = b if concepts.counts(b) else None
        r["broader_label"] = concepts.label(b) if r["broader"] else ""
    return rows


def strength_rows(limit: int = 20, segment: str | None = None, round_id: int | None = None) -> list[dict]:
    """The strengths list.

    Columns: ``rank``, ``concept`` (id), ``concept_name``, ``broader_name`` (the broader
    concept, "" when there is none or it is generic),
    ``capabilities``, ``organizations`` (suppliers), ``confirmed_matches``, ``strong_matches``
    (score at or above MATCH_STRONG, not dismissed), ``confirmed_or_strong`` (matches that are
    either, counted once)."""
    return [
        {"rank": r["rank"], "concept": r["concept"], "concept_name": r["label"],
         "broader_name": r["broader_label"], "capabilities": r["capabilities"],
         "organizations": r["organizations"], "confirmed_matches": r["confirmed"],
         "strong_matches": r["strong"], "confirmed_or_strong": r["good"]}
        for r in strengths(limit, segment, round_id)
    ]


def capability_page(segment: str | None = None, theme: str | None = None, concept: str = "",
                    page: int = 1, per_page: int = 30, q: search.Query | None = None,
                    sort: str = "relevance") -> Page:
    """Registered capabilities for staff, newest first, filtered by segment, theme and a
    lexicon concept (its narrower concepts included, as the index files them); with a search
    query, those the engine finds for it (the board's search), ranked by relevance."""
    query = (
        sa.select(Capability)
        .options(selectinload(Capability.organization), selectinload(Capability.segment),
                 selectinload(Capability.themes))
        .order_by(Capability.created_at.desc(), Capability.id.desc())
    )
    if segment:
        query = query.where(Capability.segment_code == segment)
    if theme:
        query = query.where(Capability.themes.any(Theme.code == theme))
    if concept:
        query = query.where(
            sa.exists().where(MatchKey.side == "c", MatchKey.record_id == Capability.id,
                              MatchKey.key == CONCEPT + concept)
        )
    return search.results(query, Capability, q, sort, page, per_page)


def rounds() -> list[Round]:
    return list(db.session.scalars(sa.select(Round).order_by(Round.opens_on.desc(), Round.id)))
