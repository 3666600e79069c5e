"""Long work outside the web request: the full rematch (also after a lexicon edit), large
imports, sending mail and reminders.

One code path: a request (or command) calls ``enqueue``, which writes a ``Job`` row; once
that transaction commits the job is handed to a runner, which calls ``execute``:

- ``rq``: RQ on Redis (REDIS_URL set); ``flask --app board worker`` runs the jobs;
- ``thread``: a worker thread in the same process (the embedded default, no Redis);
- ``inline``: run at once in a separate thread, waited for (tests);
- ``manual``: left queued for ``flask --app board worker``, which then reads the job table.

``execute`` claims the job (one runner wins), takes the lock of its kind (one rematch at a
time across every worker and server: a Redis lock, or a row in ``job_lock``), runs it, and
records the result or the error for staff (/admin/jobs). A failed job is tried again up to
JOB_ATTEMPTS times."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Job, JobLock, JobState, User, utcnow

log = logging.getLogger(__name__)

QUEUE_NAME = "board"
LOCK_TTL = dt.timedelta(hours=2)  # a lock older than this was left by a worker that died
LOCK_WAIT_SECONDS = 3600
Progress = Callable[[int, int], None]

# -- the jobs -----------------------------------------------------------------------------
HANDLERS: dict[str, Callable[[dict, Progress], dict]] = {}


def handler(kind: str):
    def register(fn):
        HANDLERS[kind] = fn
        return fn

    return register


def _counting(items: Iterable, progress: Progress, every: int = 200) -> Iterator:
    if not hasattr(items, "__len__"):
        items = list(items)
    total = len(items)
    for i, item in enumerate(items, 1):
        if i % every == 0 or i == total:
            progress(i, total)
        yield item


@handler("rematch")
def _rematch(params: dict, progress: Progress) -> dict:
    from . import matches

    return matches.rematch_all(lambda items: _counting(items, progress))


@handler("import")
def _import(params: dict, progress: Progress) -> dict:
    """Every row or none: the rows, the matches they touch and the audit entry are written
    in the transaction that marks the job done."""
    from . import import_preview, importing

    path = Path(params["path"])
    if params.get("plan"):
        # Confirmed in the browser: imported exactly as previewed, in the name of the staff
        # member who confirmed. The file stays until the import is committed (a retry reads
        # it again); an upload left behind is removed with the day-old previews.
        actor = db.session.get(User, params["actor_id"]) if params.get("actor_id") else None
        result = import_preview.confirm(actor, path, params["plan"], params.get("name") or path.name)
        db.session.info.setdefault("files_after_commit", []).append(path)
        return {"file": params.get("name"), "created": result.created, "updated": result.updated,
                "demands": result.demands, "capabilities": result.capabilities}
    try:
        result = importing.import_file(path)
    finally:
        if params.get("remove"):
            path.unlink(missing_ok=True)
    return {"created": result.created, "updated": result.updated,
            "demands": result.demands, "capabilities": result.capabilities}


@handler("send_mail")
def _send_mail(params: dict, progress: Progress) -> dict:
    from . import mailer

    return {"summary": mailer.summary(mailer.run())}


# -- queueing -----------------------------------------------------------------------------
def enqueue(kind: str, params: dict | None = None, user: User | None = None) -> Job:
    """Queue a job; it is handed to a runner when the current transaction commits."""
    if kind not in HANDLERS:
        raise ValueError(f"no job kind {kind!r}")
    job = Job(kind=kind, params=params or {}, state=JobState.QUEUED,
              created_by_id=user.id if user is not None else None)
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault("jobs_pending", []).append(job.id)
    db.session.info["jobs_app"] = current_app._get_current_object()
    return job


def mode(app: Flask) -> str:
    chosen = app.config.get("JOBS_MODE")
    if chosen:
        return chosen
    if app.testing:
        return "inline"
    return "rq" if app.config.get("REDIS_URL") else "thread"


def _after_commit(session) -> None:
    for path in session.info.pop("files_after_commit", ()):
        path.unlink(missing_ok=True)
    pending = session.info.pop("jobs_pending", None)
    app = session.info.pop("jobs_app", None)
    if pending and app is not None:
        for job_id in pending:
            dispatch(app, job_id)


def _after_rollback(session) -> None:
    session.info.pop("jobs_pending", None)
    session.info.pop("files_after_commit", None)


_listening = False


def init_app(app: Flask) -> None:
    global _listening
    app.config.setdefault("JOBS_MODE", None)
    app.config.setdefault("JOB_ATTEMPTS", 3)
    if not _listening:
        sa.event.listen(db.session, "after_commit", _after_commit)
        sa.event.listen(db.session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
        _listening = True


def queue_name(app: Flask) -> str:
    return app.config.get("JOBS_QUEUE") or QUEUE_NAME


def redis_connection(app: Flask):
    import redis

    return redis.Redis.from_url(app.config["REDIS_URL"])


def dispatch(app: Flask, job_id: int) -> None:
    how = mode(app)
    if how == "rq":
        from rq import Queue, Retry

        attempts = int(app.config.get("JOB_ATTEMPTS", 3))
        Queue(queue_name(app), connection=redis_connection(app)).enqueue(
            run, job_id, job_id=f"board-job-{job_id}", job_timeout=4 * 3600,
            retry=Retry(max=attempts - 1, interval=[10, 60]) if attempts > 1 else None,
        )
    elif how == "thread":
        _local_queue(app).put(job_id)
    elif how == "inline":
        t = threading.Thread(target=_run_in, args=(app, job_id), daemon=True)
        t.start()
        t.join()
    # "manual": left queued for the worker command


_local: dict[int, queue.Queue] = {}
_local_lock = threading.Lock()


def _local_queue(app: Flask) -> queue.Queue:
    """This process's job queue and its worker thread (started on first use)."""
    with _local_lock:
        q = _local.get(id(app))
        if q is None:
            q = _local[id(app)] = queue.Queue()

            def work():
                while True:
                    _run_in(app, q.get())

            threading.Thread(target=work, name="board-jobs", daemon=True).start()
        return q


