"""What an auditor sends by hand: state changes without a CSRF token, hostile ``next`` values,
a spoofed Host, and requests that end in error pages; every answer carries the security
headers and no error page says what runs behind it."""

from __future__ import annotations

import http.client
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import OutboundMail, Reply, User
from tests.factories import PASSWORD
from tests.security.server import ROOT, Response, off_site
from tests.security.test_access_http import HEADERS, HTTP_ROLES, expected, table_routes

# Dozens of sign-ins from one address here: the throttles are the subject of test_throttle.py.
SERVER_ENV = {"LOGIN_LIMIT_PER_ADDRESS": 100000, "LOGIN_LIMIT_PER_ACCOUNT": 100000,
              "RESET_LIMIT_PER_ADDRESS": 100000}

EVIL = "evil.example"
EVIL_DOTS = EVIL.replace(".", "\u3002")  # ideographic full stop
HOSTILE_NEXT = [
    # scheme-relative and absolute
    f"//{EVIL}", f"//{EVIL}/", f"///{EVIL}", f"////{EVIL}", f"//{EVIL}/%2F..",
    f"https://{EVIL}", f"http://{EVIL}", f"HTTPS://{EVIL}", f"hTtP://{EVIL}/x",
    f"https:{EVIL}", f"http:{EVIL}", f"https:/{EVIL}", f"https:///{EVIL}", f"ftp://{EVIL}",
    # backslashes, which browsers read as slashes
    f"/\\{EVIL}", f"\\\\{EVIL}", f"\\/{EVIL}", f"/\\/{EVIL}", f"\\/\\/{EVIL}", f"https:\\\\{EVIL}",
    # percent-encoded slashes and backslashes
    f"/%2F%2F{EVIL}", f"%2F%2F{EVIL}", f"/%5C{EVIL}", f"%5C%5C{EVIL}", f"/%09/{EVIL}",
    # control characters, tabs and newlines inside or in front
    f"/\t/{EVIL}", f"/\n/{EVIL}", f"/\r\n/{EVIL}", f"\t//{EVIL}", f" //{EVIL}", f"\x00//{EVIL}",
    f"/\x00/{EVIL}", f"\x0b//{EVIL}", f"/\x7f/{EVIL}", f"\r\nLocation: http://{EVIL}",
    f"/x\r\nSet-Cookie: evil=1\r\nLocation: http://{EVIL}",
    # user-info tricks
    f"//127.0.0.1@{EVIL}", f"http://127.0.0.1@{EVIL}", f"https://127.0.0.1:443@{EVIL}",
    f"//127.0.0.1%40{EVIL}", f"http://{EVIL}\\@127.0.0.1", f"http://127.0.0.1.{EVIL}",
    f"//{EVIL}:80@127.0.0.1", f"http://127.0.0.1%2e{EVIL}",
    # unicode look-alikes and invisible characters
    f"/\uff0f{EVIL}", f"\uff0f\uff0f{EVIL}", f"//{EVIL_DOTS}", f"/\u2215\u2215{EVIL}",
    "//\uff45\uff56\uff49\uff4c.example", f"/\u3000/{EVIL}", f"\u2028//{EVIL}", f"\ufeff//{EVIL}",
    f"/\u202e/{EVIL}", f"/\u200b/{EVIL}",
    # other schemes
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    # paths that climb or add dots (these may stay on the site, but never leave it)
    f"/.//{EVIL}", f"/..//{EVIL}", f"/./\\{EVIL}",
]


@pytest.fixture(scope="module")
def staff(world):
    return world.signed_in("staff")


def _assert_stays(resp, value, where):
    loc = resp.location
    assert "\r" not in loc and "\n" not in loc, (where, value, loc)
    assert not off_site(loc), f"{where}: next={value!r} sent the browser to {loc!r}"
    assert "evil" not in resp.headers.get("set-cookie", ""), (where, value)
    assert resp.status < 500, (where, value, resp.status)


def test_the_hostile_list_is_long_enough():
    assert len(set(HOSTILE_NEXT)) >= 40


