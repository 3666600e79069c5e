"""flask backup / restore: a SQLite copy taken while the board runs holds every table as it
was, and restoring it brings every table back exactly; PostgreSQL gets the commands."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from board import create_app
from board.extensions import db
from board.models import Demand, Role
from tests.conftest import BASE_CONFIG


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app(dict(BASE_CONFIG,
                          SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'live.sqlite3'}",
                          UPLOAD_DIR=str(tmp_path / "uploads")))
    with app.app_context():
        db.create_all()
        from board.services import seeding

        seeding.load_taxonomy()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with app.app_context():
        out = {}
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                rows = conn.execute(sa.select(table)).all()
                out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=[str(a) for a in args], input=input)


def test_backup_and_restore_round_trip_every_table(sqlite_app, tmp_path):
    from tests.factories import Factory

    make = Factory(sqlite_app)
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company, title="站台门改造：备份测试")
    make.capability(supplier)
    make.reply(supplier, d)
    before = snapshot(sqlite_app)
    assert sum(len(rows) for rows in before.values()) > 20
    assert all(name in before for name in ("user_account", "demand", "reply", "match"))

    copy = tmp_path / "backups" / "board-copy.sqlite3"
    done = run(sqlite_app, "backup", copy)
    assert done.exit_code == 0, done.output
    assert "Backed up" in done.output and copy.is_file()
    con = sqlite3.connect(copy)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()

    # The board goes on: a new demand, a deleted one, a changed title.
    make.demand(company, title="备份之后的需求")
    with sqlite_app.app_context():
        db.session.get(Demand, d.id).title = "改过的标题"
        db.session.commit()
    assert snapshot(sqlite_app) != before

    refused = run(sqlite_app, "restore", copy, input="n\n")
    assert refused.exit_code != 0 and snapshot(sqlite_app) != before
    done = run(sqlite_app, "restore", copy, "--yes")
    assert done.exit_code == 0, done.output
    after = snapshot(sqlite_app)
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], table
    # The restored board serves pages.
    assert sqlite_app.test_client().get(f"/demands/{d.id}").status_code == 200


def test_backup_never_overwrites_and_restore_refuses_what_is_not_a_copy(sqlite_app, tmp_path):
    taken = tmp_path / "taken.sqlite3"
    taken.write_bytes(b"already here")
    done = run(sqlite_app, "backup", taken)
    assert done.exit_code != 0 and "exists" in done.output
    assert taken.read_bytes() == b"already here"

    before = snapshot(sqlite_app)
    for bad, words in [(taken, "not a SQLite database"), (tmp_path / "missing.sqlite3", "does not exist")]:
        done = run(sqlite_app, "restore", bad, "--yes")
        assert done.exit_code != 0 and words in done.output
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    done = run(sqlite_app, "restore", other, "--yes")
    assert done.exit_code != 0 and "not a copy of the board" in done.output
    assert snapshot(sqlite_app) == before


def test_postgresql_gets_the_pg_dump_and_pg_restore_commands(tmp_path):
    app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=(
        "postgresql+psycopg://board:s3cret@db.internal:5432/board")))
    done = run(app, "backup", tmp_path / "board.dump")
    assert done.exit_code == 0, done.output
    assert "pg_dump --format=custom" in done.output
    assert "postgresql://board@db.internal:5432/board" in done.output
    assert "s3cret" not in done.output and "psycopg" not in done.output
    done = run(app, "restore", tmp_path / "board.dump")
    assert done.exit_code == 0 and "pg_restore" in done.output