def _run_in(app: Flask, job_id: int) -> None:
    attempts = int(app.config.get("JOB_ATTEMPTS", 3))
    for _ in range(attempts):
        with app.app_context():
            try:
                execute(job_id, final=False)
                return
            except Exception:
                log.exception("job %s failed", job_id)
            finally:
                db.session.remove()
    with app.app_context():
        _fail_for_good(job_id)
        db.session.remove()


def run(job_id: int) -> None:
    """The entry point RQ calls (inside the worker's app context)."""
    from rq import get_current_job

    rq_job = get_current_job()
    final = rq_job is None or not rq_job.retries_left
    app = _worker_app()
    with app.app_context():
        try:
            execute(job_id, final=final)
        finally:
            db.session.remove()


_worker_apps: list[Flask] = []


def _worker_app() -> Flask:
    from flask import has_app_context

    if has_app_context():
        return current_app._get_current_object()
    if not _worker_apps:
        from .. import create_app

        _worker_apps.append(create_app())
    return _worker_apps[0]


# -- running ------------------------------------------------------------------------------
_progress: dict[int, tuple[int, int]] = {}


def _report(job_id: int) -> Progress:
    app = current_app._get_current_object()
    conn = redis_connection(app) if app.config.get("REDIS_URL") else None

    def progress(done: int, total: int) -> None:
        _progress[job_id] = (done, total)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.hset(f"board:job:{job_id}", mapping={"done": done, "total": total})
                conn.expire(f"board:job:{job_id}", 86400)

    return progress


def progress_of(jobs: list[Job]) -> dict[int, tuple[int, int]]:
    """(done, total) of running jobs, from this process or from Redis."""
    out = {j.id: _progress[j.id] for j in jobs if j.id in _progress}
    running = [j.id for j in jobs if j.state == JobState.RUNNING and j.id not in out]
    if running and current_app.config.get("REDIS_URL"):
        with contextlib.suppress(Exception):
            conn = redis_connection(current_app)
            for jid in running:
                got = conn.hgetall(f"board:job:{jid}")
                if got:
                    out[jid] = (int(got[b"done"]), int(got[b"total"]))
    return out


