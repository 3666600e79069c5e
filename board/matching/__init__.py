"""Matching demands to capabilities. Framework-free: no Flask, no SQLAlchemy.

normalize -> tokenize -> lexicon lookup (analysis) -> score; index for candidates."""

from .analysis import Analysis, Doc
from .engine import Engine, Ranked, Suggestion
from .index import MemoryIndex, SearchStats, index_keys, query_keys, rank_candidates, term_index_key
from .lexicon import Concept, ExtraTerm, Lexicon, LexiconError
from .normalize import fold, normalise
from .score import Scored, TermStats, Weights

__all__ = [
    "Analysis",
    "Concept",
    "Doc",
    "Engine",
    "ExtraTerm",
    "Lexicon",
    "LexiconError",
    "MemoryIndex",
    "Ranked",
    "Scored",
    "SearchStats",
    "Suggestion",
    "TermStats",
    "Weights",
    "fold",
    "index_keys",
    "normalise",
    "query_keys",
    "rank_candidates",
    "term_index_key",
]
