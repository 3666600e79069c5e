"""Candidate generation: an inverted index over concepts and normalised terms.

Only records that share a specific concept (or a broader one) or a word with the
query are scored; rapidfuzz reranks those."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping

from .analysis import Analysis
from .lexicon import Lexicon
from .score import Weights, keyword_terms, profile


def index_keys(a: Analysis, lex: Lexicon, w: Weights) -> dict[str, float]:
    """The keys a record is filed under, each with its weight (what it names, passing
    mentions included: the index finds candidates, scoring weighs them)."""
    p = profile(a, lex, w).offer
    keys = {
        "c:" + cid: round(lex.weights[cid] * v, 4)
        for cid, v in p.vec.items()
        if lex.weights[cid] >= w.generic_cutoff
    }
    rare = set(keyword_terms(p, w))  # a term of art in the title or keywords may decide a match
    for t, tw in p.terms.items():
        keys[term_index_key(t)] = round(tw / w.term * w.rare_term if t in rare else tw, 4)
    return keys


def term_index_key(term: str) -> str:
    """The index key of a word outside the lexicon."""
    return "t:" + term[:150]


def rank_candidates(
    query: Mapping[str, float],
    postings: Iterable[tuple[Hashable, str, float]],
    limit: int,
) -> list[Hashable]:
    """Order records by the weight they share with the query; keep the first ``limit``."""
    acc: dict[Hashable, float] = defaultdict(float)
    for rid, key, weight in postings:
        acc[rid] += min(weight, query[key])
    best = heapq.nsmallest(limit, acc.items(), key=lambda kv: (-kv[1], _id_order(kv[0])))
    return [rid for rid, _ in best]


def _id_order(rid: Hashable) -> tuple:
    return (0, rid, "") if isinstance(rid, int) else (1, 0, str(rid))


class MemoryIndex:
    """Postings held in memory: used by the evaluation, the benchmark and bulk rematching."""

    def __init__(self, lexicon: Lexicon, weights: Weights):
        self.lexicon = lexicon
        self.weights = weights
        self.postings: dict[str, dict[Hashable, float]] = defaultdict(dict)
        self.records: dict[Hashable, Analysis] = {}
        self._keys: dict[Hashable, dict[str, float]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def add(self, rid: Hashable, analysis: Analysis) -> None:
        self.remove(rid)
        keys = index_keys(analysis, self.lexicon, self.weights)
        for k, v in keys.items():
            self.postings[k][rid] = v
        self._keys[rid] = keys
        self.records[rid] = analysis

    def remove(self, rid: Hashable) -> None:
        for k in self._keys.pop(rid, {}):
            bucket = self.postings.get(k)
            if bucket is not None:
                bucket.pop(rid, None)
                if not bucket:
                    del self.postings[k]
        self.records.pop(rid, None)

    # -- TermStats: document frequencies of words outside the lexicon -------------------------
    def total(self) -> int:
        return len(self.records)

    def frequencies(self, terms: Collection[str]) -> dict[str, int]:
        return {t: len(self.postings.get(term_index_key(t), ())) for t in terms}

    def candidates(self, query: Analysis, limit: int) -> list[Hashable]:
        q = index_keys(query, self.lexicon, self.weights)

        def rows():
            for k in q:
                for rid, v in self.postings.get(k, {}).items():
                    yield rid, k, v

        return rank_candidates(q, rows(), limit)
