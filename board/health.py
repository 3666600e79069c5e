"""What the board depends on, checked cheaply: for ``/readyz``, ``flask check`` and the start.

Every check answers ``None`` when the component is fine, or a short reason. A reason never
holds a setting's value, a host name or a connection string: exceptions are named by class.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import tempfile
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from .extensions import db

#: Seconds a readiness probe waits for Redis.
REDIS_TIMEOUT = 1.0
#: Where a background-job module may live; when one exists, its ``health()`` (None or a
#: reason) joins readiness and its ``stats()`` ({"queued": n, "failed": n}) the metrics.
JOB_MODULES = ("board.jobs", "board.services.jobs")


def _why(exc: BaseException) -> str:
    return type(exc).__name__


def database() -> str | None:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:
        return f"unreachable ({_why(exc)})"
    finally:
        try:
            db.session.rollback()  # no transaction left open between probes
        except Exception:
            db.session.remove()


@functools.lru_cache(maxsize=4)
def latest_revisions(directory: str) -> frozenset[str]:
    """The heads of the shipped migrations (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def migrations_directory() -> str:
    return current_app.extensions["migrate"].directory


def current_revisions() -> frozenset[str]:
    """The revisions the database is at (none when it was never migrated)."""
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return frozenset()
        return frozenset(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))


def schema() -> str | None:
    """None when the database is at the latest migration."""
    try:
        latest = latest_revisions(migrations_directory())
        current = current_revisions()
    except Exception as exc:
        return f"cannot read the schema version ({_why(exc)})"
    if current == latest:
        return None
    if not current:
        return "no migration applied: run flask --app board db upgrade"
    return (f"at {', '.join(sorted(current))}, latest is {', '.join(sorted(latest))}: "
            "run flask --app board db upgrade")


def redis_url() -> str | None:
    return current_app.config.get("REDIS_URL") or None


def redis() -> str | None:
    url = redis_url()
    if not url:
        return None
    if importlib.util.find_spec("redis") is None:
        return "REDIS_URL is set but the redis package is not installed"
    import redis as redis_lib

    try:
        client = redis_lib.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
        return None
    except Exception as exc:
        return f"unreachable ({_why(exc)})"


def jobs_module():
    """The background-job module when the board has one, else None."""
    for name in JOB_MODULES:
        try:
            if importlib.util.find_spec(name) is not None:
                return importlib.import_module(name)
        except ImportError:
            continue
    return None


def jobs() -> str | None:
    module = jobs_module()
    check = getattr(module, "health", None)
    if check is None:
        return None
    try:
        return check()
    except Exception as exc:
        return f"cannot read the job queue ({_why(exc)})"


def job_stats() -> dict | None:
    stats = getattr(jobs_module(), "stats", None)
    if stats is None:
        return None
    try:
        return dict(stats())
    except Exception:
        return None


def upload_folder() -> str | None:
    folder = Path(current_app.config["UPLOAD_DIR"])
    if not folder.is_dir():
        return "missing: run flask --app board init-db, or create it"
    # Writing a file is the only honest test (permission bits say nothing to root).
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        return f"not writable ({_why(exc)})"
    return None


#: Readiness: the components a request needs, in the order they are reported.
READINESS: dict[str, Callable[[], str | None]] = {
    "database": database,
    "schema": schema,
    "redis": redis,
    "jobs": jobs,
}


def readiness() -> tuple[bool, dict[str, str]]:
    """Every component with ``ok`` or its reason; the schema is not read while the database
    does not answer, and a component the board is not configured to use is left out."""
    out: dict[str, str] = {}
    for name, check in READINESS.items():
        if name == "redis" and not redis_url():
            continue
        if name == "jobs" and getattr(jobs_module(), "health", None) is None:
            continue
        if name == "schema" and out.get("database") != "ok":
            out[name] = "not checked: the database does not answer"
            continue
        out[name] = check() or "ok"
    return all(v == "ok" for v in out.values()), out


