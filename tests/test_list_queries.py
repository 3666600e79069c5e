"""List pages cost the same number of SQL statements for 3 records as for 12: nothing is
loaded one row at a time (the board, the staff dashboard, the review queue, capabilities,
the supplier's matching page)."""

import contextlib

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import Role
from tests.factories import Factory


@contextlib.contextmanager
def counting(app):
    n = [0]

    def before(*_a, **_k):
        n[0] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield n
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _board(make_app, login, records: int):
    app = make_app()
    make = Factory(app)
    staff = make.user(Role.STAFF)
    supplier = make.user(Role.SUPPLIER)
    for i in range(records):
        company = make.user(Role.COMPANY)
        make.capability(supplier, title=f"站台门维保服务 {i}", description="站台门系统检修与保养。",
                        keywords="站台门")
        make.demand(company, title=f"站台门检修 {i}", description="站台门检修保养。", keywords="站台门")
    return app, login(app.test_client(), staff), login(app.test_client(), supplier)


PAGES = [
    ("staff", "/"),
    ("staff", "/?q=站台门"),
    ("staff", "/admin/"),
    ("staff", "/admin/matches"),
    ("staff", "/admin/capabilities"),
    ("supplier", "/supplier/"),
]


@pytest.mark.parametrize(("who", "url"), PAGES)
def test_list_pages_do_not_query_per_row(make_app, login, who, url):
    counts = []
    for records in (3, 12):
        app, staff, supplier = _board(make_app, login, records)
        client = staff if who == "staff" else supplier
        assert client.get(url).status_code == 200  # warm: sessions, the engine
        with counting(app) as n:
            resp = client.get(url)
        assert resp.status_code == 200, url
        counts.append(n[0])
    assert counts[0] == counts[1], f"{url}: {counts[0]} statements for 3 records, {counts[1]} for 12"
