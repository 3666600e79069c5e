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
from array import array
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

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


class MemoryIndex:
    """Postings held in memory as compact arrays (numpy), not as Python objects per posting:
    used by the evaluation, the benchmark and bulk rematching.

    Additions and removals are buffered; the arrays are rebuilt on the next query. Postings
    are kept twice: by key, weight (descending) and record, for the lists a query reads, and
    by key and record, for looking a record up in a key."""

    def __init__(self, lexicon: Lexicon, weights: Weights):
        self.lexicon = lexicon
        self.weights = weights
        self.records: dict[Hashable, Analysis] = {}
        self._doc: dict[Hashable, int] = {}  # record id -> row number
        self._rid: list[Hashable | None] = []  # row number -> record id (None: removed)
        self._mass = array("d")
        self._segment: list[str | None] = []
        self._themes: list[frozenset] = []
        self._key_id: dict[str, int] = {}
        self._key_name: list[str] = []
        # buffered postings (row, key, weight), and rows removed since the last rebuild
        self._p_doc, self._p_key, self._p_w = array("i"), array("i"), array("f")
        self._dead: set[int] = set()
        self._dirty = False
        empty_i, empty_f = np.zeros(0, np.int32), np.zeros(0, np.float32)
        self._c_key, self._c_doc, self._c_w = empty_i, empty_i, empty_f  # by key, -weight, row
        self._l_doc, self._l_w = empty_i, empty_f  # by key, row
        self._start = np.zeros(1, np.int64)  # key id -> first posting

    def __len__(self) -> int:
        return len(self.records)

    def add(self, rid: Hashable, analysis: Analysis) -> None:
        self.remove(rid)
        offer = profile(analysis, self.lexicon, self.weights).offer
        doc = len(self._rid)
        self._rid.append(rid)
        self._doc[rid] = doc
        self._mass.append(offer.mass)
        self._segment.append(analysis.segment)
        self._themes.append(analysis.themes)
        for k, v in _keys(offer, self.lexicon, self.weights).items():
            kid = self._key_id.get(k)
            if kid is None:
                kid = self._key_id[k] = len(self._key_name)
                self._key_name.append(k)
            self._p_doc.append(doc)
            self._p_key.append(kid)
            self._p_w.append(v)
        self.records[rid] = analysis
        self._dirty = True

    def remove(self, rid: Hashable) -> None:
        doc = self._doc.pop(rid, None)
        if doc is None:
            return
        self._rid[doc] = None
        self._dead.add(doc)
        self.records.pop(rid, None)
        self._dirty = True

    def _build(self) -> None:
        if not self._dirty:
            return
        keys = np.concatenate([self._c_key, np.array(self._p_key, np.int32)])
        docs = np.concatenate([self._c_doc, np.array(self._p_doc, np.int32)])
        ws = np.concatenate([self._c_w, np.array(self._p_w, np.float32)])
        if self._dead:
            keep = ~np.isin(docs, np.fromiter(self._dead, np.int32, len(self._dead)))
            keys, docs, ws = keys[keep], docs[keep], ws[keep]
        order = np.lexsort((docs, -ws, keys))
        self._c_key, self._c_doc, self._c_w = keys[order], docs[order], ws[order]
        order = np.lexsort((docs, keys))
        self._l_doc, self._l_w = docs[order], ws[order]
        self._start = np.searchsorted(self._c_key, np.arange(len(self._key_name) + 1)).astype(np.int64)
        self._mass_np = np.array(self._mass, np.float64)
        self._p_doc, self._p_key, self._p_w = array("i"), array("i"), array("f")
        self._dead = set()
        self._dirty = False

    def size(self) -> int:
        """The number of postings."""
        self._build()
        return len(self._c_doc)

    @property
    def postings(self) -> dict[str, dict[Hashable, float]]:
        """Every key's postings as {key: {record id: weight}} (for tests and small indexes)."""
        self._build()
        out: dict[str, dict[Hashable, float]] = {}
        for kid, name in enumerate(self._key_name):
            a, b = self._start[kid], self._start[kid + 1]
            if b > a:
                out[name] = {self._rid[d]: float(w) for d, w in zip(self._c_doc[a:b], self._c_w[a:b], strict=True)}
        return out

    def _df(self, key: str) -> int:
        kid = self._key_id.get(key)
        return 0 if kid is None else int(self._start[kid + 1] - self._start[kid])

    # -- TermStats: document frequencies of words outside the lexicon -------------------------
    def total(self) -> int:
        return len(self.records)

    def frequencies(self, terms: Collection[str]) -> dict[str, int]:
        self._build()
        return {t: self._df(term_index_key(t)) for t in terms}

    def _lists(self, kid: int) -> list[tuple[float, int, int]]:
        """A key's postings lists, one per weight: (weight, first, end), heaviest first."""
        a, b = int(self._start[kid]), int(self._start[kid + 1])
        if b <= a:
            return []
        ws = self._c_w[a:b]
        cuts = np.flatnonzero(ws[1:] != ws[:-1]) + 1
        bounds = [0, *cuts.tolist(), b - a]
        return [(float(ws[bounds[i]]), a + bounds[i], a + bounds[i + 1]) for i in range(len(bounds) - 1)]

    def _lookup(self, kid: int, docs: np.ndarray) -> np.ndarray:
        """The weight each of ``docs`` has under a key (0 where it has none)."""
        a, b = int(self._start[kid]), int(self._start[kid + 1])
        col = self._l_doc[a:b]
        out = np.zeros(len(docs), np.float32)
        if b <= a or not len(docs):
            return out
        pos = np.searchsorted(col, docs)
        pos_c = np.minimum(pos, b - a - 1)
        hit = col[pos_c] == docs
        out[hit] = self._l_w[a:b][pos_c[hit]]
        return out

    def candidates(self, query: Analysis, limit: int) -> list[Hashable]:
        """The records sharing the most weight with the query (any key), at most ``limit``."""
        self._build()
        q = index_keys(query, self.lexicon, self.weights)
        acc = np.zeros(len(self._rid), np.float64)
        for key, qw in q.items():
            kid = self._key_id.get(key)
            if kid is None:
                continue
            a, b = int(self._start[kid]), int(self._start[kid + 1])
            acc[self._c_doc[a:b]] += np.minimum(self._c_w[a:b], qw)
        hits = np.flatnonzero(acc > 0)
        best = sorted(((-float(acc[d]), _id_order(self._rid[d]), self._rid[d]) for d in hits),
                      key=lambda x: (x[0], x[1]))[:limit]
        return [rid for _, _, rid in best]

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
        self._build()
        lex, w = self.lexicon, self.weights
        st = stats if stats is not None else SearchStats()
        q_all, generating = query_keys(query, lex, w)
        p = profile(query, lex, w)
        # General concepts are not keys: they may add up to this much to any record.
        slack = sum(lex.weights[c] * v for c, v in p.vec.items() if lex.weights[c] < w.generic_cutoff)
        bound = Bound(w, p.mass, slack, query.segment, query.themes)
        q: dict[int, float] = {}
        ub: dict[int, float] = {}
        gen: list[int] = []
        for key, qw in q_all.items():
            kid = self._key_id.get(key)
            if kid is None or self._start[kid + 1] <= self._start[kid]:
                continue
            q[kid] = qw
            ub[kid] = min(qw, float(self._c_w[self._start[kid]]))
            if key in generating:
                gen.append(kid)
        st.keys, st.generating = len(ub), len(gen)
        if not gen:
            return []
        floor = max(threshold, 1e-9)
        heap: list[tuple[float, tuple, Hashable]] = []  # the k best so far (min-heap)
        seen: set[int] = {self._doc[r] for r in exclude if r in self._doc}
        rids = self._rid

        def theta() -> float:
            return max(floor, heap[0][0]) if len(heap) >= k else floor

        def consider(doc: int) -> None:
            rid = rids[doc]
            s = scorer(rid)
            st.scored += 1
            if s <= 0 or s < floor:
                return
            item = (s, _neg_order(rid), rid)
            if len(heap) < k:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)

        lists = sorted(
            ((min(wt, q[kid]), kid, wt, a, b) for kid in gen for wt, a, b in self._lists(kid)),
            key=lambda x: (x[0], x[3] - x[4]),
        )
        # A first threshold from the heaviest lists, rarest first.
        first: dict[int, float] = {}
        for b_, _, _, a, b in sorted(lists, key=lambda x: (-x[0], x[4] - x[3]))[:4]:
            if b - a > 50 * k and first:
                break
            st.postings += b - a
            for doc in self._c_doc[a:b].tolist():
                first[doc] = first.get(doc, 0.0) + b_
        for _, doc in heapq.nlargest(2 * k, ((v, d) for d, v in first.items() if d not in seen)):
            consider(doc)
            seen.add(doc)
        # Lists that cannot lift a record into the top k (with every list below them, the
        # broad keys and the slack; a record is in one list per key) generate no candidates.
        other = sum(v for kid, v in ub.items() if kid not in set(gen))
        max_bonus = bound.max_bonus()
        lazy_max: dict[int, float] = {}
        rest = other
        n_lazy = 0
        for b_, kid, _, _, _ in lists:
            grown = rest - lazy_max.get(kid, 0.0) + max(b_, lazy_max.get(kid, 0.0))
            if bound(grown, 1e-9, max_bonus) >= theta():
                break
            rest = grown
            lazy_max[kid] = max(b_, lazy_max.get(kid, 0.0))
            n_lazy += 1
        essential = lists[n_lazy:]
        acc = np.zeros(len(rids), np.float64)
        for b_, _, _, a, b in essential:
            acc[self._c_doc[a:b]] += b_
            st.postings += b - a
        th = theta()
        need = _least_shared(bound, th, max_bonus) - rest
        cand = np.flatnonzero(acc >= max(need, 1e-9))
        if seen and len(cand):
            cand = cand[~np.isin(cand, np.fromiter(seen, np.int64, len(seen)))]
        if not len(cand):
            return [(s, rid) for s, _, rid in sorted(heap, reverse=True)]
        mass = self._mass_np[cand]
        bonus = self._bonuses(bound, cand)
        shared = acc[cand]
        partial = _bound_np(bound, shared + rest, mass, bonus)  # at least the full bound
        keep = partial >= th
        cand, shared, mass, bonus, partial = cand[keep], shared[keep], mass[keep], bonus[keep], partial[keep]
        order = np.argsort(-partial, kind="stable")
        cand, shared, mass, bonus, partial = cand[order], shared[order], mass[order], bonus[order], partial[order]
        lazy_weights: dict[int, np.ndarray] = {}
        for kid in lazy_max:
            lazy_weights[kid] = np.array([wt for _, k2, wt, _, _ in lists[:n_lazy] if k2 == kid], np.float32)
        ess_keys = {kid for _, kid, _, _, _ in essential}
        lazy_keys = [kid for kid in q if kid not in ess_keys or kid in lazy_weights]
        # In chunks, best partial bound first: complete each record's bound from the lazy
        # lists and the broad keys, score those that may still make the top k.
        chunk = max(64, 8 * k)
        for lo in range(0, len(cand), chunk):
            if partial[lo] < theta():
                break
            part = cand[lo : lo + chunk]
            got_shared = shared[lo : lo + chunk].copy()
            st.candidates += len(part)
            for kid in lazy_keys:
                got = self._lookup(kid, part)
                st.postings += len(part)
                if kid in ess_keys:  # only its lazy weights were not counted yet
                    got = np.where(np.isin(got, lazy_weights[kid]), got, 0)
                got_shared += np.minimum(got, q[kid])
            bounds = _bound_np(bound, got_shared, mass[lo : lo + chunk], bonus[lo : lo + chunk])
            for i in np.argsort(-bounds, kind="stable").tolist():
                if bounds[i] < theta():
                    break
                consider(int(part[i]))
        return [(s, rid) for s, _, rid in sorted(heap, reverse=True)]

    def _bonuses(self, bound: Bound, docs: np.ndarray) -> np.ndarray:
        if not bound.segment and not bound.themes:
            return np.zeros(len(docs))
        segs, themes = self._segment, self._themes
        return np.array([bound.bonus(segs[d], themes[d]) for d in docs.tolist()])


