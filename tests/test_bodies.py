"""Request bodies and query strings are bounded and parsed safely: deep, large or broken
JSON, too many form fields, a broken multipart body and an overlong query string each get a
4xx in the user's language, never a 500."""

from __future__ import annotations

import pytest

from board.bodies import json_depth
from board.models import Role


@pytest.fixture
def member(app, make, login):
    return login(app.test_client(), make.user(Role.COMPANY))


def test_depth_is_counted_outside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'"\\"[[["') == 0
    assert json_depth(b"[" * 50 + b"]" * 50) == 50


@pytest.mark.parametrize("body", [b"[" * 30_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000])
def test_deeply_nested_json_is_a_400_in_the_users_language(member, body):
    resp = member.post("/api/suggest", data=body, content_type="application/json",
                       headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 400 and resp.is_json
    assert resp.json["error"] == "请求的嵌套层级过深，无法读取。"
    en = member.post("/api/suggest", data=body, content_type="application/json",
                     headers={"Accept-Language": "en"})
    assert en.status_code == 400 and "nested too deeply" in en.json["error"]


def test_json_nested_within_the_limit_is_read(member):
    body = '{"title": "CBTC信号系统", "x": ' + "[" * 15 + "]" * 15 + "}"
    resp = member.post("/api/suggest", data=body, content_type="application/json")
    assert resp.status_code == 200 and resp.json["segment"]["code"] == "control"


@pytest.mark.parametrize("body, status, words", [
    (b'{"title": ', 400, "not valid JSON"),
    (b"\xff\xfe{}", 400, "not valid JSON"),
    (b"NaN-not-json", 400, "not valid JSON"),
    (b'{"title": "' + b"x" * 70_000 + b'"}', 413, "too long"),
    (b"[1, 2]", 400, "JSON object"),
])
def test_broken_or_large_json_gets_a_json_error(member, body, status, words):
    resp = member.post("/api/suggest", data=body, content_type="application/json",
                       headers={"Accept-Language": "en"})
    assert resp.status_code == status and resp.is_json
    assert words in resp.json["error"]


@pytest.mark.parametrize("content_type", ["multipart/form-data", None])
def test_too_many_form_fields_are_refused(app, make, login, content_type):
    c = login(app.test_client(), make.user(Role.COMPANY))
    fields = {f"f{n}": "x" for n in range(app.config["MAX_FORM_PARTS"] + 10)}
    kw = {"content_type": content_type} if content_type else {}
    resp = c.post("/company/demands/new", data=fields, headers={"Accept-Language": "zh-CN"}, **kw)
    assert resp.status_code == 413
    assert "<!doctype html>" in resp.get_data(as_text=True).lower()


def test_form_text_held_in_memory_is_bounded(app, make, login):
    c = login(app.test_client(), make.user(Role.COMPANY))
    big = "站" * app.config["MAX_FORM_MEMORY_SIZE"]
    resp = c.post("/company/demands/new", data={"title": "x", "description": big})
    assert resp.status_code == 413


def test_a_broken_multipart_body_is_a_400_page_in_the_users_language(client):
    resp = client.post("/login", data=b"--xyz\r\nContent-Disposition: form-data; name=\"email\"",
                       content_type="multipart/form-data; boundary=xyz",
                       headers={"Accept-Language": "zh-CN"})
    assert resp.status_code in (400, 422)
    assert "<html" in resp.get_data(as_text=True)


def test_an_overlong_query_string_is_refused_in_the_users_language(client, app):
    q = "q=" + "站" * app.config["MAX_QUERY_STRING"]
    zh = client.get(f"/?{q}", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 414 and "网址过长" in zh.get_data(as_text=True)
    en = client.get(f"/?{q}", headers={"Accept-Language": "en"})
    assert en.status_code == 414 and "too long" in en.get_data(as_text=True)
    assert client.get("/?q=" + "站台门" * 100).status_code == 200
