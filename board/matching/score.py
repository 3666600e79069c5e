"""Scoring one demand against one capability on 0-100, with the reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .analysis import Analysis
from .lexicon import Lexicon


@dataclass(frozen=True)
class Weights:
    # The title states the need, keywords sum it up, the description elaborates.
    title: float = 1.0
    keywords: float = 0.8
    description: float = 0.5
    fuzzy_concept: float = 0.8  # a concept found through a near spelling
    broader: float = 0.5  # per level of a broader-concept link
    term: float = 0.1  # a shared word the lexicon does not know: weak evidence
    term_similarity: int = 85  # rapidfuzz ratio for two such words to count as one
    generic_cutoff: float = 0.2  # concepts below this specificity are never reasons
    beta: float = 2.0  # the demand's coverage counts more than the capability's focus
    gamma: float = 0.7  # spreads scores over 0-100 without changing their order
    # A capability written for another industry's setting (a mall, an office building) that
    # never names rail transit keeps this share of its score.
    other_setting_factor: float = 0.5
    rail_setting: str = "rail_setting"
    other_setting: str = "other_setting"
    segment_bonus: float = 4.0
    theme_bonus: float = 2.0
    max_theme_bonus: float = 4.0

    def field(self, name: str) -> float:
        return getattr(self, name)


@dataclass
class Profile:
    """The weighted concepts and terms of one analysis."""

    direct: dict[str, float] = field(default_factory=dict)
    vec: dict[str, float] = field(default_factory=dict)  # direct plus broader concepts
    via: dict[str, set[str]] = field(default_factory=dict)  # broader -> direct concepts
    fields: dict[str, list[str]] = field(default_factory=dict)
    surfaces: dict[str, list[str]] = field(default_factory=dict)
    terms: dict[str, float] = field(default_factory=dict)
    mass: float = 0.0
    settings: set[str] = field(default_factory=set)  # direct concepts naming a non-rail setting
    rail: bool = False  # the text names rail transit somewhere


@dataclass(frozen=True)
class Scored:
    score: float
    reasons: dict


def profile(a: Analysis, lex: Lexicon, w: Weights) -> Profile:
    if a._profile is not None:
        return a._profile
    p = Profile()
    for fname, fa in a.fields.items():
        fw = w.field(fname)
        for cid, surfaces in fa.concepts.items():
            if cid not in lex.concepts:
                continue  # concept removed since the analysis was stored
            v = fw * (w.fuzzy_concept if cid in fa.fuzzy else 1.0)
            if v > p.direct.get(cid, 0.0):
                p.direct[cid] = v
            p.fields.setdefault(cid, []).append(fname)
            known = p.surfaces.setdefault(cid, [])
            known.extend(s for s in surfaces if s not in known)
        for t in fa.terms:
            tw = fw * w.term
            if tw > p.terms.get(t, 0.0):
                p.terms[t] = tw
    p.vec = dict(p.direct)
    for cid, v in p.direct.items():
        factor = v
        for anc in lex.ancestors(cid):
            factor *= w.broader
            p.via.setdefault(anc, set()).add(cid)
            if factor > p.vec.get(anc, 0.0):
                p.vec[anc] = factor
    p.mass = sum(lex.weights[c] * v for c, v in p.vec.items()) + sum(p.terms.values())
    p.rail = w.rail_setting in p.vec
    p.settings = {c for c in p.direct if w.other_setting in lex.ancestors(c)}
    a._profile = p
    return p


def _term_pairs(d: Profile, c: Profile, w: Weights) -> list[tuple[str, str, float, float]]:
    """Shared words outside the lexicon: (demand word, capability word, similarity, credit)."""
    pairs = []
    if not d.terms or not c.terms:
        return pairs
    choices = list(c.terms)
    for t, wd in d.terms.items():
        if t in c.terms:
            pairs.append((t, t, 100.0, min(wd, c.terms[t])))
        elif len(t) >= 4:
            hit = process.extractOne(t, choices, scorer=fuzz.ratio, score_cutoff=w.term_similarity)
            if hit:
                other = hit[0]
                pairs.append((t, other, hit[1], min(wd, c.terms[other]) * hit[1] / 100))
    return pairs


def score(d_an: Analysis, c_an: Analysis, lex: Lexicon, w: Weights, explain: bool = True) -> Scored:
    d = profile(d_an, lex, w)
    c = profile(c_an, lex, w)
    shared: list[tuple[float, str]] = []
    total = 0.0
    specific = 0.0
    small, large = (d.vec, c.vec) if len(d.vec) <= len(c.vec) else (c.vec, d.vec)
    for cid, v in small.items():
        other = large.get(cid)
        if other is None:
            continue
        spec = lex.weights[cid]
        credit = spec * min(v, other)
        total += credit
        if spec >= w.generic_cutoff:
            specific += credit
            shared.append((credit, cid))
    pairs = _term_pairs(d, c, w)
    term_credit = sum(p[3] for p in pairs)
    total += term_credit
    specific += term_credit
    if specific <= 0 or d.mass <= 0 or c.mass <= 0:
        return Scored(0.0, {} if not explain else _empty_reasons())
    recall = min(1.0, total / d.mass)
    precision = min(1.0, total / c.mass)
    b2 = w.beta * w.beta
    f = (1 + b2) * precision * recall / (b2 * precision + recall)
    base = 100.0 * f**w.gamma
    elsewhere = sorted(c.settings - d.settings) if not c.rail else []
    if elsewhere:
        base *= w.other_setting_factor
    same_segment = bool(d_an.segment and d_an.segment == c_an.segment)
    shared_themes = sorted(d_an.themes & c_an.themes)
    bonus = (w.segment_bonus if same_segment else 0.0) + min(
        w.max_theme_bonus, w.theme_bonus * len(shared_themes)
    )
    value = round(min(100.0, base + bonus), 1)
    if not explain:
        return Scored(value, {})
    reasons = _reasons(d, c, shared, pairs, lex, same_segment, d_an, shared_themes)
    reasons["other_setting"] = [_label(lex, x) for x in elsewhere]
    return Scored(value, reasons)


def _empty_reasons() -> dict:
    return {"concepts": [], "terms": [], "segment": None, "themes": [], "other_setting": []}


def _reasons(d, c, shared, pairs, lex, same_segment, d_an, shared_themes) -> dict:
    concepts = []
    exact_both = {cid for _, cid in shared if cid in d.direct and cid in c.direct}
    total = sum(cr for cr, _ in shared) or 1.0
    for credit, cid in sorted(shared, key=lambda x: (-x[0], x[1])):
        exact = cid in exact_both
        if exact:
            d_src, c_src = [cid], [cid]
        else:
            d_src = [cid] if cid in d.direct else sorted(d.via.get(cid, ()))
            c_src = [cid] if cid in c.direct else sorted(c.via.get(cid, ()))
            # A broader link adds nothing to read when every concept behind it is shared already.
            if set(d_src) <= exact_both and set(c_src) <= exact_both:
                continue
        concept = lex.concepts[cid]
        concepts.append(
            {
                "id": cid,
                "zh": concept.label_zh,
                "en": concept.label_en,
                "link": "exact" if exact else "broader",
                "demand_fields": _fields(d, d_src),
                "capability_fields": _fields(c, c_src),
                "demand_terms": _surfaces(d, d_src),
                "capability_terms": _surfaces(c, c_src),
                "via_demand": [] if exact else [_label(lex, x) for x in d_src if x != cid],
                "via_capability": [] if exact else [_label(lex, x) for x in c_src if x != cid],
                "share": round(100 * credit / total),
            }
        )
    terms = [
        {"demand": a, "capability": b, "similarity": round(s)}
        for a, b, s, _ in sorted(pairs, key=lambda p: (-p[3], p[0]))[:6]
    ]
    return {
        "concepts": concepts[:8],
        "terms": terms,
        "segment": d_an.segment if same_segment else None,
        "themes": shared_themes,
    }


def _label(lex: Lexicon, cid: str) -> dict:
    c = lex.concepts[cid]
    return {"id": cid, "zh": c.label_zh, "en": c.label_en}


def _fields(p: Profile, cids: list[str]) -> list[str]:
    order = ("title", "keywords", "description")
    got = {f for cid in cids for f in p.fields.get(cid, ())}
    return [f for f in order if f in got]


def _surfaces(p: Profile, cids: list[str]) -> list[str]:
    out: list[str] = []
    for cid in cids:
        for s in p.surfaces.get(cid, ()):
            if s not in out:
                out.append(s)
    return out[:6]
