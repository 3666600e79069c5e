"""Scale-out: two gunicorn instances and one job worker on this machine, sharing nothing but
PostgreSQL and Redis. A session opened on one server holds on the other, sign-in throttles
count across both, and a lexicon edit sent to one is rematched by the worker and seen on both."""

import os
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.security.server import (
    ROOT,
    Client,
    database,
    dispose,
    gunicorn,
    production_env,
    seeding_app,
)

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS = "redis://127.0.0.1:6379/0"
PASSWORD = "two-servers-" + uuid.uuid4().hex


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL"),
    pytest.mark.skipif(not _redis_up(), reason=f"needs Redis at {REDIS}: start it to run this test"),
]


def _seed(url: str) -> dict:
    from board.extensions import db
    from board.models import Demand, DemandStatus, Organization, Role
    from board.services import accounts, importing

    app = seeding_app(url)
    with app.app_context():
        staff = accounts.create_user(email="staff@two.example", password=PASSWORD, role=Role.STAFF,
                                     display_name="staff")
        db.session.add(Organization(name="某门控科技公司"))
        db.session.commit()
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            rows = Path(tmp) / "rows.csv"
            rows.write_text(
                "kind,ref,organization,title,description,keywords\n"
                "demand,D1,某地铁运营公司,站台门检修,站台门检修保养。,站台门\n"
                "capability,C1,某门控科技公司,Gate overhaul,Overhaul of zzgate units.,zzgate\n",
                encoding="utf-8")
            importing.import_file(rows)
        db.session.commit()
        demand = db.session.scalar(sa.select(Demand).where(Demand.ref == "D1"))
        assert demand.status == DemandStatus.PUBLISHED
        out = {"demand": demand.id, "staff": staff.email}
    dispose(app)
    return out


def _count_matches(url: str, demand_id: int) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text("select count(*) from match where demand_id = :d"), {"d": demand_id})
    finally:
        engine.dispose()


def test_two_servers_and_a_worker_agree(tmp_path):
    queue = f"board-two-{uuid.uuid4().hex[:8]}"
    with database("postgresql", tmp_path) as url:
        info = _seed(url)
        extra = {"REDIS_URL": REDIS, "JOBS_QUEUE": queue, "JOBS_MODE": "rq",
                 "LOGIN_LIMIT_PER_ACCOUNT": "3", "LOGIN_WINDOW_MINUTES": "15"}
        env = production_env(url, tmp_path, **extra)
        with open(tmp_path / "worker.log", "wb") as log:
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "board", "worker"],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            with gunicorn(url, tmp_path, workers=1, **extra) as a, \
                    gunicorn(url, tmp_path, workers=1, **extra) as b:
                # a session opened on A holds on B
                client = Client(a.base)
                assert client.sign_in(info["staff"], PASSWORD).status == 302
                client.base = b.base
                assert client.get("/admin/").status == 200
                # a lexicon edit sent to B is queued, run by the worker, and seen on A
                assert _count_matches(url, info["demand"]) == 0
                page = client.get("/admin/lexicon")
                form = page.form("/admin/lexicon/terms")
                resp = client.submit(page, form, concept="platform_screen_door", term="zzgate",
                                     lang="en")
                if resp.status != 302:  # the concept id differs: take the one the lexicon has
                    pytest.fail(f"lexicon edit refused: {resp.status} {resp.text[:300]}")
                deadline = time.monotonic() + 120
                while _count_matches(url, info["demand"]) == 0 and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert _count_matches(url, info["demand"]) == 1, (tmp_path / "worker.log").read_text()[-2000:]
                client.base = a.base
                jobs_page = client.get("/admin/jobs").text
                assert "badge-job-done" in jobs_page
                demand_page = client.get(f"/admin/demands/{info['demand']}").text
                assert "Gate overhaul" in demand_page
                # sign-in throttles count across both servers: 3 wrong passwords, any server
                intruder = Client(a.base)
                for base in (a.base, b.base, a.base):
                    intruder.base = base
                    intruder.sign_in(info["staff"], "wrong-" + PASSWORD)
                for base in (a.base, b.base):
                    intruder.base = base
                    assert intruder.sign_in(info["staff"], PASSWORD).status == 429
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            import redis
            from rq import Queue

            Queue(queue, connection=redis.Redis.from_url(REDIS)).delete(delete_jobs=True)
