"""Importing demands and capabilities from CSV, XLSX or JSON: every row or none."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from ..extensions import db
from ..models import Capability, Demand, DemandStatus, Organization, utcnow
from . import matches
from .records import apply_fields, clean_text, split_keywords

REQUIRED = ("kind", "ref", "organization", "title", "description")
OPTIONAL = ("keywords", "segment", "themes", "contact_name", "contact_email", "website")

KINDS = {"demand": "demand", "需求": "demand", "capability": "capability", "能力": "capability"}

SEGMENTS = {}
for code, full, short in [
    ("design", "规划设计", "设计"),
    ("construction", "工程建设", "建设"),
    ("equipment", "装备研制", "装备"),
    ("operation", "运营服务", "运营"),
    ("control", "控制系统", "控制"),
]:
    SEGMENTS.update({code: code, full: code, short: code})

THEMES = {
    "information": "information",
    "信息技术": "information",
    "low_carbon": "low_carbon",
    "低碳技术": "low_carbon",
    "intelligent_equipment": "intelligent_equipment",
    "智能装备": "intelligent_equipment",
}

LIMITS = {
    "ref": 80,
    "organization": 200,
    "title": 200,
    "description": 20000,
    "keywords": 2000,
    "contact_name": 100,
    "contact_email": 254,
    "website": 300,
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ImportFailed(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Row:
    number: int
    kind: str
    data: dict


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    demands: int = 0
    capabilities: int = 0
    refs: list[str] = field(default_factory=list)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(str(value)).strip()


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """(row number, {column: text}) for each data row. Numbers are spreadsheet rows for
    CSV and XLSX (the header is row 1) and positions (from 1) for JSON."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ImportFailed([f"{path}: no such file"])
    if suffix not in (".csv", ".xlsx", ".json"):
        raise ImportFailed([f"{path}: use a .csv, .xlsx or .json file"])
    if path.stat().st_size == 0:
        raise ImportFailed([f"{path}: the file is empty"])
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFailed([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
        reader = csv.reader(io.StringIO(text, newline=""))
        table = list(reader)
        return _from_table(table)
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a damaged file
            raise ImportFailed([f"{path}: not a readable .xlsx workbook ({exc})"]) from exc
        try:
            ws = wb.worksheets[0]
            table = [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
        return _from_table(table)
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImportFailed([f"{path}: not valid JSON ({exc})"]) from exc
        if not isinstance(data, list):
            raise ImportFailed([f"{path}: the JSON must be a list of objects"])
        rows = []
        for i, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                rows.append((i, None))
                continue
            rows.append((i, {str(k).strip().lower(): item[k] for k in item}))
        return rows
    raise ImportFailed([f"{path}: use a .csv, .xlsx or .json file"])


def _from_table(table: list[list]) -> list[tuple[int, dict]]:
    if not table:
        raise ImportFailed(["the file is empty: it needs a header row"])
    header = [_cell(h).lower().lstrip("\ufeff") for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFailed([f"row 1 (header): missing column(s) {', '.join(missing)}"])
    rows = []
    for n, values in enumerate(table[1:], start=2):
        if all(_cell(v) == "" for v in values):
            continue  # blank lines are not rows
        rows.append((n, {h: (values[i] if i < len(values) else None) for i, h in enumerate(header) if h}))
    return rows


def _check(n: int, raw: dict | None, seen: dict) -> tuple[Row | None, list[str]]:
    if raw is None:
        return None, [f"row {n}: not an object"]
    problems = []
    missing = [c for c in REQUIRED if c not in raw]
    if missing:
        return None, [f"row {n}: missing {', '.join(missing)}"]
    val = {
        k: "; ".join(_list(raw.get(k))) if isinstance(raw.get(k), list) else _cell(raw.get(k))
        for k in REQUIRED + OPTIONAL
    }
    kind = KINDS.get(_cell(raw.get("kind")).lower())
    if kind is None:
        problems.append(f"row {n}: kind must be demand or capability (需求 / 能力), got {_cell(raw.get('kind'))!r}")
    for k in ("ref", "organization", "title"):
        if not val[k]:
            problems.append(f"row {n}: {k} is empty")
    for k, limit in LIMITS.items():
        text = val.get(k)
        if isinstance(text, str) and len(text) > limit:
            problems.append(f"row {n}: {k} is longer than {limit} characters")
    keywords = _list(raw.get("keywords"))
    themes_raw = _list(raw.get("themes"))
    segment = None
    seg_text = _cell(raw.get("segment"))
    if seg_text:
        segment = SEGMENTS.get(seg_text.lower()) or SEGMENTS.get(seg_text)
        if segment is None:
            problems.append(f"row {n}: unknown segment {seg_text!r}")
    themes = []
    for t in themes_raw:
        code = THEMES.get(t.lower()) or THEMES.get(t)
        if code is None:
            problems.append(f"row {n}: unknown theme {t!r}")
        elif code not in themes:
            themes.append(code)
    website = val["website"]
    if website and not website.lower().startswith(("http://", "https://")):
        problems.append(f"row {n}: website {website!r} must start with http:// or https://")
    email = val["contact_email"]
    if email and not EMAIL.match(email):
        problems.append(f"row {n}: contact_email {email!r} is not an e-mail address")
    if kind and val["ref"]:
        first = seen.get((kind, val["ref"]))
        if first is not None:
            problems.append(f"row {n}: ref {val['ref']!r} already used by row {first}")
        else:
            seen[(kind, val["ref"])] = n
    if problems:
        return None, problems
    data = {
        "ref": val["ref"],
        "organization": val["organization"],
        "title": val["title"],
        "description": val["description"],
        "keywords": split_keywords(keywords),
        "segment": segment,
        "themes": themes,
        "contact_name": val["contact_name"],
        "contact_email": val["contact_email"],
        "website": val["website"],
    }
    return Row(n, kind, data), []


def _list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [_cell(v) for v in value if _cell(v)]
    return split_keywords(_cell(value))


def parse(path: Path) -> list[Row]:
    rows, problems, seen = [], [], {}
    for n, raw in read_rows(path):
        row, errs = _check(n, raw, seen)
        problems.extend(errs)
        if row:
            rows.append(row)
    if problems:
        raise ImportFailed(problems)
    if not rows:
        raise ImportFailed([f"{path}: no rows to import"])
    return rows


def import_file(path: Path) -> ImportResult:
    """Validate every row first; write all of them, or raise ImportFailed and write none."""
    rows = parse(Path(path))
    result = ImportResult()
    orgs: dict[str, Organization] = {}
    touched_demands: list[Demand] = []
    touched_caps: list[Capability] = []
    now = utcnow()
    for row in rows:
        name = row.data["organization"]
        org = orgs.get(name) or db.session.scalar(sa.select(Organization).where(Organization.name == name))
        if org is None:
            org = Organization(name=name)
            db.session.add(org)
        orgs[name] = org
        model = Demand if row.kind == "demand" else Capability
        record = db.session.scalar(sa.select(model).where(model.ref == row.data["ref"]))
        if record is None:
            record = model(ref=row.data["ref"])
            db.session.add(record)
            result.created += 1
        else:
            result.updated += 1
        record.organization = org
        apply_fields(record, row.data)
        if row.kind == "demand":
            record.status = DemandStatus.PUBLISHED
            record.published_at = record.published_at or now
            record.submitted_at = record.submitted_at or now
            record.closed_at = None
            touched_demands.append(record)
            result.demands += 1
        else:
            touched_caps.append(record)
            result.capabilities += 1
        result.refs.append(row.data["ref"])
    db.session.flush()
    matches.refresh_many(touched_demands, touched_caps)
    return result
