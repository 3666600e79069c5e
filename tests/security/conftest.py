"""One gunicorn server per test module (production settings), on SQLite and again on
PostgreSQL when TEST_DATABASE_URL is set, over the records of the access matrix's world plus a
second company and a second supplier."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from board.models import Role
from tests.security.server import PG_URL, Client, Server, database, dispose, gunicorn, seeding_app

PG_SKIP = ("PostgreSQL runs skipped: set TEST_DATABASE_URL="
           "postgresql+psycopg://postgres@127.0.0.1:5432/test to run the security suite on it too")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_kind(request):
    if request.param == "postgresql" and not PG_URL:
        pytest.skip(PG_SKIP)
    return request.param


@dataclass
class World:
    server: Server
    app: object  # the seeding app: its url_map and a database session for checks
    ids: dict
    per_route: dict
    users: dict  # role -> User (detached)

    @property
    def base(self) -> str:
        return self.server.base

    def client(self, **kw) -> Client:
        return Client(self.base, **kw)

    def signed_in(self, role: str, **kw) -> Client:
        from tests.factories import PASSWORD

        c = self.client(**kw)
        resp = c.sign_in(self.users[role].email, PASSWORD)
        assert resp.status == 302, (role, resp.status, resp.text[:300])
        return c


def build(app):
    """The access matrix's world, a second company (company_b) and a second supplier (supplier_b)."""
    from tests.factories import Factory
    from tests.test_access import build_world

    make = Factory(app)
    ids, per_route, users = build_world(app, make)
    users["company_b"] = make.user(Role.COMPANY)
    users["supplier_b"] = make.user(Role.SUPPLIER)
    return ids, per_route, users


@pytest.fixture(scope="module")
def world(db_kind, tmp_path_factory, request):
    """A seeded board behind gunicorn. A module may ask for other server settings with
    ``SERVER_ENV = {...}`` at its top."""
    tmp = tmp_path_factory.mktemp(f"sec-{db_kind}")
    env = getattr(request.module, "SERVER_ENV", {})
    with database(db_kind, tmp) as url:
        app = seeding_app(url)
        try:
            ids, per_route, users = build(app)
            with gunicorn(url, tmp, **env) as server:
                yield World(server, app, ids, per_route, users)
        finally:
            dispose(app)

