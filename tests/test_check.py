"""flask --app board check: exit 0 on a production-ready configuration, else exit 1 with one
line per problem; the production start (board.wsgi) refuses to serve on a blocking one."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys

import pytest

from board import create_app
from board.extensions import db
from tests.conftest import BASE_CONFIG

STRONG_KEY = secrets.token_hex(32)


@pytest.fixture(scope="module")
def migrated_file(tmp_path_factory):
    """A SQLite database made by the migrations, copied for each test."""
    from flask_migrate import upgrade

    path = tmp_path_factory.mktemp("check") / "board.sqlite3"
    app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}"))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def check(migrated_file, tmp_path, monkeypatch):
    """Run ``check`` on a ready configuration changed by ``overrides``: (exit code, problem lines)."""
    db_path = tmp_path / "board.sqlite3"
    shutil.copy(migrated_file, db_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()

    def run(debug: bool = False, **overrides):
        cfg = dict(BASE_CONFIG, SECRET_KEY=STRONG_KEY, SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}",
                   UPLOAD_DIR=str(uploads), BOARD_DEMO=False)
        cfg.update(overrides)
        app = create_app(cfg)
        # As `flask --debug check` (or FLASK_DEBUG=1) sets it.
        monkeypatch.setenv("FLASK_DEBUG", "1" if debug else "0")
        result = app.test_cli_runner().invoke(args=["check"])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        out = result.output
        problems = [line for line in out.splitlines() if line.startswith("problem: ")]
        with app.app_context():
            db.engine.dispose()
        return result.exit_code, problems, out

    return run


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ready_configuration_passes(check):
    code, problems, out = check()
    assert code == 0, out
    assert problems == []
    assert "Ready for production" in out


@pytest.mark.parametrize("key, words", [
    ("short-but-random-9f2c", "characters"),
    ("changeme", "example"),
    ("a" * 40, "random"),
])
def test_a_weak_secret_key(check, key, words):
    code, problems, _ = check(SECRET_KEY=key)
    assert code == 1
    assert len(problems) == 1 and "SECRET_KEY" in problems[0] and words in problems[0]
    assert key not in problems[0]


def test_a_missing_secret_key(check):
    code, problems, _ = check(SECRET_KEY=None)
    assert code == 1
    assert len(problems) == 1 and "SECRET_KEY is not set" in problems[0]


def test_an_unreachable_database(check, tmp_path):
    code, problems, _ = check(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/gone/board.sqlite3")
    assert code == 1
    assert len(problems) == 1 and problems[0].startswith("problem: database unreachable")
    assert "gone" not in problems[0]


def test_a_database_behind_the_migrations(check, tmp_path):
    from flask_migrate import stamp

    app = create_app(dict(BASE_CONFIG, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'board.sqlite3'}"))
    with app.app_context():
        stamp(revision="0003")
        db.engine.dispose()
    code, problems, _ = check()
    assert code == 1
    assert len(problems) == 1 and "schema at 0003" in problems[0] and "db upgrade" in problems[0]


def test_mail_settings_incomplete_while_notices_are_mailed(check):
    mail = dict(MAIL_SERVER="smtp.park.example", MAIL_FROM="board@park.example",
                BOARD_URL="https://board.park.example", SESSION_COOKIE_SECURE=True)
    assert check(**mail)[0] == 0
    code, problems, _ = check(**dict(mail, MAIL_FROM="board@localhost"))
    assert code == 1 and len(problems) == 1 and "MAIL_FROM" in problems[0]
    code, problems, _ = check(**dict(mail, MAIL_USERNAME="board"))
    assert code == 1 and len(problems) == 1 and "MAIL_PASSWORD is missing" in problems[0]
    code, problems, _ = check(**dict(mail, BOARD_URL="http://127.0.0.1:5000", SESSION_COOKIE_SECURE=False))
    assert code == 1 and len(problems) == 1 and "BOARD_URL" in problems[0]
    code, problems, _ = check(MAIL_USERNAME="board", MAIL_PASSWORD="pw-value-123")
    assert code == 1 and len(problems) == 1 and "MAIL_SERVER is not" in problems[0]
    assert "pw-value-123" not in problems[0]


def test_redis_configured_but_unreachable(check):
    code, problems, _ = check(REDIS_URL=f"redis://:hunter2@127.0.0.1:{_closed_port()}/0")
    assert code == 1
    assert len(problems) == 1 and problems[0].startswith("problem: Redis unreachable")
    assert "hunter2" not in problems[0]


def test_an_upload_folder_missing_or_not_writable(check, tmp_path):
    code, problems, _ = check(UPLOAD_DIR=str(tmp_path / "nowhere"))
    assert code == 1 and len(problems) == 1 and "UPLOAD_DIR" in problems[0] and "missing" in problems[0]
    if os.geteuid() == 0:
        locked = "/proc"  # root may write anywhere permission bits allow nothing; not here
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
    code, problems, _ = check(UPLOAD_DIR=str(locked))
    assert code == 1 and len(problems) == 1 and "not writable" in problems[0]


def test_an_insecure_cookie_under_https(check):
    code, problems, _ = check(BOARD_URL="https://board.park.example", SESSION_COOKIE_SECURE=False)
    assert code == 1 and len(problems) == 1 and "SESSION_COOKIE_SECURE" in problems[0]
    assert check(BOARD_URL="https://board.park.example", SESSION_COOKIE_SECURE=True)[0] == 0


def test_debug_and_demo_mode(check):
    code, problems, _ = check(debug=True)
    assert code == 1 and len(problems) == 1 and "debug is on" in problems[0]
    code, problems, _ = check(BOARD_DEMO=True)
    assert code == 1 and len(problems) == 1 and "BOARD_DEMO" in problems[0]


def test_every_problem_on_its_own_line(check, tmp_path):
    code, problems, _ = check(SECRET_KEY="changeme", UPLOAD_DIR=str(tmp_path / "nowhere"),
                              BOARD_URL="https://x.example", debug=True)
    assert code == 1
    assert len(problems) == 4


# -- the command as an operator runs it, and the production start ------------------------
def _env(tmp_path, migrated_file, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOARD_", "FLASK_", "MAIL_"))}
    shutil.copy(migrated_file, tmp_path / "board.sqlite3")
    (tmp_path / "uploads").mkdir(exist_ok=True)
    env.update(BOARD_ENV="production", SECRET_KEY=STRONG_KEY, UPLOAD_DIR=str(tmp_path / "uploads"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'board.sqlite3'}", LOG_FORMAT="json")
    env.update(extra)
    return env


def test_the_command_reports_a_key_production_refuses(tmp_path, migrated_file):
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    env = _env(tmp_path, migrated_file, SECRET_KEY="changeme")
    proc = subprocess.run([flask, "--app", "board", "check"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    problems = [line for line in proc.stderr.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 1 and "SECRET_KEY" in problems[0], proc.stderr
    # A setting refused in every environment: reported as well, not a traceback.
    env.update(MATCH_THRESHOLD="500")
    proc = subprocess.run([flask, "--app", "board", "check"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    problems = [line for line in proc.stderr.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 2 and "MATCH_THRESHOLD" in problems[1], proc.stderr


def test_the_production_start_refuses_a_blocking_problem(tmp_path, migrated_file):
    code = "import board.wsgi"
    env = _env(tmp_path, migrated_file, UPLOAD_DIR=str(tmp_path / "nowhere"))
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "Not serving: 1 blocking problem" in proc.stderr
    assert "upload folder (UPLOAD_DIR) missing" in proc.stderr
    # A problem that does not block (mail waits in its queue) is logged, and the app loads.
    env = _env(tmp_path, migrated_file, MAIL_SERVER="smtp.park.example")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert '"level": "warning"' in proc.stderr and "MAIL_FROM" in proc.stderr
