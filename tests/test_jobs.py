"""Background jobs: one code path whatever runs them (a worker thread, the worker command
over the job table, RQ on Redis); one job of a kind at a time; failures visible to staff."""

import time
import uuid

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import CustomTerm, Job, JobLock, JobState, Match, Role, utcnow
from board.services import jobs
from tests.factories import Factory


def _setup_gate(app, make):
    """A demand and a capability that only match once 'zzgate' means 站台门."""
    company, supplier, staff = make.user(Role.COMPANY), make.user(Role.SUPPLIER), make.user(Role.STAFF)
    d = make.demand(company, title="站台门检修", description="站台门检修保养。", keywords="站台门",
                    segment="")
    make.capability(supplier, title="Gate overhaul", description="Overhaul of zzgate units.",
                    keywords="zzgate", segment="")
    with app.app_context():
        from board.services.matcher import get_engine

        concept = get_engine().lexicon.find("站台门")[0]
    return d, staff, concept


def _matches(app, demand_id):
    with app.app_context():
        return db.session.query(Match).filter_by(demand_id=demand_id).count()


def _jobs(app):
    with app.app_context():
        return [(j.kind, j.state, j.attempts, j.error) for j in
                db.session.scalars(sa.select(Job).order_by(Job.id))]


def test_a_lexicon_edit_queues_a_rematch_that_staff_see_done(make_app, login):
    app = make_app(JOBS_MODE="manual")  # the web request only queues
    make = Factory(app)
    d, staff, concept = _setup_gate(app, make)
    c = login(app.test_client(), staff)
    resp = c.post("/admin/lexicon/terms", data={"concept": concept, "term": "zzgate", "lang": "en"})
    assert resp.status_code == 302
    assert _jobs(app) == [("rematch", JobState.QUEUED, 0, None)]
    assert _matches(app, d.id) == 0  # nothing was rematched inside the request
    page = c.get("/admin/jobs")
    assert page.status_code == 200 and "job-1" in page.get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "Ran 1 job(s)." in result.output
    assert _jobs(app) == [("rematch", JobState.DONE, 1, None)]
    assert _matches(app, d.id) == 1
    with app.app_context():
        assert db.session.query(CustomTerm).count() == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobLock)) == 0
    page = c.get("/admin/jobs").get_data(as_text=True)
    assert "已完成" in page


def test_the_worker_thread_runs_a_queued_rematch(make_app, login):
    app = make_app(JOBS_MODE="thread")
    make = Factory(app)
    d, staff, concept = _setup_gate(app, make)
    c = login(app.test_client(), staff)
    c.post("/admin/lexicon/terms", data={"concept": concept, "term": "zzgate", "lang": "en"})
    for _ in range(300):
        if _jobs(app)[0][1] == JobState.DONE:
            break
        time.sleep(0.1)
    assert _jobs(app) == [("rematch", JobState.DONE, 1, None)]
    assert _matches(app, d.id) == 1


def test_a_rolled_back_request_queues_nothing(app):
    with app.app_context():
        jobs.enqueue("rematch")
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_a_failing_job_is_tried_again_then_shown_as_failed(make_app, login, monkeypatch):
    app = make_app(JOB_ATTEMPTS=2)
    calls = []

    def broken(params, progress):
        calls.append(1)
        raise RuntimeError("the mail server refused the connection")

    monkeypatch.setitem(jobs.HANDLERS, "send_mail", broken)
    with app.app_context():
        jobs.enqueue("send_mail")
        db.session.commit()  # inline in tests: run here, twice
    assert len(calls) == 2
    [(kind, state, attempts, error)] = _jobs(app)
    assert (kind, state, attempts) == ("send_mail", JobState.FAILED, 2)
    assert "the mail server refused the connection" in error
    staff = Factory(app).user(Role.STAFF)
    page = login(app.test_client(), staff).get("/admin/jobs").get_data(as_text=True)
    assert "失败" in page and "the mail server refused the connection" in page


