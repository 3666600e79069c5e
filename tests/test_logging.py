"""Request logs: one structured line per request with its id, route rule, status, duration and
the user's id, never what the user typed; the id comes from X-Request-ID only through a
trusted proxy, is returned in the response and quoted on error pages; tracebacks carry it;
the CLI logs in the same format."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest

from board import logs
from board.config import ConfigError
from board.services import contact as contact_service

HEX_ID = re.compile(r"[0-9a-f]{16}")
EMAIL = "li.mingzhe@example.com"
PASSWORD = "Corr3ct-Horse-Battery"
PHONE = "13912345678"


@pytest.fixture
def log(caplog):
    """Captured log records, formatted as the board writes them in production (JSON)."""
    caplog.set_level(logging.INFO)
    caplog.handler.setFormatter(logs.JsonFormatter())
    caplog.handler.addFilter(logs.RequestIdFilter())

    class Log:
        @property
        def text(self) -> str:
            return "\n".join(caplog.handler.format(r) for r in caplog.records)

        def lines(self) -> list[dict]:
            return [json.loads(line) for line in self.text.splitlines()
                    if line.startswith("{")]

        def requests(self) -> list[dict]:
            return [entry for entry in self.lines() if entry["logger"] == logs.REQUEST_LOGGER]

    return Log()


def test_sign_in_logs_one_line_with_the_id_and_the_user_not_the_credentials(app, make, log):
    user = make.user("company", email=EMAIL, password=PASSWORD, display_name="李明哲")
    client = app.test_client()
    resp = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert resp.status_code == 302
    rid = resp.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(rid)
    line = [e for e in log.requests() if e["request_id"] == rid]
    assert len(line) == 1
    assert line[0]["method"] == "POST" and line[0]["route"] == "/login"
    assert line[0]["status"] == 302 and line[0]["user_id"] == user.id
    assert isinstance(line[0]["duration_ms"], float)
    assert line[0]["time"].endswith("Z")
    # The next page is logged under the signed-in user, with a new id.
    resp = client.get("/demands?q=secret-query-text")
    again = [e for e in log.requests() if e["request_id"] == resp.headers["X-Request-ID"]][0]
    assert again["user_id"] == user.id and again["request_id"] != rid
    assert "secret-query-text" not in log.text  # the rule, never the URL with its query
    for private in (EMAIL, PASSWORD, "李明哲", "li.mingzhe"):
        assert private not in log.text


def test_a_form_post_logs_none_of_its_fields(client, log):
    form = {"name": "王晓燕", "email": EMAIL, "organization": "京西地铁设备厂",
            "subject": "合作咨询", "message": f"请致电 {PHONE} 联系我们，谈站台门维保合作。"}
    resp = client.post("/contact", data=form)
    assert resp.status_code in (302, 503)
    (line,) = [e for e in log.requests() if e["request_id"] == resp.headers["X-Request-ID"]]
    assert line["route"] == "/contact" and "user_id" not in line
    for value in form.values():
        assert value not in log.text
    assert PHONE not in log.text


def test_a_500_logs_its_traceback_with_the_id_the_page_shows(app, client, log, monkeypatch):
    def broken(**fields):
        raise RuntimeError("mail relay exploded")

    monkeypatch.setattr(contact_service, "send_to_staff", broken)
    form = {"name": "王晓燕", "email": EMAIL, "organization": "京西地铁设备厂",
            "subject": "合作咨询", "message": f"请致电 {PHONE}"}
    resp = client.post("/contact", data=form)
    assert resp.status_code == 500
    rid = resp.headers["X-Request-ID"]
    page = resp.get_data(as_text=True)
    assert f"错误编号：{rid}" in page
    errors = [e for e in log.lines() if e["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == rid
    assert "RuntimeError: mail relay exploded" in errors[0]["exc"]
    assert "Traceback" in errors[0]["exc"]
    (line,) = [e for e in log.requests() if e["request_id"] == rid]
    assert line["status"] == 500
    for value in (*form.values(), PHONE):
        assert value not in log.text
    # The reference in English too.
    client.set_cookie("lang", "en")
    resp = client.post("/contact", data=form)
    assert f"Error reference: {resp.headers['X-Request-ID']}." in resp.get_data(as_text=True)


def test_json_errors_carry_the_reference(client):
    resp = client.get("/api/no-such-endpoint")
    assert resp.status_code == 404
    assert resp.get_json()["reference"] == resp.headers["X-Request-ID"]


def test_x_request_id_from_an_untrusted_client_is_replaced(client, log):
    resp = client.get("/", headers={"X-Request-ID": "forged-by-client"})
    rid = resp.headers["X-Request-ID"]
    assert rid != "forged-by-client" and HEX_ID.fullmatch(rid)
    assert "forged-by-client" not in log.text


def test_x_request_id_from_a_trusted_proxy_is_kept_when_it_looks_like_an_id(make_app):
    app = make_app(TRUSTED_PROXIES="127.0.0.1")  # the test client's address
    client = app.test_client()
    resp = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a-0001"})
    assert resp.headers["X-Request-ID"] == "lb-7f3a-0001"
    resp = client.get("/healthz", headers={"X-Request-ID": "bad id\u2028with=stuff"})
    assert HEX_ID.fullmatch(resp.headers["X-Request-ID"])


def test_formats_write_one_line_per_record_tracebacks_included():
    for fmt in ("json", "logfmt"):
        out = io.StringIO()
        logs.configure(fmt, "INFO", stream=out)
        logger = logging.getLogger("board.test")
        try:
            raise ValueError("line one\nline two")
        except ValueError:
            logger.exception("failed", extra={"route": "/x/<int:id>"})
        text = out.getvalue()
        assert text.count("\n") == 1, (fmt, text)
        if fmt == "json":
            entry = json.loads(text)
            assert entry["route"] == "/x/<int:id>" and entry["msg"] == "failed"
            assert "ValueError: line one\nline two" in entry["exc"]
        else:
            assert text.startswith("time=") and " route=/x/<int:id> " in text
            assert ' exc="Traceback' in text and "ValueError: line one\\nline two" in text
    logs.configure("text", "INFO")


def test_log_settings_come_from_the_environment(make_app):
    assert logs.settings({}, "production") == ("json", "INFO")
    assert logs.settings({}, "development") == ("text", "INFO")
    assert logs.settings({"LOG_FORMAT": "logfmt", "LOG_LEVEL": "warning"}, "production") == (
        "logfmt", "WARNING")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        make_app(LOG_FORMAT="xml")
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        make_app(LOG_LEVEL="LOUD")


def test_cli_commands_log_in_the_same_format(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOARD_", "FLASK_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}", LOG_FORMAT="json",
               UPLOAD_DIR=str(tmp_path / "uploads"))
    env.pop("SECRET_KEY", None)
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    proc = subprocess.run([flask, "--app", "board", "init-db", "--no-seed"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines, "init-db logged nothing"
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any("Running upgrade" in e["msg"] for e in entries)
    assert "Database ready." in proc.stdout


def test_a_request_refused_before_the_view_is_logged_too(make_app, log):
    app = make_app(MAX_QUERY_STRING=100)
    resp = app.test_client().get("/?q=" + "x" * 200)
    assert resp.status_code == 414
    (line,) = [e for e in log.requests() if e["request_id"] == resp.headers["X-Request-ID"]]
    assert line["status"] == 414 and line["route"] == "/"
