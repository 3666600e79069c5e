"""The staff's match review queue: stored matches of demands awaiting review or published,
strongest first, filtered by round, segment, theme, band, status and demand status; single
and bulk decisions go through ``matches.review`` (one conditional UPDATE each)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, selectinload

from ..extensions import db
from ..models import Capability, Demand, DemandStatus, Match, MatchStatus, Theme
from . import bands, matches
from .demands import Page, paginate
from .errors import Invalid, NotFound

#: Demands whose matches staff review: awaiting review, or on the board.
QUEUE_DEMANDS = (DemandStatus.PUBLISHED, DemandStatus.SUBMITTED)
#: Band filter values; "" means above the weak band (strong and possible), "all" every band.
BANDS = ("strong", "possible", "weak", "all")
#: Status filter values; "" means every status.
STATUSES = tuple(s.value for s in MatchStatus)
#: Largest number of rows one bulk action takes.
BULK_LIMIT = 100


def floor() -> float:
    """Below this score a match is weak whatever its demand's best (``MATCH_REVIEW_FLOOR``)."""
    return bands.settings().floor


def strong() -> float:
    """From this score on a match may be strong (``MATCH_STRONG``)."""
    return bands.settings().strong


@dataclass(frozen=True)
class Filters:
    round_id: int | None = None
    segment: str | None = None
    theme: str | None = None
    band: str = ""  # one of BANDS, or "" (above the weak band)
    status: str = MatchStatus.SUGGESTED.value  # one of STATUSES, or "" (any)
    stage: str = ""  # "published", "submitted" or "" (both)

    @classmethod
    def clean(cls, *, round_id=None, segment=None, theme=None, band="", status=None, stage=""):
        """Filters from a query string: unknown values fall back to the default."""
        return cls(
            round_id=round_id or None,
            segment=segment or None,
            theme=theme or None,
            band=band if band in BANDS else "",
            status=MatchStatus.SUGGESTED.value if status is None else (status if status in STATUSES else ""),
            stage=stage if stage in (DemandStatus.PUBLISHED.value, DemandStatus.SUBMITTED.value) else "",
        )


def _with_status(status: str):
    """The ids of the matches in one status, as a subquery: read from the (status, score)
    index, so the counts never load every match row with its stored reasons."""
    other = aliased(Match)
    return sa.select(other.id).where(other.status == MatchStatus(status))


def _query(f: Filters):
    q = sa.select(Match).join(Match.demand)
    if f.stage:
        q = q.where(Demand.status == DemandStatus(f.stage))
    else:
        q = q.where(Demand.status.in_(QUEUE_DEMANDS))
    if f.round_id:
        q = q.where(Demand.round_id == f.round_id)
    if f.segment:
        q = q.where(Demand.segment_code == f.segment)
    if f.theme:
        q = q.where(Demand.themes.any(Theme.code == f.theme))
    if f.status:
        q = q.where(Match.status == MatchStatus(f.status))
    if f.band != "all":
        best = bands.best_subquery()
        q = q.join(best, best.c.demand_id == Match.demand_id, isouter=True).where(
            bands.condition(f.band, Match.score, best.c.best)
        )
    return q


def queue(f: Filters, page: int = 1, per_page: int = 20, counts: dict[str, int] | None = None) -> Page:
    """One page of the queue, strongest first; demands, capabilities and organisations are
    loaded with the page (no query per row). With ``counts`` (``status_counts(f)``, which the
    page shows anyway) the total is read from them instead of counting the queue again."""
    q = (
        _query(f)
        .options(
            selectinload(Match.demand).options(
                selectinload(Demand.organization),
                selectinload(Demand.segment),
                selectinload(Demand.themes),
                selectinload(Demand.round),
            ),
            selectinload(Match.capability).options(
                selectinload(Capability.organization),
                selectinload(Capability.segment),
                selectinload(Capability.themes),
            ),
            selectinload(Match.reviewed_by),
        )
        .order_by(Match.score.desc(), Match.id)
    )
    if counts is None:
        return paginate(q, page, per_page)
    page = max(1, page)
    items = db.session.scalars(q.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), page, per_page, counts[f.status])


def status_counts(f: Filters) -> dict[str, int]:
    """How many matches each status holds under the other filters ("" is the total): one
    count a status, each answered from indexes (see ``_with_status``)."""
    q = _query(Filters(f.round_id, f.segment, f.theme, f.band, "", f.stage))
    q = q.with_only_columns(sa.func.count(Match.id)).order_by(None)
    out = {s: db.session.scalar(q.where(Match.id.in_(_with_status(s)))) or 0 for s in STATUSES}
    out[""] = sum(out.values())
    return out


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # "already reviewed by ..." messages
    gone: int = 0  # matches no longer stored (re-ranked away since the page was shown)


def parse_selection(values: list[str]) -> list[tuple[int, MatchStatus]]:
    """Checked rows as sent by the queue: "id:status seen", unique, at most BULK_LIMIT."""
    out: dict[int, MatchStatus] = {}
    for raw in values:
        ident, _sep, seen = (raw or "").partition(":")
        if not (ident.isascii() and ident.isdigit()) or seen not in STATUSES:
            continue
        out.setdefault(int(ident), MatchStatus(seen))
    return list(out.items())[:BULK_LIMIT]


def decide_many(user, selection: list[tuple[int, MatchStatus]], status: MatchStatus,
                reason: str | None = None) -> BulkResult:
    """Apply one decision to several matches in the caller's transaction: each goes through
    the same conditional update as a single decision; the demands touched are re-ranked once."""
    if not selection:
        raise Invalid(_("Tick at least one match first."), field="ids")
    if status == MatchStatus.DISMISSED and not (reason or "").strip():
        raise Invalid(_("Give a reason for dismissing this match."), field="reason")
    result = BulkResult()
    touched: dict[int, Demand] = {}
    for match_id, seen in selection:
        try:
            m = matches.review(match_id, status, user, reason=reason, expected=seen, refresh=False)
        except matches.AlreadyReviewed as exc:
            result.conflicts.append(str(exc.message))
            continue
        except NotFound:
            result.gone += 1
            continue
        result.done.append(m.id)
        touched[m.demand_id] = m.demand
    for demand_id in sorted(touched):
        d = touched[demand_id]
        if d.status in matches.ACTIVE_DEMAND:
            matches.refresh_demand(d)
    return result
