"""Text normalisation: width and compatibility forms (NFKC), case, traditional to
simplified Chinese, punctuation. Offsets into the original text are kept so that
matched words can be highlighted where the user wrote them."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

# Anything that is not a word character or whitespace becomes a space, one for one.
_PUNCT = re.compile(r"[^\w\s]|_")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ACCENTED = re.compile(r"[\u00c0-\u024f]")
_lock = threading.Lock()


def _strip_marks(text: str) -> str:
    """géotechnique -> geotechnique."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    )


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    if text.isascii():
        return text
    with _lock:  # one converter per process; keep calls serialised
        return _t2s().convert(text)


@dataclass(frozen=True, slots=True)
class Normalised:
    text: str
    #: offsets[i] is the index in the original text of normalised character i
    offsets: tuple[int, ...]

    def span(self, start: int, end: int, original: str) -> str:
        """The original text behind normalised characters start..end."""
        if start >= end or not self.offsets:
            return ""
        a = self.offsets[start]
        b = self.offsets[end - 1] + 1
        return original[a:b]


def _per_char(text: str, fn) -> tuple[str, list[int]]:
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        mapped = fn(ch)
        out.append(mapped)
        offsets.extend([i] * len(mapped))
    return "".join(out), offsets


def _apply(text: str, offsets: list[int], fn) -> tuple[str, list[int]]:
    """Apply fn to text; when it changes the length, apply it per character."""
    whole = fn(text)
    if len(whole) == len(text):
        return whole, offsets
    mapped, local = _per_char(text, fn)
    return mapped, [offsets[j] for j in local]


def normalise(text: str | None) -> Normalised:
    """Fold a text to the form the matcher compares."""
    if not text:
        return Normalised("", ())
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: one replacement character each
            text = _SURROGATE.sub("\ufffd", text)
    offsets = list(range(len(text)))
    if text.isascii():
        s = text.lower()
    else:
        s, offsets = _apply(text, offsets, lambda t: unicodedata.normalize("NFKC", t))
        s, offsets = _apply(s, offsets, str.casefold)
        s, offsets = _apply(s, offsets, to_simplified)
        if _ACCENTED.search(s):
            s, offsets = _apply(s, offsets, _strip_marks)
    s = _PUNCT.sub(" ", s)
    return Normalised(s, tuple(offsets))


def fold(text: str | None) -> str:
    """Normalised text without offsets."""
    return normalise(text).text
