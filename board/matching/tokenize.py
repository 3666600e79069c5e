"""Segmentation: Chinese runs through jieba (loaded once per process, with the domain
terms added so they stay whole), Latin runs split into words with plural folding."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import jieba

logging.getLogger("jieba").setLevel(logging.WARNING)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_CJK_CHAR = re.compile(rf"[{_CJK}]")

#: Maximum characters of a single run handed to jieba at once (bounds worst cases).
_MAX_RUN = 2000


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # folded form used for lookups
    start: int  # offsets into the normalised text
    end: int
    cjk: bool


#: Plurals the rules below would get wrong.
_IRREGULAR = {"buses": "bus", "campuses": "campus", "statuses": "status", "viruses": "virus"}


def stem(word: str) -> str:
    """Fold simple English plurals: doors -> door, batteries -> battery."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    n = len(word)
    if n <= 3 or not (word.isascii() and word.isalpha()):
        return word
    if word.endswith("ies") and n > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is", "ics")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def is_cjk(text: str) -> bool:
    return bool(_CJK_CHAR.search(text))


class Segmenter:
    """A jieba tokenizer of our own (not the global one) with domain words added."""

    def __init__(self, words: Iterable[str] = ()):
        self._jieba = jieba.Tokenizer()
        self._words = sorted({w for w in words if len(w) >= 2 and is_cjk(w)})
        self._ready = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            self._jieba.initialize()
            for w in self._words:
                self._jieba.add_word(w, freq=200_000)
            self._ready = True

    def cut_cjk(self, run: str) -> list[str]:
        self._ensure()
        pieces: list[str] = []
        for i in range(0, len(run), _MAX_RUN):
            pieces.extend(self._jieba.lcut(run[i : i + _MAX_RUN], HMM=True))
        return pieces

    def tokens(self, text: str) -> list[Token]:
        """Tokens of an already normalised text, with their offsets."""
        out: list[Token] = []
        for m in _RUN.finditer(text):
            cjk_run, word = m.groups()
            if cjk_run:
                pos = m.start()
                for piece in self.cut_cjk(cjk_run):
                    out.append(Token(piece, pos, pos + len(piece), True))
                    pos += len(piece)
            else:
                out.append(Token(stem(word), m.start(), m.end(), False))
        return out


def term_key(normalised_term: str) -> str:
    """The lookup key of a term: its folded words, stemmed and joined without spaces.

    Keys do not depend on how jieba splits a phrase: the concatenation of any
    segmentation of a Chinese run is the run itself."""
    parts: list[str] = []
    for m in _RUN.finditer(normalised_term):
        cjk_run, word = m.groups()
        parts.append(cjk_run or stem(word))
    return "".join(parts)
