"""The HTTP benchmark behind ``flask --app board bench-http``: gunicorn with the production
settings (board/gunicorn_conf.py) on a free loopback port over a benchmark database, driven by
concurrent clients (threads with keep-alive http.client connections) for a fixed time per
page. Loopback only; bounded in time; stops the server it started."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess  # nosec B404  # runs this board's own gunicorn and ps, fixed arguments
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .bench import Progress, peak_memory_mb, write_csv
from .bench_data import Generator

PASSWORD = "bench-" + secrets.token_hex(8)


@dataclass
class PageResult:
    name: str
    path: str
    requests: int
    errors: int
    seconds: float
    p50: float
    p99: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_database(path: Path, capabilities: int, demands: int, say: Progress) -> dict:
    """A board with synthetic records, their matches and one account per role."""
    import sqlalchemy as sa

    from ..extensions import db
    from ..models import Capability, Demand, Role
    from . import accounts, importing
    from .bench import _app

    gen = Generator()
    app = _app(path)
    csv_path = path.with_suffix(".csv")
    write_csv(gen.capabilities(capabilities) + gen.demands(demands), csv_path)
    say.say(f"building the database: {capabilities:,} capabilities, {demands:,} demands ...")
    with app.app_context():
        from flask_migrate import stamp

        importing.import_file(csv_path)
        cap = db.session.scalar(sa.select(Capability).order_by(Capability.id).limit(1))
        demand = db.session.scalar(sa.select(Demand).order_by(Demand.id).limit(1))
        users = {}
        for role, org in ((Role.STAFF, None), (Role.SUPPLIER, cap.organization),
                          (Role.COMPANY, demand.organization)):
            email = f"bench-{role.value}@example.com"
            accounts.create_user(email=email, password=PASSWORD, role=role,
                                 display_name=f"bench {role.value}", organization=org)
            users[role.value] = email
        db.session.commit()
        stamp()  # the schema is the latest migration's (a production start checks it)
        out = {"demand_id": demand.id, "users": users}
        db.session.remove()
        db.engine.dispose()
    return out


class Client:
    """One keep-alive connection with its own cookies."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Accept-Language": "zh-CN"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.conn.host, self.conn.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data

    def login(self, email: str) -> None:
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {"email": email, "password": PASSWORD}
        if token:
            form["csrf_token"] = token.group(1)
        status, _ = self.request("POST", "/login", urllib.parse.urlencode(form))
        if status != 302:
            raise RuntimeError(f"could not sign in as {email} (HTTP {status})")


def drive(port: int, path: str, email: str | None, clients: int, seconds: float,
          name: str) -> PageResult:
    """``clients`` threads request ``path`` as fast as they can for ``seconds``."""
    sessions = [Client(port) for _ in range(clients)]
    if email:
        for c in sessions:
            c.login(email)
    for c in sessions:  # one warm-up request each
        c.request("GET", path)
    latencies: list[list[float]] = [[] for _ in sessions]
    errors = [0] * clients
    stop = time.monotonic() + seconds
    start_gate = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        c = sessions[i]
        start_gate.wait()
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                status, _ = c.request("GET", path)
            except (http.client.HTTPException, OSError):
                status = 0
            latencies[i].append((time.perf_counter() - t) * 1000)
            if status != 200:
                errors[i] += 1

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start_gate.wait()
    began = time.monotonic()
    for t in threads:
        t.join()
    took = time.monotonic() - began
    for c in sessions:
        c.conn.close()
    flat = sorted(x for xs in latencies for x in xs)
    p99 = flat[min(len(flat) - 1, int(0.99 * len(flat)))] if flat else 0.0
    return PageResult(name, path, len(flat), sum(errors), took,
                      statistics.median(flat) if flat else 0.0, p99)