def test_one_job_of_a_kind_at_a_time(app):
    with app.app_context():
        with jobs.kind_lock("matching", 1):
            with pytest.raises(TimeoutError), jobs.kind_lock("matching", 2, wait=0.3):
                pass
            with jobs.kind_lock("mail", 3, wait=0.3):  # another kind is not held up
                pass
        with jobs.kind_lock("matching", 2, wait=0.3):  # free again
            pass
        # a lock left by a worker that died is taken over once it expires
        db.session.add(JobLock(kind="matching", job_id=9, expires_at=utcnow() - jobs.LOCK_TTL))
        db.session.commit()
        with jobs.kind_lock("matching", 4, wait=0.3):
            assert db.session.get(JobLock, "matching").job_id == 4


def test_a_job_claimed_by_one_runner_is_not_run_by_another(app, monkeypatch):
    calls = []
    monkeypatch.setitem(jobs.HANDLERS, "send_mail", lambda p, progress: calls.append(1) or {})
    with app.app_context():
        app.config["JOBS_MODE"] = "manual"
        job = jobs.enqueue("send_mail")
        db.session.commit()
        jobs.execute(job.id)
        jobs.execute(job.id)  # a second runner finds it done
        assert calls == [1]


def _redis_or_skip(url):
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis at {url} is unreachable ({exc}); start Redis to test the RQ path")


def test_rq_runs_the_same_job_through_redis(make_app, login):
    url = "redis://127.0.0.1:6379/0"
    _redis_or_skip(url)
    name = f"board-test-{uuid.uuid4().hex[:8]}"
    app = make_app(JOBS_MODE="rq", REDIS_URL=url, JOBS_QUEUE=name)
    make = Factory(app)
    d, staff, concept = _setup_gate(app, make)
    c = login(app.test_client(), staff)
    c.post("/admin/lexicon/terms", data={"concept": concept, "term": "zzgate", "lang": "en"})
    assert _jobs(app) == [("rematch", JobState.QUEUED, 0, None)]
    from rq import Queue, SimpleWorker

    conn = jobs.redis_connection(app)
    try:
        assert Queue(name, connection=conn).count == 1
        with app.app_context():
            SimpleWorker([name], connection=conn).work(burst=True)
    finally:
        Queue(name, connection=conn).delete(delete_jobs=True)
    assert _jobs(app) == [("rematch", JobState.DONE, 1, None)]
    assert _matches(app, d.id) == 1


def test_a_large_import_runs_as_a_job(make_app, tmp_path):
    from board.models import Capability, Demand

    app = make_app(JOBS_MODE="manual")
    path = tmp_path / "rows.csv"
    path.write_text(
        "kind,ref,organization,title,description,keywords\n"
        "demand,D1,某地铁运营公司,站台门检修,站台门检修保养。,站台门\n"
        "capability,C1,某门控科技公司,站台门维保,站台门系统检修与保养。,站台门\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    queued = runner.invoke(args=["import", str(path), "--background"])
    assert queued.exit_code == 0, queued.output
    assert "Queued the import" in queued.stdout
    with app.app_context():
        assert db.session.query(Demand).count() == 0
    ran = runner.invoke(args=["worker", "--burst"])
    assert ran.exit_code == 0, ran.output
    [(kind, state, attempts, error)] = _jobs(app)
    assert (kind, state, error) == ("import", JobState.DONE, None)
    with app.app_context():
        assert db.session.query(Demand).count() == 1 and db.session.query(Capability).count() == 1
        assert db.session.query(Match).count() == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,ref,organization,title,description\nnonsense,X,,,\n", encoding="utf-8")
    refused = runner.invoke(args=["import", str(bad), "--background"])
    assert refused.exit_code == 1 and "row 2" in refused.output
    assert len(_jobs(app)) == 1  # nothing queued for a bad file
