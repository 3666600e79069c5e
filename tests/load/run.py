"""Nothing lost under load: gunicorn with 4 workers, N clients for T seconds signing in,
posting demands (companies), replies and capabilities (suppliers), each write carrying a
unique marker; one worker killed with SIGKILL half-way. Afterwards every acknowledged write
is in the database exactly once, none is there twice, no answer was a 5xx and the log never
says "database is locked"; on SQLite ``PRAGMA integrity_check`` and ``foreign_key_check``
are clean.

    python -m tests.load.run --clients 50 --seconds 60 [--db sqlite|postgresql] [--no-kill]
    make load            # the full size, on SQLite and (with TEST_DATABASE_URL) PostgreSQL

tests/load/test_load.py runs it small in the test suite (LOAD_CLIENTS x LOAD_SECONDS, 10 x 10
by default)."""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from tests.security.server import PG_URL, Client, database, dispose, gunicorn, seeding_app

PASSWORD = "load-test passphrase 7"


@dataclass
class Write:
    kind: str  # demand, reply, capability
    marker: str
    acked: bool


@dataclass
class Result:
    db: str
    clients: int
    seconds: float
    writes: list[Write] = field(default_factory=list)
    sign_ins: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    killed: int | None = None
    missing: list[str] = field(default_factory=list)  # acknowledged, not found
    doubled: list[str] = field(default_factory=list)  # found more than once
    locked: bool = False
    integrity: str = "n/a"
    foreign_keys: str = "n/a"
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)

    def summary(self) -> str:
        acked = [w for w in self.writes if w.acked]
        by_kind = {k: sum(1 for w in acked if w.kind == k) for k in ("demand", "reply", "capability")}
        lat = sorted(self.latencies) or [0.0]
        return (
            f"{self.db}: {self.clients} clients x {self.seconds:.0f} s, worker killed: "
            f"{'pid ' + str(self.killed) if self.killed else 'no'}\n"
            f"  requests {sum(self.statuses.values())} ({sum(self.statuses.values()) / self.seconds:.0f}/s), "
            f"statuses {dict(sorted(self.statuses.items()))}, connection errors {self.connection_errors}\n"
            f"  sign-ins {self.sign_ins}; writes sent {len(self.writes)}, acknowledged {len(acked)} "
            f"{by_kind}\n"
            f"  latency median {statistics.median(lat) * 1000:.0f} ms, "
            f"p95 {lat[int(len(lat) * 0.95) - 1 if len(lat) > 1 else 0] * 1000:.0f} ms\n"
            f"  acknowledged but missing {len(self.missing)}, stored twice {len(self.doubled)}, "
            f"5xx {self.server_errors}, 'database is locked' {'yes' if self.locked else 'no'}, "
            f"integrity_check {self.integrity}, foreign_key_check {self.foreign_keys}"
        )

    @property
    def ok(self) -> bool:
        return not (self.missing or self.doubled or self.server_errors or self.locked) and \
            self.integrity in ("ok", "n/a") and self.foreign_keys in ("clean", "n/a")


def seed(app, clients: int, demands_per_supplier: int) -> tuple[list[tuple[str, str]], list[int]]:
    """Accounts (every other one a company, the rest suppliers) and published demands to reply
    to, posted by a company no client plays."""
    from board.extensions import db
    from board.models import Role
    from tests.factories import Factory

    make = Factory(app)
    accounts = []
    for i in range(clients):
        role = Role.COMPANY if i % 2 == 0 else Role.SUPPLIER
        u = make.user(role, email=f"load{i}-{uuid.uuid4().hex[:6]}@example.com", password=PASSWORD)
        accounts.append((u.email, role.value))
    poster = make.user(Role.COMPANY, password=PASSWORD)
    staff = make.user(Role.STAFF, password=PASSWORD)
    del staff
    ids = []
    with app.app_context():
        db.session.commit()
    for i in range(demands_per_supplier):
        d = make.demand(poster, title=f"负载测试已发布需求 {i}",
                        description="为负载测试发布的需求，供应方可以回复。站台门改造与维护。")
        ids.append(d.id)
    return accounts, ids


