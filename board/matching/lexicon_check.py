"""Checks on a lexicon file: duplicate terms, terms in two concepts, concepts without a Chinese
or an English term, cycles and missing concepts in broader links, compounds without their heads.
Used by ``flask --app board lexicon-check``."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .lexicon import Concept, Lexicon, LexiconError, parse_row, read_rows
from .normalize import fold
from .tokenize import term_key

#: Endings that make a compound of a head term: "X wear", "X replacement", "X磨耗", "X更换".
COMPOUND_ENDINGS = re.compile(r"^(?P<head>.+?)(?:\s+(?:wear|replacement|renewal)|磨损|磨耗|更换)$")


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    concepts: tuple[str, ...] = ()


@dataclass
class Report:
    concepts: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: abbreviations shared by several concepts (allowed: the record's context decides)
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _key(term: str) -> str:
    return term_key(fold(term))


def check_concepts(concepts: Iterable[Concept]) -> Report:
    concepts = list(concepts)
    report = Report(concepts=len(concepts))
    add = report.problems.append
    by_id: dict[str, Concept] = {}
    for c in concepts:
        if c.id in by_id:
            add(Problem("duplicate id", f"concept id {c.id} is defined twice", (c.id,)))
        by_id[c.id] = c
    owners: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # key -> (id, slot, term)
    for c in concepts:
        if not c.zh:
            add(Problem("no Chinese term", f"{c.id} has no Chinese term", (c.id,)))
        if not c.en:
            add(Problem("no English term", f"{c.id} has no English term", (c.id,)))
        seen: dict[str, str] = {}
        for slot in ("zh", "en", "abbr"):
            for term in getattr(c, slot):
                key = _key(term)
                if not key:
                    add(Problem("empty term", f"{c.id}: {term!r} has no letters", (c.id,)))
                    continue
                if key in seen:
                    add(Problem("duplicate term", f"{c.id}: {term!r} repeats {seen[key]!r}", (c.id,)))
                    continue
                seen[key] = term
                owners[key].append((c.id, slot, term))
    for key, found in sorted(owners.items()):
        ids = tuple(sorted({cid for cid, _, _ in found}))
        if len(ids) < 2:
            continue
        if all(slot == "abbr" for _, slot, _ in found):
            report.ambiguous[key] = ids
        else:
            terms = ", ".join(sorted({f"{t!r} ({cid})" for cid, _, t in found}))
            add(Problem("term in two concepts", f"{terms}", ids))
    cycles: set[tuple[str, ...]] = set()
    for c in concepts:
        if c.broader and c.broader not in by_id:
            add(Problem("missing broader", f"{c.id}: broader {c.broader} is not defined", (c.id,)))
            continue
        path = [c.id]
        cur = c.broader
        while cur and cur in by_id:
            if cur in path:
                cycles.add(tuple(sorted(path[path.index(cur):])))
                break
            path.append(cur)
            cur = by_id[cur].broader
    for cyc in sorted(cycles):
        add(Problem("broader cycle", " -> ".join(cyc) + " -> " + cyc[0], cyc))
    if not any(p.kind in ("broader cycle", "missing broader", "duplicate id") for p in report.problems):
        for cid, term, head in missing_heads(Lexicon.build(concepts)):
            add(Problem("compound without head", f"{cid}: {term!r} needs {head!r} linked above it", (cid,)))
    return report


def missing_heads(lexicon: Lexicon) -> list[tuple[str, str, str]]:
    """Compounds ("X wear", "X更换") whose head X is not linked to the compound: the head must
    be a term of the compound's concept or of one of its broader concepts, or a general word
    whose rail sense is one of them (刀具 for 刀具磨损 under TBM cutters). Returns (concept,
    compound, head)."""
    out = []
    for cid, c in sorted(lexicon.concepts.items()):
        linked = {cid, *lexicon.ancestors(cid)}
        for term in c.zh + c.en:
            m = COMPOUND_ENDINGS.match(fold(term).strip())
            if not m:
                continue
            head = m.group("head").strip()
            heads = lexicon.lookup.get(term_key(head), ())
            if not any({h, *lexicon.ancestors(h)} & linked for h in heads):
                out.append((cid, term, head))
    return out


def check_file(path: str | Path) -> Report:
    """Check a lexicon file; rows that cannot be read are problems too."""
    name = Path(path).name
    try:
        rows = read_rows(path)
    except LexiconError as exc:
        return Report(problems=[Problem("format", str(exc))])
    concepts, problems = [], []
    for n, row in rows:
        try:
            concepts.append(parse_row(row, f"{name} line {n}", strict=False))
        except LexiconError as exc:
            problems.append(Problem("format", str(exc)))
    report = check_concepts(concepts)
    report.problems[:0] = problems
    return report


def render(report: Report) -> str:
    lines = [f"{report.concepts} concepts"]
    if report.ok:
        lines.append("no problem found")
    else:
        lines.append(f"{len(report.problems)} problem(s):")
        lines.extend(f"  {p.kind}: {p.message}" for p in report.problems)
    if report.ambiguous:
        lines.append("abbreviations with several meanings (resolved by the record's context):")
        lines.extend(f"  {k}: {', '.join(v)}" for k, v in sorted(report.ambiguous.items()))
    return "\n".join(lines)
