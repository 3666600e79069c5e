"""The domain lexicon: concepts with Chinese terms, English terms and abbreviations,
a broader concept, a specificity weight and a domain.

Domains: ``rail`` (the concept belongs to rail transit and its engineering: finding it is rail
context), ``general`` (used in every industry: when its broader chain reaches a rail concept, its
rail sense, that link holds only in a record with rail context; elsewhere the chain stops before
it) and ``other`` (another industry's setting or product). An empty domain is inherited from the
broader concept (``general`` at the top)."""

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
DOMAINS = ("rail", "general", "other")
#: The domain column is last and may be left out (then every domain is inherited).
COLUMNS = ["id", "broader", "segments", "themes", "weight", "zh", "en", "abbr", "domain"]

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
    domain: str | None = None  # rail, general or other; None: inherited (resolved by Lexicon)

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


def read_rows(path: str | Path) -> list[tuple[int, list[str]]]:
    """The data rows of a lexicon file (comments and blank lines left out), with their line
    numbers; the header is checked and not returned."""
    with open(path, encoding="utf-8", newline="") as fh:
        numbered = [(n, ln) for n, ln in enumerate(fh, start=1) if ln.strip() and not ln.startswith("#")]
    reader = csv.reader([ln for _, ln in numbered], delimiter="\t", quoting=csv.QUOTE_NONE)
    rows = [(n, row) for (n, _), row in zip(numbered, reader, strict=True)]
    if not rows:
        raise LexiconError(f"{path}: header must be {COLUMNS}, got nothing")
    header = rows[0][1]
    if header not in (COLUMNS, COLUMNS[:-1]):
        raise LexiconError(f"{path}: header must be {COLUMNS}, got {header}")
    return rows[1:]


def parse_row(row: list[str], where: str, strict: bool = True) -> Concept:
    """One data row as a concept. ``strict`` requires an id, a Chinese and an English term."""
    if len(row) == len(COLUMNS) - 1:
        row = [*row, ""]  # no domain cell: inherited
    if len(row) != len(COLUMNS):
        raise LexiconError(f"{where}: expected {len(COLUMNS)} columns, got {len(row)}")
    cid, broader, segs, themes, weight, zh, en, abbr, domain = (c.strip() for c in row)
    zh_terms, en_terms = _split(zh), _split(en)
    if not cid or (strict and (not zh_terms or not en_terms)):
        raise LexiconError(f"{where}: id, a Chinese and an English term are required")
    try:
        w = float(weight) if weight else None
    except ValueError as exc:
        raise LexiconError(f"{where}: weight {weight!r} is not a number") from exc
    if w is not None and not 0 < w <= 1:
        raise LexiconError(f"{where}: weight must be in (0, 1]")
    if domain and domain not in DOMAINS:
        raise LexiconError(f"{where}: domain must be one of {DOMAINS}, got {domain!r}")
    return Concept(
        id=cid,
        label_zh=zh_terms[0] if zh_terms else "",
        label_en=en_terms[0] if en_terms else "",
        broader=broader or None,
        segments=_codes(segs, SEGMENTS, where),
        themes=_codes(themes, THEMES, where),
        weight=w,
        zh=zh_terms,
        en=en_terms,
        abbr=_split(abbr),
        domain=domain or None,
    )


def read_tsv(path: str | Path) -> list[Concept]:
    name = Path(path).name
    return [parse_row(row, f"{name} line {n}") for n, row in read_rows(path)]


