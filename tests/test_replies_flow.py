"""Replies from invitation to answer, through HTTP and per role: invite, the supplier's
invitation with its reasons, an expression of interest with maturity, cooperation and a PDF,
changes until the company opens it, shortlist and structured declines the supplier reads in
its language, withdrawal while open; attachments checked and served to the two parties and
staff only; deadlines; and the notices (in-app and queued e-mail) each step sends."""

from __future__ import annotations

import datetime as dt
import io
import re
from html import unescape as html_unescape
from pathlib import Path

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import (
    Demand,
    DemandStatus,
    Invitation,
    Match,
    MatchStatus,
    Notification,
    OutboundMail,
    Reply,
    ReplyStatus,
    Role,
    User,
)
from board.services import invitations, rights, uploads
from board.services.errors import Invalid
from tests.factories import Factory, board_today

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
OTHER_PDF = b"%PDF-1.7\n% another file\n%%EOF"

CAP = {"title": "站台门改造与维保服务", "description": "为地铁既有线路提供站台门（屏蔽门）改造、安装与维护。",
       "keywords": "站台门、屏蔽门"}


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(UPLOAD_DIR=str(tmp_path / "uploads"))


@pytest.fixture
def make(app):
    return Factory(app)


def reply_form(**extra) -> dict:
    data = {"fit": "我们为三条线路完成过站台门改造，可以提供完整方案。", "cases": "某地铁1号线屏蔽门改造",
            "trl": "6", "cooperation": "pilot", "contact_name": "王工",
            "contact_email": "wang@example.com", "contact_phone": ""}
    data.update(extra)
    return data


def with_file(data: dict, content: bytes, name: str = "方案.pdf") -> dict:
    return dict(data, attachment=(io.BytesIO(content), name))


def set_locale(app, user, lang):
    with app.app_context():
        db.session.get(User, user.id).locale = lang
        db.session.commit()


def notices_of(app, user, kind=None) -> list[Notification]:
    with app.app_context():
        q = sa.select(Notification).where(Notification.user_id == user.id)
        if kind:
            q = q.where(Notification.kind == kind)
        rows = db.session.scalars(q.order_by(Notification.id)).all()
        for n in rows:
            db.session.expunge(n)
        return rows


def mails_to(app, user, kind) -> list[OutboundMail]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OutboundMail).where(OutboundMail.user_id == user.id, OutboundMail.kind == kind)
        ).all()
        for m in rows:
            db.session.expunge(m)
        return rows


def get_reply(app, reply_id=None) -> Reply:
    with app.app_context():
        r = db.session.get(Reply, reply_id) if reply_id else db.session.scalars(sa.select(Reply)).one()
        db.session.expunge(r)
        return r


def stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(folder.glob("*.pdf")) if folder.is_dir() else []


def match_id(app, demand, cap) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(Match.id).where(Match.demand_id == demand.id, Match.capability_id == cap.id))


@pytest.fixture
def cast(app, make, login):
    """A company (two members, one reading English), a supplier (two members, one reading
    English), another supplier and another company, staff; one published demand the
    supplier's capability matches."""
    company = make.user(Role.COMPANY, display_name="张工")
    with app.app_context():
        company_org = db.session.get(User, company.id).organization
    colleague = make.user(Role.COMPANY, org=company_org, display_name="Anna")
    supplier = make.user(Role.SUPPLIER, display_name="王工")
    with app.app_context():
        supplier_org = db.session.get(User, supplier.id).organization
    partner = make.user(Role.SUPPLIER, org=supplier_org, display_name="Peter")
    set_locale(app, colleague, "en")
    set_locale(app, partner, "en")
    people = {
        "company": company, "colleague": colleague, "supplier": supplier, "partner": partner,
        "other_supplier": make.user(Role.SUPPLIER), "other_company": make.user(Role.COMPANY),
        "both_other": make.user(Role.BOTH), "staff": make.user(Role.STAFF),
    }
    d = make.demand(company, deadline=board_today() + dt.timedelta(days=30))
    cap = make.capability(supplier, **CAP)
    people.update(demand=d, cap=cap, match_id=match_id(app, d, cap))
    assert people["match_id"], "the capability should match the demand"
    clients = {"anonymous": app.test_client()}
    for name in ("company", "colleague", "supplier", "partner", "other_supplier", "other_company",
                 "both_other", "staff"):
        clients[name] = login(app.test_client(), people[name])
    people["clients"] = clients
    return people


