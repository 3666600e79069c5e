"""Staff console: which lexicon concepts matched where (routes on the staff blueprint)."""

from __future__ import annotations

from flask import abort, render_template

from ..services import bands, lexicon_review
from ..services.matcher import get_engine
from . import int_arg, text_arg
from .admin import bp


@bp.get("/lexicon/review")
def lexicon_review_page():
    q = text_arg("q", 50)
    sort = text_arg("sort", 20)
    sort = sort if sort in lexicon_review.SORTS else "matches"
    everything = text_arg("all", 1) == "1"
    rows = lexicon_review.rows(q, sort, used_only=not everything)
    return render_template(
        "admin/lexicon_review.html",
        page=lexicon_review.page_of(rows, int_arg("page", 1) or 1, 50),
        q=q,
        sort=sort,
        everything=everything,
        sorts=lexicon_review.SORTS,
    )


@bp.get("/lexicon/review/<string:cid>")
def lexicon_concept(cid: str):
    lex = get_engine().lexicon
    concept = lex.concepts.get(cid)
    if concept is None:
        abort(404)
    counts = lexicon_review.record_counts().get(cid, {})
    explained = lexicon_review.matches(cid)
    return render_template(
        "admin/lexicon_concept.html",
        c=concept,
        broader=lex.concepts.get(concept.broader) if concept.broader else None,
        narrower=sorted(x.id for x in lex.concepts.values() if x.broader == cid),
        counts=counts,
        explained=lexicon_review.match_counts().get(cid, 0),
        page=lexicon_review.records(cid, int_arg("page", 1) or 1, 20),
        matches=explained,
        bands=bands.of(m for m, _reason in explained),
        shown=lexicon_review.MATCHES_SHOWN,
    )