# -- CSRF --------------------------------------------------------------------------------
def test_every_state_changing_route_refuses_a_request_without_a_token(world):
    """Every POST rule in the url map, sent by a visitor allowed to use it, without a token,
    and with the token of another session: 400, the form-expired page."""
    clients = {"anonymous": world.client()}
    for role in HTTP_ROLES[1:]:
        clients[role] = world.signed_in(role)
    stranger = world.client()
    foreign = stranger.csrf("/")
    problems, posts = [], 0
    for rule, method, url, _values in table_routes(world):
        if method != "POST":
            continue
        posts += 1
        allowed = [r for r in HTTP_ROLES[1:] if expected((rule.endpoint, method), r)
                   not in ("403", "404", "login", "401")] or ["anonymous"]
        c = clients[allowed[0]]
        api = rule.endpoint.startswith("api.")
        attempts = [
            c.post(url, json={}) if api else c.post(url, data={"title": "x", "reason": "x"}),
            c.post(url, json={}, headers={"X-CSRFToken": foreign}) if api
            else c.post(url, data={"csrf_token": foreign}),
            c.post(url, data={"csrf_token": "forged." + "A" * 40}),
        ]
        for resp in attempts:
            if resp.status != 400:
                problems.append(f"POST {url} as {allowed[0]}: {resp.status}")
            elif not api and "表单已过期" not in resp.text:
                problems.append(f"POST {url} as {allowed[0]}: 400 without the form-expired message")
    assert posts > 50
    assert not problems, "\n".join(problems)
    # Nobody was signed out by a token-less sign-out.
    assert clients["company"].get("/company/").status == 200


def test_a_cross_site_form_post_is_refused_even_with_the_cookie(world):
    c = world.signed_in("company")
    resp = c.post("/company/demands/new", data={"title": "跨站提交的需求", "description": "跨站提交的描述内容。"},
                  headers={"Origin": f"https://{EVIL}", "Referer": f"https://{EVIL}/form"})
    assert resp.status == 400


# -- next --------------------------------------------------------------------------------
def test_sign_in_never_follows_next_off_site(world):
    email = world.users["both"].email
    for value in HOSTILE_NEXT:
        c = world.client()
        resp = c.sign_in(email, PASSWORD, next_=value)
        assert resp.status == 302, (value, resp.status)
        _assert_stays(resp, value, "sign-in")
    # A next on the site is followed.
    resp = world.client().sign_in(email, PASSWORD, next_="/account/notices?page=1")
    assert resp.location.endswith("/account/notices?page=1")


def test_language_switch_and_notice_never_follow_next_off_site(world):
    anon = world.client()
    token = anon.csrf("/")
    company = world.signed_in("company")
    ctoken = company.csrf("/account/notices")
    notice = world.ids["notice_id"]
    for value in HOSTILE_NEXT:
        resp = anon.post("/lang", data={"csrf_token": token, "lang": "en", "next": value})
        _assert_stays(resp, value, "language")
        resp = company.post(f"/account/notices/{notice}/read", data={"csrf_token": ctoken, "next": value})
        _assert_stays(resp, value, "notice (form)")
        resp = company.post(f"/account/notices/{notice}/read?{urlencode({'next': value})}",
                            data={"csrf_token": ctoken})
        _assert_stays(resp, value, "notice (query)")


def test_no_route_follows_next_off_site(world):
    """Every route and method, as the first visitor the table lets in, with hostile values in
    the query string and the form (sign-out last, as the matrix does)."""
    values = [f"//{EVIL}", f"/\\{EVIL}"]
    clients = {"anonymous": world.client()}
    for role in HTTP_ROLES[1:]:
        clients[role] = world.signed_in(role)
    tokens = {role: c.csrf("/") for role, c in clients.items()}
    sent = 0
    for rule, method, url, _values in table_routes(world):
        role = ([r for r in HTTP_ROLES[1:] if expected((rule.endpoint, method), r)
                 not in ("403", "404", "login", "401")] or ["anonymous"])[0]
        for value in values[:1] if method == "GET" else values:
            q = f"{'&' if '?' in url else '?'}{urlencode({'next': value})}"
            if method == "GET":
                resp = clients[role].get(url + q)
            elif rule.endpoint.startswith("api."):
                resp = clients[role].post(url + q, json={"next": value},
                                          headers={"X-CSRFToken": tokens[role]})
            else:
                resp = clients[role].post(url + q, data={"csrf_token": tokens[role], "next": value})
            _assert_stays(resp, value, f"{method} {url} as {role}")
            sent += 1
    assert sent > 200


