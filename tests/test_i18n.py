"""Chinese by default, English on request, remembered; dates and numbers per language."""

import os
import re

import sqlalchemy as sa
from babel.messages.pofile import read_po
from flask_babel import force_locale, ngettext

from board import i18n
from board.config import PROJECT_ROOT
from board.extensions import db
from board.models import Demand, Organization, Role, User
from board.services import seeding
from tests.factories import Factory, board_today


def test_chinese_by_default(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "需求看板" in html


def test_browser_language_is_followed(client):
    html = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Demand board" in html
    html = client.get("/", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert "需求看板" in html  # unsupported language: Chinese


def test_switch_is_remembered_over_the_browser_language(client):
    resp = client.post("/lang", data={"lang": "en", "next": "/event"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/event"
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Demand board" in html
    client.post("/lang", data={"lang": "zh", "next": "/"})
    assert "需求看板" in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_switch_ignores_a_foreign_next(client):
    resp = client.post("/lang", data={"lang": "en", "next": "https://evil.example/"})
    assert resp.headers["Location"] == "/"


def test_signed_in_choice_follows_the_user(app, make, login):
    user = make.user(Role.COMPANY)
    c = login(app.test_client(), user)
    c.post("/lang", data={"lang": "en", "next": "/"})
    other_browser = login(app.test_client(), user)
    assert "My demands" in other_browser.get("/company/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).locale == "en"


def test_demo_account_keeps_the_language_per_browser(make_app, login):
    """Demo accounts are shared: one visitor's switch stays in that browser's cookie."""
    app = make_app(BOARD_DEMO=True)
    demo = Factory(app).user(Role.COMPANY, is_demo=True)
    first = login(app.test_client(), demo)
    first.post("/lang", data={"lang": "en", "next": "/"})
    assert "My demands" in first.get("/company/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, demo.id).locale is None
    second = login(app.test_client(), demo)
    assert "我的需求" in second.get("/company/").get_data(as_text=True)
    # A language stored on a demo account earlier is not followed either.
    with app.app_context():
        db.session.get(User, demo.id).locale = "en"
        db.session.commit()
    third = login(app.test_client(), demo)
    assert "我的需求" in third.get("/company/").get_data(as_text=True)


def test_error_pages_in_both_languages(client):
    zh = client.get("/no/such/page")
    assert zh.status_code == 404 and "未找到该页面" in zh.get_data(as_text=True)
    en = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert "could not find this page" in en.get_data(as_text=True)


def test_dates_follow_the_language(app, make):
    user = make.user(Role.COMPANY)
    d = make.demand(user)
    zh = app.test_client().get(f"/demands/{d.id}").get_data(as_text=True)
    en = app.test_client().get(f"/demands/{d.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    year = board_today().year
    assert f"{year}年" in zh
    assert f", {year}" in en


def test_every_message_has_a_chinese_translation():
    path = PROJECT_ROOT / "board" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []


def test_catalog_covers_every_string_in_the_code():
    """Strings marked for translation in templates and code are all in the catalog."""
    from babel.messages.extract import extract_from_dir

    path = PROJECT_ROOT / "board" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as fh:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    method_map = [("board/**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(PROJECT_ROOT),
        method_map,
        keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)},
        # Unlike the default, look inside templates/_macros and templates/_partials.
        directory_filter=lambda d: not os.path.basename(d).startswith(".") and ".venv" not in d,
    ):
        found.add(message if isinstance(message, str) else message[0])
    assert sorted(found - known) == []


def test_counts_use_plural_forms_in_both_languages(app, make, login):
    company = make.user(Role.COMPANY)
    suppliers = [make.user(Role.SUPPLIER), make.user(Role.SUPPLIER)]
    one = make.demand(company, title="站台门改造")
    two = make.demand(company, title="站台门维保")
    make.reply(suppliers[0], one)
    for s in suppliers:
        make.reply(s, two)
    c = login(app.test_client(), company)
    zh = c.get("/company/").get_data(as_text=True)
    assert "1 条回复" in zh and "2 条回复" in zh
    en = c.get("/company/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(r"\b1 reply\b", en) and "2 replies" in en and "1 replies" not in en

    staff = login(app.test_client(), make.user(Role.STAFF))
    en = staff.get(f"/admin/organizations/{company.organization_id}",
                   headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2 demands" in en and "0 capabilities" in en
    en = staff.get(f"/admin/organizations/{suppliers[0].organization_id}",
                   headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(r"\b0 demands\b", en)


def test_catalog_has_one_chinese_form_for_counts(app):
    """Chinese has a single plural form; English has two."""
    singular, plural = "%(n)s published demand", "%(n)s published demands"
    with app.test_request_context():
        with force_locale("en"):
            assert ngettext(singular, plural, 1, n=1) == "1 published demand"
            assert ngettext(singular, plural, 2, n=2) == "2 published demands"
        with force_locale("zh"):
            assert ngettext(singular, plural, 1, n=1) == "已发布需求 1 项"
            assert ngettext(singular, plural, 2, n=2) == "已发布需求 2 项"


def test_lists_are_joined_per_language(app, make, login):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert str(i18n.join_list(["A", "B<b>", None])) == "A, B&lt;b&gt;"
    with app.test_request_context():
        assert str(i18n.join_list(["站台门", "屏蔽门"])) == "站台门、屏蔽门"
        assert str(i18n.join_list([])) == ""
    staff = login(app.test_client(), make.user(Role.STAFF))
    zh = staff.get("/admin/lexicon?q=站台门").get_data(as_text=True)
    assert "站台门、屏蔽门" in zh
    en = staff.get("/admin/lexicon?q=站台门", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "站台门, 屏蔽门" in en and "platform screen door, platform edge door" in en


def test_templates_join_lists_through_one_filter():
    """A separator written into a template would be wrong in one of the two languages."""
    found = []
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\|\s*join\(\s*['\"]", line) or re.search(r"loop\.last\s*%}\s*[、,，]", line):
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{n}")
    assert found == []


def test_provenance_is_shown_in_the_page_language(app, make, login):
    with app.app_context():
        seeding.load_event()
        db.session.commit()
        demand_id = db.session.scalar(sa.select(Demand.id).where(Demand.ref == "EVT2023-D-CONTROL"))
        reported_id = db.session.scalar(
            sa.select(Demand.id).where(Demand.ref == "EVT2023-D-OPERATION"))
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.name == "示例供给方甲"))
    staff = login(app.test_client(), make.user(Role.STAFF))
    en = {"Accept-Language": "en"}

    zh = staff.get(f"/admin/demands/{demand_id}").get_data(as_text=True)
    assert "示例：为本看板编写，对应活动中提到的“控制系统”环节，并非任何企业的原话" in zh
    assert "illustrative:" not in zh and "written for this board" not in zh
    page = staff.get(f"/admin/demands/{demand_id}", headers=en).get_data(as_text=True)
    assert ("Illustrative: written for this board for the Control systems link named at the event; "
            "not any firm&#39;s words") in page

    zh = staff.get(f"/admin/demands/{reported_id}").get_data(as_text=True)
    assert "活动报道：该企业总经理在发布活动上介绍了这一计划" in zh and "event article" not in zh
    page = staff.get(f"/admin/demands/{reported_id}", headers=en).get_data(as_text=True)
    assert "Event report: the firm&#39;s general manager described this plan at the release" in page

    zh = staff.get(f"/admin/organizations/{org_id}").get_data(as_text=True)
    assert "来源: 示例<" in zh or "来源：示例<" in zh
    assert "illustrative" not in zh.lower().replace("is_illustrative", "")


def test_unknown_provenance_is_shown_as_written(app):
    with app.test_request_context():
        assert i18n.provenance_label("imported from partners.xlsx") == "imported from partners.xlsx"
        assert i18n.provenance_label("event article: a note of ours") == "活动报道：a note of ours"
        assert i18n.provenance_label(None) == ""
