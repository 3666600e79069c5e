"""Candidate generation: an inverted index over concepts and normalised terms.

Each key carries a weight that bounds what sharing it can add to a score (a concept's
specificity times its field weight; a word's weight, raised for a term of art). Keys that can
never make a match alone (broad concepts, everyday words) do not generate candidates. A query
is answered with a max-score cut: keys whose combined bound cannot lift a record into the
current top k do not generate candidates either, a record's bound is completed from the
other keys only when it might still make it, and records are scored exactly in order of
their bound until the bound falls below the k-th best score."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from .analysis import Analysis
from .lexicon import Lexicon
from .score import Weights, keyword_terms, profile


def index_keys(a: Analysis, lex: Lexicon, w: Weights) -> dict[str, float]:
    """The keys a record is filed under, each with its weight (what it names, passing
    mentions included: the index finds candidates, scoring weighs them)."""
    return _keys(profile(a, lex, w).offer, lex, w)


def query_keys(a: Analysis, lex: Lexicon, w: Weights) -> tuple[dict[str, float], set[str]]:
    """A demand's keys as it asks for them, and those among them that can make a match alone
    (a specific concept, or a term of art it names in its title or keywords)."""
    p = profile(a, lex, w)
    keys = _keys(p, lex, w)
    generating = {"c:" + cid for cid in p.vec if lex.weights[cid] >= w.match_cutoff}
    generating |= {term_index_key(t) for t in keyword_terms(p, w)}
    return keys, generating & set(keys)


def _keys(p, lex: Lexicon, w: Weights) -> dict[str, float]:
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


@dataclass
class SearchStats:
    """What one query cost: postings read, records whose bound was computed, records scored."""

    postings: int = 0
    candidates: int = 0
    scored: int = 0
    keys: int = 0
    generating: int = 0


class Bound:
    """The highest score a record can reach given the weight it shares with a demand:
    recall and precision at most shared/mass (capped at 1), plus every bonus it could get."""

    def __init__(self, w: Weights, demand_mass: float, slack: float, segment, themes):
        self.b2 = w.beta * w.beta
        self.gamma = w.gamma
        self.dm = demand_mass
        self.slack = slack
        self.segment = segment
        self.themes = themes
        self.w = w

    def bonus(self, segment, themes) -> float:
        w = self.w
        b = w.segment_bonus if self.segment and segment == self.segment else 0.0
        return b + min(w.max_theme_bonus, w.theme_bonus * len(self.themes & themes))

    def max_bonus(self) -> float:
        w = self.w
        return (w.segment_bonus if self.segment else 0.0) + min(
            w.max_theme_bonus, w.theme_bonus * len(self.themes)
        )

    def __call__(self, shared: float, cap_mass: float, bonus: float) -> float:
        if self.dm <= 0:
            return 0.0
        t = shared + self.slack
        r = min(1.0, t / self.dm)
        p = min(1.0, t / cap_mass) if cap_mass > 0 else 0.0
        if p <= 0 or r <= 0:
            return bonus
        f = (1 + self.b2) * p * r / (self.b2 * p + r)
        return 100.0 * f**self.gamma + bonus + 0.05  # scores are rounded to 0.1


@dataclass
class _Meta:
    mass: float
    segment: str | None
    themes: frozenset = field(default_factory=frozenset)


class MemoryIndex:
    """Postings held in memory: used by the evaluation, the benchmark and bulk rematching."""

    def __init__(self, lexicon: Lexicon, weights: Weights):
        self.lexicon = lexicon
        self.weights = weights
        self.postings: dict[str, dict[Hashable, float]] = defaultdict(dict)
        self.records: dict[Hashable, Analysis] = {}
        self._keys: dict[Hashable, dict[str, float]] = {}
        self._max: dict[str, float] = {}  # per key, at least its highest weight
        #: per key, its records by weight (a few weights per key: field and broader levels)
        self._tiers: dict[str, dict[float, set[Hashable]]] = defaultdict(dict)
        self._meta: dict[Hashable, _Meta] = {}

    def __len__(self) -> int:
        return len(self.records)

    def add(self, rid: Hashable, analysis: Analysis) -> None:
        self.remove(rid)
        offer = profile(analysis, self.lexicon, self.weights).offer
        keys = _keys(offer, self.lexicon, self.weights)
        for k, v in keys.items():
            self.postings[k][rid] = v
            self._tiers[k].setdefault(v, set()).add(rid)
            if v > self._max.get(k, 0.0):
                self._max[k] = v
        self._keys[rid] = keys
        self._meta[rid] = _Meta(offer.mass, analysis.segment, analysis.themes)
        self.records[rid] = analysis

    def remove(self, rid: Hashable) -> None:
        for k, v in self._keys.pop(rid, {}).items():
            bucket = self.postings.get(k)
            if bucket is not None:
                bucket.pop(rid, None)
                tier = self._tiers[k].get(v)
                if tier is not None:
                    tier.discard(rid)
                    if not tier:
                        del self._tiers[k][v]
                if not bucket:
                    del self.postings[k]
                    del self._tiers[k]
                    self._max.pop(k, None)
        self._meta.pop(rid, None)
        self.records.pop(rid, None)

    # -- TermStats: document frequencies of words outside the lexicon -------------------------
    def total(self) -> int:
        return len(self.records)

    def frequencies(self, terms: Collection[str]) -> dict[str, int]:
        return {t: len(self.postings.get(term_index_key(t), ())) for t in terms}

    def candidates(self, query: Analysis, limit: int) -> list[Hashable]:
        """The records sharing the most weight with the query (any key), at most ``limit``."""
        q = index_keys(query, self.lexicon, self.weights)

        def rows():
            for k in q:
                for rid, v in self.postings.get(k, {}).items():
                    yield rid, k, v

        return rank_candidates(q, rows(), limit)

    def top(
        self,
        query: Analysis,
        k: int,
        scorer: Callable[[Hashable], float],
        threshold: float = 0.0,
        exclude: Collection[Hashable] = (),
        stats: SearchStats | None = None,
    ) -> list[tuple[float, Hashable]]:
        """The ``k`` best records for a demand by ``scorer`` (the exact score, 0-100), at or
        above ``threshold``: (score, id), best first. Exact as long as the scorer's score
        never exceeds the bound (words matched only by a near spelling are not bounded:
        they weigh at most a tenth of a word each and never make a match alone)."""
        lex, w = self.lexicon, self.weights
        st = stats if stats is not None else SearchStats()
        q, generating = query_keys(query, lex, w)
        p = profile(query, lex, w)
        # General concepts are not keys: they may add up to this much to any record.
        slack = sum(lex.weights[c] * v for c, v in p.vec.items() if lex.weights[c] < w.generic_cutoff)
        bound = Bound(w, p.mass, slack, query.segment, query.themes)
        ub = {key: min(qw, self._max.get(key, 0.0)) for key, qw in q.items()}
        ub = {key: v for key, v in ub.items() if v > 0}
        gen = sorted((key for key in generating if key in ub), key=lambda x: (ub[x], -len(self.postings[x])))
        st.keys, st.generating = len(ub), len(gen)
        if not gen:
            return []
        floor = max(threshold, 1e-9)
        heap: list[tuple[float, tuple, Hashable]] = []  # the k best so far (min-heap)
        seen: set[Hashable] = set(exclude)

        def theta() -> float:
            return max(floor, heap[0][0]) if len(heap) >= k else floor

        def consider(rid: Hashable) -> None:
            s = scorer(rid)
            st.scored += 1
            if s <= 0 or s < floor:
                return
            item = (s, _neg_order(rid), rid)
            if len(heap) < k:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)

        # A first threshold from the records of the keys that weigh most and are rarest.
        first: dict[Hashable, float] = {}
        for key in sorted(gen, key=lambda x: (-ub[x], len(self.postings[x])))[:3]:
            bucket = self.postings[key]
            if len(bucket) > 20 * k and first:
                break
            qw = q[key]
            for rid, v in bucket.items():
                if rid not in seen:
                    first[rid] = first.get(rid, 0.0) + min(v, qw)
            st.postings += len(bucket)
        for _, rid in heapq.nlargest(2 * k, ((v, rid) for rid, v in first.items()),
                                     key=lambda x: x[0]):
            consider(rid)
            seen.add(rid)
        # Postings lists: one per key and weight, bounded by min(weight, query weight). Lists
        # that cannot lift a record into the top k (with all the lists below them, broad keys
        # and the slack; a record is in one list per key) do not generate candidates.
        lists = sorted(
            ((min(wt, q[key]), key, wt) for key in gen for wt in self._tiers[key]),
            key=lambda x: (x[0], -len(self._tiers[x[1]][x[2]])),
        )
        other = sum(v for key, v in ub.items() if key not in generating)
        max_bonus = bound.max_bonus()
        lazy_max: dict[str, float] = {}
        rest = other
        n_lazy = 0
        for b, key, _ in lists:
            grown = rest - lazy_max.get(key, 0.0) + max(b, lazy_max.get(key, 0.0))
            if bound(grown, 1e-9, max_bonus) >= theta():
                break
            rest = grown
            lazy_max[key] = max(b, lazy_max.get(key, 0.0))
            n_lazy += 1
        essential = lists[n_lazy:]
        acc: dict[Hashable, float] = {}
        get = acc.get
        for b, key, wt in essential:
            bucket = self._tiers[key][wt]
            st.postings += len(bucket)
            for rid in bucket:
                acc[rid] = get(rid, 0.0) + b
        # The least shared weight that may still reach the k-th best score (any record).
        th = theta()
        lo, hi = 0.0, max(bound.dm, 1e-9)
        if bound(hi, 1e-9, max_bonus) < th:
            lo = hi
        else:
            for _ in range(30):
                mid = (lo + hi) / 2
                if bound(mid, 1e-9, max_bonus) < th:
                    lo = mid
                else:
                    hi = mid
        need = lo - rest
        lazy = [key for key in ub if key not in generating or key in lazy_max]
        # keys with lists on both sides: only a weight in a lazy list is added lazily
        lazy_weights: dict[str, set[float]] = defaultdict(set)
        for _, key, wt in lists[:n_lazy]:
            lazy_weights[key].add(wt)
        ess_keys = {key for _, key, _ in essential}
        meta = self._meta
        queue: list[tuple[float, Hashable]] = []
        for rid, shared in acc.items():
            if shared < need or rid in seen:
                continue
            m = meta[rid]
            bonus = bound.bonus(m.segment, m.themes)
            if bound(shared + rest, m.mass, bonus) < th:
                continue
            st.candidates += 1
            for key in lazy:  # complete the record's bound from the other keys
                v = self.postings[key].get(rid)
                if v is not None and (key not in ess_keys or v in lazy_weights[key]):
                    qw = q[key]
                    shared += v if v < qw else qw
            st.postings += len(lazy)
            b = bound(shared, m.mass, bonus)
            if b >= th:
                queue.append((b, rid))
        queue.sort(key=lambda x: (-x[0], _id_order(x[1])))
        for b, rid in queue:
            if b < theta():
                break
            consider(rid)
        return [(s, rid) for s, _, rid in sorted(heap, reverse=True)]


def _neg_order(rid: Hashable) -> tuple:
    """Sorts records so that, at equal scores, the lower id counts as the better one."""
    kind, n, s = _id_order(rid)
    return (-kind, -n if isinstance(n, int) else 0, tuple(-ord(c) for c in s))