# -- the whole lifecycle ---------------------------------------------------------------------
def test_invite_reply_open_answer(app, cast):
    c, d = cast["clients"], cast["demand"]
    mid = cast["match_id"]

    # The company's match card offers an invitation; sending it twice changes nothing.
    page = c["company"].get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert f'action="/company/matches/{mid}/invite"' in page
    for _ in range(2):
        resp = c["company"].post(f"/company/matches/{mid}/invite", data={"message": "欢迎回复"})
        assert resp.status_code == 302
    with app.app_context():
        (inv,) = db.session.scalars(sa.select(Invitation)).all()
        assert inv.message == "欢迎回复" and inv.invited_by_id == cast["company"].id
    page = c["company"].get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert f'action="/company/matches/{mid}/invite"' not in page and "已邀请回复" in page

    # Both supplier members are told, each in their language; the company is not.
    for who in ("supplier", "partner"):
        (n,) = notices_of(app, cast[who], "invitation")
        assert n.link == f"/supplier/#invitation-{d.id}"
    assert not notices_of(app, cast["company"], "invitation")
    assert not notices_of(app, cast["other_supplier"], "invitation")
    (en_mail,) = mails_to(app, cast["partner"], "invitation")
    assert en_mail.lang == "en" and en_mail.subject.startswith("An invitation to reply")
    assert "invites you to reply" in en_mail.body_text and d.title in en_mail.body_text
    (zh_mail,) = mails_to(app, cast["supplier"], "invitation")
    assert zh_mail.lang == "zh" and "邀请" in zh_mail.subject

    # The supplier sees the invitation with the match's reasons, and replies.
    matching = c["supplier"].get("/supplier/").get_data(as_text=True)
    card = re.search(rf'<article class="card match invitation" id="invitation-{d.id}">(.*?)</article>',
                     matching, re.S)
    assert card and 'class="reasons"' in card.group(1) and "站台门" in card.group(1)
    assert f'href="/supplier/demands/{d.id}/reply"' in card.group(1)
    form = c["supplier"].get(f"/supplier/demands/{d.id}/reply").get_data(as_text=True)
    assert re.search(rf'<option selected value="{cast["cap"].id}"', form)  # the invited capability
    assert 'enctype="multipart/form-data"' in form
    resp = c["supplier"].post(f"/supplier/demands/{d.id}/reply",
                              data=with_file(reply_form(capability_id=str(cast["cap"].id)), PDF, "方案 v1.pdf"))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    r = get_reply(app)
    assert (r.trl, r.cooperation.value, r.capability_id) == (6, "pilot", cast["cap"].id)
    assert r.attachment_name == "方案 v1.pdf" and r.attachment_size == len(PDF)
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", r.attachment_key)
    assert stored_files(app) == [Path(app.config["UPLOAD_DIR"]) / r.attachment_key]
    for who in ("company", "colleague"):
        (n,) = notices_of(app, cast[who], "reply_received")
        assert n.link == f"/company/demands/{d.id}#reply-{r.id}"
    assert not notices_of(app, cast["supplier"], "reply_received")

    # Until the company opens it, the supplier may change it (and replace the file).
    edit = c["supplier"].get(f"/supplier/replies/{r.id}/edit")
    assert edit.status_code == 200 and "我们为三条线路完成过站台门改造" in edit.get_data(as_text=True)
    resp = c["supplier"].post(f"/supplier/replies/{r.id}/edit",
                              data=with_file(reply_form(fit="修改后：我们可以在三个月内完成试点改造。", trl="7",
                                                        capability_id=str(cast["cap"].id)),
                                             OTHER_PDF, "v2.pdf"))
    assert resp.status_code == 302
    r2 = get_reply(app, r.id)
    assert r2.fit.startswith("修改后") and r2.trl == 7 and r2.attachment_name == "v2.pdf"
    assert stored_files(app) == [Path(app.config["UPLOAD_DIR"]) / r2.attachment_key]  # the old file is gone

    # The company opens its page: the reply is opened, with score, reasons, TRL, cooperation, file.
    page = c["company"].get(f"/company/demands/{d.id}").get_data(as_text=True)
    card = re.search(rf'<article class="card reply" id="reply-{r.id}">(.*?)</article>', page, re.S).group(1)
    assert 'class="score"' in card and 'class="reasons"' in card
    assert "7 级 · 运行环境样机演示" in card and "试点应用" in card
    assert f'href="/replies/{r.id}/attachment"' in card and "v2.pdf" in card
    opened = get_reply(app, r.id).opened_at
    assert opened is not None
    c["colleague"].get(f"/company/demands/{d.id}")
    assert get_reply(app, r.id).opened_at == opened  # idempotent

    # Now the supplier can no longer change it.
    resp = c["supplier"].get(f"/supplier/replies/{r.id}/edit")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/supplier/replies#reply-{r.id}")
    c["supplier"].post(f"/supplier/replies/{r.id}/edit", data=reply_form(fit="打开后不能再修改的内容，应该被拒绝。"))
    assert get_reply(app, r.id).fit.startswith("修改后")
    assert f"/supplier/replies/{r.id}/edit" not in c["supplier"].get("/supplier/replies").get_data(as_text=True)

    # Shortlist: the supplier side is told, each in its language.
    assert c["company"].post(f"/company/replies/{r.id}/answer", data={"decision": "shortlisted"}).status_code == 302
    answered = get_reply(app, r.id).answered_at
    assert answered is not None
    (n,) = notices_of(app, cast["supplier"], "reply_status")
    assert n.params["status"] == {"zh": "已列入候选", "en": "Shortlisted"}
    assert n.link == f"/supplier/replies#reply-{r.id}"
    (en_mail,) = mails_to(app, cast["partner"], "reply_status")
    assert "was answered: Shortlisted." in en_mail.body_text

    # Decline: "other" needs a sentence (422 at that field); a structured reason is enough.
    resp = c["company"].post(f"/company/replies/{r.id}/answer",
                             data={"decision": "declined", "decline_reason": "other"})
    assert resp.status_code == 422
    assert re.search(rf'<div class="field[^"]*has-error[^"]*">\s*<label for="reply-{r.id}-reason"',
                     resp.get_data(as_text=True))
    resp = c["company"].post(f"/company/replies/{r.id}/answer",
                             data={"decision": "declined", "decline_reason": "cost"})
    assert resp.status_code == 302
    r3 = get_reply(app, r.id)
    assert (r3.status, r3.decline_reason.value, r3.answered_at) == (ReplyStatus.DECLINED, "cost", answered)
    n = notices_of(app, cast["partner"], "reply_status")[-1]
    assert n.params["status"] == {"zh": "已婉拒：成本", "en": "Declined: Cost"}

    # The supplier reads the reason in its own language.
    zh = c["supplier"].get("/supplier/replies").get_data(as_text=True)
    assert "需求方婉拒的原因" in zh and "<strong>成本</strong>" in zh
    c["partner"].post("/lang", data={"lang": "en", "next": "/"})
    en = c["partner"].get("/supplier/replies").get_data(as_text=True)
    assert "The company declined because" in en and "<strong>Cost</strong>" in en


