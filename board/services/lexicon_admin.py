"""Staff additions to the lexicon; every change queues a full rematch (a background job:
no request waits for it)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..matching import Concept, fold
from ..models import CustomConcept, CustomTerm, Job, User
from . import audit, jobs
from .errors import Invalid
from .matcher import get_engine


def search(q: str, limit: int = 60) -> list[Concept]:
    lex = get_engine().lexicon
    concepts = sorted(lex.concepts.values(), key=lambda c: c.id)
    if q:
        needle = fold(q).strip()
        concepts = [
            c for c in concepts
            if needle in c.id or any(needle in fold(t) for t in c.terms)
        ]
    return concepts[:limit]


def stats() -> dict:
    lex = get_engine().lexicon
    return {
        "concepts": len(lex.concepts),
        "terms": sum(len(c.terms) for c in lex.concepts.values()),
    }


def additions() -> dict:
    return {
        "concepts": db.session.scalars(sa.select(CustomConcept).order_by(CustomConcept.id.desc()).limit(50)).all(),
        "terms": db.session.scalars(sa.select(CustomTerm).order_by(CustomTerm.id.desc()).limit(50)).all(),
    }


def add_term(user: User, concept_id: str, term: str, lang: str) -> Job:
    lex = get_engine().lexicon
    if concept_id not in lex.concepts:
        raise Invalid(_l("There is no concept with this id."), "concept")
    if not fold(term).strip():
        raise Invalid(_l("The term has no letters or characters."), "term")
    taken = lex.find(term)
    if taken:
        raise Invalid(
            _l("This term already belongs to the concept %(id)s.", id=", ".join(taken)), "term"
        )
    db.session.add(CustomTerm(concept_key=concept_id, term=term, lang=lang, created_by_id=user.id))
    audit.record(user, "lexicon.term", None, after={"concept": concept_id, "term": term, "lang": lang})
    db.session.flush()
    return jobs.enqueue("rematch", user=user)


def add_concept(user: User, data: dict) -> Job:
    lex = get_engine().lexicon
    key = data["key"]
    if key in lex.concepts:
        raise Invalid(_l("This concept id is already used."), "key")
    broader = (data.get("broader") or "").strip() or None
    if broader and broader not in lex.concepts:
        raise Invalid(_l("There is no concept with this id."), "broader")
    for field in ("label_zh", "label_en"):
        if lex.find(data[field]):
            raise Invalid(
                _l("This term already belongs to the concept %(id)s.", id=", ".join(lex.find(data[field]))),
                field,
            )
    db.session.add(
        CustomConcept(
            key=key,
            broader=broader,
            label_zh=data["label_zh"],
            label_en=data["label_en"],
            segments=",".join(data.get("segments") or []),
            themes=",".join(data.get("themes") or []),
            created_by_id=user.id,
        )
    )
    audit.record(user, "lexicon.concept", None,
                 after={k: v for k, v in data.items() if k != "csrf_token"})
    db.session.flush()
    return jobs.enqueue("rematch", user=user)