def test_a_spoofed_host_moves_no_redirect_and_no_mailed_link(world):
    spoof = {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https",
             "X-Forwarded-For": "203.0.113.7", "Forwarded": f"host={EVIL}"}
    c = world.client(headers=spoof)
    resp = c.sign_in(world.users["both"].email, PASSWORD, next_="/account/settings")
    assert resp.status == 302 and not off_site(resp.location), resp.location
    assert EVIL not in resp.location
    assert EVIL not in c.get("/").text
    # A password-reset link is built on BOARD_URL, not on the Host the request claimed.
    anon = world.client(headers=spoof)
    page = anon.get("/password/forgot")
    target = world.users["supplier_b"].email
    resp = anon.submit(page, page.form("/password/forgot", "email"), email=target)
    assert resp.status in (200, 302)
    with world.app.app_context():
        mails = db.session.scalars(sa.select(OutboundMail).where(OutboundMail.to_email == target)).all()
        assert mails, "no reset mail was queued"
        for m in mails:
            assert EVIL not in m.body_text and EVIL not in m.body_html


# -- headers and error pages -------------------------------------------------------------
LEAKS = [
    re.compile(r"Traceback|File \"|line \d+, in "),
    re.compile(r"(?:/work|/home|/usr|/opt|/tmp|site-packages|\.venv)/"),
    re.compile(re.escape(str(ROOT))),
    re.compile(r"(?i)\b(?:gunicorn|werkzeug|flask|python|sqlalchemy|psycopg|jinja2?|sqlite3?)[/ ]v?\d"),
    re.compile(r"(?i)OperationalError|ProgrammingError|IntegrityError|sqlalche\.me|SELECT .* FROM"),
]


def _no_leak(resp, what, headers=True):
    for pattern in LEAKS:
        m = pattern.search(resp.text)
        assert not m, f"{what}: the page shows {m.group(0)!r}"
    for name in ("server", "x-powered-by"):
        assert not re.search(r"\d", resp.headers.get(name, "")), (what, resp.headers.get(name))
    missing = [h for h in HEADERS if h not in resp.headers]
    assert not missing or not headers, (what, missing)


def test_error_pages_say_nothing_of_what_runs_behind_them(world, staff):
    anon = world.client()
    cases = [
        ("404", anon.get("/no/such/page"), 404),
        ("404 id", anon.get("/demands/99999999999"), 404),
        ("404 traversal", anon.get("/static/../../board/config.py"), 404),
        ("404 encoded traversal", anon.get("/static/%2e%2e/%2e%2e/board/config.py"), 404),
        ("405", anon.get("/logout"), 405),
        ("405 put", anon.request("PUT", "/login", data={"a": "b"}), 405),
        ("400 csrf", anon.post("/login", data={"email": "a@example.com", "password": "x"}), 400),
        ("400 multipart", anon.post("/login", data=b"--x\r\nbroken", headers={
            "Content-Type": "multipart/form-data; boundary=x"}), 400),
    ]
    token = staff.csrf("/admin/")
    cases.append(("400 api json", staff.post("/api/suggest", json="{not json",
                                             headers={"X-CSRFToken": token}), 400))
    for what, resp, code in cases:
        assert resp.status == code, (what, resp.status, resp.text[:200])
        _no_leak(resp, what)
        assert "SECRET_KEY" not in resp.text


def test_a_body_too_large_is_refused(world):
    """12 MB to a form: refused with 413 before it is read (the server may close the
    connection while the body is still being sent)."""
    conn = http.client.HTTPConnection(urlsplit(world.base).hostname, urlsplit(world.base).port,
                                      timeout=30)
    size = 12 * 1024 * 1024
    conn.putrequest("POST", "/contact")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    try:
        for _ in range(size // 65536):
            conn.send(b"x" * 65536)
    except OSError:
        pass
    resp = conn.getresponse()
    body = resp.read().decode("utf-8", "replace")
    conn.close()
    assert resp.status == 413
    seen = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, "/contact")
    _no_leak(seen, "413")


