"""Fuzzing: hypothesis fills every form the board shows (to each kind of visitor, on every page
of the access matrix's world) and every query parameter of every GET route with arbitrary
text, and sends arbitrary JSON to the API. No answer may be a 5xx.

In-process (the test client), CSRF off, so that the values reach the forms' and services'
checks; bounded example counts keep the whole module near a minute per database."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.server import database, parse
from tests.test_access import EXPECTED, build_world, routes

FUZZ = settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", 250)),
                deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

EDGES = ["", " ", "0", "-1", "2147483647", "2147483648", "9" * 40, "1e309", "NaN", "-0", "0x1f",
         "%", "%00", "'", '"', "\\", "<", "</textarea>", "../../etc/passwd", "2026-13-45",
         "2026-02-30", "9999-12-31T23:59", "１２３", "٣", "\x00", "\ud7ff", "\U0001f600" * 3,
         "a" * 5000, "on", "true", "None", "[]", "{}", "__proto__", "javascript:alert(1)"]
TEXT = st.one_of(st.sampled_from(EDGES), st.text(max_size=200),
                 st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7f), max_size=40))
#: Query parameters the board reads somewhere (and a few it never does).
QUERY_NAMES = ["q", "page", "status", "month", "tag", "kind", "format", "concept", "round", "next",
               "lang", "role", "sort", "segment", "theme", "themes", "band", "org", "demand",
               "filter", "from", "to", "year", "per_page", "order", "view", "side", "x"]
SKIP = {"auth.logout"}  # ends the session the other examples use


@pytest.fixture(scope="module")
def fuzz_world(db_kind, tmp_path_factory):
    """One board for the module: the access matrix's world, a signed-in client per role, the
    forms every page shows them and the GET pages they may open."""
    from board import create_app
    from board.extensions import db
    from board.services import seeding
    from tests.conftest import BASE_CONFIG
    from tests.factories import PASSWORD, Factory

    with database(db_kind, tmp_path_factory.mktemp("fuzz")) as url:
        app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=url))
        with app.app_context():
            db.create_all()
            seeding.load_taxonomy()
            db.session.commit()
        try:
            ids, per_route, users = build_world(app, Factory(app))
            clients = {"anonymous": app.test_client()}
            for name, user in users.items():
                clients[name] = app.test_client()
                resp = clients[name].post("/login", data={"email": user.email, "password": PASSWORD})
                assert resp.status_code == 302
            yield _inventory(app, ids, per_route, clients)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _inventory(app, ids, per_route, clients):
    gets, forms = [], {}
    for rule, method in routes(app):
        values = dict(ids, **per_route.get(rule.endpoint, {}))
        if rule.endpoint in SKIP or (rule.endpoint, method) not in EXPECTED or \
                not set(rule.arguments) <= values.keys():
            continue
        url = rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1]
        if method != "GET" or rule.endpoint == "static":
            continue
        for role, client in clients.items():
            resp = client.get(url)
            if resp.status_code != 200 or not resp.content_type.startswith("text/html"):
                continue
            gets.append((role, url))
            for f in parse(resp.get_data(as_text=True)).forms:
                action = f.action or url
                if action.startswith("/logout"):
                    continue
                names = sorted({n for n, _ in f.fields} | set(f.options) | set(f.types))
                names = [n for n in names if n != "csrf_token"]
                forms.setdefault((role, f.method, action, tuple(names)), None)
    assert len(forms) > 40 and len(gets) > 60, (len(forms), len(gets))
    return clients, sorted(forms), gets


def _check(resp, what):
    assert resp.status_code < 500, f"{what} answered {resp.status_code}"


@FUZZ
@given(data=st.data())
def test_every_form_takes_any_text(fuzz_world, data):
    clients, forms, _ = fuzz_world
    role, method, action, names = data.draw(st.sampled_from(forms), label="form")
    chosen = data.draw(st.lists(st.sampled_from(names) if names else st.just("x"), max_size=len(names) + 1,
                                unique=True), label="fields")
    values = {n: data.draw(st.one_of(TEXT, st.lists(TEXT, min_size=2, max_size=3)), label=n)
              for n in chosen}
    if data.draw(st.booleans(), label="extra field"):
        values[data.draw(st.text(min_size=1, max_size=12), label="extra")] = data.draw(TEXT)
    client = clients[role]
    if method == "GET":
        resp = client.get(action, query_string=values)
    else:
        resp = client.post(action, data=values)
    _check(resp, f"{method} {action} as {role} with {values!r}")


@FUZZ
@given(data=st.data())
def test_every_query_parameter_takes_any_text(fuzz_world, data):
    clients, _, gets = fuzz_world
    role, url = data.draw(st.sampled_from(gets), label="page")
    names = data.draw(st.lists(st.sampled_from(QUERY_NAMES), min_size=1, max_size=4, unique=True))
    query = {n: data.draw(TEXT, label=n) for n in names}
    resp = clients[role].get(url, query_string=query)
    _check(resp, f"GET {url} as {role} with {query!r}")
    # A path segment the routes take as an id, replaced by any text.
    if re.search(r"/\d+", url):
        bad = re.sub(r"/\d+", "/" + data.draw(st.text(min_size=1, max_size=30).map(
            lambda s: s.replace("/", "").replace("?", "").replace("#", "") or "x")), url, count=1)
        _check(clients[role].get(bad), f"GET {bad!r} as {role}")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=30)


@FUZZ
@given(body=st.one_of(JSON, st.dictionaries(st.sampled_from(["title", "description", "keywords", "kind"]),
                                            JSON, max_size=4)),
       raw=st.one_of(st.none(), st.binary(max_size=300)),
       ctype=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                              "multipart/form-data; boundary=x", "application/json; charset=latin-1"]))
def test_the_api_takes_any_body(fuzz_world, body, raw, ctype):
    clients, _, _ = fuzz_world
    client = clients["company"]
    if raw is None:
        resp = client.post("/api/suggest", json=body)
    else:
        resp = client.post("/api/suggest", data=raw, content_type=ctype)
    _check(resp, f"POST /api/suggest {body!r} {raw!r} {ctype}")
    assert resp.is_json, resp.get_data(as_text=True)[:200]
