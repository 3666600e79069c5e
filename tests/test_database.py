"""Schema through migrations, SQLite connection settings, the seed, one transaction per write."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from board.extensions import db
from board.models import (
    Capability,
    Demand,
    DemandStatus,
    Event,
    Match,
    Organization,
    Outcome,
    Role,
    User,
)
from board.services import matches, seeding


@contextmanager
def empty_database(backend, tmp_path, name: str):
    """The URL of an empty database of the test's backend (a schema of its own on PostgreSQL,
    dropped afterwards)."""
    if backend["name"] != "postgresql":
        yield f"sqlite:///{tmp_path / (name + '.sqlite3')}"
        return
    schema = f'{backend["schema"]}_{name}'
    admin = sa.create_engine(backend["url"])
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield backend["url"].replace(backend["schema"], schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migrations_build_the_schema_the_models_describe(make_app, backend, tmp_path):
    from board import create_app
    from board.cli import upgrade_schema

    with empty_database(backend, tmp_path, "mig") as url:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
        with app.app_context():
            upgrade_schema()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert diff == []
            db.engine.dispose()


def test_accounts_of_a_running_board_still_sign_in_after_the_address_check_upgrade(
        make_app, backend, tmp_path):
    """0009 asks sign-ups to confirm their address; accounts made before it were never asked."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from board import create_app
    from board.services import accounts

    with empty_database(backend, tmp_path, "up") as url:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
        with app.app_context():
            upgrade(revision="0008")
            db.session.execute(sa.text(
                "INSERT INTO user_account (email, password_hash, display_name, role, active, "
                "is_demo, created_at, email_digest) VALUES ('old@example.com', :h, 'old', "
                "'staff', :t, :f, CURRENT_TIMESTAMP, :f)"),
                {"h": generate_password_hash("an old passphrase"), "t": True, "f": False})
            db.session.commit()
            upgrade()
            assert accounts.authenticate("old@example.com", "an old passphrase", False)
            db.session.remove()
            db.engine.dispose()


def test_sqlite_connections_get_foreign_keys_wal_and_busy_timeout(ctx, backend):
    if backend["name"] != "sqlite":
        pytest.skip("SQLite settings")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000  # a write waits 30 s


def test_seed_loads_the_event_once(ctx):
    counts = seeding.load_event()
    db.session.commit()
    assert counts == {"organizations": 18, "demands": 5, "capabilities": 12, "outcomes": 2,
                      "profiles": 18}
    assert seeding.load_event() == {"organizations": 0, "demands": 0, "capabilities": 0, "outcomes": 0,
                                    "profiles": 0}
    db.session.commit()
    assert db.session.query(Demand).count() == 5
    ev = db.session.query(Event).one()
    assert str(ev.held_on) == "2023-02-10"


def test_seed_marks_what_is_illustrative(ctx):
    seeding.load_event()
    demands = db.session.query(Demand).all()
    stated = [d for d in demands if not d.is_illustrative]
    assert [d.organization.name for d in stated] == ["北京交运安训科技有限公司"]
    assert {d.segment_code for d in demands} == {"design", "construction", "equipment", "operation", "control"}
    for d in demands:
        assert d.provenance and d.status == DemandStatus.PUBLISHED
        if d.is_illustrative:
            assert d.organization.is_illustrative  # posted under a neutral name
    assert all(c.is_illustrative for c in db.session.query(Capability))
    agreements = {(o.organization_a.name, o.organization_b.name) for o in db.session.query(Outcome)}
    assert agreements == {("交控科技", "Geoflex（法国）"), ("北京交运安训科技有限公司", "包头铁道职业技术学院")}
    # No account is created in anyone's name.
    assert db.session.query(User).count() == 0


def test_seeded_board_shows_example_badges_and_matches(app):
    with app.app_context():
        seeding.load_event()
        matches.rematch_all()
        db.session.commit()
        assert db.session.query(Match).count() > 0
    html = app.test_client().get("/").get_data(as_text=True)
    assert html.count("badge-example") == 4
    assert "北京交运安训科技有限公司" in html


def test_demo_accounts_are_separate_from_the_event_seed(app):
    with app.app_context():
        seeding.load_event()
        db.session.commit()
        assert db.session.query(User).filter_by(is_demo=True).count() == 0
        seeding.load_demo_accounts()
        db.session.commit()
        roles = {u.role for u in db.session.query(User).filter_by(is_demo=True)}
        assert roles == {Role.COMPANY, Role.SUPPLIER, Role.STAFF}


def test_a_failing_request_writes_nothing(app, make, login, monkeypatch):
    company = make.user(Role.COMPANY)
    c = login(app.test_client(), company)

    def boom(*args, **kwargs):
        raise RuntimeError("scoring failed")

    monkeypatch.setattr(matches, "refresh_demand", boom)
    resp = c.post("/company/demands/new", data={
        "title": "站台门改造项目", "description": "既有线屏蔽门改造与维护。", "visibility": "public", "segment": ""})
    assert resp.status_code == 500
    assert "您填写的内容未被保存" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Demand).count() == 0
        assert db.session.query(Organization).count() == 1


def test_init_db_outside_demo_mode_removes_demo_accounts(tmp_path, monkeypatch):
    from board import create_app

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    demo = create_app({"BOARD_DEMO": True})
    assert "demo company" in demo.test_cli_runner().invoke(args=["init-db"]).output
    plain = create_app({"BOARD_DEMO": False})
    out = plain.test_cli_runner().invoke(args=["init-db"]).output
    assert "removed 3 demo accounts" in out
    with plain.app_context():
        assert db.session.query(User).count() == 0
        assert db.session.query(Demand).count() == 5


def test_init_db_rematches_after_the_lexicon_file_changed(tmp_path, monkeypatch):
    from board import create_app
    from board.config import PROJECT_ROOT

    lexicon = tmp_path / "lexicon.tsv"
    lexicon.write_text((PROJECT_ROOT / "seed" / "lexicon.tsv").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'lex.sqlite3'}")
    app = create_app({"LEXICON_PATH": str(lexicon)})
    app.test_cli_runner().invoke(args=["init-db"])
    with app.app_context():
        before = {d.analysis_version for d in db.session.query(Demand)}
    # Adding a concept changes the lexicon version.
    with open(lexicon, "a", encoding="utf-8") as fh:
        fh.write("\nmetaverse_test\t\toperation\t\t\t元宇宙测试词\tmetaverse test term\t\n")
    app = create_app({"LEXICON_PATH": str(lexicon)})
    app.test_cli_runner().invoke(args=["init-db"])
    with app.app_context():
        after = {d.analysis_version for d in db.session.query(Demand)}
    assert len(before) == len(after) == 1 and before != after
