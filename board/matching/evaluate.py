"""Ranking quality on a labelled set: nDCG@5, precision@3 and distractors in the top 3,
for the engine and for a plain rapidfuzz baseline on the raw text."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from .analysis import Doc
from .engine import Engine


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

    def row(self) -> str:
        return (
            f"{self.name:<22} nDCG@5 {self.ndcg5:.3f}   precision@3 {self.precision3:.3f}   "
            f"distractors in top 3: {self.distractors_top3}"
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


def raw_text(doc: Doc) -> str:
    return " ".join([doc.title, " ".join(doc.keywords), doc.description])


def measure(
    name: str, evalset: EvalSet, rank: Callable[[Doc], list[Hashable]]
) -> Result:
    ndcgs, precs, distract = [], [], 0
    per: dict[str, list[str]] = {}
    for d in evalset.demands:
        grades = evalset.judgments.get(d.id, {})
        ranked = rank(d)
        per[d.id] = list(ranked[:5])
        ndcgs.append(ndcg_at(ranked, grades, 5))
        precs.append(precision_at(ranked, grades, 3))
        distract += sum(1 for r in ranked[:3] if r in evalset.distractors.get(d.id, ()))
    n = max(1, len(evalset.demands))
    return Result(name, sum(ndcgs) / n, sum(precs) / n, distract, per)


def baseline_ranker(evalset: EvalSet) -> Callable[[Doc], list[Hashable]]:
    texts = [(c.id, raw_text(c)) for c in evalset.capabilities]

    def rank(d: Doc) -> list[Hashable]:
        q = raw_text(d)
        scored = [(fuzz.token_set_ratio(q, t), cid) for cid, t in texts]
        scored.sort(key=lambda x: (-x[0], str(x[1])))
        return [cid for _, cid in scored]

    return rank


def engine_ranker(engine: Engine, evalset: EvalSet) -> Callable[[Doc], list[Hashable]]:
    index = engine.new_index()
    for c in evalset.capabilities:
        index.add(c.id, engine.analyze(c))

    def rank(d: Doc) -> list[Hashable]:
        return [r.id for r in engine.search(engine.analyze(d), index, top_k=10)]

    return rank


def run(engine: Engine, evalset: EvalSet) -> tuple[Result, Result]:
    return (
        measure("engine", evalset, engine_ranker(engine, evalset)),
        measure("baseline token_set_ratio", evalset, baseline_ranker(evalset)),
    )
