"""Exports: every kind in Excel and CSV, headers in Chinese and English, one row per record,
no cell a spreadsheet could run as a formula; the ``export`` command and its errors; the
staff console's downloads (dated attachments, the user's language, filters, the audit log)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from board.extensions import db
from board.models import (
    AuditEntry,
    Capability,
    Demand,
    DemandStatus,
    Match,
    Organization,
    Outcome,
    OutcomeKind,
    Reply,
    Role,
    Round,
)
from board.services import audit, tables
from tests.factories import board_today

#: Text a spreadsheet would run as a formula if it were written as it is.
RISKY = ["=1+1", "+cmd", "-2", "@SUM(A1)", "\t=x"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: The industry map, gap and strengths kinds read board/services/industry_map.py (another
#: part of the console); without it they are expected to fail.
NO_MAP = pytest.mark.xfail(not tables.MAP.available(), strict=True,
                           reason="board/services/industry_map.py is not there yet")
KINDS = [pytest.param(k, marks=NO_MAP) if tables.TABLES[k].needs else k for k in tables.TABLES]


def run(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


@pytest.fixture
def board(app, make):
    """Demands in each state staff see (and a draft they do not), a capability that matches,
    a reply, an outcome, a round, audit entries, and user text that looks like formulas."""
    staff = make.user(Role.STAFF)
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    published = make.demand(company)
    make.demand(company, status="submitted", title="站台门信号联动", description="站台门与信号系统联动。")
    make.demand(company, status="draft", title="草稿不会导出")
    # Nothing registered meets this one: it is on the gap list.
    make.demand(company, title="园区职工食堂餐饮外包", description="为园区职工食堂寻找餐饮承包商。",
                keywords="餐饮", segment="")
    cap = make.capability(supplier)
    reply = make.reply(supplier, published)
    with app.app_context():
        r = Round(name="2024 年第一轮", name_en="2024 first round", opens_on=dt.date(2024, 1, 1))
        db.session.add(r)
        db.session.flush()
        d = db.session.get(Demand, published.id)
        d.round_id = r.id
        d.title, d.description, d.contact_name = RISKY[0], RISKY[1], RISKY[2]
        c = db.session.get(Capability, cap.id)
        c.title, c.description = RISKY[3], RISKY[4]
        db.session.get(Reply, reply.id).fit = "=HYPERLINK(\"http://x\")"
        db.session.add(Outcome(kind=OutcomeKind.AGREEMENT, demand_id=d.id, occurred_on=dt.date(2024, 3, 1),
                               organization_a_id=company.organization_id,
                               organization_b_id=supplier.organization_id, value_wan=12.5, note="@note"))
        audit.record(db.session.get(type(staff), staff.id), "demand.publish", d,
                     before={"status": "submitted"}, after={"status": "=cmd|' /C calc'!A0"})
        db.session.commit()
        round_id = r.id
    return {"staff": staff, "company": company, "supplier": supplier, "demand": published,
            "round_id": round_id}


def expected_rows(app, kind: str, round_id: int | None = None) -> int:
    """How many records a kind holds, counted independently of the export."""
    with app.app_context():
        count = lambda q: db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))  # noqa: E731
        not_draft = Demand.status != DemandStatus.DRAFT
        if kind == "demands":
            q = sa.select(Demand.id).where(not_draft)
            return count(q.where(Demand.round_id == round_id) if round_id else q)
        if kind == "capabilities":
            return count(sa.select(Capability.id))
        if kind == "matches":
            q = sa.select(Match.id).join(Demand, Demand.id == Match.demand_id).where(not_draft)
            return count(q.where(Demand.round_id == round_id) if round_id else q)
        if kind == "replies":
            return count(sa.select(Reply.id))
        if kind == "outcomes":
            return count(sa.select(Outcome.id))
        if kind in ("map", "gaps", "strengths"):
            from board.services import industry_map
        if kind == "map":
            return len(industry_map.map_rows(round_id=round_id))
        if kind == "gaps":
            return len(industry_map.gap_rows(round_id=round_id))
        if kind == "strengths":
            return len(industry_map.strength_rows(limit=10**6, round_id=round_id))
        if kind == "audit":
            return count(sa.select(AuditEntry.id))
        if kind == "organizations":
            return count(sa.select(Organization.id).where(Organization.merged_into_id.is_(None)))
    raise AssertionError(kind)


def read_xlsx(data) -> tuple[list, list[list]]:
    """Header and rows of the first sheet, as cells (for their data type)."""
    wb = load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data)
    header, *rows = list(wb.worksheets[0].iter_rows())
    return header, rows


def read_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV without a BOM: Excel would garble the Chinese"
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return header, rows


def assert_no_formula(header, rows) -> None:
    for cell in [*header, *(c for row in rows for c in row)]:
        assert cell.data_type != "f", f"formula cell {cell.coordinate}: {cell.value!r}"


# -- every kind, both formats, both languages ------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_a_header_row_and_one_row_per_record(app, board, tmp_path, kind, fmt, lang):
    out = tmp_path / f"{kind}.{fmt}"
    result = run(app, "export", kind, "--format", fmt, "--lang", lang, "--output", out)
    assert result.exit_code == 0, result.output
    want = tables.TABLES[kind].header(lang)
    if fmt == "xlsx":
        header, rows = read_xlsx(out)
        assert [c.value for c in header] == want
        assert_no_formula(header, rows)
        values = [c.value for row in rows for c in row]
    else:
        header, rows = read_csv(out.read_bytes())
        assert header == want
        values = [v for row in rows for v in row]
        assert not [v for v in values if v.startswith(TRIGGERS)], "a CSV cell starts like a formula"
    assert len(rows) == expected_rows(app, kind) > 0
    assert f"Wrote {len(rows)} rows" in result.output
    if kind in ("demands", "capabilities", "replies"):
        # Interface words in the file's language only (user text aside).
        labels = " ".join(str(v) for v in values if v is not None)
        assert ("已发布" in labels) == (lang == "zh" and kind == "demands")


def test_headers_differ_by_language_for_every_kind():
    for table in tables.TABLES.values():
        zh, en = table.header("zh"), table.header("en")
        assert len(zh) == len(en) == len(table.columns) and zh != en
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in zh), table.kind
        assert all(h.isascii() for h in en), table.kind


def test_user_text_that_looks_like_a_formula_stays_text(app, board, tmp_path):
    seen_xlsx, seen_csv = [], []
    for kind in ("demands", "capabilities", "replies", "outcomes", "audit"):
        xlsx, csv_path = tmp_path / f"{kind}.xlsx", tmp_path / f"{kind}.csv"
        assert run(app, "export", kind, "--output", xlsx).exit_code == 0
        assert run(app, "export", kind, "--format", "csv", "--output", csv_path).exit_code == 0
        header, rows = read_xlsx(xlsx)
        assert_no_formula(header, rows)
        for row in rows:
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(TRIGGERS):
                    assert cell.data_type == "s" and cell.quotePrefix, cell.value
                    seen_xlsx.append(cell.value)
        seen_csv += [v for row in read_csv(csv_path.read_bytes())[1] for v in row]
    # Excel shows the text as written; the CSV carries a leading quote.
    for text in RISKY + ["@note", '=HYPERLINK("http://x")']:
        assert text in seen_xlsx, text
        assert "'" + text in seen_csv, text


def test_round_filter_narrows_the_kinds_that_have_rounds(app, board, tmp_path):
    out = tmp_path / "round.csv"
    result = run(app, "export", "demands", "--format", "csv", "--round", board["round_id"], "--output", out)
    assert result.exit_code == 0, result.output
    header, rows = read_csv(out.read_bytes())
    assert len(rows) == expected_rows(app, "demands", board["round_id"]) == 1
    assert rows[0][header.index("编号")] == board["demand"].ref
    assert rows[0][header.index("征集轮次")] == "2024 年第一轮"
    out_en = tmp_path / "round-en.csv"
    run(app, "export", "demands", "--format", "csv", "--round", board["round_id"], "--lang", "en",
        "--output", out_en)
    header, rows = read_csv(out_en.read_bytes())
    assert rows[0][header.index("Round")] == "2024 first round"
    assert rows[0][header.index("Status")] == "Published"


@pytest.mark.parametrize("args, code, words", [
    (["export", "nonsense", "--output", "x.xlsx"], 2, "Invalid value for KIND: choose one of: demands"),
    (["export", "demands"], 2, "Missing option '--output'"),
    (["export", "demands", "--format", "pdf", "--output", "x.pdf"], 2, "'--format'"),
    (["export", "demands", "--lang", "fr", "--output", "x.xlsx"], 2, "'--lang'"),
    (["export", "demands", "--round", "0", "--output", "x.xlsx"], 2, "'--round'"),
    (["export", "demands", "--round", "999", "--output", "x.xlsx"], 1, "No collection round with id 999"),
    (["export", "capabilities", "--round", "1", "--output", "x.xlsx"], 2, "not filtered by round"),
])
def test_export_command_refuses_clearly(app, tmp_path, args, code, words):
    out = tmp_path / "out"
    args = [str(out / a) if a.startswith("x.") else a for a in args]
    with app.app_context():
        db.session.add(Round(name="一", opens_on=dt.date(2024, 1, 1)))
        db.session.commit()
    result = run(app, *args)
    assert result.exit_code == code, result.output
    assert words in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_an_empty_board_exports_a_header_row_alone(app, tmp_path):
    out = tmp_path / "empty.xlsx"
    assert run(app, "export", "replies", "--output", out).exit_code == 0
    header, rows = read_xlsx(out)
    assert [c.value for c in header] == tables.REPLIES.header("zh") and rows == []


def test_export_matches_is_neutralised_in_csv_and_xlsx_and_json_is_unchanged(app, make, tmp_path):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    make.demand(company)
    cap = make.capability(supplier)
    with app.app_context():
        db.session.get(Capability, cap.id).title = "=1+1"
        db.session.get(Organization, supplier.organization_id).name = "@SUM(A1) 公司"
        db.session.commit()
    text = run(app, "export-matches", "--format", "csv").stdout
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["title"] == "'=1+1" and row["organization"] == "'@SUM(A1) 公司"
    out = tmp_path / "m.xlsx"
    assert run(app, "export-matches", "--format", "xlsx", "--output", out).exit_code == 0
    header, rows = read_xlsx(out)
    assert_no_formula(header, rows)
    assert "=1+1" in [c.value for row in rows for c in row]
    data = json.loads(run(app, "export-matches").stdout)
    assert data[0]["matches"][0]["title"] == "=1+1"
    out_csv = tmp_path / "m.csv"
    run(app, "export-matches", "--format", "csv", "--output", out_csv)
    assert "'=1+1" in out_csv.read_text(encoding="utf-8-sig")


# -- the staff console -----------------------------------------------------------------------
def test_exports_page_lists_every_kind_with_its_formats(app, board, login):
    staff = login(app.test_client(), board["staff"])
    html = staff.get("/admin/exports").get_data(as_text=True)
    for table in tables.TABLES.values():
        assert table.title("zh") in html
        for fmt in ("xlsx", "csv"):
            assert (f"kind={table.kind}&amp;format={fmt}" in html) == table.available()
    html = staff.get(f"/admin/exports?round={board['round_id']}").get_data(as_text=True)
    assert f"kind=demands&amp;format=xlsx&amp;round={board['round_id']}" in html
    assert "kind=capabilities&amp;format=xlsx&amp;round" not in html  # capabilities have no round
    assert staff.get("/admin/exports?round=999").status_code == 422


def test_download_is_a_dated_attachment_in_the_users_language_and_is_audited(app, board, login):
    staff = login(app.test_client(), board["staff"])
    today = board_today().strftime("%Y%m%d")
    resp = staff.get("/admin/exports/download?kind=demands&format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="demands-{today}.csv"'
    header, rows = read_csv(resp.data)
    assert header == tables.DEMANDS.header("zh") and len(rows) == expected_rows(app, "demands")

    staff.post("/lang", data={"lang": "en", "next": "/"})
    resp = staff.get(f"/admin/exports/download?kind=demands&format=xlsx&round={board['round_id']}")
    assert resp.status_code == 200
    assert f"demands-round{board['round_id']}-{today}.xlsx" in resp.headers["Content-Disposition"]
    assert resp.headers["Content-Disposition"].startswith("attachment")
    header, rows = read_xlsx(resp.data)
    assert [c.value for c in header] == tables.DEMANDS.header("en") and len(rows) == 1
    assert_no_formula(header, rows)

    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export")
                                     .order_by(AuditEntry.id)).all()
        assert [(e.actor_email, e.after["kind"], e.after["format"], e.after["filters"]) for e in entries] == [
            (board["staff"].email, "demands", "csv", {}),
            (board["staff"].email, "demands", "xlsx", {"round_id": board["round_id"]}),
        ]


@pytest.mark.parametrize("query, status", [
    ("kind=nonsense&format=csv", 404),
    ("kind=demands&format=pdf", 404),
    ("kind=demands&format=csv&round=999", 422),
    ("kind=demands&format=csv&round=abc", 422),
    ("kind=demands&format=csv&status=nonsense", 422),
    ("kind=audit&format=csv&from=yesterday", 422),
    ("kind=organizations&format=csv&tag=nonsense", 422),
])
def test_bad_download_requests_are_refused_without_writing(app, board, login, query, status):
    staff = login(app.test_client(), board["staff"])
    assert staff.get(f"/admin/exports/download?{query}").status_code == status
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "export")) == 0


def test_only_staff_download(app, board, login):
    for user in (board["company"], board["supplier"]):
        c = login(app.test_client(), user)
        assert c.get("/admin/exports/download?kind=demands&format=csv").status_code == 403
    assert app.test_client().get("/admin/exports/download?kind=demands&format=csv").status_code == 302


def test_filters_of_a_list_carry_into_its_export(app, board, login):
    staff = login(app.test_client(), board["staff"])
    html = staff.get("/admin/audit?action=demand.publish&from=2000-01-01").get_data(as_text=True)
    assert "kind=audit&amp;format=xlsx&amp;action=demand.publish&amp;from=2000-01-01" in html
    resp = staff.get("/admin/exports/download?kind=audit&format=csv&action=demand.publish")
    _, rows = read_csv(resp.data)
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "demand.publish"))
    assert len(rows) == n > 0 and {r[2] for r in rows} == {"demand.publish"}
    resp = staff.get("/admin/exports/download?kind=demands&format=csv&status=submitted")
    _, rows = read_csv(resp.data)
    assert len(rows) == 1


@NO_MAP
def test_the_map_gap_strengths_and_outcomes_pages_link_to_their_exports(app, board, login):
    """Each list links to its own Excel and CSV export with the filters it shows."""
    staff = login(app.test_client(), board["staff"])
    rid = board["round_id"]
    pages = {
        f"/admin/gaps?round={rid}&segment=equipment&theme=information":
            f"kind=gaps&amp;format=%s&amp;round={rid}&amp;segment=equipment&amp;theme=information",
        f"/admin/strengths?round={rid}&segment=equipment":
            f"kind=strengths&amp;format=%s&amp;round={rid}&amp;segment=equipment",
        f"/admin/map?round={rid}": f"kind=map&amp;format=%s&amp;round={rid}",
        f"/admin/outcomes?kind=agreement&round={rid}":
            f"kind=outcomes&amp;format=%s&amp;round={rid}&amp;status=agreement",
        "/admin/gaps": "kind=gaps&amp;format=%s\"",
    }
    for url, link in pages.items():
        html = staff.get(url).get_data(as_text=True)
        for fmt in ("xlsx", "csv"):
            assert link % fmt in html, (url, fmt)
    # The outcomes link downloads the agreements of that round.
    resp = staff.get(f"/admin/exports/download?kind=outcomes&format=csv&round={rid}&status=agreement")
    _, rows = read_csv(resp.data)
    assert len(rows) == 1


def test_the_review_queue_links_to_its_export_and_the_band_filter_narrows_it(app, make, login):
    staff = login(app.test_client(), make.user(Role.STAFF))
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    strong = make.capability(supplier)
    weak = make.capability(make.user(Role.SUPPLIER), title="Platform doors: spare parts",
                           description="Spare parts for platform screen doors.")
    with app.app_context():
        rows = {m.capability_id: m for m in db.session.scalars(sa.select(Match).where(Match.demand_id == d.id))}
        assert {strong.id, weak.id} <= rows.keys()
        rows[strong.id].score, rows[weak.id].score = 82.0, 18.0
        db.session.commit()

    # The queue's filters, its default band (strong and possible) included, carry into its export.
    html = staff.get("/admin/matches").get_data(as_text=True)
    assert "kind=matches&amp;format=xlsx&amp;status=suggested&amp;band=reviewable&amp;stage=open" in html
    html = staff.get("/admin/matches?segment=equipment&band=weak&status=&stage=published").get_data(as_text=True)
    assert "kind=matches&amp;format=csv&amp;segment=equipment&amp;band=weak&amp;stage=published\"" in html
    html = staff.get("/admin/matches?band=all").get_data(as_text=True)
    assert re.search(r'href="[^"]*kind=matches&amp;format=xlsx&amp;status=suggested&amp;stage=open"', html)

    def titles(query):
        resp = staff.get(f"/admin/exports/download?kind=matches&format=csv{query}")
        assert resp.status_code == 200
        header, body = read_csv(resp.data)
        return {r[header.index("能力标题")]: r[header.index("匹配档次")] for r in body}

    assert titles("&band=reviewable") == {strong.title: "强匹配"}
    assert titles("&band=weak") == {weak.title: "弱匹配"}
    assert titles("") == {strong.title: "强匹配", weak.title: "弱匹配"}
    assert staff.get("/admin/exports/download?kind=matches&format=csv&band=nonsense").status_code == 422
    # Like the queue, the export leaves out closed demands when asked for open ones.
    with app.app_context():
        db.session.get(Demand, d.id).status = DemandStatus.CLOSED
        db.session.commit()
    assert titles("&stage=open") == {}
    assert titles("&stage=submitted") == {}
    assert titles("") == {strong.title: "强匹配", weak.title: "弱匹配"}
    assert staff.get("/admin/exports/download?kind=matches&format=csv&stage=closed").status_code == 422
