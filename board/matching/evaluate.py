"""Ranking quality on a labelled set: nDCG@5, precision@3, distractors in the top 3, recall of
first-call partners (grade 2) in the top 5, first-call partners missing from the top 10 and
distractors shown above the weak band (the board's strength bands: an absolute floor and a
share of the demand's best score), for the engine and for a plain rapidfuzz baseline on the
raw text."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from .analysis import Doc
from .bands import DEFAULT as DEFAULT_BANDS
from .bands import Bands
from .engine import Engine

#: The weak band's absolute floor (MATCH_REVIEW_FLOOR's default). Only the engine's scores are
#: on this scale.
DISTRACTOR_FLOOR = DEFAULT_BANDS.floor

#: A ranker returns capability ids best first, or (id, score) pairs best first.
Ranking = Sequence[Hashable] | Sequence[tuple[Hashable, float]]


@dataclass
class EvalSet:
    demands: list[Doc]
    capabilities: list[Doc]
    judgments: dict[str, dict[str, int]]
    distractors: dict[str, set[str]]


@dataclass
class Result:
    name: str
    ndcg5: float
    precision3: float
    distractors_top3: int
    per_demand: dict[str, list[str]] = field(default_factory=dict)
    strong_recall5: float = 0.0  # share of grade-2 partners in the top 5 (per demand, averaged)
    strong_missing10: int = 0  # grade-2 partners not in the top 10, over all demands
    distractors_floor: int | None = None  # distractors in the top 10 above the weak band
    floor: float | None = None
    bands: Bands | None = None
    missing: dict[str, list[str]] = field(default_factory=dict)  # demand -> partners not in top 10

    def row(self) -> str:
        above = (
            f"{self.distractors_floor} (weak below {self.bands.floor:g} or "
            f"{100 * self.bands.weak_share:g} % of the best)"
            if self.distractors_floor is not None and self.bands is not None
            else "n/a"
        )
        return (
            f"{self.name:<22} nDCG@5 {self.ndcg5:.3f}   precision@3 {self.precision3:.3f}   "
            f"distractors in top 3: {self.distractors_top3}   "
            f"strong partners: recall@5 {self.strong_recall5:.3f}, "
            f"missing from top 10: {self.strong_missing10}   distractors above the weak band: {above}"
        )


def _doc(item: dict) -> Doc:
    return Doc(
        id=item["ref"],
        title=item.get("title") or "",
        description=item.get("description") or "",
        keywords=tuple(item.get("keywords") or ()),
        segment=item.get("segment"),
        themes=frozenset(item.get("themes") or ()),
    )


def load(path: str | Path) -> EvalSet:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return EvalSet(
        demands=[_doc(d) for d in data["demands"]],
        capabilities=[_doc(c) for c in data["capabilities"]],
        judgments={d: dict(g) for d, g in data.get("judgments", {}).items()},
        distractors={d: set(v) for d, v in data.get("distractors", {}).items()},
    )


def dcg(gains: Sequence[float]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: Sequence[Hashable], grades: dict, k: int) -> float:
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([grades.get(r, 0) for r in ranked[:k]]) / ideal


def precision_at(ranked: Sequence[Hashable], grades: dict, k: int) -> float:
    return sum(1 for r in ranked[:k] if grades.get(r, 0) > 0) / k


def strong_recall_at(ranked: Sequence[Hashable], grades: dict, k: int) -> float | None:
    """Share of the grade-2 partners found in the top k (out of at most k); None without any."""
    strong = {r for r, g in grades.items() if g >= 2}
    if not strong:
        return None
    return len(strong.intersection(ranked[:k])) / min(len(strong), k)


def _ids_and_scores(ranked: Ranking) -> tuple[list[Hashable], list[float] | None]:
    items = list(ranked)
    if items and all(
        isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], (int, float)) for x in items
    ):
        return [x[0] for x in items], [float(x[1]) for x in items]
    return items, None


def raw_text(doc: Doc) -> str:
    return " ".join([doc.title, " ".join(doc.keywords), doc.description])


def measure(
    name: str,
    evalset: EvalSet,
    rank: Callable[[Doc], Ranking],
    floor: float | None = None,
    bands: Bands | None = None,
) -> Result:
    """Score one ranker. With ``bands`` (or only a ``floor``: the default bands with that floor),
    count the distractors in the top 10 that the board would show above the weak band, against
    the demand's best score; it needs a ranker that returns (id, score) pairs on the engine's
    scale."""
    if bands is None and floor is not None:
        bands = Bands(floor=floor, strong=max(floor, DEFAULT_BANDS.strong),
                      weak_share=DEFAULT_BANDS.weak_share, strong_share=DEFAULT_BANDS.strong_share)
    ndcgs, precs, recalls, distract, missing_n, above = [], [], [], 0, 0, 0
    per: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    scored_all = True
    for d in evalset.demands:
        grades = evalset.judgments.get(d.id, {})
        distractors = evalset.distractors.get(d.id, ())
        ranked, scores = _ids_and_scores(rank(d))
        per[d.id] = list(ranked[:5])
        ndcgs.append(ndcg_at(ranked, grades, 5))
        precs.append(precision_at(ranked, grades, 3))
        distract += sum(1 for r in ranked[:3] if r in distractors)
        recall = strong_recall_at(ranked, grades, 5)
        if recall is not None:
            recalls.append(recall)
        lost = sorted(str(r) for r, g in grades.items() if g >= 2 and r not in ranked[:10])
        if lost:
            missing[d.id] = lost
            missing_n += len(lost)
        if scores is None:
            scored_all = scored_all and not ranked
        elif bands is not None:
            best = max(scores, default=0.0)
            above += sum(
                1
                for r, s in zip(ranked[:10], scores[:10], strict=True)
                if r in distractors and bands.band(s, best) != "weak"
            )
    n = max(1, len(evalset.demands))
    with_floor = bands is not None and scored_all
    return Result(
        name,
        sum(ndcgs) / n,
        sum(precs) / n,
        distract,
        per,
        strong_recall5=sum(recalls) / max(1, len(recalls)),
        strong_missing10=missing_n,
        distractors_floor=above if with_floor else None,
        floor=bands.floor if with_floor else None,
        bands=bands if with_floor else None,
        missing=missing,
    )


def baseline_ranker(evalset: EvalSet) -> Callable[[Doc], list[tuple[Hashable, float]]]:
    texts = [(c.id, raw_text(c)) for c in evalset.capabilities]

    def rank(d: Doc) -> list[tuple[Hashable, float]]:
        q = raw_text(d)
        scored = [(fuzz.token_set_ratio(q, t), cid) for cid, t in texts]
        scored.sort(key=lambda x: (-x[0], str(x[1])))
        return [(cid, float(s)) for s, cid in scored]

    return rank


def engine_ranker(
    engine: Engine, evalset: EvalSet
) -> Callable[[Doc], list[tuple[Hashable, float]]]:
    index = engine.new_index()
    for c in evalset.capabilities:
        index.add(c.id, engine.analyze(c))

    def rank(d: Doc) -> list[tuple[Hashable, float]]:
        return [(r.id, r.score) for r in engine.search(engine.analyze(d), index, top_k=10)]

    return rank


def run(engine: Engine, evalset: EvalSet, bands: Bands = DEFAULT_BANDS) -> tuple[Result, Result]:
    """The engine and the baseline on one set; the strength bands apply to the engine only
    (the baseline's token_set_ratio is not on the engine's scale)."""
    return (
        measure("engine", evalset, engine_ranker(engine, evalset), bands=bands),
        measure("baseline token_set_ratio", evalset, baseline_ranker(evalset)),
    )
