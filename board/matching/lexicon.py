"""The domain lexicon: concepts with Chinese terms, English terms and abbreviations,
a broader concept, and a specificity weight."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .normalize import fold
from .tokenize import is_cjk, term_key

SEGMENTS = ("design", "construction", "equipment", "operation", "control")
THEMES = ("information", "low_carbon", "intelligent_equipment")
COLUMNS = ["id", "broader", "segments", "themes", "weight", "zh", "en", "abbr"]

#: Specificity of a concept that has narrower concepts, when none is given.
PARENT_WEIGHT = 0.6
LEAF_WEIGHT = 1.0


class LexiconError(ValueError):
    pass


@dataclass(frozen=True)
class Concept:
    id: str
    label_zh: str
    label_en: str
    broader: str | None = None
    segments: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    weight: float | None = None  # explicit specificity, else derived
    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    abbr: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        return self.zh + self.en + self.abbr

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_zh


@dataclass(frozen=True)
class ExtraTerm:
    """A term added to an existing (or added) concept outside the data file."""

    concept_id: str
    term: str
    lang: str  # zh, en or abbr


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (cell or "").split("|") if t.strip())


def _codes(cell: str | None, allowed: tuple[str, ...], where: str) -> frozenset[str]:
    codes = frozenset(c.strip() for c in (cell or "").split(",") if c.strip())
    bad = codes - set(allowed)
    if bad:
        raise LexiconError(f"{where}: unknown code(s) {sorted(bad)}")
    return codes


def read_tsv(path: str | Path) -> list[Concept]:
    concepts: list[Concept] = []
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if ln.strip() and not ln.startswith("#")]
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header != COLUMNS:
        raise LexiconError(f"{path}: header must be {COLUMNS}, got {header}")
    for n, row in enumerate(reader, start=2):
        where = f"{Path(path).name} data line {n}"
        if len(row) != len(COLUMNS):
            raise LexiconError(f"{where}: expected {len(COLUMNS)} columns, got {len(row)}")
        cid, broader, segs, themes, weight, zh, en, abbr = (c.strip() for c in row)
        zh_terms, en_terms = _split(zh), _split(en)
        if not cid or not zh_terms or not en_terms:
            raise LexiconError(f"{where}: id, a Chinese and an English term are required")
        try:
            w = float(weight) if weight else None
        except ValueError as exc:
            raise LexiconError(f"{where}: weight {weight!r} is not a number") from exc
        if w is not None and not 0 < w <= 1:
            raise LexiconError(f"{where}: weight must be in (0, 1]")
        concepts.append(
            Concept(
                id=cid,
                label_zh=zh_terms[0],
                label_en=en_terms[0],
                broader=broader or None,
                segments=_codes(segs, SEGMENTS, where),
                themes=_codes(themes, THEMES, where),
                weight=w,
                zh=zh_terms,
                en=en_terms,
                abbr=_split(abbr),
            )
        )
    return concepts


@dataclass
class Lexicon:
    concepts: dict[str, Concept]
    weights: dict[str, float] = field(init=False)
    lookup: dict[str, tuple[str, ...]] = field(init=False)
    latin_words: tuple[str, ...] = field(init=False)
    cjk_terms: tuple[str, ...] = field(init=False)
    version: str = field(init=False)

    def __post_init__(self) -> None:
        for c in self.concepts.values():
            if c.broader and c.broader not in self.concepts:
                raise LexiconError(f"concept {c.id}: broader {c.broader!r} is not defined")
        self._check_cycles()
        has_children = {c.broader for c in self.concepts.values() if c.broader}
        self.weights = {
            cid: c.weight
            if c.weight is not None
            else (PARENT_WEIGHT if cid in has_children else LEAF_WEIGHT)
            for cid, c in self.concepts.items()
        }
        lookup: dict[str, list[str]] = {}
        cjk: set[str] = set()
        for cid in sorted(self.concepts):
            for term in self.concepts[cid].terms:
                folded = fold(term)
                key = term_key(folded)
                if not key:
                    continue
                ids = lookup.setdefault(key, [])
                if cid not in ids:
                    ids.append(cid)
                if is_cjk(folded):
                    cjk.update(p for p in folded.split() if is_cjk(p))
        self.lookup = {k: tuple(v) for k, v in lookup.items()}
        self.latin_words = tuple(
            sorted(k for k in self.lookup if k.isascii() and k.isalpha() and len(k) >= 5)
        )
        self.cjk_terms = tuple(sorted(cjk))
        digest = hashlib.sha1()
        for cid in sorted(self.concepts):
            c = self.concepts[cid]
            digest.update(repr((cid, c.broader, self.weights[cid], c.terms)).encode())
        self.version = digest.hexdigest()[:12]

    def _check_cycles(self) -> None:
        for cid in self.concepts:
            seen = {cid}
            cur = self.concepts[cid].broader
            while cur:
                if cur in seen:
                    raise LexiconError(f"concept {cid}: broader chain has a cycle")
                seen.add(cur)
                cur = self.concepts[cur].broader

    @classmethod
    def load(
        cls,
        path: str | Path,
        extra_concepts: Iterable[Concept] = (),
        extra_terms: Iterable[ExtraTerm] = (),
    ) -> Lexicon:
        return cls.build(read_tsv(path), extra_concepts, extra_terms)

    @classmethod
    def build(
        cls,
        concepts: Iterable[Concept],
        extra_concepts: Iterable[Concept] = (),
        extra_terms: Iterable[ExtraTerm] = (),
    ) -> Lexicon:
        by_id: dict[str, Concept] = {}
        for c in list(concepts) + list(extra_concepts):
            if c.id in by_id:
                raise LexiconError(f"concept id {c.id!r} is defined twice")
            by_id[c.id] = c
        for t in extra_terms:
            c = by_id.get(t.concept_id)
            if c is None:
                continue  # the concept was removed from the data file; ignore its extras
            slot = {"zh": "zh", "en": "en"}.get(t.lang, "abbr")
            if t.term not in getattr(c, slot):
                by_id[c.id] = _with_term(c, slot, t.term)
        return cls(by_id)

    def ancestors(self, cid: str) -> list[str]:
        out: list[str] = []
        cur = self.concepts[cid].broader
        while cur:
            out.append(cur)
            cur = self.concepts[cur].broader
        return out

    def find(self, term: str) -> tuple[str, ...]:
        """Concept ids a term (in any language or form) stands for."""
        return self.lookup.get(term_key(fold(term)), ())


def _with_term(c: Concept, slot: str, term: str) -> Concept:
    return replace(c, **{slot: getattr(c, slot) + (term,)})