def _claim(job_id: int) -> bool:
    """Mark a queued job as running; False when another runner has it (or it is done)."""
    changed = db.session.execute(
        sa.update(Job).where(Job.id == job_id, Job.state == JobState.QUEUED)
        .values(state=JobState.RUNNING, started_at=utcnow(), attempts=Job.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return changed == 1


@contextlib.contextmanager
def kind_lock(kind: str, job_id: int, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """One job of a kind at a time: a Redis lock when REDIS_URL is set, else a row."""
    app = current_app._get_current_object()
    if app.config.get("REDIS_URL"):
        lock = redis_connection(app).lock(f"board:lock:{kind}", timeout=LOCK_TTL.total_seconds(),
                                          blocking_timeout=wait)
        if not lock.acquire():
            raise TimeoutError(f"another {kind} job holds the lock")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                lock.release()
        return
    deadline = time.monotonic() + wait
    while not _take_row_lock(kind, job_id):
        if time.monotonic() > deadline:
            raise TimeoutError(f"another {kind} job holds the lock")
        time.sleep(0.5)
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(sa.delete(JobLock).where(JobLock.kind == kind, JobLock.job_id == job_id))
        db.session.commit()


def _take_row_lock(kind: str, job_id: int) -> bool:
    now = utcnow()
    try:
        db.session.add(JobLock(kind=kind, job_id=job_id, expires_at=now + LOCK_TTL))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    taken = db.session.execute(  # a lock left by a worker that died
        sa.update(JobLock).where(JobLock.kind == kind, JobLock.expires_at < now)
        .values(job_id=job_id, expires_at=now + LOCK_TTL)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return taken == 1


def lock_kind(kind: str) -> str:
    """Jobs that must not overlap share a lock: every rematch, and imports (which rematch)."""
    return "matching" if kind in ("rematch", "import") else kind


def execute(job_id: int, final: bool = True) -> None:
    """Run one job in the current app context. A failure is recorded; unless ``final``,
    the job goes back to the queue (its runner tries again) and the error is raised."""
    if not _claim(job_id):
        return
    job = db.session.get(Job, job_id)
    try:
        with kind_lock(lock_kind(job.kind), job_id):
            result = HANDLERS[job.kind](dict(job.params or {}), _report(job_id))
            job = db.session.get(Job, job_id)
            job.state, job.result, job.error = JobState.DONE, result, None
            job.finished_at = utcnow()
            db.session.commit()
    except Exception as exc:
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
        if final:
            job.state, job.finished_at = JobState.FAILED, utcnow()
            db.session.commit()
            return
        job.state = JobState.QUEUED
        db.session.commit()
        raise
    finally:
        _progress.pop(job_id, None)


def _fail_for_good(job_id: int) -> None:
    job = db.session.get(Job, job_id)
    if job is not None and job.state == JobState.QUEUED:
        job.state, job.finished_at = JobState.FAILED, utcnow()
        db.session.commit()


def work(burst: bool = False, poll: float = 2.0, stop: Callable[[], bool] = lambda: False) -> int:
    """The worker without Redis: run queued jobs from the job table, oldest first; with
    ``burst``, stop when none is left. Returns how many jobs it ran."""
    ran = 0
    while not stop():
        job_id = db.session.scalar(
            sa.select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.id).limit(1)
        )
        db.session.rollback()
        if job_id is None:
            if burst:
                return ran
            time.sleep(poll)
            continue
        try:
            execute(job_id, final=_last_attempt(job_id))
        except Exception:
            log.exception("job %s failed; it will be tried again", job_id)
        ran += 1
    return ran


def _last_attempt(job_id: int) -> bool:
    attempts = db.session.scalar(sa.select(Job.attempts).where(Job.id == job_id)) or 0
    db.session.rollback()
    return attempts + 1 >= int(current_app.config.get("JOB_ATTEMPTS", 3))


def recent(limit: int = 50) -> list[Job]:
    return list(db.session.scalars(
        sa.select(Job).order_by(Job.id.desc()).limit(limit)
    ))


# -- readiness and metrics (board/health.py) ----------------------------------------------
def stats() -> dict[str, int]:
    """Jobs waiting and jobs that failed for good, in one query."""
    counts = dict(db.session.execute(
        sa.select(Job.state, sa.func.count()).where(Job.state.in_([JobState.QUEUED, JobState.FAILED]))
        .group_by(Job.state)
    ).all())
    db.session.rollback()
    return {"queued": counts.get(JobState.QUEUED, 0), "failed": counts.get(JobState.FAILED, 0)}


def health() -> str | None:
    """None while the queue moves; a reason when its oldest job has waited longer than
    JOB_STALL_MINUTES (no worker takes jobs)."""
    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(Job.created_at)).where(Job.state == JobState.QUEUED)
    ).one()
    db.session.rollback()
    if not count or oldest is None:
        return None
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    waited = int((utcnow() - oldest).total_seconds() // 60)
    if waited < int(current_app.config.get("JOB_STALL_MINUTES", 15)):
        return None
    return (f"stalled: {count} job(s) queued, oldest waiting {waited} min, "
            "no worker has taken it")
