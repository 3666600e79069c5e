"""`flask import`, `flask export-matches` and `flask init-db`: the command-line contract
other tools depend on. Assertions are on behaviour (which records exist, which demand
lists which capability, in what order), never on exact scores."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from board import create_app
from board.extensions import db
from board.models import (
    Capability,
    Demand,
    DemandStatus,
    Event,
    Match,
    Organization,
    Segment,
)
from tests.conftest import BASE_CONFIG

COLUMNS = [
    "kind", "ref", "organization", "title", "description", "keywords", "segment", "themes",
    "contact_name", "contact_email", "website",
]


def rec(kind, ref, organization, title, description, **extra) -> dict:
    return {"kind": kind, "ref": ref, "organization": organization, "title": title,
            "description": description, **extra}


# Two subjects any rail-transit lexicon covers (platform screen doors; CBTC signalling)
# and one demand that shares nothing with any capability.
PSD_DEMAND = rec("demand", "D-PSD", "京城地铁运营公司", "站台门改造",
                 "站台门（屏蔽门）改造与维护。", keywords="站台门；屏蔽门", segment="equipment",
                 contact_email="Demand@Example.com")
CBTC_DEMAND = rec("demand", "D-CBTC", "京城地铁运营公司", "CBTC 信号系统升级",
                  "信号系统升级为基于通信的列车控制（CBTC）。", keywords="CBTC、信号系统",
                  segment="control", themes="information")
LONELY_DEMAND = rec("demand", "D-CANTEEN", "园区物业", "员工食堂餐饮外包",
                    "为员工食堂寻找餐饮承包商，负责午餐供应。")
PSD_CAP = rec("capability", "C-PSD", "Doors Ltd", "Platform screen door retrofit",
              "We retrofit platform screen doors (站台门).", keywords="platform screen door; 站台门",
              segment="equipment")
PSD_CAP_2 = rec("capability", "C-PSD-2", "门业科技", "屏蔽门维护", "屏蔽门（站台门）日常维护。",
                keywords="屏蔽门")
CBTC_CAP = rec("capability", "C-CBTC", "Signals Inc", "CBTC signalling",
               "Communications-based train control (CBTC) and signalling systems.",
               keywords="CBTC, signalling", segment="control", themes="information")
RECORDS = [PSD_DEMAND, CBTC_DEMAND, LONELY_DEMAND, PSD_CAP, PSD_CAP_2, CBTC_CAP]


# -- writing input files -------------------------------------------------------------
def write_csv(path, rows, encoding="utf-8"):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path, rows):
    wb = Workbook()
    ws = wb.active
    ws.append(COLUMNS)
    for row in rows:
        ws.append([row.get(c, "") for c in COLUMNS])
    wb.save(path)
    return path


def write_json(path, rows):
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


WRITERS = {
    "csv": lambda tmp, rows: write_csv(tmp / "records.csv", rows),
    "csv with BOM": lambda tmp, rows: write_csv(tmp / "records.csv", rows, "utf-8-sig"),
    "xlsx": lambda tmp, rows: write_xlsx(tmp / "records.xlsx", rows),
    "json": lambda tmp, rows: write_json(tmp / "records.json", rows),
}


# -- running the commands ------------------------------------------------------------
def run(app, *args, **kw):
    return app.test_cli_runner().invoke(args=[str(a) for a in args], **kw)


def import_ok(app, path):
    result = run(app, "import", path)
    assert result.exit_code == 0, result.output
    return result


def export(app, *args) -> list[dict]:
    result = run(app, "export-matches", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_ref(exported: list[dict]) -> dict[str, list[str]]:
    return {d["demand_ref"]: [m["capability_ref"] for m in d["matches"]] for d in exported}


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (Organization, Demand, Capability, Match)
        }


def demand(app, ref) -> Demand:
    with app.app_context():
        d = db.session.scalar(sa.select(Demand).where(Demand.ref == ref))
        db.session.expunge(d)
        return d


@pytest.fixture
def imported(app, tmp_path):
    """The app with RECORDS imported."""
    import_ok(app, write_json(tmp_path / "base.json", RECORDS))
    return app


# -- importing and exporting ---------------------------------------------------------
@pytest.mark.parametrize("fmt", list(WRITERS))
def test_each_format_imports_and_exports_every_demand_with_its_matches_best_first(
    app, tmp_path, fmt
):
    result = import_ok(app, WRITERS[fmt](tmp_path, RECORDS))
    assert "6 created, 0 updated" in result.output

    exported = export(app)
    matches = by_ref(exported)
    assert list(matches) == ["D-PSD", "D-CBTC", "D-CANTEEN"]
    assert {"C-PSD", "C-PSD-2"} <= set(matches["D-PSD"])
    assert "C-CBTC" not in matches["D-PSD"]
    assert matches["D-CBTC"][0] == "C-CBTC"
    assert matches["D-CANTEEN"] == []  # listed, with nothing to suggest
    for d in exported:
        scores = [m["score"] for m in d["matches"]]
        assert scores == sorted(scores, reverse=True)
    psd = exported[0]
    assert psd["demand_title"] == "站台门改造"
    first = next(m for m in psd["matches"] if m["capability_ref"] == "C-PSD")
    assert first["organization"] == "Doors Ltd"
    assert first["title"] == "Platform screen door retrofit"
    assert first["reasons"] and all(isinstance(r, str) for r in first["reasons"])


def _json_pairs(exported: list[dict]) -> list[tuple[str, str]]:
    """(demand_ref, capability_ref) per row, as the flat formats list them."""
    return [(d["demand_ref"], m["capability_ref"])
            for d in exported for m in (d["matches"] or [{"capability_ref": ""}])]


def _csv_pairs(text: str) -> list[tuple[str, str]]:
    return [(r["demand_ref"], r["capability_ref"]) for r in csv.DictReader(io.StringIO(text))]


def _xlsx_pairs(path) -> list[tuple[str, str]]:
    wb = load_workbook(path, read_only=True)
    try:
        header, *rows = list(wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()
    d, c = header.index("demand_ref"), header.index("capability_ref")
    return [(r[d], r[c] or "") for r in rows]


@pytest.mark.parametrize("fmt, to_file", [("csv", False), ("csv", True), ("xlsx", True),
                                          ("json", True)])
def test_every_export_format_lists_the_same_rows(imported, tmp_path, fmt, to_file):
    expected = _json_pairs(export(imported))
    out = tmp_path / "out" / f"matches.{fmt}"
    result = run(imported, "export-matches", "--format", fmt, *(["--output", out] if to_file else []))
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        got = _xlsx_pairs(out)
    elif fmt == "json":
        got = _json_pairs(json.loads(out.read_text(encoding="utf-8")))
    else:
        got = _csv_pairs(out.read_text(encoding="utf-8-sig") if to_file else result.stdout)
    assert got == expected
    assert ("D-CANTEEN", "") in got


def test_top_limits_each_demand_and_keeps_the_best(imported):
    full = by_ref(export(imported))
    top1 = by_ref(export(imported, "--top", "1"))
    assert top1 == {ref: caps[:1] for ref, caps in full.items()}


def test_top_above_the_stored_number_ranks_afresh(make_app, tmp_path):
    app = make_app(MATCH_TOP_K=1)
    import_ok(app, write_json(tmp_path / "base.json", RECORDS))
    stored = by_ref(export(app, "--top", "1"))["D-PSD"]
    more = by_ref(export(app, "--top", "5"))["D-PSD"]
    assert len(stored) == 1
    assert {"C-PSD", "C-PSD-2"} <= set(more)
    assert more[0] == stored[0]


@pytest.mark.parametrize("args", [["--top", "0"], ["--format", "pdf"], ["--format", "xlsx"]])
def test_export_refuses_bad_options(imported, args):
    result = run(imported, "export-matches", *args)
    assert result.exit_code != 0
    assert "Error" in result.output


def test_records_created_in_the_board_are_exported_with_a_stable_ref(app, make):
    company, supplier = make.user("company"), make.user("supplier")
    d = make.demand(company)
    make.capability(supplier)
    first, second = export(app), export(app)
    assert [x["demand_ref"] for x in first] == [d.ref]
    assert first == second
    assert first[0]["matches"] and first[0]["matches"][0]["capability_ref"]


# -- spellings and separators --------------------------------------------------------
SEGMENT_SPELLINGS = {
    "规划设计": "design", "设计": "design", "design": "design",
    "工程建设": "construction", "建设": "construction", "Construction": "construction",
    "装备研制": "equipment", "装备": "equipment",
    "运营服务": "operation", "运营": "operation", "operation": "operation",
    "控制系统": "control", "控制": "control",
    "": None,
}
THEME_SPELLINGS = {
    "信息技术；低碳技术": ["information", "low_carbon"],
    "智能装备, information": ["information", "intelligent_equipment"],
    "low_carbon、低碳技术": ["low_carbon"],
    "": [],
}


def test_chinese_spellings_of_kind_segment_and_theme(app, tmp_path):
    rows = [
        rec("需求" if i % 2 else "能力", f"S{i}", "拼写测试机构", f"站台门 {i}", "屏蔽门",
            segment=spelling)
        for i, spelling in enumerate(SEGMENT_SPELLINGS)
    ] + [
        rec("Demand", f"T{i}", "拼写测试机构", f"信号系统 {i}", "CBTC", themes=spelling)
        for i, spelling in enumerate(THEME_SPELLINGS)
    ]
    import_ok(app, write_csv(tmp_path / "spellings.csv", rows))
    with app.app_context():
        for i, code in enumerate(SEGMENT_SPELLINGS.values()):
            model = Demand if i % 2 else Capability
            record = db.session.scalar(sa.select(model).where(model.ref == f"S{i}"))
            assert record is not None and record.segment_code == code, f"S{i}"
        for i, codes in enumerate(THEME_SPELLINGS.values()):
            d = db.session.scalar(sa.select(Demand).where(Demand.ref == f"T{i}"))
            assert d.status == DemandStatus.PUBLISHED
            assert d.theme_codes == codes, f"T{i}"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_every_keyword_separator_splits(app, tmp_path, fmt):
    raw = "站台门;屏蔽门；信号系统,CBTC，列车控制、车辆段\n接触网"
    path = WRITERS[fmt](tmp_path, [dict(PSD_DEMAND, keywords=raw)])
    import_ok(app, path)
    assert demand(app, "D-PSD").keyword_list == [
        "站台门", "屏蔽门", "信号系统", "CBTC", "列车控制", "车辆段", "接触网"
    ]


def test_json_lists_are_accepted_for_keywords_and_themes(app, tmp_path):
    row = dict(CBTC_DEMAND, keywords=["CBTC", "信号系统"], themes=["信息技术", "intelligent_equipment"])
    import_ok(app, write_json(tmp_path / "lists.json", [row]))
    with app.app_context():
        d = db.session.scalar(sa.select(Demand).where(Demand.ref == "D-CBTC"))
        assert d.keyword_list == ["CBTC", "信号系统"]
        assert d.theme_codes == ["information", "intelligent_equipment"]


def test_xlsx_number_cells_are_read_as_written(app, tmp_path):
    import_ok(app, write_xlsx(tmp_path / "numbers.xlsx", [dict(PSD_DEMAND, ref=2024001)]))
    assert [d["demand_ref"] for d in export(app)] == ["2024001"]


# -- organisations and publishing ----------------------------------------------------
def test_unknown_organisations_are_created_and_known_ones_reused(app, make, tmp_path):
    known = make.org("京城地铁运营公司")
    import_ok(app, write_json(tmp_path / "base.json", RECORDS))
    with app.app_context():
        names = set(db.session.scalars(sa.select(Organization.name)))
    assert names == {r["organization"] for r in RECORDS}
    assert demand(app, "D-PSD").organization_id == known.id
    assert demand(app, "D-CBTC").organization_id == known.id


def test_imported_demands_are_published_on_the_board(imported, client):
    d = demand(imported, "D-PSD")
    assert d.status == DemandStatus.PUBLISHED
    assert d.contact_email == "demand@example.com"
    html = client.get("/").get_data(as_text=True)
    for row in (PSD_DEMAND, CBTC_DEMAND, LONELY_DEMAND):
        assert row["title"] in html
    assert client.get(f"/demands/{d.id}").status_code == 200


# -- importing again -----------------------------------------------------------------
def record_counts(app) -> dict[str, int]:
    return {k: v for k, v in counts(app).items() if k != "Match"}


def test_reimport_updates_demands_in_place_and_refreshes_their_matches(
    imported, tmp_path, client
):
    assert by_ref(export(imported))["D-CANTEEN"] == []
    size = record_counts(imported)
    changed = {
        "D-PSD": {"title": "站台门改造（二期）"},
        # The lonely demand now asks for CBTC: it must gain that match.
        "D-CANTEEN": {"title": "CBTC 列车控制改造",
                      "description": "基于通信的列车控制（CBTC）信号系统改造。", "keywords": "CBTC"},
    }
    rows = [dict(r, **changed.get(r["ref"], {})) for r in RECORDS]

    result = import_ok(imported, write_csv(tmp_path / "again.csv", rows))

    assert "0 created, 6 updated" in result.output
    assert record_counts(imported) == size
    exported = export(imported)
    assert [d["demand_title"] for d in exported] == [
        "站台门改造（二期）", CBTC_DEMAND["title"], "CBTC 列车控制改造"
    ]
    assert "C-CBTC" in by_ref(exported)["D-CANTEEN"]
    assert "站台门改造（二期）" in client.get("/").get_data(as_text=True)


def test_reimporting_capabilities_alone_refreshes_the_demands_they_match(imported, tmp_path):
    before = by_ref(export(imported))
    assert {"C-PSD", "C-PSD-2"} <= set(before["D-PSD"])
    size = record_counts(imported)
    rows = [
        # Now about something unrelated: it must stop matching the platform-door demand.
        dict(PSD_CAP_2, title="茶叶销售", description="高山绿茶的批发与零售。", keywords="茶叶"),
        # New, and about CBTC: the CBTC demand must gain it without being imported again.
        dict(CBTC_CAP, ref="C-CBTC-2", organization="轨道信号研究所", title="CBTC 信号系统集成"),
    ]

    result = import_ok(imported, write_json(tmp_path / "caps.json", rows))

    assert "1 created, 1 updated" in result.output
    assert record_counts(imported) == dict(size, Organization=size["Organization"] + 1,
                                           Capability=size["Capability"] + 1)
    after = by_ref(export(imported))
    assert "C-PSD-2" not in after["D-PSD"]
    assert "C-PSD" in after["D-PSD"]
    assert {"C-CBTC", "C-CBTC-2"} <= set(after["D-CBTC"])


def test_reimport_republishes_a_closed_demand(imported, tmp_path):
    with imported.app_context():
        d = db.session.scalar(sa.select(Demand).where(Demand.ref == "D-PSD"))
        d.status = DemandStatus.CLOSED
        db.session.commit()
    assert "D-PSD" not in by_ref(export(imported))
    import_ok(imported, write_json(tmp_path / "again.json", [PSD_DEMAND]))
    assert demand(imported, "D-PSD").status == DemandStatus.PUBLISHED
    assert {"C-PSD", "C-PSD-2"} <= set(by_ref(export(imported))["D-PSD"])


# -- all rows or none ----------------------------------------------------------------
BAD = {
    # reason: (what to change in a good row, words the message must contain)
    "unknown segment": ({"segment": "物流"}, "unknown segment"),
    "empty title": ({"title": "  "}, "title is empty"),
    "duplicate ref": ({}, "already used by row"),  # an exact copy repeats the ref
    "bad e-mail": ({"contact_email": "not-an-email"}, "contact_email"),
    "unknown kind": ({"kind": "supplier"}, "kind must be"),
    "unknown theme": ({"themes": "信息技术；量子计算"}, "unknown theme"),
}


def _message_lines(result, number: int) -> list[str]:
    return [line for line in result.output.splitlines() if f"row {number}:" in line]


@pytest.mark.parametrize("reason", list(BAD))
def test_a_file_with_bad_rows_writes_nothing_and_names_each_bad_row(imported, tmp_path, reason):
    change, words = BAD[reason]
    good_a = dict(PSD_DEMAND, title="这个标题不应被写入")  # would update an existing record
    good_b = rec("capability", "C-NEW", "从未出现的机构", "CBTC 维护", "CBTC 信号系统维护。")

    def bad(good):
        return {**good, **({} if reason == "duplicate ref" else {"ref": good["ref"] + "-X"}),
                **change}

    # Spreadsheet rows: the header is row 1, so the bad rows are rows 3 and 5.
    path = write_csv(tmp_path / "bad.csv", [good_a, bad(good_a), good_b, bad(good_b)])
    before = counts(imported)

    result = run(imported, "import", path)

    assert result.exit_code != 0
    assert counts(imported) == before
    assert demand(imported, "D-PSD").title == PSD_DEMAND["title"]
    for number in (3, 5):
        lines = _message_lines(result, number)
        assert lines and any(words in line for line in lines), result.output
    assert not _message_lines(result, 2) and not _message_lines(result, 4)


@pytest.mark.parametrize("fmt, numbers", [("csv", (3,)), ("xlsx", (3,)), ("json", (2,))])
def test_bad_rows_are_numbered_as_in_the_file(app, tmp_path, fmt, numbers):
    rows = [PSD_DEMAND, dict(PSD_CAP, segment="物流"), CBTC_CAP]
    result = run(app, "import", WRITERS[fmt](tmp_path, rows))
    assert result.exit_code != 0
    bad = sorted({n for n in range(1, 6) if _message_lines(result, n)})
    assert tuple(bad) == numbers, result.output
    assert counts(app) == {"Organization": 0, "Demand": 0, "Capability": 0, "Match": 0}


UNREADABLE = {
    # case: (suffix, content or None for no file, words the message must contain)
    "empty csv": (".csv", b"", "empty"),
    "empty json": (".json", b"", "empty"),
    "empty xlsx": (".xlsx", b"", "empty"),
    "header only": (".csv", (",".join(COLUMNS) + "\n").encode(), "no rows"),
    "missing column": (".csv", b"kind,ref,title\ndemand,D1,x\n", "missing column"),
    "non-list json": (".json", json.dumps(PSD_DEMAND).encode(), "list of objects"),
    "broken json": (".json", b'[{"kind": "demand",', "not valid JSON"),
    "non-object item": (".json", b'["demand"]', "not an object"),
    "not UTF-8": (".csv", (",".join(COLUMNS) + "\ndemand,D1,京城地铁,站台门改造,屏蔽门\n")
                  .encode("gbk"), "UTF-8"),
    "other suffix": (".txt", b"kind,ref\n", ".csv, .xlsx or .json"),
    "missing file": (".csv", None, "no such file"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_unreadable_files_are_refused_clearly(imported, tmp_path, case):
    suffix, content, words = UNREADABLE[case]
    path = tmp_path / f"records{suffix}"  # a neutral name: the words must come from the message
    if content is not None:
        path.write_bytes(content)
    before = counts(imported)
    result = run(imported, "import", path)
    assert result.exit_code != 0
    assert "Nothing was imported" in result.output
    assert words in result.output
    assert "Traceback" not in result.output
    assert counts(imported) == before


# -- init-db (SQLite only: it runs the migrations on a database of its own) ----------
@pytest.fixture
def fresh_app(tmp_path, monkeypatch):
    """An app on an empty SQLite file chosen through DATABASE_URL, with no tables yet."""
    path = tmp_path / "fresh.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    app = create_app(dict(BASE_CONFIG, BOARD_DEMO=False))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{path}"
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def table_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (Event, Organization, Demand, Capability, Segment)
        }


def test_init_db_no_seed_creates_the_schema_without_event_data(fresh_app, tmp_path):
    result = run(fresh_app, "init-db", "--no-seed")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fresh.sqlite3").exists()
    assert table_counts(fresh_app) == {
        "Event": 0, "Organization": 0, "Demand": 0, "Capability": 0, "Segment": 5
    }
    # The schema is complete: records can be imported into it.
    import_ok(fresh_app, write_json(tmp_path / "base.json", RECORDS))
    assert {"C-PSD", "C-PSD-2"} <= set(by_ref(export(fresh_app))["D-PSD"])


def test_init_db_seeds_by_default_once(fresh_app):
    assert run(fresh_app, "init-db", "--no-seed").exit_code == 0

    result = run(fresh_app, "init-db")
    assert result.exit_code == 0, result.output
    seeded = table_counts(fresh_app)
    assert seeded["Event"] == 1 and seeded["Demand"] > 0 and seeded["Capability"] > 0
    assert export(fresh_app)  # the seeded demands are published

    again = run(fresh_app, "init-db")
    assert again.exit_code == 0, again.output
    assert table_counts(fresh_app) == seeded