# -- production readiness (flask --app board check, and the production start) -------------
class Problem:
    """One line of ``flask check``. A blocking problem stops the production start too."""

    def __init__(self, text: str, blocking: bool = True):
        self.text = text
        self.blocking = blocking

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Problem({self.text!r}, blocking={self.blocking})"


def _secret_key_problem(cfg) -> str | None:
    if cfg.get("SECRET_KEY_GENERATED") or not cfg.get("SECRET_KEY"):
        return ("SECRET_KEY is not set: every process makes its own key, so sessions break "
                "across workers and restarts")
    key = str(cfg["SECRET_KEY"])
    from . import config as config_mod

    check = getattr(config_mod, "check_secret_key", None)
    if check is not None:
        try:
            check(key)
        except config_mod.ConfigError as exc:
            return str(exc)
        return None
    if len(key) < 32:
        return f"SECRET_KEY has {len(key)} characters; it needs at least 32 random ones"
    return None


def _mail_problems(cfg) -> list[str]:
    out = []
    if not cfg.get("MAIL_SERVER"):
        given = [n for n in ("MAIL_USERNAME", "MAIL_PASSWORD") if cfg.get(n)]
        if given:
            out.append(f"{given[0]} is set but MAIL_SERVER is not: notices stay in the outbox")
        return out
    # Notices leave the board by mail: they need a sender, sign-in pairs and working links.
    sender = (cfg.get("MAIL_FROM") or "").strip()
    domain = sender.rpartition("@")[2]
    if not sender or "@" not in sender or domain in ("localhost", "") or "." not in domain:
        out.append("MAIL_FROM is not a real sender address (mail from board@localhost is "
                   "refused or filtered as spam)")
    if bool(cfg.get("MAIL_USERNAME")) != bool(cfg.get("MAIL_PASSWORD")):
        missing = "MAIL_PASSWORD" if cfg.get("MAIL_USERNAME") else "MAIL_USERNAME"
        out.append(f"{missing} is missing: MAIL_USERNAME and MAIL_PASSWORD go together")
    host = (cfg.get("BOARD_URL") or "").split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if host in ("", "127.0.0.1", "localhost", "::1", "[::1]"):
        out.append("BOARD_URL is not set to the board's public address: links in notices "
                   "would point at this machine")
    return out


def production_problems(app) -> list[Problem]:
    """Everything that makes this configuration unfit to serve, one problem per line."""
    cfg = app.config
    problems: list[Problem] = [Problem(e) for e in cfg.get("CONFIG_ERRORS", ())]
    secret = _secret_key_problem(cfg)
    if secret and not any("SECRET_KEY" in p.text for p in problems):
        problems.append(Problem(secret))
    if app.debug or cfg.get("DEBUG"):
        problems.append(Problem("debug is on (FLASK_DEBUG or --debug): the debugger runs "
                                "code sent from a browser"))
    if cfg.get("BOARD_DEMO"):
        problems.append(Problem("BOARD_DEMO is on: demo accounts with published passwords "
                                "can sign in"))
    if (cfg.get("BOARD_URL") or "").lower().startswith("https://") and not cfg.get(
        "SESSION_COOKIE_SECURE"
    ):
        problems.append(Problem("SESSION_COOKIE_SECURE is off while BOARD_URL is https: "
                                "the session cookie would also travel over plain HTTP"))
    with app.app_context():
        reason = database()
        if reason:
            problems.append(Problem(f"database {reason}"))
        else:
            reason = schema()
            if reason:
                problems.append(Problem(f"database schema {reason}"))
        reason = redis()
        if reason:
            # The board still serves (throttles fall back to the database); readiness
            # reports it, and jobs wait.
            problems.append(Problem(f"Redis {reason}", blocking=False))
        reason = upload_folder()
        if reason:
            problems.append(Problem(f"upload folder (UPLOAD_DIR) {reason}"))
        # Mail waits in the queue until the settings are fixed: not a reason to stay down.
        problems += [Problem(t, blocking=False) for t in _mail_problems(cfg)]
        db.session.remove()
    return problems
