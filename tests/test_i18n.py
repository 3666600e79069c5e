"""Chinese by default, English on request, remembered; dates and numbers per language."""

import datetime as dt
import os

from babel.messages.pofile import read_po

from board.config import PROJECT_ROOT
from board.models import Role


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
    year = dt.date.today().year
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
        keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None},
        # Unlike the default, look inside templates/_macros and templates/_partials.
        directory_filter=lambda d: not os.path.basename(d).startswith(".") and ".venv" not in d,
    ):
        found.add(message if isinstance(message, str) else message[0])
    assert sorted(found - known) == []
