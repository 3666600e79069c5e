"""Sending the same thing twice changes nothing more than sending it once: ten copies of one
reply at the same moment make one reply and ten ordinary answers (on SQLite and PostgreSQL);
state changes name the state they lead to, so repeating them is harmless."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from board.extensions import db
from board.models import AuditEntry, OutboundMail, Reply, Role, User
from tests.factories import PASSWORD

REPLY = {
    "fit": "我们为三条线路完成过站台门改造，可以提供完整方案。",
    "contact_name": "王工",
    "contact_email": "wang@example.com",
    "trl": "7",
    "cooperation": "supply",
}


def at_once(n, action):
    """Run ``action(i)`` in n threads released together; their results in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # a crash is a result the test reports
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_ten_copies_of_one_reply_at_once_make_one_reply(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    clients = [login(app.test_client(), supplier) for _ in range(10)]
    results = at_once(10, lambda i: clients[i].post(f"/supplier/demands/{d.id}/reply", data=REPLY))
    crashed = [r for r in results if isinstance(r, Exception)]
    assert not crashed, crashed
    codes = [r.status_code for r in results]
    assert codes == [302] * 10, codes
    with app.app_context():
        replies = db.session.scalars(sa.select(Reply)).all()
        assert len(replies) == 1
        reply = replies[0]
        # Every copy leads to the one reply that exists.
        assert {r.headers["Location"] for r in results} == {f"/supplier/replies#reply-{reply.id}"}
        # The company was told once.
        poster = db.session.get(User, company.id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundMail).where(
            OutboundMail.user_id == poster.id)) <= 1
    page = clients[0].get("/supplier/replies").get_data(as_text=True)
    assert page.count(f'id="reply-{reply.id}"') == 1


def test_a_reply_sent_again_later_answers_with_the_first(app, make, login):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    c = login(app.test_client(), supplier)
    first = c.post(f"/supplier/demands/{d.id}/reply", data=REPLY)
    again = c.post(f"/supplier/demands/{d.id}/reply", data=dict(REPLY, fit="第二次提交的内容" * 3))
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    with app.app_context():
        assert db.session.scalars(sa.select(Reply.fit)).one() == REPLY["fit"]


def test_disabling_an_account_ten_times_at_once_leaves_it_disabled(app, make, login):
    staff, member = make.user(Role.STAFF), make.user(Role.COMPANY)
    consoles = [login(app.test_client(), staff) for _ in range(10)]
    results = at_once(10, lambda i: consoles[i].post(f"/admin/users/{member.id}/disable"))
    assert [r.status_code for r in results] == [302] * 10
    with app.app_context():
        assert db.session.get(User, member.id).active is False
    # Enabling names its state too: repeating it keeps the account enabled.
    for _ in range(2):
        assert consoles[0].post(f"/admin/users/{member.id}/enable").status_code == 302
    with app.app_context():
        assert db.session.get(User, member.id).active is True
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "account.enable")) == 1
    assert app.test_client().post("/login", data={"email": member.email,
                                                  "password": PASSWORD}).status_code == 302