def test_withdraw_only_while_the_demand_is_open(app, make, cast):
    c, d = cast["clients"], cast["demand"]
    r = make.reply(cast["supplier"], d)
    other = make.demand(cast["company"], title="站台门维保外包")
    r2 = make.reply(cast["supplier"], other)
    # Open: withdrawn.
    assert c["partner"].post(f"/supplier/replies/{r.id}/withdraw").status_code == 302
    assert get_reply(app, r.id).status == ReplyStatus.WITHDRAWN
    # Closed: it stays.
    c["company"].post(f"/company/demands/{other.id}/close", data={"reason": "已找到合作伙伴"})
    c["supplier"].post(f"/supplier/replies/{r2.id}/withdraw")
    assert get_reply(app, r2.id).status == ReplyStatus.SENT
    assert "撤回" not in re.search(rf'id="reply-{r2.id}">(.*?)</article>',
                                   c["supplier"].get("/supplier/replies").get_data(as_text=True), re.S).group(1)
    # Another supplier cannot withdraw someone else's reply.
    assert c["other_supplier"].post(f"/supplier/replies/{r.id}/withdraw").status_code == 403


# -- attachments ---------------------------------------------------------------------------
@pytest.mark.parametrize("content,why", [
    (b"<!doctype html><html><script>alert(1)</script></html>", "not a PDF"),
    (b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF", "HTML behind a PDF header"),
    (b"GIF89a%PDF-1.4\n%%EOF", "another file type"),
    (b"%PDF-1.4\nno end marker", "no end of file"),
    (b"", "empty"),
])
def test_non_pdf_content_is_refused_at_its_field(app, cast, content, why):
    c, d = cast["clients"], cast["demand"]
    resp = c["supplier"].post(f"/supplier/demands/{d.id}/reply", data=with_file(reply_form(), content, "scan.pdf"))
    assert resp.status_code == 422, why
    html = resp.get_data(as_text=True)
    assert re.search(r'<div class="field[^"]*has-error[^"]*">\s*<label for="attachment"', html), why
    assert "我们为三条线路完成过站台门改造" in html  # what was typed is kept
    with app.app_context():
        assert db.session.query(Reply).count() == 0
    assert stored_files(app) == []


def test_an_oversize_file_is_refused(make_app, tmp_path, login):
    assert make_app().config["ATTACHMENT_MAX_BYTES"] == 10 * 1024 * 1024  # the default
    # A small limit here: the test client spools large bodies to files it never closes.
    app = make_app(UPLOAD_DIR=str(tmp_path / "small"), ATTACHMENT_MAX_BYTES=100_000)
    make = Factory(app)
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    d = make.demand(company)
    c = login(app.test_client(), supplier)
    fits = b"%PDF-1.4\n" + b"0" * (100_000 - 16) + b"\n%%EOF"
    big = b"%PDF-1.4\n" + b"0" * 100_000 + b"\n%%EOF"
    resp = c.post(f"/supplier/demands/{d.id}/reply", data=with_file(reply_form(), big))
    assert resp.status_code == 422
    assert "文件超过 1 MB" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Reply).count() == 0
    assert stored_files(app) == []
    assert c.post(f"/supplier/demands/{d.id}/reply", data=with_file(reply_form(), fits)).status_code == 302
    assert len(stored_files(app)) == 1
    # The check itself, at the real limit.
    with make_app(UPLOAD_DIR=str(tmp_path / "real")).app_context():
        with pytest.raises(Invalid) as exc:
            uploads.check_pdf(b"%PDF-" + b"0" * (10 * 1024 * 1024) + b"%%EOF")
        assert exc.value.field == "attachment" and "10 MB" in str(exc.value.message)
        uploads.check_pdf(b"%PDF-" + b"0" * (10 * 1024 * 1024 - 20) + b"%%EOF")


