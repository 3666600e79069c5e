"""/metrics: the Prometheus text format, only for the allow list or the bearer token (404 for
anyone else); requests per route and status with their latency, in-flight requests, the
database pool, mail, the matching index; counts add up across gunicorn workers."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from board.extensions import db
from board.models import MailStatus, OutboundMail

TOKEN = "prom-" + "x" * 40


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of every sample in a scrape."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(client) -> dict:
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    return samples(resp.get_data(as_text=True))


def test_refused_without_the_token_or_from_outside_the_allow_list(make_app):
    app = make_app(METRICS_TOKEN=TOKEN, METRICS_ALLOW="10.9.0.0/16")
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    for header in (f"Bearer {TOKEN[:-1]}", "Bearer ", TOKEN, f"Basic {TOKEN}"):
        assert client.get("/metrics", headers={"Authorization": header}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    # An address in the allow list needs no token (the test client comes from 127.0.0.1).
    inside = make_app(METRICS_ALLOW="127.0.0.0/8").test_client()
    assert inside.get("/metrics").status_code == 200
    # No token and no allow list: nobody.
    nobody = make_app().test_client()
    assert nobody.get("/metrics").status_code == 404
    assert nobody.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_requests_are_counted_per_route_and_status_with_their_latency(make_app):
    app = make_app(METRICS_TOKEN=TOKEN)
    client = app.test_client()
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/demands/999999").status_code == 404
    # Refused before the view (and before other before-request functions): counted too.
    assert client.get("/?q=" + "x" * 5000).status_code == 414
    after = scrape(client)
    refused = {"route": "/", "method": "GET", "status": "414"}
    assert value(after, "board_http_requests_total", **refused) - value(
        before, "board_http_requests_total", **refused) == 1
    route = {"route": "/healthz", "method": "GET", "status": "200"}
    assert value(after, "board_http_requests_total", **route) - value(
        before, "board_http_requests_total", **route) == 3
    assert value(after, "board_http_request_duration_seconds_count", **route) - value(
        before, "board_http_request_duration_seconds_count", **route) == 3
    missing = {"route": "/demands/<int:demand_id>", "method": "GET", "status": "404"}
    assert value(after, "board_http_requests_total", **missing) - value(
        before, "board_http_requests_total", **missing) == 1
    # The scrape itself is in flight while it is answered.
    assert value(after, "board_http_requests_in_flight") >= 1
    assert value(after, "board_db_pool_connections", state="size") >= 1


def test_mail_and_the_matching_index_are_read_from_the_database(app, make):
    app.config["METRICS_TOKEN"] = TOKEN
    with app.app_context():
        for status in (MailStatus.SENT, MailStatus.SENT, MailStatus.FAILED):
            db.session.add(OutboundMail(to_email="a@example.com", kind="invitation", lang="zh",
                                        subject="s", body_text="t", body_html="h", status=status))
        db.session.commit()
    company, supplier = make.user("company"), make.user("supplier")
    make.demand(company)
    make.capability(supplier)
    # Saving records rescores them, which is not a rebuild.
    saved = scrape(app.test_client())
    assert value(saved, "board_matching_last_computed_timestamp_seconds") > time.time() - 3600
    assert value(saved, "board_matching_last_rebuild_timestamp_seconds") == 0
    before = time.time()
    with app.app_context():  # the full rebuild (flask rematch)
        from board.services import matches

        matches.rematch_all()
        db.session.commit()
    found = scrape(app.test_client())
    assert before - 1 <= value(found, "board_matching_last_rebuild_timestamp_seconds") <= time.time() + 1
    assert value(found, "board_matching_last_rebuild_duration_seconds") > 0
    assert value(found, "board_mail_messages", status="sent") == 2
    assert value(found, "board_mail_messages", status="failed") == 1
    assert value(found, "board_database_up") == 1
    assert value(found, "board_matching_index_records") == 2
    assert value(found, "board_matching_index_keys") > 2
    assert value(found, "board_matching_last_computed_timestamp_seconds") > time.time() - 3600


# -- under gunicorn ---------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@pytest.fixture
def migrated_db(tmp_path) -> str:
    from flask_migrate import upgrade

    from board import create_app
    from tests.conftest import BASE_CONFIG

    url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
    app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    return url


def test_counts_add_up_across_two_gunicorn_workers(tmp_path, migrated_db):
    port = _free_port()
    prom = tmp_path / "prom"
    prom.mkdir()
    (prom / "counter_999999.db").write_bytes(b"left over from the last run")
    (tmp_path / "uploads").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOARD_", "FLASK_"))}
    env.update(BOARD_ENV="production", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=migrated_db,
               UPLOAD_DIR=str(tmp_path / "uploads"), METRICS_TOKEN=TOKEN,
               PROMETHEUS_MULTIPROC_DIR=str(prom), LOG_FORMAT="json")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(gunicorn), "-c", "python:board.gunicorn_conf", "--workers", "2",
             "--bind", f"127.0.0.1:{port}", "board.wsgi:app"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert not (prom / "counter_999999.db").exists(), "the metrics folder was not emptied"
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/metrics")[0] == 404
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: _get(f"{base}/readyz")[0], range(60)))
        assert codes == [200] * 60
        status, text = _get(f"{base}/metrics", TOKEN)
        assert status == 200
        found = samples(text)
        route = {"route": "/readyz", "method": "GET", "status": "200"}
        assert value(found, "board_http_requests_total", **route) == 60
        assert value(found, "board_http_request_duration_seconds_count", **route) == 60
        # Both workers counted: each keeps its own file, and the scrape added them up.
        pids = {p.stem.rsplit("_", 1)[1] for p in prom.glob("counter_*.db")}
        assert len(pids) >= 2, pids
        # gunicorn's own lines and the board's request lines, all in the board's format; no
        # access log beside them.
        entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["msg"] for e in entries)
        requests = [e for e in entries if e["logger"] == "board.request" and e["route"] == "/readyz"]
        assert len(requests) == 60 and all(len(e["request_id"]) == 16 for e in requests)
        assert not any(e["logger"] == "gunicorn.access" for e in entries)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