class Player(threading.Thread):
    def __init__(self, n: int, base: str, email: str, role: str, demands: list[int], deadline: float,
                 result: Result):
        super().__init__(daemon=True)
        self.n, self.base, self.email, self.role = n, base, email, role
        self.demands = list(demands)
        random.Random(n).shuffle(self.demands)
        self.deadline, self.result = deadline, result
        # Each client at an address of its own behind the (trusted) loopback proxy.
        self.headers = {"X-Forwarded-For": f"10.{n // 250}.{n % 250}.7"}

    def call(self, fn, *a, **kw):
        t = time.monotonic()
        try:
            resp = fn(*a, **kw)
        except OSError:
            with self.result.lock:
                self.result.connection_errors += 1
            return None
        with self.result.lock:
            self.result.latencies.append(time.monotonic() - t)
            self.result.statuses[resp.status] = self.result.statuses.get(resp.status, 0) + 1
        return resp

    def sign_in(self) -> Client | None:
        c = Client(self.base, headers=self.headers, timeout=60)
        page = self.call(c.get, "/login")
        if page is None or page.status != 200:
            return None
        form = page.form("/login", "password")
        resp = self.call(c.submit, page, form, email=self.email, password=PASSWORD)
        if resp is None or resp.status != 302 or "/login" in resp.location:
            return None
        with self.result.lock:
            self.result.sign_ins += 1
        return c

    def run(self):
        c, forms, done = None, {}, 0
        while time.monotonic() < self.deadline:
            if c is None or done % 8 == 7:  # now and then a new session, through the form
                c, forms = self.sign_in(), {}
                if c is None:
                    time.sleep(0.2)
                    continue
            marker = f"LM{self.n}x{done}x{uuid.uuid4().hex[:8]}"
            if self.role == "company":
                kind, path, want = "demand", "/company/demands/new", r"/company/demands/\d+$"
                changes = {"title": f"负载需求 {marker}", "segment": "equipment",
                           "description": f"负载测试写入的需求 {marker}，站台门改造与维护。"}
            elif self.demands:
                d = self.demands.pop()
                kind, path, want = "reply", f"/supplier/demands/{d}/reply", r"/supplier/replies#reply-\d+$"
                changes = {"fit": f"负载测试回复 {marker}，我们做过站台门改造。", "trl": "7",
                           "cooperation": "pilot", "capability_id": ""}
            else:
                kind, path, want = "capability", "/supplier/capabilities/new", r"/supplier/capabilities/\d+$"
                changes = {"title": f"负载能力 {marker}", "segment": "equipment",
                           "description": f"负载测试写入的能力 {marker}，站台门维保。"}
            key = path if kind != "reply" else "reply"
            if key not in forms:
                page = self.call(c.get, path)
                if page is None or page.status != 200:
                    c = None
                    continue
                forms[key] = (page, page.form(path if kind != "reply" else "/reply", "csrf_token"))
            page, form = forms[key]
            if kind == "reply":
                form.action = path
                page.url = self.base + path
            resp = self.call(c.submit, page, form, **changes)
            acked = resp is not None and resp.status == 302 and re.search(want, resp.location) is not None
            with self.result.lock:
                self.result.writes.append(Write(kind, marker, acked))
            done += 1


def verify(app, result: Result, kind: str) -> None:
    from board.extensions import db
    from board.models import Capability, Demand, Reply

    columns = {"demand": Demand.title, "reply": Reply.fit, "capability": Capability.title}
    with app.app_context():
        for k, column in columns.items():
            found: dict[str, int] = {}
            for (text,) in db.session.execute(sa.select(column).where(column.like("%LM%"))):
                for m in re.findall(r"LM\d+x\d+x[0-9a-f]{8}", text):
                    found[m] = found.get(m, 0) + 1
            for w in (w for w in result.writes if w.kind == k):
                n = found.get(w.marker, 0)
                if w.acked and n == 0:
                    result.missing.append(w.marker)
                if n > 1:
                    result.doubled.append(w.marker)
        if kind == "sqlite":
            with db.engine.connect() as conn:
                result.integrity = ", ".join(r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check"))
                bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                result.foreign_keys = "clean" if not bad else f"{len(bad)} rows: {bad[:5]}"


def run(kind: str, clients: int, seconds: float, kill: bool = True, tmp: Path | None = None) -> Result:
    tmp = Path(tmp or tempfile.mkdtemp(prefix="board-load-"))
    result = Result(kind, clients, seconds)
    with database(kind, tmp) as url:
        app = seeding_app(url)
        try:
            suppliers = clients // 2 or 1
            accounts, demand_ids = seed(app, clients, max(20, int(seconds * 3)))
            del suppliers
            with gunicorn(url, tmp, workers=4, TRUSTED_PROXIES="127.0.0.1",
                          WEB_CONCURRENCY=4) as server:
                deadline = time.monotonic() + seconds
                players = [Player(i, server.base, email, role, demand_ids, deadline, result)
                           for i, (email, role) in enumerate(accounts)]
                started = time.monotonic()
                for p in players:
                    p.start()
                if kill:
                    time.sleep(seconds / 2)
                    workers = server.workers()
                    if workers:
                        result.killed = workers[0]
                        os.kill(workers[0], signal.SIGKILL)
                for p in players:
                    p.join(timeout=seconds + 120)
                result.seconds = time.monotonic() - started
                log = server.log_text()
            result.locked = "database is locked" in log
            verify(app, result, kind)
        finally:
            dispose(app)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=int(os.environ.get("LOAD_CLIENTS", 50)))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", 60)))
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--no-kill", action="store_true", help="do not kill a worker half-way")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in kinds and not PG_URL:
        print("PostgreSQL skipped: set TEST_DATABASE_URL to run it too")
        kinds.remove("postgresql")
    ok = True
    for kind in kinds:
        result = run(kind, args.clients, args.seconds, kill=not args.no_kill)
        print(result.summary(), flush=True)
        ok = ok and result.ok
    print("nothing lost" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
