"""Import from the browser: the preview lists what would be created and updated and every bad
row with its number, writing nothing; confirming writes exactly the preview, once."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import AuditEntry, Capability, Demand, Organization, Role
from board.services import import_preview
from tests.test_import_export import (
    CBTC_CAP,
    CBTC_DEMAND,
    PSD_CAP,
    PSD_DEMAND,
    WRITERS,
    counts,
    import_ok,
    rec,
    write_csv,
    write_json,
)


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(UPLOAD_DIR=str(tmp_path / "uploads"))


@pytest.fixture
def staff(app, make, login):
    return login(app.test_client(), make.user(Role.STAFF))


def staged(app) -> list[str]:
    folder = tmp_path_of(app)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def tmp_path_of(app):
    from pathlib import Path

    return Path(app.config["UPLOAD_DIR"]) / "imports"


def upload(client, path, name=None):
    with open(path, "rb") as fh:
        return client.post("/admin/import", data={"file": (fh, name or path.name)},
                           content_type="multipart/form-data")


def confirm_data(html: str) -> dict:
    return {name: unescape(re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1))
            for name in ("token", "digest", "plan", "name")}


def refs(app) -> dict[str, set[str]]:
    with app.app_context():
        return {"demand": set(db.session.scalars(sa.select(Demand.ref))),
                "capability": set(db.session.scalars(sa.select(Capability.ref)))}


def bad_row_numbers(html: str) -> list[int]:
    section = html.split("<h2>", 2)[1]
    return [int(n) for n in re.findall(r'<td data-label="[^"]+">(\d+)</td>', section)]


@pytest.mark.parametrize("fmt", ["csv", "csv with BOM", "xlsx", "json"])
def test_preview_then_confirm_writes_exactly_the_preview(app, staff, tmp_path, fmt):
    import_ok(app, write_json(tmp_path / "base.json", [PSD_DEMAND, PSD_CAP]))
    before = counts(app)
    rows = [dict(PSD_DEMAND, title="站台门改造（二期）"), PSD_CAP, CBTC_DEMAND,
            dict(CBTC_CAP, organization="全新信号公司")]
    (tmp_path / "in").mkdir()
    path = WRITERS[fmt](tmp_path / "in", rows)

    resp = upload(staff, path)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "导入预览" in html and path.name in html
    assert re.search(r"<strong>2</strong> 条将新建", html) and re.search(r"<strong>2</strong> 条将更新", html)
    assert re.search(r"<strong>1</strong> 个新机构: 全新信号公司", html)  # the new organisation
    assert "导入 4 行" in html
    # Nothing is written before the confirmation; the upload waits under a generated name.
    assert counts(app) == before
    assert len(staged(app)) == 1 and staged(app)[0] != path.name

    resp = staff.post("/admin/import/confirm", data=confirm_data(html))
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/import"
    assert "新建 2 条，更新 2 条" in staff.get("/admin/import").get_data(as_text=True)
    assert refs(app) == {"demand": {"D-PSD", "D-CBTC"}, "capability": {"C-PSD", "C-CBTC"}}
    with app.app_context():
        d = db.session.scalar(sa.select(Demand).where(Demand.ref == "D-PSD"))
        assert d.title == "站台门改造（二期）"
        assert db.session.scalar(sa.select(Organization).where(Organization.name == "全新信号公司"))
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "import"))
        assert entry.after["created"] == 2 and entry.after["updated"] == 2 and entry.after["rows"] == 4
        assert entry.after["file"] == path.name
    assert staged(app) == []  # the upload is deleted once imported


def test_every_bad_row_is_listed_with_its_number_and_nothing_is_written(app, staff, tmp_path):
    import_ok(app, write_json(tmp_path / "base.json", [PSD_DEMAND]))
    before = counts(app)
    rows = [dict(PSD_DEMAND, title="不应写入"), dict(PSD_CAP, segment="<b>物流</b>"), CBTC_CAP,
            dict(CBTC_DEMAND, contact_email="not-an-email", themes="量子计算")]
    resp = upload(staff, write_csv(tmp_path / "bad.csv", rows))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert bad_row_numbers(html) == [3, 5, 5]  # spreadsheet rows: the header is row 1
    assert "未知的产业链环节 &#39;&lt;b&gt;物流&lt;/b&gt;&#39;" in html and "<b>" not in html
    assert "未知的技术方向" in html
    assert "contact_email" in html and "不是电子邮件地址" in html
    assert "/admin/import/confirm" not in html  # nothing to confirm
    assert counts(app) == before and staged(app) == []

    staff.post("/lang", data={"lang": "en", "next": "/"})
    html = upload(staff, write_csv(tmp_path / "bad.csv", rows)).get_data(as_text=True)
    assert "unknown segment &#39;&lt;b&gt;物流&lt;/b&gt;&#39;" in html and "Bad rows" in html


@pytest.mark.parametrize("name, content, words", [
    ("records.txt", b"kind,ref\n", "请选择 .csv、.xlsx 或 .json 文件"),
    ("records.csv", b"", "文件是空的"),
    ("records.csv", b"kind,ref,title\ndemand,D1,x\n", "缺少列：organization, description"),
    ("records.json", b'{"kind": "demand"}', "JSON 必须是对象列表"),
    ("records.xlsx", b"not a workbook", "无法读取的 .xlsx 工作簿"),
    ("records.csv", "kind,ref\n需求,甲".encode("gbk"), "不是 UTF-8 文本"),
])
def test_unreadable_files_are_refused_at_the_field(app, staff, tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    resp = upload(staff, path)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert words in html and 'aria-invalid="true"' in html
    assert counts(app) == {"Organization": 0, "Demand": 0, "Capability": 0, "Match": 0}
    assert staged(app) == []


def test_no_file_is_refused_at_the_field(app, staff):
    resp = staff.post("/admin/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "此项为必填" in resp.get_data(as_text=True)


def test_the_browser_import_is_bounded(app, staff, tmp_path, monkeypatch):
    monkeypatch.setattr(import_preview, "MAX_ROWS", 3)
    rows = [rec("demand", f"D{i}", "甲公司", f"站台门 {i}", "屏蔽门") for i in range(4)]
    resp = upload(staff, write_csv(tmp_path / "big.csv", rows))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "文件有 4 行；这里最多导入 3 行" in html and "flask --app board import" in html
    assert counts(app)["Demand"] == 0 and staged(app) == []


def test_confirming_twice_imports_once(app, staff, tmp_path):
    html = upload(staff, write_json(tmp_path / "a.json", [PSD_DEMAND, PSD_CAP])).get_data(as_text=True)
    data = confirm_data(html)
    assert staff.post("/admin/import/confirm", data=data).status_code == 302
    after = counts(app)
    second = staff.post("/admin/import/confirm", data=data)
    assert second.status_code == 422 and "上传的文件已不在" in second.get_data(as_text=True)
    assert counts(app) == after
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "import")) == 1


def test_a_changed_or_missing_upload_is_refused_clearly(app, staff, tmp_path):
    html = upload(staff, write_json(tmp_path / "a.json", [PSD_DEMAND])).get_data(as_text=True)
    data = confirm_data(html)
    stored = tmp_path_of(app) / data["token"]
    stored.write_text('[{"kind": "demand", "ref": "EVIL", "organization": "x", "title": "x", '
                      '"description": "x"}]', encoding="utf-8")
    resp = staff.post("/admin/import/confirm", data=data)
    assert resp.status_code == 422 and "预览之后上传的文件发生了变化" in resp.get_data(as_text=True)
    assert counts(app)["Demand"] == 0 and staged(app) == []

    html = upload(staff, write_json(tmp_path / "b.json", [PSD_DEMAND])).get_data(as_text=True)
    data = confirm_data(html)
    (tmp_path_of(app) / data["token"]).unlink()
    resp = staff.post("/admin/import/confirm", data=data)
    assert resp.status_code == 422 and "上传的文件已不在" in resp.get_data(as_text=True)

    for token in ("../../secret.csv", "", "x" * 32 + ".exe"):
        resp = staff.post("/admin/import/confirm", data=dict(data, token=token))
        assert resp.status_code == 422 and "此预览已失效" in resp.get_data(as_text=True)
    assert counts(app)["Demand"] == 0


def test_the_board_changing_after_the_preview_asks_for_a_new_one(app, staff, tmp_path):
    html = upload(staff, write_json(tmp_path / "a.json", [PSD_DEMAND])).get_data(as_text=True)
    data = confirm_data(html)
    assert "<strong>1</strong> 条将新建" in html
    import_ok(app, write_json(tmp_path / "other.json", [dict(PSD_DEMAND, title="别处导入")]))
    resp = staff.post("/admin/import/confirm", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "预览之后看板数据有变化" in html and "<strong>1</strong> 条将更新" in html
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.title).where(Demand.ref == "D-PSD")) == "别处导入"
    # The new preview can be confirmed.
    assert staff.post("/admin/import/confirm", data=confirm_data(html)).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.title).where(Demand.ref == "D-PSD")) == PSD_DEMAND["title"]


def test_the_command_line_keeps_its_messages(app, tmp_path):
    """The shared reading and checking still speak English on the command line."""
    result = app.test_cli_runner().invoke(args=["import", str(write_csv(
        tmp_path / "bad.csv", [PSD_DEMAND, dict(PSD_CAP, segment="物流")]))])
    assert result.exit_code == 1
    assert "  row 3: unknown segment '物流'" in result.output


def test_only_staff_import(app, make, login, tmp_path):
    c = login(app.test_client(), make.user(Role.COMPANY))
    assert c.get("/admin/import").status_code == 403
    assert upload(c, write_json(tmp_path / "a.json", [PSD_DEMAND])).status_code == 403
    assert counts(app)["Demand"] == 0
