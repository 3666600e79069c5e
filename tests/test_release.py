"""The release: the sdist and the wheel carry everything the board reads at run time, and the
wheel, installed in a fresh venv outside the checkout, serves the board through gunicorn by
exactly the commands of the README's "Running in production" (read from the README)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.release

ROOT = Path(__file__).resolve().parent.parent
DATA_DIRS = ("templates", "static", "seed", "migrations")
CATALOG = "board/translations/zh/LC_MESSAGES/messages"
#: Settings of the calling shell that must not reach the release under test.
SCRUB = {"DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY", "LEXICON_PATH", "PYTHONPATH",
         "PYTHONHOME", "VIRTUAL_ENV", "FLASK_APP", "SESSION_COOKIE_SECURE", "PORT"}
#: Page -> text it must show in Chinese: translated UI strings (so the compiled catalog is
#: there) and seeded data (so the seed is there).
PAGES = {
    "/": ("需求看板 · 融通对接板", "北京交运安训科技有限公司"),
    "/login": ("登录 · 融通对接板", "密码"),
    "/event": ("丰台园轨道交通产业融通发展需求发布活动", "交控科技"),
    "/static/css/board.css": (),
    "/readyz": ('"database":"ok"', '"schema":"ok"'),
}


def production_commands() -> str:
    """The shell block of the README's "Running in production" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Running in production", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the production section should hold one sh block"
    return blocks[0]


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def scratch():
    """A temporary folder outside the checkout, removed afterwards (it holds a whole venv)."""
    path = Path(tempfile.mkdtemp(prefix="rail-board-release-")).resolve()
    assert ROOT not in path.parents, "the release must be tried outside the checkout"
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def dist(scratch) -> Path:
    """The sdist, and the wheel built from it (python -m build)."""
    out = scratch / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _one(folder: Path, pattern: str) -> Path:
    found = list(folder.glob(pattern))
    assert len(found) == 1, f"{pattern}: {found}"
    return found[0]


def _tracked_data_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", *DATA_DIRS],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    files = [f for f in out.split("\0") if f and (ROOT / f).is_file()]
    assert any(f.startswith("seed/") for f in files)
    return files


def test_sdist_and_wheel_carry_the_data_folders_and_catalogs(dist):
    wheel = set(zipfile.ZipFile(_one(dist, "*.whl")).namelist())
    with tarfile.open(_one(dist, "*.tar.gz")) as tar:
        sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    data = _tracked_data_files()
    for name in ("seed/event.json", "seed/taxonomy.json", "seed/lexicon.tsv",
                 "migrations/env.py", "migrations/alembic.ini", "templates/base.html"):
        assert name in data
    assert not [f for f in data if f not in sdist], "missing from the sdist"
    assert not [f for f in data if f"board/{f}" not in wheel], "missing from the wheel"
    for suffix in (".po", ".mo"):
        assert CATALOG + suffix in sdist
        assert CATALOG + suffix in wheel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the script's whole process group (bash, gunicorn and its workers)."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()  # reap bash, or its zombie keeps the group alive
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                proc.wait(timeout=5)
                return
            time.sleep(0.2)
    proc.wait(timeout=5)


def test_installed_wheel_serves_the_board_by_the_readme_recipe(dist, scratch):
    work = scratch / "server"
    work.mkdir()
    shutil.copy(_one(dist, "*.whl"), work)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in SCRUB and not k.startswith("BOARD_")}
    env.update(PORT=str(port), BOARD_STAFF_PASSWORD=os.urandom(12).hex())
    log = work / "recipe.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", production_commands()],
            cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 150
        while not _answers(port):
            assert proc.poll() is None, f"the recipe stopped ({proc.returncode}):\n{_tail(log)}"
            assert time.monotonic() < deadline, f"gunicorn never answered:\n{_tail(log)}"
            time.sleep(0.3)
        for path, texts in PAGES.items():
            status, body = _get(f"http://127.0.0.1:{port}{path}")
            assert status == 200, f"{path}: {status}\n{body[:500]}\n{_tail(log)}"
            for text in texts:
                assert text in body, f"{path} does not show {text!r}"
        recipe = log.read_text(encoding="utf-8", errors="replace")
        assert "Database ready." in recipe
        assert "Staff account created: admin@park.example" in recipe
        assert "Booting worker" in recipe
    finally:
        _stop(proc)
    # The board read its own installed copies, not the checkout's.
    where = subprocess.run(
        [str(work / "venv/bin/python"), "-c",
         "from board import config; print(config.DATA_ROOT); print(config.INSTANCE_DIR)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(work / "venv") for p in where), where
    assert not _answers(port), "gunicorn is still listening"
