"""The job queue in readiness and metrics: /readyz reports the jobs ok while the queue moves and
503 once its oldest job has waited past JOB_STALL_MINUTES; /metrics counts queued and failed
jobs."""

from __future__ import annotations

import datetime as dt

import pytest

from board import create_app
from board.extensions import db
from board.models import Job, JobState, utcnow
from tests.conftest import BASE_CONFIG
from tests.test_metrics import TOKEN, scrape, value


@pytest.fixture
def migrated(tmp_path):
    """An app on a SQLite database made by the migrations, whose jobs wait for a worker."""
    from flask_migrate import upgrade

    app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.sqlite3'}",
                          JOBS_MODE="manual", METRICS_TOKEN=TOKEN))
    with app.app_context():
        upgrade()
        db.session.remove()
    return app


def _add(app, state, minutes_ago=0):
    with app.app_context():
        db.session.add(Job(kind="rematch", state=state, params={},
                           created_at=utcnow() - dt.timedelta(minutes=minutes_ago)))
        db.session.commit()


def test_readyz_reports_the_job_queue(migrated):
    client = migrated.test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["components"]["jobs"] == "ok"
    _add(migrated, JobState.QUEUED, minutes_ago=3)  # a fresh job: a worker has time to take it
    _add(migrated, JobState.FAILED, minutes_ago=60)  # a failure does not stall the queue
    assert client.get("/readyz").status_code == 200

    _add(migrated, JobState.QUEUED, minutes_ago=40)
    resp = client.get("/readyz")
    assert resp.status_code == 503
    reason = resp.get_json()["components"]["jobs"]
    assert reason.startswith("stalled: 2 job(s) queued, oldest waiting 40 min")

    migrated.config["JOB_STALL_MINUTES"] = 60
    assert client.get("/readyz").status_code == 200


def test_metrics_count_queued_and_failed_jobs(migrated):
    client = migrated.test_client()
    found = scrape(client)
    assert ("board_jobs_queued", frozenset()) in found and value(found, "board_jobs_queued") == 0
    assert value(found, "board_jobs_failed") == 0
    for state in (JobState.QUEUED, JobState.QUEUED, JobState.FAILED, JobState.DONE, JobState.RUNNING):
        _add(migrated, state)
    found = scrape(client)
    assert value(found, "board_jobs_queued") == 2
    assert value(found, "board_jobs_failed") == 1
