"""Exporting: every published demand with its top matches (``export-matches``), and the
writers every spreadsheet export goes through (CSV with a BOM, XLSX), which neutralise any
cell a spreadsheet could run as a formula."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import selectinload, undefer

from ..extensions import db
from ..models import Capability, Demand, DemandStatus, Match, MatchStatus
from .matcher import get_engine
from .matches import analysis_of, candidates, settings

CSV_COLUMNS = [
    "demand_ref",
    "demand_title",
    "rank",
    "capability_ref",
    "organization",
    "title",
    "score",
    "reasons",
]


def reason_lines(reasons: dict) -> list[str]:
    """A match's reasons as short bilingual lines."""
    lines = []
    for c in reasons.get("concepts", []):
        text = f"{c['zh']} / {c['en']}"
        if c.get("link") == "broader":
            text += " (broader / 上位概念)"
        lines.append(text)
    for t in reasons.get("terms", []):
        lines.append(f"~ {t['demand']} ≈ {t['capability']}")
    if reasons.get("segment"):
        lines.append(f"segment: {reasons['segment']}")
    for theme in reasons.get("themes", []):
        lines.append(f"theme: {theme}")
    return lines


def collect(top: int) -> list[dict]:
    top_k, threshold = settings()
    demands = db.session.scalars(
        sa.select(Demand).where(Demand.status == DemandStatus.PUBLISHED).order_by(Demand.id)
    ).all()
    stored: dict[int, list[Match]] = {}
    for m in db.session.scalars(
        sa.select(Match)
        .join(Match.demand)
        .where(Demand.status == DemandStatus.PUBLISHED, Match.status != MatchStatus.DISMISSED)
        .options(selectinload(Match.capability).selectinload(Capability.organization))
        .order_by(Match.demand_id, Match.score.desc(), Match.capability_id)
    ):
        stored.setdefault(m.demand_id, []).append(m)
    out = []
    for d in demands:
        # Stored matches (staff-confirmed ones included); ranked afresh when more are asked for.
        rows = {m.capability_id: (m.score, _row(m.capability, m.score, m.reasons))
                for m in stored.get(d.id, [])}
        if top > top_k:
            for cap_id, score, row in _live(d, top, threshold):
                rows.setdefault(cap_id, (score, row))
        best = sorted(rows.items(), key=lambda kv: (-kv[1][0], kv[0]))[:top]
        out.append({"demand_ref": d.ref, "demand_title": d.title,
                    "matches": [row for _, (_, row) in best]})
    return out


def _row(cap: Capability, score: float, reasons: dict) -> dict:
    return {
        "capability_ref": cap.ref,
        "organization": cap.organization.name,
        "title": cap.title,
        "score": score,
        "reasons": reason_lines(reasons or {}),
    }


def _live(d: Demand, top: int, threshold: float) -> list[tuple[int, float, dict]]:
    """More matches than are stored: rank the demand afresh, dismissed ones left out
    (nothing is written)."""
    engine = get_engine()
    a = analysis_of(engine, d)
    dismissed = set(
        db.session.scalars(
            sa.select(Match.capability_id).where(
                Match.demand_id == d.id, Match.status == MatchStatus.DISMISSED
            )
        )
    )
    ids = [i for i in candidates(engine, "c", a, engine.candidate_limit(top)) if i not in dismissed]
    caps = {
        c.id: c
        for c in db.session.scalars(
            sa.select(Capability)
            .where(Capability.id.in_(ids))
            .options(undefer(Capability.analysis), selectinload(Capability.organization))
        )
    } if ids else {}
    ranked = engine.rank(a, ((i, analysis_of(engine, caps[i])) for i in ids if i in caps), top, threshold)
    return [(r.id, r.score, _row(caps[r.id], r.score, r.reasons)) for r in ranked]


def render_text(data: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for row in _flat(data):
        writer.writerow([csv_cell(v) for v in row])
    return buf.getvalue()


def _flat(data: list[dict]):
    for d in data:
        if not d["matches"]:
            yield [d["demand_ref"], d["demand_title"], "", "", "", "", "", ""]
        for rank, m in enumerate(d["matches"], start=1):
            yield [
                d["demand_ref"],
                d["demand_title"],
                rank,
                m["capability_ref"],
                m["organization"],
                m["title"],
                m["score"],
                "; ".join(m["reasons"]),
            ]


def write(data: list[dict], fmt: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("json", "csv"):
        # CSV gets a BOM so that Excel opens the Chinese text correctly.
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        path.write_text(render_text(data, fmt), encoding=encoding, newline="")
        return
    write_xlsx(CSV_COLUMNS, _flat(data), path, "matches")


# -- spreadsheet cells -----------------------------------------------------------------
#: Text starting with one of these may be run as a formula by a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def risky(value) -> bool:
    """Text a spreadsheet could take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(value):
    """Text a spreadsheet could run as a formula, made plain text with a leading quote."""
    return "'" + value if risky(value) else value


def _local(value: dt.datetime) -> dt.datetime:
    """A stored (UTC) time in the board's time zone, without zone (as spreadsheets keep it)."""
    from zoneinfo import ZoneInfo

    from flask import current_app, has_app_context

    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zone or "UTC"))
    return value.replace(tzinfo=None, microsecond=0)


def csv_cell(value) -> str | int | float:
    """One CSV cell: dates as ISO text, times in the board's zone, risky text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return _local(value).isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return value
    return neutralise(str(value))


def iter_csv(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """A CSV file piece by piece: a BOM (so that Excel reads the Chinese text as UTF-8), the
    header row, then one line per row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"
    writer.writerow([csv_cell(h) for h in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(v) for v in row])
        if n % 200 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def write_csv(header: list[str], rows: Iterable[list], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for part in iter_csv(header, rows):
            fh.write(part)


def write_xlsx(header: list[str], rows: Iterable[list], target, title: str = "export") -> None:
    """An XLSX workbook with one sheet; ``target`` is a path or a binary file. Every text cell
    is a plain string cell, never a formula; text that starts like a formula is also marked
    'quote prefix', so Excel keeps it as text when the cell is edited."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31] or "export")
    bold = Font(bold=True)

    def cell(value, head: bool = False):
        if isinstance(value, dt.datetime):
            value = _local(value)
        elif value is not None and not isinstance(value, int | float | dt.date):
            value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # a string, even when it starts with "="
            if risky(value):
                c.quotePrefix = True
        if head:
            c.font = bold
        return c

    ws.append([cell(h, head=True) for h in header])
    for row in rows:
        ws.append([cell(v) for v in row])
    wb.save(target)