def _least_shared(bound: Bound, theta: float, max_bonus: float) -> float:
    """The least shared weight with which any record may still reach ``theta``."""
    lo, hi = 0.0, max(bound.dm, 1e-9) * 4
    if bound(hi, 1e-9, max_bonus) < theta:
        return hi
    for _ in range(40):
        mid = (lo + hi) / 2
        if bound(mid, 1e-9, max_bonus) < theta:
            lo = mid
        else:
            hi = mid
    return lo


def _bound_np(bound: Bound, shared: np.ndarray, mass: np.ndarray, bonus: np.ndarray) -> np.ndarray:
    """Bound.__call__ over arrays of records."""
    if bound.dm <= 0:
        return np.zeros(len(shared))
    t = shared + bound.slack
    r = np.minimum(1.0, t / bound.dm)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(mass > 0, np.minimum(1.0, t / np.where(mass > 0, mass, 1.0)), 0.0)
        f = np.where((p > 0) & (r > 0), (1 + bound.b2) * p * r / (bound.b2 * p + r), 0.0)
    return 100.0 * f**bound.gamma + bonus + 0.05

def _neg_order(rid: Hashable) -> tuple:
    """Sorts records so that, at equal scores, the lower id counts as the better one."""
    kind, n, s = _id_order(rid)
    return (-kind, -n if isinstance(n, int) else 0, tuple(-ord(c) for c in s))
