"""The matching engine: one object that analyses, scores, ranks and suggests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .analysis import Analysis, Analyzer, Doc
from .index import MemoryIndex, SearchStats, _id_order, index_keys
from .lexicon import Concept, ExtraTerm, Lexicon
from .recent import Recent
from .score import FixedStats, Scored, TermStats, Weights, keyword_terms, profile, score
from .tokenize import is_cjk

#: Bump when analysis or scoring changes in a way that makes stored analyses stale.
ENGINE_VERSION = "2"


@dataclass(frozen=True)
class Ranked:
    id: Hashable
    score: float
    reasons: dict


@dataclass(frozen=True)
class Suggestion:
    segment: str | None
    themes: list[str]
    keywords: list[str]


class Engine:
    """``term_stats`` (optional) gives the document frequencies of words outside the lexicon
    over the records being ranked, so that a rare shared word counts by its rarity; a caller
    may pass its own to ``score`` and ``rank`` (``search`` uses the index's)."""

    def __init__(
        self,
        lexicon: Lexicon,
        weights: Weights | None = None,
        term_stats: TermStats | None = None,
    ):
        self.lexicon = lexicon
        self.weights = weights or Weights()
        self.analyzer = Analyzer(lexicon, generic_cutoff=self.weights.generic_cutoff)
        self.term_stats = term_stats
        self.version = f"{ENGINE_VERSION}-{lexicon.version}"
        #: Analyses callers keep between requests, by their own keys (see services.matches);
        #: none unless the caller sizes it (the board: MATCH_RECENT_ANALYSES).
        self.recent_analyses = Recent(0)

    @classmethod
    def from_files(
        cls,
        lexicon_path: str | Path,
        extra_concepts: Iterable[Concept] = (),
        extra_terms: Iterable[ExtraTerm] = (),
        weights: Weights | None = None,
    ) -> Engine:
        return cls(Lexicon.load(lexicon_path, extra_concepts, extra_terms), weights)

    # -- analysis -----------------------------------------------------------------
    def analyze(self, doc: Doc) -> Analysis:
        return self.analyzer.analyze(doc, self.version)

    def load(self, data: dict | None) -> Analysis | None:
        """A stored analysis, or None when it was made by another lexicon or engine."""
        if not data or data.get("v") != self.version:
            return None
        return Analysis.from_json(data)

    def keys(self, a: Analysis) -> dict[str, float]:
        return index_keys(a, self.lexicon, self.weights)

    def new_index(self) -> MemoryIndex:
        return MemoryIndex(self.lexicon, self.weights)

    # -- scoring ------------------------------------------------------------------
    def score(
        self,
        demand: Analysis,
        capability: Analysis,
        explain: bool = True,
        stats: TermStats | None = None,
    ) -> Scored:
        stats = stats if stats is not None else self.term_stats
        return score(demand, capability, self.lexicon, self.weights, explain, stats)

    def demand_stats(self, demand: Analysis, stats: TermStats | None = None) -> TermStats | None:
        """The frequencies of one demand's words, looked up once for all its candidates."""
        stats = stats if stats is not None else self.term_stats
        if stats is None:
            return None
        terms = keyword_terms(profile(demand, self.lexicon, self.weights), self.weights)
        return FixedStats(stats.total(), dict(stats.frequencies(terms)) if terms else {})

    def rank(
        self,
        demand: Analysis,
        candidates: Iterable[tuple[Hashable, Analysis]],
        top_k: int,
        threshold: float = 0.0,
        stats: TermStats | None = None,
    ) -> list[Ranked]:
        """Score every candidate and keep the best ``top_k`` at or above ``threshold``."""
        fixed = self.demand_stats(demand, stats)
        scored = []
        for rid, cap in candidates:
            s = score(demand, cap, self.lexicon, self.weights, False, fixed)
            if s.score > 0 and s.score >= threshold:
                scored.append((s.score, rid, cap))
        scored.sort(key=lambda x: (-x[0], _id_order(x[1])))
        return [
            Ranked(rid, value, score(demand, cap, self.lexicon, self.weights, True, fixed).reasons)
            for value, rid, cap in scored[:top_k]
        ]

    def search(
        self,
        demand: Analysis,
        index: MemoryIndex,
        top_k: int,
        threshold: float = 0.0,
        exhaustive: bool = False,
        candidate_limit: int | None = None,
        exclude: Collection[Hashable] = (),
        stats: SearchStats | None = None,
    ) -> list[Ranked]:
        """Rank the records of an index for a demand; the index's own document frequencies
        weigh shared words outside the lexicon. ``exhaustive`` scores every record;
        ``candidate_limit`` scores only that many records sharing the most weight with the
        demand; by default a max-score cut over the index finds the same top ``top_k`` as
        scoring every record (see MemoryIndex.top). ``exclude``: ids left out."""
        if exhaustive or candidate_limit:
            if exhaustive:
                ids: Iterable[Hashable] = index.records
            else:
                ids = index.candidates(demand, candidate_limit)
            pool = ((i, index.records[i]) for i in ids if i not in exclude)
            return self.rank(demand, pool, top_k, threshold, index)
        fixed = self.demand_stats(demand, index)
        records, lex, w = index.records, self.lexicon, self.weights

        def exact(rid: Hashable) -> float:
            return score(demand, records[rid], lex, w, False, fixed).score

        best = index.top(demand, top_k, exact, threshold, exclude, stats)
        return [
            Ranked(rid, value, score(demand, records[rid], lex, w, True, fixed).reasons)
            for value, rid in best
        ]

    @staticmethod
    def candidate_limit(top_k: int) -> int:
        return max(200, 20 * top_k)

    # -- suggestions while posting --------------------------------------------------
    def suggest(self, doc: Doc, lang: str | None = None) -> Suggestion:
        """Segment, themes and keywords the text points to."""
        a = self.analyze(doc)
        p = profile(a, self.lexicon, self.weights).offer  # all the text names
        lex = self.lexicon
        seg_mass: dict[str, float] = defaultdict(float)
        theme_mass: dict[str, float] = defaultdict(float)
        ranked: list[tuple[float, str]] = []
        for cid, v in p.direct.items():
            spec = lex.weights[cid]
            if spec < self.weights.generic_cutoff:
                continue
            segs, themes = self._codes(cid)
            for s in segs:
                seg_mass[s] += spec * v
            for t in themes:
                theme_mass[t] += spec * v
            ranked.append((spec * v, cid))
        segment = None
        if seg_mass:
            best = sorted(seg_mass.items(), key=lambda kv: (-kv[1], kv[0]))
            if best[0][1] >= 0.9 and (len(best) == 1 or best[0][1] > best[1][1]):
                segment = best[0][0]
        themes = sorted(t for t, m in theme_mass.items() if m >= 0.9)
        if lang is None:
            lang = "zh" if is_cjk(doc.title + doc.description) else "en"
        have = {k.strip().lower() for k in doc.keywords}
        in_keywords = set(a.fields["keywords"].concepts)
        keywords: list[str] = []
        for _, cid in sorted(ranked, key=lambda x: (-x[0], x[1])):
            if cid in in_keywords:
                continue
            label = lex.concepts[cid].label(lang)
            if label.lower() not in have and label not in keywords:
                keywords.append(label)
            if len(keywords) == 6:
                break
        return Suggestion(segment, themes, keywords)

    def _codes(self, cid: str) -> tuple[frozenset[str], frozenset[str]]:
        """A concept's segments and themes, inherited from its broader concept when unset."""
        c = self.lexicon.concepts[cid]
        segs, themes = c.segments, c.themes
        for anc in self.lexicon.ancestors(cid):
            if segs and themes:
                break
            a = self.lexicon.concepts[anc]
            segs = segs or a.segments
            themes = themes or a.themes
        return segs, themes
