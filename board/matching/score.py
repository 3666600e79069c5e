"""Scoring one demand against one capability on 0-100, with the reasons."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from rapidfuzz import fuzz, process

from .analysis import Analysis
from .lexicon import Lexicon
from .tokenize import is_cjk


@dataclass(frozen=True)
class Weights:
    # The title states the need, keywords sum it up, the description elaborates.
    title: float = 1.0
    keywords: float = 0.8
    description: float = 0.5
    # A concept only the description names, with nothing in the title or keywords it belongs
    # with, is mentioned in passing ("a network that carries CBTC traffic").
    passing: float = 0.2
    fuzzy_concept: float = 0.8  # a concept found through a near spelling
    broader: float = 0.5  # per level of a broader-concept link
    # A general word with a rail sense (轴承, inverter) that only one of the two records uses in
    # a rail context may not mean the same thing in both: its credit is scaled by this.
    sense_mismatch: float = 0.3
    term: float = 0.1  # a shared word the lexicon does not know: weak evidence...
    # ...unless both records name it in their title or keywords and few of the ranked records
    # have it (see term_weight)
    rare_term: float = 0.8
    term_similarity: int = 85  # rapidfuzz ratio for two such words to count as one
    generic_cutoff: float = 0.2  # concepts below this specificity are never reasons
    # Concepts below this specificity (settings, broad fields: 运维, vehicle, tram) are reasons
    # but never make a match on their own.
    match_cutoff: float = 0.35
    beta: float = 2.0  # the demand's coverage counts more than the capability's focus
    gamma: float = 0.7  # spreads scores over 0-100 without changing their order
    # A capability written for another industry's setting or products (a mall, a car, a
    # household appliance) that never names rail transit keeps this share of its score.
    other_setting_factor: float = 0.3
    rail_setting: str = "rail_setting"
    other_setting: str = "other_setting"
    segment_bonus: float = 4.0
    theme_bonus: float = 2.0
    max_theme_bonus: float = 4.0

    def field(self, name: str) -> float:
        return getattr(self, name)


class TermStats(Protocol):
    """Document frequencies of words outside the lexicon over the records being ranked."""

    def total(self) -> int: ...

    def frequencies(self, terms: Collection[str]) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class FixedStats:
    """Frequencies looked up once (for one demand's words) and reused for every candidate."""

    n: int
    df: Mapping[str, int]

    def total(self) -> int:
        return self.n

    def frequencies(self, terms: Collection[str]) -> Mapping[str, int]:
        return {t: self.df.get(t, 0) for t in terms}


def keyword_terms(p: Profile, w: Weights) -> list[str]:
    """A record's words outside the lexicon that may count by their rarity: terms of art it
    names in its title or keywords."""
    floor = w.keywords * w.term - 1e-9
    return [t for t, v in p.terms.items() if v >= floor and _unusual(t)]


def _keyword(term: str, d: Profile, c: Profile, w: Weights) -> bool:
    """A word outside the lexicon that both records name in their title or keywords and that
    looks like a term of art."""
    floor = w.keywords * w.term - 1e-9
    return d.terms.get(term, 0) >= floor and c.terms.get(term, 0) >= floor and _unusual(term)


def _unusual(term: str) -> bool:
    """Words long enough to be a term of art (微气压波, barkhausen) rather than everyday
    vocabulary (协同, 支持), which a small set of records may also hold only once."""
    if is_cjk(term):
        return len(term) >= 3
    return len(term) >= 7 or (len(term) >= 4 and any(ch.isdigit() for ch in term))


def term_weight(df: int, n: int, w: Weights) -> float:
    """Weight of a word outside the lexicon that two records share exactly: from w.term for a
    word every ranked record has to w.rare_term for a word only one of them has."""
    if n <= 1 or df <= 0:
        return w.term
    idf = math.log((n + 1) / (df + 1)) / math.log(n + 1)
    return w.term + (w.rare_term - w.term) * max(0.0, min(1.0, idf))


@dataclass
class Profile:
    """The weighted concepts and terms of one analysis: what it asks for (a passing mention
    in the description weighs w.passing) or, as ``offer``, what it offers."""

    direct: dict[str, float] = field(default_factory=dict)
    vec: dict[str, float] = field(default_factory=dict)  # direct plus broader concepts
    via: dict[str, set[str]] = field(default_factory=dict)  # broader -> direct concepts
    fields: dict[str, list[str]] = field(default_factory=dict)
    surfaces: dict[str, list[str]] = field(default_factory=dict)
    terms: dict[str, float] = field(default_factory=dict)
    mass: float = 0.0
    settings: set[str] = field(default_factory=set)  # concepts of another industry
    rail: bool = False  # the text names rail transit (a mode, a line, a station, a train)
    rail_context: bool = False  # ...or speaks of rail-specific things and no other industry
    passing: set[str] = field(default_factory=set)  # concepts mentioned only in passing
    offer: Profile | None = field(default=None, repr=False)  # the record as a capability


@dataclass(frozen=True)
class Scored:
    score: float
    reasons: dict


def _rail_context(a: Analysis, lex: Lexicon, w: Weights) -> tuple[bool, bool, set[str]]:
    """(names rail transit, has rail context, other industries' concepts) of an analysis.

    Rail context: the record names rail transit, or speaks of rail things (or of two rail
    settings in general words: "transit depots") and of no other industry."""
    named = specific = False
    other: set[str] = set()
    setting_words: set[str] = set()
    for fa in a.fields.values():
        for cid in fa.concepts:
            c = lex.concepts.get(cid)
            if c is None:
                continue
            if c.domain == "rail":
                specific = True
                if cid == w.rail_setting or w.rail_setting in lex.ancestors(cid):
                    named = True
            elif c.domain == "other" and cid != w.other_setting:
                other.add(cid)
            elif c.domain == "general":
                sense = lex.sense(cid)
                if sense and (sense == w.rail_setting or w.rail_setting in lex.ancestors(sense)):
                    setting_words.add(sense)
    specific = specific or len(setting_words) >= 2
    return named, named or (specific and not other), other


def profile(a: Analysis, lex: Lexicon, w: Weights) -> Profile:
    """The analysis as a demand sees it (passing mentions discounted); ``.offer`` is the same
    record as a capability: what it offers is everything it names."""
    if a._profile is not None:
        return a._profile
    rail, rail_context, settings = _rail_context(a, lex, w)

    def ancestors(cid: str) -> tuple[str, ...] | list[str]:
        """A general word's link to a rail concept holds only in a record with rail context."""
        return lex.ancestors(cid) if rail_context else lex.plain_ancestors(cid)

    def family(cid: str) -> set[str]:
        return {cid, *(x for x in ancestors(cid) if lex.weights[x] >= w.generic_cutoff)}

    asked: set[str] = set()
    for fname in ("title", "keywords"):
        fa = a.fields.get(fname)
        for cid in fa.concepts if fa else ():
            if cid in lex.concepts and lex.weights[cid] >= w.generic_cutoff and cid not in settings:
                asked |= family(cid)
    passing: set[str] = set()
    for fa in (a.fields.get("description"),):
        for cid in fa.concepts if fa else ():
            if cid in lex.concepts and asked and not (family(cid) & asked):
                passing.add(cid)

    def build(passing_weight: float) -> Profile:
        p = Profile(settings=settings, rail=rail, rail_context=rail_context)
        for fname, fa in a.fields.items():
            fw = w.field(fname)
            for cid, surfaces in fa.concepts.items():
                if cid not in lex.concepts:
                    continue  # concept removed since the analysis was stored
                v = passing_weight if fname == "description" and cid in passing else fw
                v *= w.fuzzy_concept if cid in fa.fuzzy else 1.0
                if v > p.direct.get(cid, 0.0):
                    p.direct[cid] = v
                p.fields.setdefault(cid, []).append(fname)
                known = p.surfaces.setdefault(cid, [])
                known.extend(s for s in surfaces if s not in known)
            for t in fa.terms:
                tw = fw * w.term
                if tw > p.terms.get(t, 0.0):
                    p.terms[t] = tw
        p.passing = {c for c in passing if p.direct.get(c, 0.0) <= passing_weight}
        p.vec = dict(p.direct)
        for cid, v in p.direct.items():
            factor = v
            for anc in ancestors(cid):
                factor *= w.broader
                p.via.setdefault(anc, set()).add(cid)
                if factor > p.vec.get(anc, 0.0):
                    p.vec[anc] = factor
        p.mass = sum(lex.weights[c] * v for c, v in p.vec.items()) + sum(p.terms.values())
        return p

    asks = build(w.passing)
    asks.offer = build(w.description) if asks.passing else asks
    a._profile = asks
    return asks


def _term_pairs(
    d: Profile, c: Profile, w: Weights, stats: TermStats | None
) -> list[tuple[str, str, float, float, float]]:
    """Shared words outside the lexicon: (demand word, capability word, similarity, credit,
    credit beyond the weight both records' masses already count)."""
    pairs: list[tuple[str, str, float, float, float]] = []
    if not d.terms or not c.terms:
        return pairs
    exact = [t for t in d.terms if t in c.terms and _keyword(t, d, c, w)]
    df: Mapping[str, int] = stats.frequencies(exact) if stats is not None and exact else {}
    n = stats.total() if df else 0
    choices = list(c.terms)
    for t, wd in d.terms.items():
        if t in c.terms:
            base = min(wd, c.terms[t])
            credit = base
            if _keyword(t, d, c, w):
                credit = base / w.term * term_weight(df.get(t, 0), n, w)
            pairs.append((t, t, 100.0, credit, credit - base))
        elif len(t) >= 4:
            hit = process.extractOne(t, choices, scorer=fuzz.ratio, score_cutoff=w.term_similarity)
            if hit:
                other = hit[0]
                pairs.append((t, other, hit[1], min(wd, c.terms[other]) * hit[1] / 100, 0.0))
    return pairs


def score(
    d_an: Analysis,
    c_an: Analysis,
    lex: Lexicon,
    w: Weights,
    explain: bool = True,
    stats: TermStats | None = None,
) -> Scored:
    d = profile(d_an, lex, w)
    c = profile(c_an, lex, w).offer
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
        if d.rail_context != c.rail_context and lex.sense(cid):
            credit *= w.sense_mismatch
        total += credit
        if spec >= w.generic_cutoff:
            # Sharing only settings and broad fields (metro, trains, 运维), or only a concept both
            # reach from far below (cousins under civil engineering), makes no match; siblings
            # named in both titles or keywords do.
            near = w.broader * w.keywords - 1e-9
            if spec >= w.match_cutoff and (cid in d.direct or cid in c.direct or min(v, other) >= near):
                specific += credit
            shared.append((credit, cid))
    pairs = _term_pairs(d, c, w, stats)
    term_credit = sum(p[3] for p in pairs)
    extra = sum(p[4] for p in pairs)  # a rare shared word weighs more in both records
    total += term_credit
    # Everyday words and near spellings add up but never make a match on their own; a term of
    # art both records are about does.
    specific += sum(p[3] for p in pairs if p[2] == 100.0 and _keyword(p[0], d, c, w))
    if specific <= 0 or d.mass <= 0 or c.mass <= 0:
        return Scored(0.0, {} if not explain else _empty_reasons())
    recall = min(1.0, total / (d.mass + extra))
    precision = min(1.0, total / (c.mass + extra))
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
        for a, b, s, *_ in sorted(pairs, key=lambda p: (-p[3], p[0]))[:6]
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
