"""Strength bands on the board: the settings, each shown match's band (against the best
score of its demand), and the same rule as SQL for the review queue's band filter."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from ..extensions import db
from ..matching.bands import BANDS, Bands
from ..models import Match, MatchStatus

__all__ = ["BANDS", "settings", "best_scores", "best_subquery", "of", "condition", "shown_and_weak"]


def settings() -> Bands:
    cfg = current_app.config
    return Bands(
        floor=float(cfg.get("MATCH_REVIEW_FLOOR", 35)),
        strong=float(cfg.get("MATCH_STRONG", 60)),
        weak_share=float(cfg.get("MATCH_WEAK_SHARE", 50)) / 100,
        strong_share=float(cfg.get("MATCH_STRONG_SHARE", 75)) / 100,
    )


def best_subquery():
    """(demand_id, best): each demand's best score over the matches anyone may be shown
    (dismissed ones are hidden from both sides and set no bar).

    Written as "not one of the dismissed ids" rather than "status is not dismissed" so that the
    database reads the (demand_id, score) and (status, score) indexes only, never every match
    row with its stored reasons."""
    other = aliased(Match)
    dismissed = sa.select(other.id).where(other.status == MatchStatus.DISMISSED)
    return (
        sa.select(Match.demand_id.label("demand_id"), sa.func.max(Match.score).label("best"))
        .where(Match.id.not_in(dismissed))
        .group_by(Match.demand_id)
        .subquery()
    )


def best_scores(demand_ids: Iterable[int]) -> dict[int, float]:
    ids = sorted(set(demand_ids))
    out: dict[int, float] = {}
    for i in range(0, len(ids), 500):
        rows = db.session.execute(
            sa.select(Match.demand_id, sa.func.max(Match.score))
            .where(Match.demand_id.in_(ids[i : i + 500]), Match.status != MatchStatus.DISMISSED)
            .group_by(Match.demand_id)
        )
        out.update({d: float(s or 0) for d, s in rows})
    return out


def of(matches: Iterable[Match]) -> dict[int, str]:
    """Each match's band (by match id), against its demand's best (one query)."""
    matches = list(matches)
    best = best_scores(m.demand_id for m in matches)
    rule = settings()
    return {m.id: rule.band(m.score, best.get(m.demand_id)) for m in matches}


def folded(m: Match, band: str) -> bool:
    """Whether companies and suppliers see this match folded away: a weak one, unless the
    park staff confirmed it."""
    return band == "weak" and m.status != MatchStatus.CONFIRMED


def shown_and_weak(matches: Iterable[Match], bands: dict[int, str]) -> tuple[list[Match], list[Match]]:
    shown, weak = [], []
    for m in matches:
        (weak if folded(m, bands[m.id]) else shown).append(m)
    return shown, weak


def condition(band: str, score, best):
    """The SQL twin of ``Bands.band``: a condition that ``score`` (a column) falls in
    ``band`` for a demand whose best is ``best`` (a column; the match's own score counts
    when it is higher). ``""`` means above the weak band."""
    rule = settings()
    top = sa.case((best > score, best), else_=score)
    weak = sa.or_(score < rule.floor, score < rule.weak_share * top)
    strong = sa.and_(score >= rule.strong, score >= rule.strong_share * top)
    if band == "weak":
        return weak
    if band == "strong":
        return sa.and_(sa.not_(weak), strong)
    if band == "possible":
        return sa.and_(sa.not_(weak), sa.not_(strong))
    return sa.not_(weak)
