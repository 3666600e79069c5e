"""Nothing lost under load, small: LOAD_CLIENTS clients for LOAD_SECONDS seconds (10 x 10 by
default; `make load` runs the full 50 x 60) against gunicorn with 4 workers, one of them
killed with SIGKILL half-way, on SQLite and on PostgreSQL (with TEST_DATABASE_URL)."""

import os

import pytest

from tests.load import run
from tests.security.server import PG_URL


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_nothing_acknowledged_is_lost_under_load_and_a_killed_worker(kind, tmp_path):
    if kind == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL run skipped: set TEST_DATABASE_URL to run it too")
    clients = int(os.environ.get("LOAD_CLIENTS", 10))
    seconds = float(os.environ.get("LOAD_SECONDS", 10))
    result = run.run(kind, clients, seconds, kill=True, tmp=tmp_path)
    print(result.summary())
    acked = [w for w in result.writes if w.acked]
    assert result.killed, "no worker was killed"
    assert {w.kind for w in acked} >= {"demand", "reply"}, result.summary()
    assert len(acked) >= clients, result.summary()
    assert not result.missing, f"acknowledged writes lost: {result.missing[:10]}"
    assert not result.doubled, f"writes stored twice: {result.doubled[:10]}"
    assert result.server_errors == 0, result.summary()
    assert not result.locked, "the log says 'database is locked'"
    if kind == "sqlite":
        assert result.integrity == "ok" and result.foreign_keys == "clean", result.summary()
