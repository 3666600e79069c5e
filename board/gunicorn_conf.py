"""gunicorn settings for the board (shipped in the package, so an installed release has it):

    gunicorn -c python:board.gunicorn_conf --bind 127.0.0.1:8000 board.wsgi:app

Options on the command line win over these. Environment: ``WEB_CONCURRENCY`` (workers),
``GUNICORN_TIMEOUT`` (seconds), ``TRUSTED_PROXIES`` (the board's own setting: the only
front ends whose X-Forwarded-* headers gunicorn believes too), ``LOG_FORMAT``/``LOG_LEVEL``,
``PROMETHEUS_MULTIPROC_DIR`` (where workers keep their metrics; a fresh temporary folder when
unset, emptied at every start).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

from board import net

# -- workers ----------------------------------------------------------------------------
# Synchronous workers: the board's requests are short, and matching is CPU work.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (with jitter, so they do not restart together).
max_requests = 2000
max_requests_jitter = 200
# Load the app once in the master: a start with a blocking problem stops before any worker
# forks (board/wsgi.py), and workers share the loaded lexicon's memory.
preload_app = True
bind = [f"127.0.0.1:{os.environ.get('PORT') or 8000}"]

# -- proxies ----------------------------------------------------------------------------
# The same list the board trusts (board/net.py): gunicorn takes the scheme from
# X-Forwarded-Proto only from these. Empty: from no one.
forwarded_allow_ips = ",".join(str(n) for n in net.parse_networks(os.environ.get("TRUSTED_PROXIES")))

# -- logs -------------------------------------------------------------------------------
# No access log: the board writes one line per request itself (board/logs.py), with the
# request id, the route rule and the user's id. gunicorn's own lines use the same format.
accesslog = None
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
_format = (os.environ.get("LOG_FORMAT") or (
    "json" if os.environ.get("BOARD_ENV", "production") == "production" else "text")).lower()
logconfig_dict = {
    "root": {"level": loglevel.upper(), "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"],
                           "propagate": False, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False,
                            "qualname": "gunicorn.access"},
    },
    "formatters": {"generic": {"()": "board.logs.make_formatter", "fmt": _format}},
}

# -- metrics ----------------------------------------------------------------------------
# Set before the app (and so prometheus_client) is imported: every worker then writes its
# counts to files there, and /metrics adds them up.
_made_here = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _made_here:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="board-metrics-")


def on_starting(server):
    """Empty the metrics folder: counts of a previous run's workers must not be added in."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    folder.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """A worker is gone: its in-flight and pool gauges no longer count."""
    from board import metrics

    metrics.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_here:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
