"""The board as an outsider meets it: gunicorn in production mode on a free loopback port, over
a database seeded beforehand, and a small HTTP client with a cookie jar that reads HTML forms.

Used by tests/security (auditor's checks) and tests/load (nothing lost under load)."""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import HTTPCookieProcessor, HTTPErrorProcessor, Request, build_opener

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
#: A production secret: long, random, and no example value.
SECRET = "s3cur1ty-suite-" + uuid.uuid4().hex + uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- databases ---------------------------------------------------------------------------
@contextmanager
def database(kind: str, tmp: Path):
    """A fresh empty database: a SQLite file, or a PostgreSQL schema of its own (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'board.sqlite3'}"
        return
    schema = f"board_sec_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seeding_app(url: str, **overrides):
    """An app on ``url`` with its tables and taxonomy, for seeding before the server starts."""
    import flask_migrate

    from board import create_app
    from board.extensions import db
    from board.services import seeding
    from tests.conftest import BASE_CONFIG

    app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=url, **overrides))
    with app.app_context():
        # The production start refuses a schema behind the migrations: build it with them.
        flask_migrate.upgrade()
        seeding.load_taxonomy()
        db.session.commit()
    return app


def dispose(app) -> None:
    from board.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# -- the server --------------------------------------------------------------------------
@dataclass
class Server:
    base: str
    proc: subprocess.Popen
    log: Path
    env: dict = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def workers(self) -> list[int]:
        """The pids of gunicorn's workers (children of the master)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True, check=False).stdout
        return [int(p) for p in out.split()]


