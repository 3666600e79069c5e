"""Backup and restore of the board's database.

SQLite: a consistent copy taken while the board runs (SQLite's online backup API, page by
page, so writers are never blocked for long), and a restore that checks the copy first and
then writes it back the same way. PostgreSQL: the pg_dump / pg_restore commands to run,
since the server's own tools are the right ones there.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ..extensions import db

#: Tables a copy of the board's database must hold.
REQUIRED_TABLES = ("user_account", "organization", "demand")


class BackupError(RuntimeError):
    """The copy cannot be made or used; the message says why."""


def sqlite_path(url: str | sa.URL) -> Path | None:
    """The file of a SQLite URL (None for other databases or an in-memory one)."""
    url = make_url(str(url)) if not isinstance(url, sa.URL) else url
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(url.database)


def _url() -> sa.URL:
    return db.engine.url


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy ``source`` to ``target``; returns the number of pages copied."""
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=256)
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
    finally:
        dst.close()
        src.close()
    return pages


def check_copy(path: Path) -> None:
    """Refuse a file that is not a sound SQLite copy of a board database."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist.")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc}).") from exc
    if result != "ok":
        raise BackupError(f"{path} is damaged: {result}")
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise BackupError(f"{path} is not a copy of the board (no {', '.join(missing)} table).")


def restore_sqlite(copy: Path, target: Path) -> None:
    """Write ``copy`` over the database ``target`` (checked first; all or nothing)."""
    check_copy(copy)
    db.session.remove()
    db.engine.dispose()  # no pooled connection keeps reading the old pages
    src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def pg_commands(path: Path) -> tuple[str, str]:
    """The pg_dump and pg_restore commands for this database (password left out: give it in
    PGPASSWORD or ~/.pgpass)."""
    import shlex

    url = _url()
    plain = sa.URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                          database=url.database, query=url.query)
    target = plain.render_as_string(hide_password=False)
    quoted, out = shlex.quote(target), shlex.quote(str(path))
    return (
        f"pg_dump --format=custom --no-owner --file {out} {quoted}",
        f"pg_restore --clean --if-exists --no-owner --single-transaction --dbname {quoted} {out}",
    )
