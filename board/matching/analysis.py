"""From a record's texts to its analysis: concepts found per field (with the words
as written) and the remaining terms. Computed when a record is saved and stored."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from .lexicon import Lexicon
from .normalize import normalise
from .tokenize import Segmenter, Token

FIELDS = ("title", "keywords", "description")

#: Function words that never count as terms of their own.
STOPWORDS = frozenset(
    """
    的 了 和 与 及 以及 或 等 在 对 为 将 把 被 从 向 于 并 且 其 该 此 这 那 个 中 上 下 内 外
    我们 我 你们 公司 企业 需要 需求 提供 希望 寻求 寻找 相关 进行 实现 开展 具有 具备 能力 可以
    用于 通过 基于 包括 主要 一个 一种 一套 多个 各类 方面 领域 要求 能够 以上 以下 年 月 日
    a an and are as at be by for from has have in into is it its of on or our over that the their
    this to we with within you your can will able about all also any other such via using use
    provide offer need needs seek looking company ltd co inc gmbh sa llc
    """.split()
)

MAX_TERMS_PER_FIELD = 200
MAX_SURFACES = 5


@dataclass(frozen=True)
class Doc:
    """A demand or a capability as the matcher sees it."""

    id: Hashable
    title: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    segment: str | None = None
    themes: frozenset[str] = frozenset()

    def field_text(self, name: str) -> str:
        if name == "keywords":
            return " ; ".join(self.keywords)
        return getattr(self, name) or ""


@dataclass
class FieldAnalysis:
    concepts: dict[str, list[str]] = field(default_factory=dict)  # concept -> surfaces
    fuzzy: set[str] = field(default_factory=set)  # concepts found only by a near spelling
    terms: list[str] = field(default_factory=list)  # remaining folded terms
    #: words standing for several concepts, (key, surface, candidates): resolved by the record
    ambiguous: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list, repr=False)

    def add(self, cid: str, surface: str, fuzzy: bool = False) -> None:
        surfaces = self.concepts.get(cid)
        if surfaces is None:
            self.concepts[cid] = [surface]
            if fuzzy:
                self.fuzzy.add(cid)
            return
        if not fuzzy:
            self.fuzzy.discard(cid)
        if surface not in surfaces and len(surfaces) < MAX_SURFACES:
            surfaces.append(surface)


@dataclass
class Analysis:
    fields: dict[str, FieldAnalysis]
    segment: str | None
    themes: frozenset[str]
    version: str
    #: cached derived profile (see score.Profile); not serialised
    _profile: Any = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict:
        return {
            "v": self.version,
            "s": self.segment,
            "th": sorted(self.themes),
            "f": {
                name: {"c": fa.concepts, "z": sorted(fa.fuzzy), "t": fa.terms}
                for name, fa in self.fields.items()
                if fa.concepts or fa.terms
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> Analysis:
        fields = {
            name: FieldAnalysis(
                concepts={k: list(v) for k, v in f.get("c", {}).items()},
                fuzzy=set(f.get("z", [])),
                terms=list(f.get("t", [])),
            )
            for name, f in (data.get("f") or {}).items()
        }
        return cls(fields, data.get("s"), frozenset(data.get("th") or ()), data.get("v", ""))


#: Characters that may join the words of one term ("train-to-ground", "ATP/ATO", "O&M").
_JOINERS = frozenset(" \t-/&'\u2019\u00b7")


def _apart(tokens: list[Token], norm, text: str) -> list[bool]:
    """apart[j]: token j cannot continue a phrase begun before it: Chinese words separated by
    anything, or any words separated by punctuation ("stations; design" is not a phrase)."""
    out = [False] * len(tokens)
    for j in range(1, len(tokens)):
        prev, tok = tokens[j - 1], tokens[j]
        if prev.end == tok.start:
            continue
        if prev.cjk and tok.cjk:
            out[j] = True
            continue
        gap = text[norm.offsets[prev.end - 1] + 1 : norm.offsets[tok.start]] if norm.offsets else ""
        out[j] = any(ch not in _JOINERS for ch in gap)
    return out


class Analyzer:
    def __init__(
        self, lexicon: Lexicon, segmenter: Segmenter | None = None, generic_cutoff: float = 0.2
    ):
        self.lexicon = lexicon
        self.segmenter = segmenter or Segmenter(lexicon.cjk_terms)
        self.max_key_len = max((len(k) for k in lexicon.lookup), default=0)
        self.generic_cutoff = generic_cutoff
        self._fuzzy_cache: dict[str, str | None] = {}

    def analyze(self, doc: Doc, version: str) -> Analysis:
        fields = {name: self.analyze_text(doc.field_text(name)) for name in FIELDS}
        self._resolve(fields)
        return Analysis(fields, doc.segment, frozenset(doc.themes), version)

    # -- words with several meanings ---------------------------------------------------------
    def _family(self, cid: str) -> set[str]:
        """A concept and its broader concepts, generic words left out."""
        lex = self.lexicon
        return {cid} | {a for a in lex.ancestors(cid) if lex.weights[a] >= self.generic_cutoff}

    def _support(self, candidate: str, context: set[str]) -> float:
        """How much the rest of the record speaks for one meaning: the same concept named in
        full, a narrower or broader one, or one in the same family."""
        lex = self.lexicon
        fam = self._family(candidate)
        got = 0.0
        for c in context:
            if c == candidate:
                got += 4
            elif candidate in lex.ancestors(c) or c in lex.ancestors(candidate):
                got += 2
            elif fam & self._family(c):
                got += 1
        return got

    def _resolve(self, fields: dict[str, FieldAnalysis]) -> None:
        """Give each ambiguous word the meaning its neighbours support; a word no meaning
        wins for stays a plain word (no concept named, so no reason can be wrong)."""
        pending = [(fa, amb) for fa in fields.values() for amb in fa.ambiguous]
        if not pending:
            return
        lex = self.lexicon
        context = {
            c for fa in fields.values() for c in fa.concepts
            if lex.weights.get(c, 0) >= self.generic_cutoff
        }
        for fa, (key, surface, candidates) in pending:
            ranked = sorted(((self._support(c, context), c) for c in candidates), reverse=True)
            best, second = ranked[0][0], ranked[1][0] if len(ranked) > 1 else 0.0
            if best > 0 and best > second:
                fa.add(ranked[0][1], surface)
            elif key not in fa.terms and len(fa.terms) < MAX_TERMS_PER_FIELD:
                fa.terms.append(key)
        for fa in fields.values():
            fa.ambiguous = []

    def analyze_text(self, text: str) -> FieldAnalysis:
        out = FieldAnalysis()
        if not text:
            return out
        norm = normalise(text)
        tokens = self.segmenter.tokens(norm.text)
        lookup = self.lexicon.lookup
        terms: dict[str, None] = {}
        apart = _apart(tokens, norm, text)
        i, n = 0, len(tokens)
        while i < n:
            length, ids = self._longest_phrase(tokens, i, apart)
            if ids:
                surface = norm.span(tokens[i].start, tokens[i + length - 1].end, text)
                self._found(out, ids, surface, "".join(t.text for t in tokens[i : i + length]))
                i += length
                continue
            tok = tokens[i]
            i += 1
            if tok.cjk and len(tok.text) >= 3 and self._inner_terms(tok, norm, text, out):
                continue
            if not tok.cjk and len(tok.text) >= 7 and tok.text.isalpha():  # typos of long words
                key = self._fuzzy_key(tok.text)
                if key:
                    surface = norm.span(tok.start, tok.end, text)
                    for cid in lookup[key]:
                        out.add(cid, surface, fuzzy=True)
                    continue
            if self._is_term(tok) and len(terms) < MAX_TERMS_PER_FIELD:
                terms[tok.text] = None
        out.terms = list(terms)
        return out

    @staticmethod
    def _found(out: FieldAnalysis, ids: tuple[str, ...], surface: str, key: str) -> None:
        if len(ids) == 1:
            out.add(ids[0], surface)
        else:
            out.ambiguous.append((key, surface, ids))

    def _longest_phrase(
        self, tokens: list[Token], i: int, apart: list[bool]
    ) -> tuple[int, tuple[str, ...]]:
        lookup = self.lexicon.lookup
        key = ""
        latin = 0
        best: tuple[int, tuple[str, ...]] = (0, ())
        for j in range(i, len(tokens)):
            tok = tokens[j]
            if j > i and apart[j]:
                break
            key += tok.text
            if len(key) > self.max_key_len:
                break
            latin += not tok.cjk
            ids = lookup.get(key)
            if ids and (latin < 2 or key in self.lexicon.multiword):
                best = (j - i + 1, ids)
        return best

    def _inner_terms(self, tok: Token, norm, text: str, out: FieldAnalysis) -> bool:
        """Find lexicon terms inside a longer Chinese word jieba kept whole. A two-character
        term counts only at the start of the word (地铁站: 地铁; 电动车 is not 电+动车)."""
        lookup = self.lexicon.lookup
        s = tok.text
        found = False
        pos = 0
        while pos < len(s) - 1:
            for end in range(len(s), pos + 1, -1):
                if end - pos == len(s):
                    continue  # the whole word was already looked up
                if end - pos < 3 and pos > 0:
                    continue
                ids = lookup.get(s[pos:end])
                if ids:
                    surface = norm.span(tok.start + pos, tok.start + end, text)
                    self._found(out, ids, surface, s[pos:end])
                    found = True
                    pos = end - 1
                    break
            pos += 1
        return found

    def _fuzzy_key(self, word: str) -> str | None:
        if word in self._fuzzy_cache:
            return self._fuzzy_cache[word]
        hit = process.extractOne(
            word, self.lexicon.latin_words, scorer=fuzz.ratio, score_cutoff=88
        )
        key = hit[0] if hit else None
        if len(self._fuzzy_cache) < 50_000:
            self._fuzzy_cache[word] = key
        return key

    @staticmethod
    def _is_term(tok: Token) -> bool:
        t = tok.text
        if t in STOPWORDS or t.isdigit():
            return False
        return len(t) >= 2 if tok.cjk else len(t) >= 3