def production_env(url: str, tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BOARD_", "SESSION_", "TRUSTED_", "REDIS_", "THROTTLE_"))}
    env.update({
        "BOARD_ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": url,
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on loopback
        "MATCH_THRESHOLD": "15",
        "UPLOAD_DIR": str(tmp / "uploads"),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.pop("DEBUG", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextmanager
def gunicorn(url: str, tmp: Path, workers: int = 2, **env_extra):
    """gunicorn serving board.wsgi:app (production settings) on a free loopback port."""
    port = free_port()
    log = tmp / f"gunicorn-{port}.log"
    env = production_env(url, tmp, **env_extra)
    Path(env["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
           f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5", "board.wsgi:app"]
    if (ROOT / "board" / "gunicorn_conf.py").exists():  # the production start's settings
        cmd[3:3] = ["-c", "python:board.gunicorn_conf"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", proc, log, env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {proc.returncode}:\n{server.log_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/static/css/board.css")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer:\n{server.log_text()[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # quick shutdown: nothing is left to finish
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- HTML forms --------------------------------------------------------------------------
@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]]  # (name, value) as a browser would send them
    options: dict[str, list[str]]  # select/radio name -> values offered
    attrs: dict
    types: dict[str, str] = field(default_factory=dict)  # name -> input type, "textarea", "select"
    limits: dict[str, int] = field(default_factory=dict)  # name -> (data-)maxlength

    def data(self, **changes) -> dict:
        out: dict = {}
        for name, value in self.fields:
            out.setdefault(name, value)
        out.update(changes)
        return out


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.meta: dict[str, str] = {}
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content", "")
        if tag == "form":
            self._form = Form(a.get("action", ""), (a.get("method") or "get").upper(), [], {}, a)
            self.forms.append(self._form)
        f = self._form
        if f is None:
            return
        name = a.get("name")
        if name and tag in ("input", "textarea", "select"):
            f.types.setdefault(name, a.get("type", "text").lower() if tag == "input" else tag)
            limit = a.get("maxlength") or a.get("data-maxlength")
            if limit and limit.isdigit():
                f.limits[name] = int(limit)
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("radio", "checkbox"):
                f.options.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    f.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                f.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
            f.options[name] = []
        elif tag == "option" and self._select:
            f.options[self._select].append(a.get("value", ""))
            if "selected" in a:
                f.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._form is not None and self._select:
            name = self._select
            if not any(n == name for n, _ in self._form.fields) and self._form.options[name]:
                self._form.fields.append((name, self._form.options[name][0]))
            self._select = None
        elif tag == "textarea" and self._form is not None and self._textarea:
            self._form.fields.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None


def parse(html: str) -> _FormParser:
    p = _FormParser()
    p.feed(html)
    return p


# -- the client ------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    headers: dict  # lower-case names
    text: str
    url: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def forms(self) -> list[Form]:
        return parse(self.text).forms

    def form(self, action_part: str = "", field: str = "") -> Form:
        """The first form whose action contains ``action_part`` (and that has ``field``)."""
        for f in self.forms():
            if action_part in urljoin(self.url, f.action or self.url) and (
                    not field or field in f.options or any(n == field for n, _ in f.fields)):
                return f
        raise AssertionError(f"no form with action containing {action_part!r} on {self.url}")

    def json(self):
        return jsonlib.loads(self.text)


class _NoRedirect(HTTPErrorProcessor):
    def http_response(self, request, response):
        return response  # every status is returned as is, redirects included

    https_response = http_response


class Client:
    """One visitor: a cookie jar, no redirects followed, every status returned."""

    def __init__(self, base: str, headers: dict | None = None, timeout: float = 30):
        self.base = base
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar), _NoRedirect())
        self.headers = dict(headers or {})
        self.timeout = timeout

    def request(self, method: str, path: str, data=None, json=None, headers=None,
                query: dict | None = None) -> Response:
        url = path if path.startswith("http") else self.base + path
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        body = None
        hdrs = dict(self.headers)
        if json is not None:
            body = jsonlib.dumps(json).encode() if not isinstance(json, bytes | str) else (
                json.encode() if isinstance(json, str) else json)
            hdrs["Content-Type"] = "application/json"
        elif data is not None:
            body = (data if isinstance(data, bytes) else urlencode(data, doseq=True).encode())
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif method == "POST":
            body = b""
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        hdrs.update(headers or {})
        req = Request(url, data=body, headers=hdrs, method=method)
        with self.opener.open(req, timeout=self.timeout) as resp:
            raw = resp.read()
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                            raw.decode("utf-8", errors="replace"), url)

    def get(self, path, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path, **kw) -> Response:
        return self.request("POST", path, **kw)

    def csrf(self, path: str = "/") -> str:
        """The session's CSRF token, as the page at ``path`` carries it."""
        page = self.get(path)
        token = parse(page.text).meta.get("csrf-token")
        assert token, f"no CSRF token on {path} ({page.status})"
        return token

    def submit(self, page: Response, form: Form, **changes) -> Response:
        """Send ``form`` from ``page`` as a browser would, with ``changes`` to its fields."""
        action = urljoin(page.url, form.action or page.url)
        path = urlsplit(action)
        target = path.path + (f"?{path.query}" if path.query else "")
        data = form.data(**changes)
        data = {k: v for k, v in data.items() if v is not None}
        if form.method == "GET":
            return self.get(target, query=data)
        return self.post(target, data=data)

    def sign_in(self, email: str, password: str, next_: str | None = None) -> Response:
        page = self.get("/login" + (f"?{urlencode({'next': next_})}" if next_ is not None else ""))
        form = next(f for f in page.forms() if any(n == "password" for n, _ in f.fields))
        return self.submit(page, form, email=email, password=password)


def off_site(location: str, host: str = "127.0.0.1") -> bool:
    """Whether a browser following ``location`` would leave the site (any other host, any
    scheme-relative or backslash form browsers read as a host)."""
    if not location:
        return False
    loc = location.strip()
    # Browsers drop tabs and newlines in URLs and read backslashes as slashes.
    loc = re.sub(r"[\t\n\r]", "", loc).replace("\\", "/")
    parts = urlsplit(loc)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return True
    if loc.startswith("//"):
        return True
    if parts.netloc:
        return parts.hostname not in (host, "localhost")
    return False