def test_download_only_by_the_two_parties_and_staff(app, make, cast):
    c, d = cast["clients"], cast["demand"]
    c["supplier"].post(f"/supplier/demands/{d.id}/reply",
                       data=with_file(reply_form(), PDF, '../../etc/<报价>"单".PDF'))
    r = get_reply(app)
    assert r.attachment_name == "_报价_单_.pdf" or "/" not in r.attachment_name
    url = f"/replies/{r.id}/attachment"
    # Staff and the supplier's own members do not open it for the company.
    for who in ("supplier", "partner", "staff"):
        with c[who].get(url) as resp:
            assert resp.status_code == 200, who
            assert resp.data == PDF
            assert resp.mimetype == "application/pdf"
            assert resp.headers["Content-Disposition"].startswith("attachment;")
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert "no-store" in resp.headers["Cache-Control"]
    assert get_reply(app, r.id).opened_at is None
    for who in ("company", "colleague"):
        assert status(c[who], url) == 200, who
    assert get_reply(app, r.id).opened_at is not None  # the company has seen it
    for who in ("anonymous", "other_supplier", "other_company", "both_other"):
        assert status(c[who], url) == 404, who
    # Guessed ids, and a reply without a file, are not there either.
    assert status(c["staff"], f"/replies/{r.id + 1000}/attachment") == 404
    plain = make.reply(cast["other_supplier"], d)
    assert status(c["other_supplier"], f"/replies/{plain.id}/attachment") == 404


def status(client, url) -> int:
    with client.get(url) as resp:
        return resp.status_code


