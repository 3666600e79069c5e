"""The process's matching engine (lexicon file plus staff additions), built once and
rebuilt when the lexicon changes, and the bridge between records and the engine."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..config import DATA_ROOT
from ..extensions import db
from ..matching import Concept, Doc, Engine, ExtraTerm, term_index_key
from ..matching.recent import Recent
from ..models import Capability, CustomConcept, CustomTerm, Demand, MatchKey

LEXICON_PATH = DATA_ROOT / "seed" / "lexicon.tsv"

_lock = threading.Lock()
_cache: dict[tuple, Engine] = {}


def _signature() -> tuple:
    concepts = db.session.execute(
        sa.select(sa.func.count(CustomConcept.id), sa.func.max(CustomConcept.id))
    ).one()
    terms = db.session.execute(
        sa.select(sa.func.count(CustomTerm.id), sa.func.max(CustomTerm.id))
    ).one()
    path = Path(current_app.config.get("LEXICON_PATH") or LEXICON_PATH)
    return (str(path), path.stat().st_mtime_ns, tuple(concepts), tuple(terms))


class DbTermStats:
    """Document frequencies of words outside the lexicon over the capabilities (the records
    ranked for a demand), read from the index table, so a rare shared keyword counts by its
    rarity on this board."""

    def total(self) -> int:
        return int(db.session.scalar(sa.select(sa.func.count(Capability.id))) or 0)

    def frequencies(self, terms) -> dict[str, int]:
        keys = {term_index_key(t): t for t in terms}
        found: dict[str, int] = {}
        names = list(keys)
        for i in range(0, len(names), 500):
            rows = db.session.execute(
                sa.select(MatchKey.key, sa.func.count(MatchKey.record_id))
                .where(MatchKey.side == "c", MatchKey.key.in_(names[i : i + 500]))
                .group_by(MatchKey.key)
            )
            found.update({k: int(n) for k, n in rows})
        return {t: found.get(k, 0) for k, t in keys.items()}


def get_engine() -> Engine:
    """The engine for the current lexicon (file plus staff additions)."""
    sig = _signature()
    engine = _cache.get(sig)
    if engine is not None:
        return engine
    with _lock:
        engine = _cache.get(sig)
        if engine is None:
            extra_concepts = [
                Concept(
                    id=c.key,
                    label_zh=c.label_zh,
                    label_en=c.label_en,
                    broader=c.broader or None,
                    segments=frozenset(filter(None, c.segments.split(","))),
                    themes=frozenset(filter(None, c.themes.split(","))),
                    zh=(c.label_zh,),
                    en=(c.label_en,),
                )
                for c in db.session.scalars(sa.select(CustomConcept).order_by(CustomConcept.id))
            ]
            extra_terms = [
                ExtraTerm(t.concept_key, t.term, t.lang)
                for t in db.session.scalars(sa.select(CustomTerm).order_by(CustomTerm.id))
            ]
            engine = Engine.from_files(sig[0], extra_concepts, extra_terms)
            engine.term_stats = DbTermStats()
            engine.recent_analyses = Recent(current_app.config["MATCH_RECENT_ANALYSES"])
            _cache.clear()  # keep only the current lexicon's engine
            _cache[sig] = engine
    return engine


def warm(app) -> float:
    """Load the lexicon and jieba's dictionary now: in gunicorn's master (preload_app) the
    workers then fork with them in memory instead of each loading them on a first request.
    Returns the seconds it took. Works without a database (the lexicon file alone)."""
    import time

    from sqlalchemy.exc import SQLAlchemyError

    started = time.perf_counter()
    with app.app_context():
        try:
            engine = get_engine()
        except SQLAlchemyError:
            db.session.rollback()
            engine = Engine.from_files(app.config["LEXICON_PATH"])
        engine.analyze(Doc("warm", "站台门检修 platform screen doors"))
        db.session.remove()
        db.engine.dispose()  # no connection opened here is inherited by forked workers
    return time.perf_counter() - started


def to_doc(record: Demand | Capability) -> Doc:
    return Doc(
        id=record.id,
        title=record.title or "",
        description=record.description or "",
        keywords=tuple(record.keyword_list),
        segment=record.segment_code,
        themes=frozenset(record.theme_codes),
    )