# -- the account and request rules issue 10 asks for, seen from outside ----------------------
def test_sign_up_answers_alike_for_known_and_new_addresses(world):
    answers = []
    for email in (world.users["company"].email, f"new-{uuid.uuid4().hex[:8]}@example.com"):
        c = world.client()
        page = c.get("/signup")
        resp = c.submit(page, page.form("/signup", "email"), role="company",
                        organization=f"枚举测试机构{uuid.uuid4().hex[:6]}", display_name="测试",
                        email=email, password="correct horse battery staple",
                        confirm="correct horse battery staple")
        follow = c.get(resp.location)
        flash = re.sub(re.escape(email), "EMAIL", " ".join(re.findall(
            r'class="flash[^"]*"[^>]*>(.*?)</', follow.text, re.S)))
        # Then the prober tries the password it chose: a new account waits for its link, a
        # known one keeps its owner's password; both are refused alike.
        tried = world.client().sign_in(email, "correct horse battery staple")
        errors = re.findall(r'<div class="form-errors"[^>]*>(.*?)</div>', tried.text, re.S)
        answers.append((resp.status, resp.location, flash, tried.status, errors))
    assert answers[0] == answers[1], answers
    assert answers[0][3] == 422 and answers[0][4]


def _session_row(world, email: str, **values) -> None:
    """Move the newest login session of ``email`` back in time, as if the time had passed."""
    from board.models import LoginSession

    with world.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        row = db.session.scalar(sa.select(LoginSession).where(LoginSession.user_id == user.id)
                                .order_by(LoginSession.id.desc()).limit(1))
        for k, v in values.items():
            setattr(row, k, v)
        db.session.commit()


def test_a_session_ends_after_the_idle_time_and_after_its_lifetime(world):
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    email = world.users["supplier"].email
    c = world.signed_in("supplier")
    # Idle for 29 minutes of the default 30: still signed in (and the visit counts).
    _session_row(world, email, last_seen_at=now - dt.timedelta(minutes=29))
    assert c.get("/supplier/").status == 200
    # Idle for 31 minutes: signed out, and the cookie stays useless afterwards.
    _session_row(world, email, last_seen_at=now - dt.timedelta(minutes=31))
    resp = c.get("/supplier/")
    assert resp.status == 302 and "/login" in resp.location
    assert c.get("/supplier/").status == 302
    # Active all along, but signed in 12 hours and a minute ago: the lifetime is over.
    c = world.signed_in("supplier")
    _session_row(world, email, created_at=now - dt.timedelta(hours=12, minutes=1),
                 last_seen_at=now)
    resp = c.get("/supplier/")
    assert resp.status == 302 and "/login" in resp.location


def test_common_passwords_are_refused(world):
    for pw in ("password123", "12345678", "qwertyuiop"):
        c = world.client()
        page = c.get("/signup")
        email = f"common-{uuid.uuid4().hex[:8]}@example.com"
        resp = c.submit(page, page.form("/signup", "email"), role="supplier",
                        organization=f"弱口令机构{uuid.uuid4().hex[:6]}", display_name="弱口令",
                        email=email, password=pw, confirm=pw)
        assert resp.status == 422, (pw, resp.status)
        assert world.client().sign_in(email, pw).status == 422


def test_a_copied_cookie_stops_working_after_sign_out(world):
    c = world.signed_in("supplier")
    copy = world.client()
    for cookie in c.jar:
        copy.jar.set_cookie(cookie)
    assert copy.get("/supplier/").status == 200
    assert c.post("/logout", data={"csrf_token": c.csrf("/supplier/")}).status == 302
    resp = copy.get("/supplier/")
    assert resp.status == 302 and "/login" in resp.location


def _at_once(n, fn):
    barrier = threading.Barrier(n)

    def go(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def test_the_same_reply_sent_ten_times_at_once_is_stored_once(world):
    c = world.signed_in("supplier_b")
    demand = world.ids["demand_id"]
    page = c.get(f"/supplier/demands/{demand}/reply")
    form = page.form(f"/supplier/demands/{demand}/reply", "fit")
    data = form.data(fit="我们做过三条线路的站台门改造，可以提供完整的方案与维保。", trl="7",
                     cooperation=form.options["cooperation"][0], capability_id="")
    answers = _at_once(10, lambda i: c.post(f"/supplier/demands/{demand}/reply", data=data))
    assert all(a.status == 302 and "/supplier/replies" in a.location for a in answers), \
        [a.status for a in answers]
    with world.app.app_context():
        org = db.session.get(User, world.users["supplier_b"].id).organization_id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Reply).where(
            Reply.organization_id == org, Reply.demand_id == demand)) == 1


