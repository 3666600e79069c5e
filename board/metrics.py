"""Prometheus metrics: requests, latency, in-flight requests and the database pool, counted in
each process; mail, the matching index and the job queue read from the database at scrape time.

Under gunicorn every worker writes its counts to files in ``PROMETHEUS_MULTIPROC_DIR``
(board/gunicorn_conf.py sets it before the app is imported and empties it at start-up), and
``/metrics`` adds them up, so a scrape answered by any worker sees all of them. Without that
directory (the development server, tests) the counts are the process's own.
"""

from __future__ import annotations

import os
import time

import sqlalchemy as sa
from flask import Flask, g, request, request_finished, request_started, request_tearing_down
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from .extensions import db

CONTENT_TYPE = CONTENT_TYPE_LATEST
# No *_created series: they double the output and Prometheus does not need them.
disable_created_metrics()
#: This process's metrics (in multiprocess mode their values live in files instead).
REGISTRY = CollectorRegistry(auto_describe=True)
#: Seconds; from a cached page to a slow matching page.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "board_http_requests", "Requests answered, by route rule, method and status.",
    ["route", "method", "status"], registry=REGISTRY,
)
LATENCY = Histogram(
    "board_http_request_duration_seconds", "Time to answer a request, by route rule, method and status.",
    ["route", "method", "status"], buckets=BUCKETS, registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "board_http_requests_in_flight", "Requests being answered now.",
    registry=REGISTRY, multiprocess_mode="livesum",
)
DB_POOL = Gauge(
    "board_db_pool_connections",
    "Database connections per state: in_use (checked out), idle (in the pool), size (pool size).",
    ["state"], registry=REGISTRY, multiprocess_mode="livesum",
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _route() -> str:
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def _pool_gauges() -> None:
    try:
        pool = db.engine.pool
    except Exception:  # no app context or no engine
        return
    for state, read in (("in_use", "checkedout"), ("idle", "checkedin"), ("size", "size")):
        fn = getattr(pool, read, None)
        if fn is not None:
            DB_POOL.labels(state).set(fn())


def _start(sender, **extra) -> None:
    g.metrics_started = time.perf_counter()
    IN_FLIGHT.inc()


def _count(sender, response, **extra) -> None:
    started = g.get("metrics_started")
    if started is not None:
        labels = (_route(), request.method, str(response.status_code))
        REQUESTS.labels(*labels).inc()
        LATENCY.labels(*labels).observe(time.perf_counter() - started)


def _done(sender, **extra) -> None:
    if g.pop("metrics_started", None) is not None:
        IN_FLIGHT.dec()
        _pool_gauges()


def init_app(app: Flask) -> None:
    # Signals (as board/logs.py): every request is counted, whatever answered it.
    request_started.connect(_start, app)
    request_finished.connect(_count, app)
    request_tearing_down.connect(_done, app)


class BoardCollector:
    """Figures kept in the database, read when Prometheus scrapes (the same for every worker)."""

    def collect(self):
        from . import health
        from .models import IndexRebuild, MailStatus, Match, MatchKey, OutboundMail

        up = GaugeMetricFamily("board_database_up", "1 when the database answered the scrape's queries.")
        try:
            mail = dict(db.session.execute(
                sa.select(OutboundMail.status, sa.func.count()).group_by(OutboundMail.status)
            ).all())
            keys = db.session.scalar(sa.select(sa.func.count()).select_from(MatchKey)) or 0
            records = db.session.scalar(
                sa.select(sa.func.count()).select_from(
                    sa.select(MatchKey.side, MatchKey.record_id).distinct().subquery()
                )
            ) or 0
            computed = db.session.scalar(sa.select(sa.func.max(Match.computed_at)))
            rebuild = db.session.execute(
                sa.select(IndexRebuild.finished_at, IndexRebuild.seconds)
                .order_by(IndexRebuild.finished_at.desc(), IndexRebuild.id.desc()).limit(1)
            ).first()
        except Exception:
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        finally:
            db.session.rollback()
        up.add_metric([], 1)
        yield up
        family = GaugeMetricFamily(
            "board_mail_messages", "E-mails by state: sent, failed (gave up), queued, outbox (no mail server).",
            labels=["status"],
        )
        for status in MailStatus:
            family.add_metric([status.value], mail.get(status, 0))
        yield family
        yield GaugeMetricFamily("board_matching_index_keys", "Postings in the matching index.", value=keys)
        yield GaugeMetricFamily(
            "board_matching_index_records", "Demands and capabilities filed in the matching index.",
            value=records,
        )
        yield GaugeMetricFamily(
            "board_matching_last_computed_timestamp_seconds",
            "When stored matches were last computed (a rebuild or a record's rescoring), Unix time.",
            value=computed.timestamp() if computed else 0,
        )
        yield GaugeMetricFamily(
            "board_matching_last_rebuild_timestamp_seconds",
            "When the last full rebuild of the index and of every demand's matches finished, "
            "Unix time (0: never).",
            value=rebuild.finished_at.timestamp() if rebuild else 0,
        )
        yield GaugeMetricFamily(
            "board_matching_last_rebuild_duration_seconds",
            "How long the last full rebuild took.", value=rebuild.seconds if rebuild else 0,
        )
        stats = health.job_stats()
        if stats is not None:
            for name in ("queued", "failed"):
                if name in stats:
                    yield GaugeMetricFamily(f"board_jobs_{name}", f"Background jobs {name}.",
                                            value=stats[name])


def exposition() -> bytes:
    """The text a scrape receives: every worker's counts, then the database's figures."""
    _pool_gauges()
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers, path=path)
        body = generate_latest(workers)
    else:
        body = generate_latest(REGISTRY)
    stored = CollectorRegistry(auto_describe=False)
    stored.register(BoardCollector())
    return body + generate_latest(stored)


def mark_process_dead(pid: int) -> None:
    """A worker exited: its in-flight and pool gauges stop counting (gunicorn's child_exit)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
