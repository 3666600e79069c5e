"""Importing demands and capabilities from CSV, XLSX or JSON: every row or none.

``plan`` reads and checks a file and says what it would create and update, and which rows are
bad, without writing; ``import_file`` writes a file with no bad row (the command line and the
staff console's import both use them)."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

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


@dataclass(frozen=True)
class Problem:
    """Why a file or one of its rows cannot be imported. ``reason`` is translated when shown;
    ``str()`` gives the English line the command prints."""

    reason: object
    row: int | None = None  # the row it is about; None for the file as a whole
    header: bool = False  # the header row
    path: str | None = None  # the file, named before a problem with the file as a whole

    def __str__(self) -> str:
        with force_locale("en"):
            reason = str(self.reason)
        if self.row is not None:
            where = f"row {self.row} (header)" if self.header else f"row {self.row}"
            return f"{where}: {reason}"
        return f"{self.path}: {reason}" if self.path else reason


class ImportFailed(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
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


@dataclass(frozen=True)
class Planned:
    """One good row and what importing it would do."""

    number: int
    kind: str  # demand or capability
    ref: str
    title: str
    organization: str
    action: str  # create or update
    new_organization: bool


@dataclass
class Plan:
    """What importing a file would do, found without writing anything."""

    rows: list[Planned]
    bad: list[Problem]  # every bad row, in file order
    checked: list[Row] = field(default_factory=list, repr=False)  # what ``write`` takes

    @property
    def created(self) -> int:
        return sum(1 for p in self.rows if p.action == "create")

    @property
    def updated(self) -> int:
        return sum(1 for p in self.rows if p.action == "update")

    @property
    def new_organizations(self) -> list[str]:
        return sorted({p.organization for p in self.rows if p.new_organization})

    def fingerprint(self) -> list[tuple]:
        """What the plan would write, to compare a preview with the plan at confirmation."""
        return [(p.number, p.kind, p.ref, p.action, p.organization, p.new_organization)
                for p in self.rows]


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

    def failed(reason) -> ImportFailed:
        return ImportFailed([Problem(reason, path=str(path))])

    if not path.is_file():
        raise failed(_l("no such file"))
    if suffix not in (".csv", ".xlsx", ".json"):
        raise failed(_l("use a .csv, .xlsx or .json file"))
    if path.stat().st_size == 0:
        raise failed(_l("the file is empty"))
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise failed(_l("not UTF-8 text (%(reason)s at byte %(byte)s)",
                            reason=exc.reason, byte=exc.start)) from exc
        reader = csv.reader(io.StringIO(text, newline=""))
        table = list(reader)
        return _from_table(table)
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a damaged file
            raise failed(_l("not a readable .xlsx workbook (%(error)s)", error=str(exc))) from exc
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
            raise failed(_l("not valid JSON (%(error)s)", error=str(exc))) from exc
        if not isinstance(data, list):
            raise failed(_l("the JSON must be a list of objects"))
        rows = []
        for i, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                rows.append((i, None))
                continue
            rows.append((i, {str(k).strip().lower(): item[k] for k in item}))
        return rows
    raise failed(_l("use a .csv, .xlsx or .json file"))


def _from_table(table: list[list]) -> list[tuple[int, dict]]:
    if not table:
        raise ImportFailed([Problem(_l("the file is empty: it needs a header row"))])
    header = [_cell(h).lower().lstrip("\ufeff") for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFailed([Problem(_l("missing column(s) %(columns)s", columns=", ".join(missing)),
                                    row=1, header=True)])
    rows = []
    for n, values in enumerate(table[1:], start=2):
        if all(_cell(v) == "" for v in values):
            continue  # blank lines are not rows
        rows.append((n, {h: (values[i] if i < len(values) else None) for i, h in enumerate(header) if h}))
    return rows


def _check(n: int, raw: dict | None, seen: dict) -> tuple[Row | None, list[Problem]]:
    def bad(reason) -> Problem:
        return Problem(reason, row=n)

    if raw is None:
        return None, [bad(_l("not an object"))]
    problems = []
    missing = [c for c in REQUIRED if c not in raw]
    if missing:
        return None, [bad(_l("missing %(columns)s", columns=", ".join(missing)))]
    val = {
        k: "; ".join(_list(raw.get(k))) if isinstance(raw.get(k), list) else _cell(raw.get(k))
        for k in REQUIRED + OPTIONAL
    }
    kind = KINDS.get(_cell(raw.get("kind")).lower())
    if kind is None:
        problems.append(bad(_l("kind must be demand or capability (需求 / 能力), got %(value)s",
                               value=repr(_cell(raw.get("kind"))))))
    for k in ("ref", "organization", "title"):
        if not val[k]:
            problems.append(bad(_l("%(column)s is empty", column=k)))
    for k, limit in LIMITS.items():
        text = val.get(k)
        if isinstance(text, str) and len(text) > limit:
            problems.append(bad(_l("%(column)s is longer than %(limit)s characters",
                                   column=k, limit=limit)))
    keywords = _list(raw.get("keywords"))
    themes_raw = _list(raw.get("themes"))
    segment = None
    seg_text = _cell(raw.get("segment"))
    if seg_text:
        segment = SEGMENTS.get(seg_text.lower()) or SEGMENTS.get(seg_text)
        if segment is None:
            problems.append(bad(_l("unknown segment %(value)s", value=repr(seg_text))))
    themes = []
    for t in themes_raw:
        code = THEMES.get(t.lower()) or THEMES.get(t)
        if code is None:
            problems.append(bad(_l("unknown theme %(value)s", value=repr(t))))
        elif code not in themes:
            themes.append(code)
    website = val["website"]
    if website and not website.lower().startswith(("http://", "https://")):
        problems.append(bad(_l("website %(value)s must start with http:// or https://",
                               value=repr(website))))
    email = val["contact_email"]
    if email and not EMAIL.match(email):
        problems.append(bad(_l("contact_email %(value)s is not an e-mail address",
                               value=repr(email))))
    if kind and val["ref"]:
        first = seen.get((kind, val["ref"]))
        if first is not None:
            problems.append(bad(_l("ref %(value)s already used by row %(row)s",
                                   value=repr(val["ref"]), row=first)))
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


def check(raw_rows: list[tuple[int, dict]]) -> tuple[list[Row], list[Problem]]:
    """The good rows and the problems of the bad ones (nothing is read from the database)."""
    rows, problems, seen = [], [], {}
    for n, raw in raw_rows:
        row, errs = _check(n, raw, seen)
        problems.extend(errs)
        if row:
            rows.append(row)
    return rows, problems


def parse(path: Path) -> list[Row]:
    rows, problems = check(read_rows(path))
    if problems:
        raise ImportFailed(problems)
    if not rows:
        raise ImportFailed([Problem(_l("no rows to import"), path=str(path))])
    return rows


def plan(path: Path, max_rows: int | None = None) -> Plan:
    """Read and check a file, and find what importing it would create and update. Raises
    ImportFailed when the file as a whole cannot be read (or has more than ``max_rows``)."""
    path = Path(path)
    raw = read_rows(path)
    if max_rows is not None and len(raw) > max_rows:
        raise ImportFailed([Problem(
            _l("the file has %(n)s rows; at most %(max)s can be imported here",
               n=len(raw), max=max_rows), path=str(path))])
    rows, bad = check(raw)
    if not rows and not bad:
        raise ImportFailed([Problem(_l("no rows to import"), path=str(path))])
    orgs = _organizations({r.data["organization"] for r in rows})
    known = {kind: _existing(Demand if kind == "demand" else Capability,
                             {r.data["ref"] for r in rows if r.kind == kind})
             for kind in ("demand", "capability")}
    planned = [
        Planned(
            number=r.number, kind=r.kind, ref=r.data["ref"], title=r.data["title"],
            organization=r.data["organization"],
            action="update" if r.data["ref"] in known[r.kind] else "create",
            new_organization=r.data["organization"] not in orgs,
        )
        for r in rows
    ]
    return Plan(planned, bad, rows)


def _chunks(values, size: int = 500):
    values = sorted(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _existing(model, refs: set[str]) -> dict:
    out = {}
    for part in _chunks(refs):
        out.update((r.ref, r) for r in db.session.scalars(sa.select(model).where(model.ref.in_(part))))
    return out


def _organizations(names: set[str]) -> dict[str, Organization]:
    """The organisations with these names; one merged into another stands for the one kept."""
    found: dict[str, Organization] = {}
    for part in _chunks(names):
        found.update((o.name, o) for o in db.session.scalars(
            sa.select(Organization).where(Organization.name.in_(part))))
    kept_ids = {o.merged_into_id for o in found.values() if o.merged_into_id}
    kept = {o.id: o for o in db.session.scalars(
        sa.select(Organization).where(Organization.id.in_(kept_ids)))} if kept_ids else {}
    return {name: kept.get(o.merged_into_id, o) if o.merged_into_id else o
            for name, o in found.items()}


def import_file(path: Path) -> ImportResult:
    """Validate every row first; write all of them, or raise ImportFailed and write none."""
    return write(parse(Path(path)))


def write(rows: list[Row]) -> ImportResult:
    """Write checked rows (a file's every row), then refresh the matches they touch."""
    result = ImportResult()
    orgs = _organizations({r.data["organization"] for r in rows})
    known = {kind: _existing(model, {r.data["ref"] for r in rows if r.kind == kind})
             for kind, model in (("demand", Demand), ("capability", Capability))}
    touched_demands: list[Demand] = []
    touched_caps: list[Capability] = []
    now = utcnow()
    for row in rows:
        name = row.data["organization"]
        org = orgs.get(name)
        if org is None:
            org = Organization(name=name)
            db.session.add(org)
        orgs[name] = org
        model = Demand if row.kind == "demand" else Capability
        record = known[row.kind].get(row.data["ref"])
        if record is None:
            record = model(ref=row.data["ref"])
            db.session.add(record)
            known[row.kind][row.data["ref"]] = record
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