def test_disabling_an_account_twice_at_once_leaves_it_disabled(world, staff):
    user_id = world.ids["user_id"]
    token = staff.csrf("/admin/accounts")
    answers = _at_once(2, lambda i: staff.post(f"/admin/users/{user_id}/disable",
                                                data={"csrf_token": token}))
    assert all(a.status in (302, 422) for a in answers), [a.status for a in answers]
    again = staff.post(f"/admin/users/{user_id}/disable", data={"csrf_token": token})
    assert again.status in (302, 422)
    with world.app.app_context():
        assert db.session.get(User, user_id).is_active is False


def test_bodies_and_query_strings_are_bounded(world):
    c = world.signed_in("company")
    token = c.csrf("/company/demands/new")
    hdr = {"X-CSRFToken": token}
    deep = c.post("/api/suggest", json="[" * 5000 + "]" * 5000, headers=hdr)
    assert deep.status == 400 and "error" in deep.json()
    big = c.post("/api/suggest", json={"title": "站" * 100000}, headers=hdr)
    assert big.status in (400, 413) and "error" in big.json()
    # gunicorn refuses a request line over 4094 bytes itself, before the board (which refuses
    # query strings over MAX_QUERY_STRING): its short page has none of the board's headers.
    long = c.get("/?q=" + "a" * 10000)
    assert long.status == 414
    _no_leak(long, "414", headers=False)
    many = c.post("/company/demands/new", data="&".join(f"f{i}=x" for i in range(5000)).encode() +
                  f"&csrf_token={token}".encode())
    assert many.status in (400, 413), many.status


def test_exports_neutralise_formulas(world, staff):
    import csv
    import io

    import openpyxl

    co = world.signed_in("company")
    page = co.get("/company/demands/new")
    title = '=HYPERLINK("http://evil.example","点我")'
    resp = co.submit(page, page.form("/company/demands/new", "title"), title=title,
                     description="+SUM(1,2) 站台门改造，公式不能被执行。", keywords="@SUM(A1), -2+3",
                     visibility="public")
    assert resp.status == 302, resp.status
    demand = int(resp.location.rstrip("/").rsplit("/", 1)[-1])
    co.post(f"/company/demands/{demand}/submit", data={"csrf_token": co.csrf("/company/")})
    token = staff.csrf("/admin/")
    assert staff.post(f"/admin/demands/{demand}/publish", data={"csrf_token": token}).status == 302
    raw = staff.opener.open(staff.base + "/admin/exports/download?kind=demands&format=csv").read()
    cells = [cell for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for cell in row]
    assert any("HYPERLINK" in cell for cell in cells)
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")], cells[:40]
    raw = staff.opener.open(staff.base + "/admin/exports/download?kind=demands&format=xlsx").read()
    book = openpyxl.load_workbook(io.BytesIO(raw))
    values = [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row]
    assert any("HYPERLINK" in str(cell.value) for cell in values)
    assert not [cell.coordinate for cell in values if cell.data_type == "f"]
    # Text that starts like a formula is a string cell marked to stay text when edited.
    risky = [c for c in values if str(c.value or "")[:1] in ("=", "+", "@")]
    assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky)


def test_a_server_error_page_shows_no_traceback(world):
    """Take a table away under the running server: the board fails, and says only that it did."""
    with world.app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE demand RENAME TO demand_away"))
    try:
        anon = world.client()
        for path in ("/", "/demands/1"):
            resp = anon.get(path)
            assert resp.status == 500, (path, resp.status)
            _no_leak(resp, f"500 {path}")
    finally:
        with world.app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE demand_away RENAME TO demand"))
    assert world.client().get("/").status == 200
    assert "Traceback" in world.server.log_text()  # the log has it, for the operator