def test_the_company_reading_the_thread_opens_the_reply(app, cast):
    """The conversation page counts as the company having seen the reply; the supplier's own
    members and staff reading it do not."""
    c, d = cast["clients"], cast["demand"]
    c["supplier"].post(f"/supplier/demands/{d.id}/reply", data=reply_form())
    r = get_reply(app)
    for who in ("supplier", "partner", "staff"):
        assert c[who].get(f"/replies/{r.id}").status_code == 200, who
    assert get_reply(app, r.id).opened_at is None
    assert c["supplier"].get(f"/supplier/replies/{r.id}/edit").status_code == 200

    assert c["colleague"].get(f"/replies/{r.id}").status_code == 200
    opened = get_reply(app, r.id).opened_at
    assert opened is not None
    c["company"].get(f"/replies/{r.id}")
    assert get_reply(app, r.id).opened_at == opened  # once
    # From now on the supplier cannot change it.
    resp = c["supplier"].get(f"/supplier/replies/{r.id}/edit")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/supplier/replies#reply-{r.id}")
    c["supplier"].post(f"/supplier/replies/{r.id}/edit", data=reply_form(fit="打开后改写的内容，应该被拒绝。"))
    assert get_reply(app, r.id).fit.startswith("我们为三条线路")


def test_removing_or_replacing_the_file_deletes_it(app, make, cast):
    c, d = cast["clients"], cast["demand"]
    c["supplier"].post(f"/supplier/demands/{d.id}/reply", data=with_file(reply_form(), PDF))
    r = get_reply(app)
    assert len(stored_files(app)) == 1
    resp = c["supplier"].post(f"/supplier/replies/{r.id}/edit", data=reply_form(remove_attachment="y"))
    assert resp.status_code == 302
    r = get_reply(app, r.id)
    assert r.attachment_key is None and r.attachment_name is None and stored_files(app) == []
    # A withdrawn reply sent again replaces its file.
    c["supplier"].post(f"/supplier/replies/{r.id}/edit", data=with_file(reply_form(), PDF))
    c["supplier"].post(f"/supplier/replies/{r.id}/withdraw")
    c["supplier"].post(f"/supplier/demands/{d.id}/reply", data=with_file(reply_form(), OTHER_PDF))
    r = get_reply(app, r.id)
    assert r.status == ReplyStatus.SENT and r.opened_at is None
    files = stored_files(app)
    assert files == [Path(app.config["UPLOAD_DIR"]) / r.attachment_key]
    assert files[0].read_bytes() == OTHER_PDF


def test_files_follow_the_transaction(app):
    from werkzeug.datastructures import FileStorage

    with app.test_request_context():
        stored = uploads.store(FileStorage(io.BytesIO(PDF), "a.pdf"))
        assert uploads.path_of(stored.key).is_file()
        db.session.rollback()  # never committed: removed
        assert not uploads.path_of(stored.key).exists()
        kept = uploads.store(FileStorage(io.BytesIO(PDF), "b.pdf"))
        db.session.commit()
        assert uploads.path_of(kept.key).is_file()
        uploads.discard(kept.key)
        db.session.rollback()  # the row still points to it: kept
        assert uploads.path_of(kept.key).is_file()
        uploads.discard(kept.key)
        db.session.commit()
        assert not uploads.path_of(kept.key).exists()
    assert uploads.path_of("../secret.pdf") is None


# -- invitations -----------------------------------------------------------------------------
def test_invitations_are_idempotent_even_when_two_arrive_at_once(app, cast, monkeypatch):
    d, cap = cast["demand"], cast["cap"]
    with app.test_request_context():
        company = db.session.get(User, cast["company"].id)
        demand, capability = db.session.get(Demand, d.id), db.session.get(type(cast["cap"]), cap.id)
        first, created = invitations.invite(company, demand, capability)
        db.session.commit()
        assert created
        # Another request inserted it between our check and our insert: the unique key answers.
        real = invitations.existing
        calls = []

        def racing(demand_id, org_id):
            calls.append(1)
            return None if len(calls) == 1 else real(demand_id, org_id)

        monkeypatch.setattr(invitations, "existing", racing)
        again, created = invitations.invite(company, demand, capability)
        assert not created and again.id == first.id
        db.session.commit()  # the transaction is still usable (a savepoint was rolled back)
        assert db.session.query(Invitation).count() == 1
    assert len(notices_of(app, cast["supplier"], "invitation")) == 1