@dataclass
class Lexicon:
    concepts: dict[str, Concept]
    weights: dict[str, float] = field(init=False)
    lookup: dict[str, tuple[str, ...]] = field(init=False)
    latin_words: tuple[str, ...] = field(init=False)
    cjk_terms: tuple[str, ...] = field(init=False)
    #: keys that stand for several concepts (abbreviations such as EMC): resolved in context
    ambiguous: dict[str, tuple[str, ...]] = field(init=False)
    parents: frozenset[str] = field(init=False)  # concepts with narrower ones
    #: keys several Latin words may spell; others match one word only ("is a" is not ISA)
    multiword: frozenset[str] = field(init=False)
    version: str = field(init=False)

    def __post_init__(self) -> None:
        for c in self.concepts.values():
            if c.broader and c.broader not in self.concepts:
                raise LexiconError(f"concept {c.id}: broader {c.broader!r} is not defined")
        self._check_cycles()
        self.concepts = {cid: self._with_domain(cid) for cid in self.concepts}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        # A general word under a rail concept is its rail sense, not a narrower concept.
        has_children = {
            c.broader for c in self.concepts.values()
            if c.broader and not (c.domain == "general" and self.concepts[c.broader].domain != "general")
        }
        self.parents = frozenset(has_children)
        self.weights = {
            cid: c.weight
            if c.weight is not None
            else (PARENT_WEIGHT if cid in has_children else LEAF_WEIGHT)
            for cid, c in self.concepts.items()
        }
        lookup: dict[str, list[str]] = {}
        cjk: set[str] = set()
        single: set[str] = set()  # keys of one-word Latin terms: the only ones near spellings reach
        multiword: set[str] = set()  # keys of terms of several Latin words ("cut and cover")
        for cid in sorted(self.concepts):
            for term in self.concepts[cid].terms:
                folded = fold(term)
                key = term_key(folded)
                if not key:
                    continue
                ids = lookup.setdefault(key, [])
                if cid not in ids:
                    ids.append(cid)
                if " " not in folded.strip():
                    single.add(key)
                if sum(1 for p in folded.split() if not is_cjk(p)) >= 2:
                    multiword.add(key)
                if is_cjk(folded):
                    cjk.update(p for p in folded.split() if is_cjk(p))
        self.lookup = {k: tuple(v) for k, v in lookup.items()}
        self.ambiguous = {k: v for k, v in self.lookup.items() if len(v) > 1}
        self.multiword = frozenset(multiword)
        self.latin_words = tuple(
            sorted(
                k for k in single
                if k.isascii() and k.isalpha() and len(k) >= 7 and k not in self.ambiguous
            )
        )
        self.cjk_terms = tuple(sorted(cjk))
        digest = hashlib.sha1()
        for cid in sorted(self.concepts):
            c = self.concepts[cid]
            digest.update(repr((cid, c.broader, self.weights[cid], c.terms, c.domain)).encode())
        self.version = digest.hexdigest()[:12]

    def _with_domain(self, cid: str) -> Concept:
        """The concept with its domain resolved: its own, else its broader concept's."""
        c = self.concepts[cid]
        cur: Concept | None = c
        while cur is not None and cur.domain is None:
            cur = self.concepts[cur.broader] if cur.broader else None
        domain = cur.domain if cur is not None else "general"
        return c if c.domain == domain else replace(c, domain=domain)

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
        """Every broader concept, nearest first (for a general concept, through its rail sense)."""
        out: list[str] = []
        cur = self.concepts[cid].broader
        while cur:
            out.append(cur)
            cur = self.concepts[cur].broader
        return out

    def sense(self, cid: str) -> str | None:
        """A general concept's rail sense: the first rail concept on its broader chain, reached
        through general concepts only (the link holds only in a record with rail context)."""
        cache = self.__dict__.setdefault("_sense", {})
        if cid in cache:
            return cache[cid]
        found = None
        if self.concepts[cid].domain == "general":
            for anc in self.ancestors(cid):
                domain = self.concepts[anc].domain
                if domain != "general":
                    found = anc if domain == "rail" else None
                    break
        cache[cid] = found
        return found

    def plain_ancestors(self, cid: str) -> tuple[str, ...]:
        """Broader concepts that hold in any record: a general concept's chain stops before
        its rail sense (that link needs rail context)."""
        got = self._ancestors.get(cid)
        if got is None:
            chain = self.ancestors(cid)
            if self.concepts[cid].domain == "general":
                for i, anc in enumerate(chain):
                    if self.concepts[anc].domain != "general":
                        chain = chain[:i]
                        break
            got = self._ancestors[cid] = tuple(chain)
        return got

    def in_subtree(self, cid: str, root: str) -> bool:
        return cid == root or root in self.ancestors(cid)

    def find(self, term: str) -> tuple[str, ...]:
        """Concept ids a term (in any language or form) stands for."""
        return self.lookup.get(term_key(fold(term)), ())


def _with_term(c: Concept, slot: str, term: str) -> Concept:
    return replace(c, **{slot: getattr(c, slot) + (term,)})