def run(capabilities: int = 10_000, demands: int = 1_000, clients: int = 32, seconds: float = 10.0,
        workers: int | None = None, progress: bool = True) -> dict:
    say = Progress(progress)
    with tempfile.TemporaryDirectory(prefix="board-bench-http-") as tmp:
        db_path = Path(tmp) / "board.sqlite3"
        info = build_database(db_path, capabilities, demands, say)
        port = _free_port()
        (Path(tmp) / "uploads").mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db_path}",
            "SECRET_KEY": secrets.token_hex(32),
            "BOARD_ENV": "production",
            "UPLOAD_DIR": str(Path(tmp) / "uploads"),
            "THROTTLE_ENABLED": "0",
            "PORT": str(port),
        }
        if workers:
            env["WEB_CONCURRENCY"] = str(workers)
        env.pop("REDIS_URL", None)
        say.say(f"starting gunicorn on 127.0.0.1:{port} ...")
        log = open(Path(tmp) / "server.log", "w")  # noqa: SIM115 (closed below)
        server = subprocess.Popen(  # nosec B603  # sys.executable with fixed arguments, no shell
            [sys.executable, "-m", "gunicorn", "-c", "python:board.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", "board.wsgi:app"],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
        try:
            _wait_up(port, server, Path(tmp) / "server.log")
            users = info["users"]
            pages = [
                ("health endpoint (ceiling)", "/healthz", None),
                ("board: filter and search word", "/?segment=equipment&q=" + urllib.parse.quote("车门"),
                 None),
                ("demand page with its matches (staff)", f"/admin/demands/{info['demand_id']}",
                 users["staff"]),
                ("supplier's matching page", "/supplier/", users["supplier"]),
                ("staff review queue", "/admin/matches", users["staff"]),
                ("staff dashboard", "/admin/", users["staff"]),
                ("directory: search word (company)", "/directory?q=" + urllib.parse.quote("车门"),
                 users["company"]),
            ]
            results = []
            for name, path, email in pages:
                say.say(f"{name}: {clients} clients for {seconds:g} s ...")
                results.append(drive(port, path, email, clients, seconds, name))
            rss = _server_memory_mb(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
    ceiling = results[0].rps or 1.0
    figures = []
    for r in results:
        share = r.rps / ceiling
        figures.append({
            "page": r.name, "path": r.path, "requests": r.requests, "errors": r.errors,
            "rps": round(r.rps, 1), "p50_ms": round(r.p50, 1), "p99_ms": round(r.p99, 1),
            "share_of_health": round(share, 3),
            "holds": None if r is results[0] else (r.p99 <= 150 and share >= 0.30 and not r.errors),
        })
    return {"capabilities": capabilities, "demands": demands, "clients": clients, "port": port,
            "seconds": seconds, "pages": figures, "worker_memory_mb": rss,
            "driver_peak_memory_mb": round(peak_memory_mb(), 1)}


def _wait_up(port: int, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped: {log.read_text()[-2000:]}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer in time")


def _server_memory_mb(master: int) -> dict:
    """Resident memory of gunicorn's master and largest worker (from /proc)."""
    def rss(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    children = []
    try:
        # ps with the pid of the server this benchmark started, no shell.
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True,  # nosec B603 B607
                             text=True, check=False).stdout
        children = [int(x) for x in out.split()]
    except OSError:
        pass
    return {"master": round(rss(master), 1),
            "largest_worker": round(max((rss(p) for p in children), default=0.0), 1)}


def table(report: dict) -> str:
    rows = [("page", "req/s", "p50 ms", "p99 ms", "share of health", "target", "holds")]
    for f in report["pages"]:
        held = "" if f["holds"] is None else ("yes" if f["holds"] else "NO")
        target = "" if f["holds"] is None else "p99 <= 150 ms, >= 30% of health"
        rows.append((f["page"], f"{f['rps']:,.1f}", f"{f['p50_ms']:,.1f}", f"{f['p99_ms']:,.1f}",
                     f"{100 * f['share_of_health']:.0f}%", target, held))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    mem = report["worker_memory_mb"]
    lines.append(f"memory: gunicorn master {mem['master']} MB, largest worker "
                 f"{mem['largest_worker']} MB (target <= 500 MB)")
    return "\n".join(lines)