def test_who_may_invite(app, make, cast):
    c, d, mid = cast["clients"], cast["demand"], cast["match_id"]
    assert c["other_company"].post(f"/company/matches/{mid}/invite").status_code == 403
    assert c["supplier"].post(f"/company/matches/{mid}/invite").status_code == 403
    assert c["company"].post("/company/matches/99999/invite").status_code == 404
    # A note too long is refused at its field.
    resp = c["company"].post(f"/company/matches/{mid}/invite", data={"message": "长" * 501})
    assert resp.status_code == 422
    assert re.search(rf'<div class="field[^"]*has-error[^"]*">\s*<label for="match-{mid}-message"',
                     resp.get_data(as_text=True))
    # Staff invite on the company's behalf, from the staff page.
    page = c["staff"].get(f"/admin/demands/{d.id}").get_data(as_text=True)
    assert f'action="/admin/matches/{mid}/invite"' in page
    assert c["staff"].post(f"/admin/matches/{mid}/invite").status_code == 302
    with app.app_context():
        inv = db.session.scalars(sa.select(Invitation)).one()
        assert inv.invited_by_id == cast["staff"].id
    assert len(notices_of(app, cast["supplier"], "invitation")) == 1
    assert "通过园区工作人员" in c["supplier"].get("/supplier/").get_data(as_text=True)
    # A supplier that already replied is not invited.
    other = make.demand(cast["company"], title="站台门维保外包")
    make.reply(cast["supplier"], other)
    other_mid = match_id(app, other, cast["cap"])
    c["company"].post(f"/company/matches/{other_mid}/invite")
    with app.app_context():
        assert db.session.query(Invitation).filter_by(demand_id=other.id).count() == 0
    assert "已回复" in c["company"].get(f"/company/demands/{other.id}").get_data(as_text=True)
    # A match staff dismissed invites nobody.
    third = make.demand(cast["company"], title="屏蔽门远程监控改造")
    third_mid = match_id(app, third, cast["cap"])
    with app.app_context():
        db.session.get(Match, third_mid).status = MatchStatus.DISMISSED
        db.session.commit()
    assert c["staff"].post(f"/admin/matches/{third_mid}/invite").status_code == 302
    with app.app_context():
        assert db.session.query(Invitation).filter_by(demand_id=third.id).count() == 0
    assert c["staff"].post("/admin/matches/99999/invite").status_code == 404


def test_an_anonymous_poster_stays_anonymous_in_its_invitation(app, make, login, cast):
    c = cast["clients"]
    poster = make.user(Role.COMPANY)
    d = make.demand(poster, title="站台门安全联动升级", visibility="anonymous")
    mid = match_id(app, d, cast["cap"])
    assert login(app.test_client(), poster).post(f"/company/matches/{mid}/invite").status_code == 302
    with app.app_context():
        org = db.session.get(User, poster.id).organization.name
    (n,) = notices_of(app, cast["supplier"], "invitation")
    assert n.params["org"] == {"zh": "匿名发布方", "en": "Anonymous poster"}
    (mail,) = mails_to(app, cast["supplier"], "invitation")
    assert org not in mail.body_text and org not in mail.body_html
    assert org not in c["supplier"].get("/supplier/").get_data(as_text=True)


