"""Staff console: the match review queue (single and bulk decisions)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request
from flask_babel import ngettext
from flask_login import current_user
from wtforms import StringField, TextAreaField

from ..auth import commit
from ..extensions import db
from ..forms import Form, length
from ..models import Match, MatchStatus, Round
from ..services import bands, matches, records, review_queue
from ..services.errors import Invalid
from . import back, flash_invalid, int_arg, text_arg
from .admin import bp

DECISIONS = {
    "confirm": MatchStatus.CONFIRMED,
    "dismiss": MatchStatus.DISMISSED,
    "reset": MatchStatus.SUGGESTED,
}


class DecisionForm(Form):
    """One decision from the queue: a single row (``match`` = "id:status seen") or the
    ticked rows (``ids``, read from the request), with a reason when dismissing."""

    decision = StringField()
    match = StringField()
    reason = TextAreaField(validators=[length(500)])


def _filters() -> review_queue.Filters:
    segments = {s.code for s in records.all_segments()}
    themes = {t.code for t in records.all_themes()}
    segment, theme = text_arg("segment", 30), text_arg("theme", 30)
    return review_queue.Filters.clean(
        round_id=int_arg("round"),
        segment=segment if segment in segments else None,
        theme=theme if theme in themes else None,
        band=text_arg("band", 20),
        status=None if "status" not in request.args else text_arg("status", 20),
        stage=text_arg("stage", 20),
    )


def _queue_page(form: DecisionForm | None = None, errors: dict | None = None, status: int = 200):
    f = _filters()
    counts = review_queue.status_counts(f)
    page = review_queue.queue(f, int_arg("page", 1) or 1, 20, counts=counts)
    return (
        render_template(
            "admin/review_queue.html",
            f=f,
            page=page,
            counts=counts,
            rounds=db.session.scalars(sa.select(Round).order_by(Round.opens_on.desc(), Round.id)).all(),
            segments=records.all_segments(),
            themes=records.all_themes(),
            floor=review_queue.floor(),
            strong=review_queue.strong(),
            bands=bands.of(page.items),
            weak_share=round(bands.settings().weak_share * 100),
            strong_share=round(bands.settings().strong_share * 100),
            form=form or DecisionForm(formdata=None),
            errors=errors or {},
        ),
        status,
    )


@bp.get("/matches")
def match_queue():
    return _queue_page()


def _seen(raw: str | None) -> MatchStatus | None:
    return MatchStatus(raw) if raw in review_queue.STATUSES else None


def _done_message(status: MatchStatus, n: int) -> str:
    if status == MatchStatus.CONFIRMED:
        return ngettext("%(num)d match confirmed: both sides now see it as recommended.",
                        "%(num)d matches confirmed: both sides now see them as recommended.", n)
    if status == MatchStatus.DISMISSED:
        return ngettext("%(num)d match dismissed: neither side sees it.",
                        "%(num)d matches dismissed: neither side sees them.", n)
    return ngettext("%(num)d match set back to suggested.", "%(num)d matches set back to suggested.", n)


@bp.post("/matches")
def decide_matches():
    """A decision sent from the queue; afterwards the same filtered queue is shown again."""
    form = DecisionForm()
    decision = DECISIONS.get(form.decision.data or "")
    form.validate_on_submit()
    if "csrf_token" in form.errors or decision is None:
        abort(400)
    if form.reason.errors:
        return _queue_page(form, {"row": _row_id(form.match.data), "reason": form.reason.errors[0]}, 422)
    reason = form.reason.data if decision == MatchStatus.DISMISSED else None
    if form.match.data:  # one row
        match_id = _row_id(form.match.data)
        if match_id is None:
            abort(400)
        seen = _seen(form.match.data.partition(":")[2])
        try:
            matches.review(match_id, decision, current_user, reason=reason, expected=seen)
        except matches.AlreadyReviewed as exc:
            db.session.rollback()
            flash(str(exc.message), "info")
            return redirect(_here())
        except Invalid as exc:
            db.session.rollback()
            return _queue_page(form, {"row": match_id, exc.field or "form": str(exc.message)}, 422)
        commit()
        flash(_done_message(decision, 1), "success")
        return redirect(_here())
    # the ticked rows, in one transaction
    selection = review_queue.parse_selection(request.form.getlist("ids"))
    try:
        result = review_queue.decide_many(current_user, selection, decision, reason)
    except Invalid as exc:
        db.session.rollback()
        return _queue_page(form, {"row": "bulk", exc.field or "form": str(exc.message)}, 422)
    commit()
    if result.done:
        flash(_done_message(decision, len(result.done)), "success")
    for message in result.conflicts:
        flash(message, "info")
    if result.gone:
        flash(ngettext("%(num)d match is no longer on the list: its demand's matches were refreshed.",
                       "%(num)d matches are no longer on the list: their demands' matches were refreshed.",
                       result.gone), "info")
    return redirect(_here())


def _here() -> str:
    """The queue with the filters the decision was sent from."""
    return request.full_path.rstrip("?")


def _row_id(raw: str | None) -> int | None:
    ident = (raw or "").partition(":")[0]
    return int(ident) if ident.isascii() and ident.isdigit() and 0 < int(ident) < 2**31 else None


def review_one(match_id: int, status: MatchStatus, message: str):
    """A decision from a demand's page (the confirm, dismiss and reset routes)."""
    m = db.session.get(Match, match_id)
    if m is None:
        abort(404)
    demand_id = m.demand_id
    try:
        matches.review(match_id, status, current_user, reason=request.form.get("reason"),
                       expected=_seen(request.form.get("expected")))
    except Invalid as exc:  # no reason given, or someone else decided first
        db.session.rollback()
        flash_invalid(exc)
        return back("admin.demand", demand_id=demand_id)
    commit()
    flash(message, "success")
    return back("admin.demand", demand_id=demand_id)
