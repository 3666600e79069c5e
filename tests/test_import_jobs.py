"""A large browser import runs as a background job: the confirmation queues it and sends staff
to its progress on /admin/jobs; the job imports every row in one transaction, in the name of
the staff member who confirmed, or nothing when the board changed since the preview."""

from __future__ import annotations

import sqlalchemy as sa

from board.extensions import db
from board.models import AuditEntry, Job, JobState, Organization, Role
from board.services import jobs
from tests.factories import Factory
from tests.test_import_export import (
    CBTC_CAP,
    CBTC_DEMAND,
    PSD_CAP,
    PSD_DEMAND,
    counts,
    import_ok,
    write_json,
)
from tests.test_import_preview import confirm_data, refs, staged, upload

ROWS = [PSD_DEMAND, PSD_CAP, CBTC_DEMAND, dict(CBTC_CAP, organization="全新信号公司")]


def _jobs(app):
    with app.app_context():
        return [(j.kind, j.state) for j in db.session.scalars(sa.select(Job).order_by(Job.id))]


def _preview(client, tmp_path, rows=ROWS):
    resp = upload(client, write_json(tmp_path / "big.json", rows))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return confirm_data(resp.get_data(as_text=True))


def test_a_file_within_the_limit_is_imported_at_once(make_app, login, tmp_path):
    app = make_app(IMPORT_SYNC_MAX_ROWS=4, JOBS_MODE="manual")
    staff = login(app.test_client(), Factory(app).user(Role.STAFF))
    resp = staff.post("/admin/import/confirm", data=_preview(staff, tmp_path))
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/import"
    assert refs(app) == {"demand": {"D-PSD", "D-CBTC"}, "capability": {"C-PSD", "C-CBTC"}}
    assert _jobs(app) == []


def test_a_file_over_the_limit_is_imported_by_a_job(make_app, login, tmp_path):
    app = make_app(IMPORT_SYNC_MAX_ROWS=3, JOBS_MODE="manual")
    user = Factory(app).user(Role.STAFF)
    staff = login(app.test_client(), user)
    assert "超过 3 行的文件在确认后作为后台任务导入" in staff.get("/admin/import").get_data(as_text=True)
    resp = staff.post("/admin/import/confirm", data=_preview(staff, tmp_path))
    assert resp.status_code == 302
    [job_id] = _job_ids(app)
    assert resp.headers["Location"] == f"/admin/jobs#job-{job_id}"
    page = staff.get("/admin/jobs").get_data(as_text=True)
    assert f"big.json（4 行）已作为任务 {job_id} 排队" in page
    assert "排队中" in page and "big.json" in page
    # Queued, not written: the page answered before the import.
    assert counts(app)["Demand"] == 0 and len(staged(app)) == 1

    with app.app_context():
        assert jobs.work(burst=True) == 1
    assert _jobs(app) == [("import", JobState.DONE)]
    assert refs(app) == {"demand": {"D-PSD", "D-CBTC"}, "capability": {"C-PSD", "C-CBTC"}}
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "import"))
        assert entry.actor_id == user.id and entry.after["file"] == "big.json"
        assert entry.after["created"] == 4 and entry.after["rows"] == 4
    assert staged(app) == []  # the upload is removed once imported
    page = staff.get("/admin/jobs").get_data(as_text=True)
    assert "已完成" in page and "新建 4 条，更新 0 条" in page


def test_the_job_runs_at_once_in_the_worker_thread(make_app, login, tmp_path):
    app = make_app(IMPORT_SYNC_MAX_ROWS=3)  # the tests' inline runner: the job runs on commit
    staff = login(app.test_client(), Factory(app).user(Role.STAFF))
    resp = staff.post("/admin/import/confirm", data=_preview(staff, tmp_path))
    assert resp.headers["Location"].startswith("/admin/jobs#job-")
    assert _jobs(app) == [("import", JobState.DONE)]
    assert counts(app)["Demand"] == 2


def test_a_job_finding_the_board_changed_writes_nothing(make_app, login, tmp_path):
    app = make_app(IMPORT_SYNC_MAX_ROWS=3, JOBS_MODE="manual", JOB_ATTEMPTS=1)
    staff = login(app.test_client(), Factory(app).user(Role.STAFF))
    assert staff.post("/admin/import/confirm", data=_preview(staff, tmp_path)).status_code == 302
    import_ok(app, write_json(tmp_path / "other.json", [dict(PSD_DEMAND, title="别处导入")]))
    with app.app_context():
        jobs.work(burst=True)
    assert _jobs(app) == [("import", JobState.FAILED)]
    assert refs(app) == {"demand": {"D-PSD"}, "capability": set()}  # only the other import
    with app.app_context():
        assert db.session.scalar(sa.select(Organization).where(Organization.name == "全新信号公司")) is None
        assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "import")) is None
    page = staff.get("/admin/jobs").get_data(as_text=True)
    assert "最近的错误" in page and "PlanChanged" in page


def _job_ids(app):
    with app.app_context():
        return list(db.session.scalars(sa.select(Job.id)))