# -- deadlines -------------------------------------------------------------------------------
def test_closing_soon_and_closed_after_the_reply_by_date(app, make, cast):
    c, d = cast["clients"], cast["demand"]
    soon = make.demand(cast["company"], title="站台门应急照明改造",
                       deadline=board_today() + dt.timedelta(days=2))
    board = c["anonymous"].get("/").get_data(as_text=True)
    card = re.search(rf'<article class="card demand-card">(?:(?!</article>).)*?/demands/{soon.id}"(.*?)</article>',
                     board, re.S)
    assert card and "即将截止" in card.group(0)
    far = re.search(rf'<article class="card demand-card">(?:(?!</article>).)*?/demands/{d.id}"(.*?)</article>',
                    board, re.S)
    assert far and "即将截止" not in far.group(0)
    assert "即将截止" in c["supplier"].get(f"/demands/{soon.id}").get_data(as_text=True)

    # The reply-by date passes (a sent reply stays; nothing new comes in).
    r = make.reply(cast["partner"], d)
    with app.app_context():
        db.session.get(Demand, d.id).deadline = board_today() - dt.timedelta(days=1)
        db.session.commit()
        demand = db.session.get(Demand, d.id)
        assert rights.demand(db.session.get(User, cast["other_supplier"].id), demand).reply is False
        assert rights.demand(None, demand).replies_closed
        assert not rights.reply(db.session.get(User, cast["supplier"].id), db.session.get(Reply, r.id)).edit
    page = c["other_supplier"].get(f"/demands/{d.id}").get_data(as_text=True)
    assert "回复已于" in page and "截止" in page
    assert f"/supplier/demands/{d.id}/reply" not in page
    resp = c["other_supplier"].get(f"/supplier/demands/{d.id}/reply")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/demands/{d.id}")
    flashed = c["other_supplier"].get(f"/demands/{d.id}").get_data(as_text=True)
    assert "回复已于" in flashed
    resp = c["other_supplier"].post(f"/supplier/demands/{d.id}/reply", data=reply_form())
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(Reply).count() == 1
    # Nor can anyone be invited any more; the company may still answer.
    c["company"].post(f"/company/matches/{cast['match_id']}/invite")
    with app.app_context():
        assert db.session.query(Invitation).count() == 0
    assert c["company"].post(f"/company/replies/{r.id}/answer", data={"decision": "shortlisted"}).status_code == 302
    en = c["anonymous"].get(f"/demands/{d.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Replies closed on" in en


def test_a_waiting_reply_is_flagged_on_the_company_page(app, make, cast):
    c, d = cast["clients"], cast["demand"]
    r = make.reply(cast["supplier"], d)
    days = app.config["REPLY_REMINDER_DAYS"]
    page = c["company"].get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert "等待您答复" not in page
    with app.app_context():
        db.session.get(Reply, r.id).created_at -= dt.timedelta(days=days + 2)
        db.session.commit()
    page = c["company"].get(f"/company/demands/{d.id}").get_data(as_text=True)
    assert f"已等待您答复 {days + 2} 天" in page
    c["company"].post(f"/company/replies/{r.id}/answer", data={"decision": "shortlisted"})
    assert "等待您答复" not in c["company"].get(f"/company/demands/{d.id}").get_data(as_text=True)


def test_waiting_replies_show_on_the_staff_console(app, make, cast):
    c, d = cast["clients"], cast["demand"]
    r = make.reply(cast["supplier"], d)
    days = app.config["REPLY_REMINDER_DAYS"]
    assert 'id="waiting-replies"' not in c["staff"].get("/admin/").get_data(as_text=True)
    with app.app_context():
        db.session.get(Reply, r.id).created_at -= dt.timedelta(days=days + 3)
        db.session.commit()
    page = c["staff"].get("/admin/").get_data(as_text=True)
    box = re.search(r'<section class="card waiting-replies".*?</section>', page, re.S).group(0)
    assert f'href="/admin/demands/{d.id}#reply-{r.id}"' in box and d.title in box
    assert f"已等待需求方答复 {days + 3} 天" in box
    staff_demand = c["staff"].get(f"/admin/demands/{d.id}").get_data(as_text=True)
    assert f"已等待需求方答复 {days + 3} 天" in staff_demand
    en = c["staff"].get("/admin/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"Waiting for the company’s answer for {days + 3} days" in html_unescape(en)
    # Answered: off the list.
    c["company"].post(f"/company/replies/{r.id}/answer", data={"decision": "shortlisted"})
    assert 'id="waiting-replies"' not in c["staff"].get("/admin/").get_data(as_text=True)
    assert "已等待需求方答复" not in c["staff"].get(f"/admin/demands/{d.id}").get_data(as_text=True)


# -- notices of the review -------------------------------------------------------------------
def test_publication_decisions_and_confirmed_matches_are_announced(app, make, cast):
    c = cast["clients"]
    company, colleague = cast["company"], cast["colleague"]
    d = make.demand(company, status="submitted", title="屏蔽门故障诊断平台")
    c["staff"].post(f"/admin/demands/{d.id}/return", data={"reason": "请补充预算范围。"})
    for who in (company, colleague):
        (n,) = notices_of(app, who, "demand_returned")
        assert n.params == {"demand": "屏蔽门故障诊断平台", "reason": "请补充预算范围。"}
        assert n.link == f"/company/demands/{d.id}"
    assert not notices_of(app, cast["staff"])
    (mail,) = mails_to(app, colleague, "demand_returned")
    assert mail.lang == "en" and "returned your demand" in mail.body_text and "请补充预算范围。" in mail.body_text

    # Staff confirm a match while the demand is in review: the company is told now, the
    # supplier once the demand is published.
    c["company"].post(f"/company/demands/{d.id}/submit")
    mid = match_id(app, d, cast["cap"])
    c["staff"].post(f"/admin/matches/{mid}/confirm")
    assert len(notices_of(app, company, "match_confirmed")) == 1
    assert not notices_of(app, cast["supplier"], "match_confirmed")
    c["staff"].post(f"/admin/demands/{d.id}/publish")
    for who in (company, colleague):
        assert [n.link for n in notices_of(app, who, "demand_published")].count(f"/company/demands/{d.id}") == 1
    for who in ("supplier", "partner"):
        (n,) = notices_of(app, cast[who], "match_confirmed")
        assert n.link == f"/demands/{d.id}"
        assert n.params == {"demand": "屏蔽门故障诊断平台", "capability": CAP["title"]}
    assert not notices_of(app, cast["other_supplier"])

    # A match confirmed on a published demand reaches both sides at once.
    main = cast["match_id"]
    c["staff"].post(f"/admin/matches/{main}/confirm")
    assert len(notices_of(app, cast["partner"], "match_confirmed")) == 2
    assert len(notices_of(app, colleague, "match_confirmed")) == 2
    (mail, _) = mails_to(app, cast["partner"], "match_confirmed")
    assert mail.lang == "en" and "The park staff recommend" in mail.body_text
    c["staff"].post(f"/admin/matches/{main}/confirm")  # confirmed again: nothing new
    assert len(notices_of(app, cast["partner"], "match_confirmed")) == 2

    # Changes to a published demand: approved, then returned.
    edit = {"title": "屏蔽门故障诊断平台（修订）", "description": "屏蔽门故障诊断与预测性维护平台，需要与信号系统联动。",
            "keywords": "屏蔽门", "segment": "equipment", "visibility": "public"}
    c["company"].post(f"/company/demands/{d.id}/edit", data=edit)
    c["staff"].post(f"/admin/demands/{d.id}/changes/approve")
    assert len(notices_of(app, colleague, "changes_approved")) == 1
    c["colleague"].post(f"/company/demands/{d.id}/edit", data=dict(edit, title="再次修订的标题"))
    c["staff"].post(f"/admin/demands/{d.id}/changes/return", data={"reason": "标题过长。"})
    (n,) = notices_of(app, company, "changes_returned")
    assert n.params["reason"] == "标题过长。"
    assert mails_to(app, company, "changes_returned")[0].lang == "zh"


def test_a_supplier_never_sees_another_suppliers_reply_pages(app, make, cast):
    c, d = cast["clients"], cast["demand"]
    r = make.reply(cast["supplier"], d)
    assert c["other_supplier"].get(f"/supplier/replies/{r.id}/edit").status_code == 403
    assert c["other_supplier"].post(f"/supplier/replies/{r.id}/edit", data=reply_form()).status_code == 403
    assert c["other_company"].post(f"/company/replies/{r.id}/answer",
                                   data={"decision": "declined", "decline_reason": "cost"}).status_code == 403
    assert get_reply(app, r.id).status == ReplyStatus.SENT


def test_demand_status_guard(app, make, cast):
    """An invitation needs a published demand."""
    d = make.demand(cast["company"], status=DemandStatus.SUBMITTED, title="屏蔽门节能改造")
    mid = match_id(app, d, cast["cap"])
    resp = cast["clients"]["staff"].post(f"/admin/matches/{mid}/invite")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(Invitation).count() == 0


def test_tests_keep_uploads_out_of_the_instance_folder(make_app, tmp_path):
    from board.config import INSTANCE_DIR

    folder = Path(make_app().config["UPLOAD_DIR"])
    assert folder.is_relative_to(tmp_path) and not folder.is_relative_to(INSTANCE_DIR)
