"""Every route and method, tried as anonymous, company, both sides, supplier and staff, each
with its exact status (and, for a redirect, where it leads). A new route that is not listed
here fails the test, so it cannot be forgotten."""

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from board.models import DemandStatus, Role

# Who may use each blueprint: None means everyone.
AUDIENCE = {
    "public": None,
    "auth": None,
    "static": None,
    "company": {"company", "both"},
    "supplier": {"supplier", "both"},
    "admin": {"staff"},
    "api": {"company", "both", "supplier", "staff"},
    "threads": {"company", "both", "supplier", "staff"},
    "account": {"company", "both", "supplier", "staff"},
    "ops": None,
    # The directory: everyone; each route asks services.rights about the organisation.
    "directory": None,
}
# "both" acts on both sides for an organisation of its own, so the company's demand and the
# supplier's capability and reply are someone else's to it. It goes before the supplier: a
# supplier's own POST may delete or withdraw what the next visitor would ask for.
ROLES = ["anonymous", "company", "both", "supplier", "staff"]

# What each (route, method) answers each role, sent an empty form (the API an empty JSON
# object). "login": 302 to the sign-in page with this page as ``next``; "302 /path": a redirect
# there ({...} filled in from the world's ids).
#                                                   anonymous  company  both  supplier  staff
EXPECTED = {
    ("public.index", "GET"):                 "200 | 200 | 200 | 200 | 200",
    ("public.demand", "GET"):                "200 | 200 | 200 | 200 | 200",
    ("public.event", "GET"):                 "200 | 200 | 200 | 200 | 200",
    ("public.favicon", "GET"):               "301 /static/img/favicon.svg | 301 /static/img/favicon.svg | 301 /static/img/favicon.svg | 301 /static/img/favicon.svg | 301 /static/img/favicon.svg",
    # Probes answer everyone alike; the test database (made without migrations) is not ready.
    ("ops.healthz", "GET"):                  "200 | 200 | 200 | 200 | 200",
    ("ops.readyz", "GET"):                   "503 | 503 | 503 | 503 | 503",
    ("ops.metrics", "GET"):                  "404 | 404 | 404 | 404 | 404",
    ("public.set_language", "POST"):         "302 / | 302 / | 302 / | 302 / | 302 /",
    ("static", "GET"):                       "200 | 200 | 200 | 200 | 200",
    ("auth.login", "GET"):                   "200 | 302 /company/ | 302 /company/ | 302 /supplier/ | 302 /admin/",
    ("auth.login", "POST"):                  "422 | 302 /company/ | 302 /company/ | 302 /supplier/ | 302 /admin/",
    ("auth.signup", "GET"):                  "200 | 302 /company/ | 302 /company/ | 302 /supplier/ | 302 /admin/",
    ("auth.signup", "POST"):                 "422 | 302 /company/ | 302 /company/ | 302 /supplier/ | 302 /admin/",
    ("auth.logout", "POST"):                 "302 / | 302 / | 302 / | 302 / | 302 /",
    ("public.contact", "GET"):               "200 | 200 | 200 | 200 | 200",
    ("public.contact", "POST"):              "422 | 422 | 422 | 422 | 422",
    ("auth.forgot_password", "GET"):         "200 | 200 | 200 | 200 | 200",
    ("auth.forgot_password", "POST"):        "422 | 422 | 422 | 422 | 422",
    # Links from e-mails: an unknown token is a 404 for everyone.
    ("auth.reset_password", "GET"):          "404 | 404 | 404 | 404 | 404",
    ("auth.reset_password", "POST"):         "404 | 404 | 404 | 404 | 404",
    ("auth.confirm_email", "GET"):           "404 | 404 | 404 | 404 | 404",
    ("auth.confirm_email", "POST"):          "404 | 404 | 404 | 404 | 404",
    ("auth.confirm_address", "GET"):         "404 | 404 | 404 | 404 | 404",
    ("auth.confirm_address", "POST"):        "404 | 404 | 404 | 404 | 404",
    ("auth.change_password", "GET"):         "login | 200 | 200 | 200 | 200",
    ("auth.change_password", "POST"):        "login | 422 | 422 | 422 | 422",
    ("auth.change_email", "GET"):            "login | 200 | 200 | 200 | 200",
    ("auth.change_email", "POST"):           "login | 422 | 422 | 422 | 422",
    ("api.suggest", "POST"):                 "401 | 200 | 200 | 200 | 200",

    ("company.my_demands", "GET"):           "login | 200 | 200 | 403 | 403",
    ("company.new_demand", "GET"):           "login | 200 | 200 | 403 | 403",
    ("company.new_demand", "POST"):          "login | 422 | 422 | 403 | 403",
    ("company.demand", "GET"):               "login | 200 | 403 | 403 | 403",
    ("company.edit_demand", "GET"):          "login | 200 | 403 | 403 | 403",
    ("company.edit_demand", "POST"):         "login | 422 | 403 | 403 | 403",
    ("company.submit_demand", "POST"):       "login | 302 /company/demands/{demand_id} | 403 | 403 | 403",
    ("company.close_demand", "POST"):        "login | 302 /company/demands/{demand_id} | 403 | 403 | 403",
    ("company.accept_suggestions", "POST"):  "login | 302 /company/demands/{demand_id} | 403 | 403 | 403",
    ("company.answer_reply", "POST"):        "login | 422 | 403 | 403 | 403",
    # The supplier already replied, so inviting it is refused with a message on the page.
    ("company.invite", "POST"):              "login | 302 /company/demands/{demand_id} | 403 | 403 | 403",

    ("supplier.matching", "GET"):            "login | 403 | 200 | 200 | 403",
    ("supplier.profile", "GET"):             "login | 403 | 200 | 200 | 403",
    ("supplier.profile", "POST"):            "login | 403 | 302 /supplier/profile | 302 /supplier/profile | 403",
    ("supplier.capability_list", "GET"):     "login | 403 | 200 | 200 | 403",
    ("supplier.new_capability", "GET"):      "login | 403 | 200 | 200 | 403",
    ("supplier.new_capability", "POST"):     "login | 403 | 422 | 422 | 403",
    ("supplier.capability", "GET"):          "login | 403 | 403 | 200 | 403",
    ("supplier.edit_capability", "GET"):     "login | 403 | 403 | 200 | 403",
    ("supplier.edit_capability", "POST"):    "login | 403 | 403 | 422 | 403",
    ("supplier.accept_suggestions", "POST"): "login | 403 | 403 | 302 /supplier/capabilities/{cap_id} | 403",
    ("supplier.delete_capability", "POST"):  "login | 403 | 403 | 302 /supplier/capabilities | 403",
    ("supplier.reply", "GET"):               "login | 403 | 200 | 302 /supplier/replies | 403",
    ("supplier.reply", "POST"):              "login | 403 | 422 | 302 /supplier/replies | 403",
    ("supplier.my_replies", "GET"):          "login | 403 | 200 | 200 | 403",
    ("supplier.withdraw_reply", "POST"):     "login | 403 | 403 | 302 /supplier/replies | 403",
    # The company has opened the reply (its demand page comes first): no longer editable.
    ("supplier.edit_reply", "GET"):          "login | 403 | 403 | 302 /supplier/replies | 403",
    ("supplier.edit_reply", "POST"):         "login | 403 | 403 | 302 /supplier/replies | 403",
    # The two parties and staff only, and this reply has no file: 404 for everyone.
    ("public.reply_attachment", "GET"):      "404 | 404 | 404 | 404 | 404",

    ("admin.dashboard", "GET"):              "login | 403 | 403 | 403 | 200",
    ("admin.demand", "GET"):                 "login | 403 | 403 | 403 | 200",
    ("admin.publish", "POST"):               "login | 403 | 403 | 403 | 302 /admin/demands/{demand_id}",
    ("admin.return_demand", "POST"):         "login | 403 | 403 | 403 | 422",
    ("admin.approve_changes", "POST"):       "login | 403 | 403 | 403 | 302 /admin/demands/{demand_id}",
    ("admin.return_changes", "POST"):        "login | 403 | 403 | 403 | 422",
    ("admin.confirm_match", "POST"):         "login | 403 | 403 | 403 | 302 /admin/demands/{demand_id}",
    ("admin.dismiss_match", "POST"):         "login | 403 | 403 | 403 | 302 /admin/demands/{demand_id}",
    ("admin.reset_match", "POST"):           "login | 403 | 403 | 403 | 302 /admin/demands/{demand_id}",
    ("admin.match_queue", "GET"):            "login | 403 | 403 | 403 | 200",
    ("admin.decide_matches", "POST"):        "login | 403 | 403 | 403 | 400",
    ("admin.industry_map_page", "GET"):      "login | 403 | 403 | 403 | 200",
    ("admin.gaps", "GET"):                   "login | 403 | 403 | 403 | 200",
    ("admin.strengths", "GET"):              "login | 403 | 403 | 403 | 200",
    ("admin.capability_list", "GET"):        "login | 403 | 403 | 403 | 200",
    ("admin.organization_tag", "POST"):      "login | 403 | 403 | 403 | 400",
    ("admin.invite", "POST"):                "login | 403 | 403 | 403 | 302 /admin/demands/{demand_id}",
    ("admin.lexicon", "GET"):                "login | 403 | 403 | 403 | 200",
    ("admin.lexicon_review_page", "GET"):    "login | 403 | 403 | 403 | 200",
    ("admin.lexicon_concept", "GET"):        "login | 403 | 403 | 403 | 200",
    ("admin.add_term", "POST"):              "login | 403 | 403 | 403 | 422",
    ("admin.add_concept", "POST"):           "login | 403 | 403 | 403 | 422",
    ("admin.organization_list", "GET"):      "login | 403 | 403 | 403 | 200",
    ("admin.organization", "GET"):           "login | 403 | 403 | 403 | 200",
    ("admin.organization", "POST"):          "login | 403 | 403 | 403 | 422",
    ("admin.disable_user", "POST"):          "login | 403 | 403 | 403 | 302 /admin/accounts",
    ("admin.enable_user", "POST"):           "login | 403 | 403 | 403 | 302 /admin/accounts",
    ("admin.grant_staff", "POST"):           "login | 403 | 403 | 403 | 302 /admin/accounts",
    ("admin.remove_staff", "POST"):          "login | 403 | 403 | 403 | 422",
    ("admin.accounts", "GET"):               "login | 403 | 403 | 403 | 200",
    ("admin.verify_organization", "POST"):   "login | 403 | 403 | 403 | 302 /admin/organizations/{org_id}",
    ("admin.unverify_organization", "POST"): "login | 403 | 403 | 403 | 302 /admin/organizations/{org_id}",
    ("admin.merge_organization", "GET"):     "login | 403 | 403 | 403 | 200",
    ("admin.merge_organization", "POST"):    "login | 403 | 403 | 403 | 422",
    ("admin.audit_log", "GET"):              "login | 403 | 403 | 403 | 200",
    ("admin.exports", "GET"):                "login | 403 | 403 | 403 | 200",
    ("admin.export_file", "GET"):            "login | 403 | 403 | 403 | 404",
    ("admin.import_upload", "GET"):          "login | 403 | 403 | 403 | 200",
    ("admin.import_upload", "POST"):         "login | 403 | 403 | 403 | 422",
    ("admin.import_confirm", "POST"):        "login | 403 | 403 | 403 | 422",
    ("admin.jobs", "GET"):                   "login | 403 | 403 | 403 | 200",
    ("admin.mail", "GET"):                   "login | 403 | 403 | 403 | 200",
    ("admin.mail_message", "GET"):           "login | 403 | 403 | 403 | 200",
    ("admin.retry_mail", "POST"):            "login | 403 | 403 | 403 | 302 /admin/mail",
    ("admin.rounds_list", "GET"):            "login | 403 | 403 | 403 | 200",
    ("admin.new_round", "GET"):              "login | 403 | 403 | 403 | 200",
    ("admin.new_round", "POST"):             "login | 403 | 403 | 403 | 422",
    ("admin.round", "GET"):                  "login | 403 | 403 | 403 | 200",
    ("admin.edit_round", "GET"):             "login | 403 | 403 | 403 | 200",
    ("admin.edit_round", "POST"):            "login | 403 | 403 | 403 | 422",
    ("admin.open_round", "POST"):            "login | 403 | 403 | 403 | 302 /admin/rounds/{round_id}",
    ("admin.close_round", "GET"):            "login | 403 | 403 | 403 | 200",
    ("admin.close_round", "POST"):           "login | 403 | 403 | 403 | 302 /admin/rounds/{round_id}",
    ("admin.carry_round", "POST"):           "login | 403 | 403 | 403 | 422",
    ("admin.outcomes", "GET"):               "login | 403 | 403 | 403 | 200",
    ("admin.new_outcome", "GET"):            "login | 403 | 403 | 403 | 200",
    ("admin.new_outcome", "POST"):           "login | 403 | 403 | 403 | 422",
    ("admin.edit_outcome", "GET"):           "login | 403 | 403 | 403 | 200",
    ("admin.edit_outcome", "POST"):          "login | 403 | 403 | 403 | 422",
    ("admin.insights", "GET"):               "login | 403 | 403 | 403 | 200",

    # A notice is its owner's alone (the company's here); anyone else gets a 404.
    ("account.notices_list", "GET"):         "login | 200 | 200 | 200 | 200",
    ("account.open_notice", "GET"):          "login | 302 /demands/{demand_id} | 404 | 404 | 404",
    ("account.read_notice", "POST"):         "login | 302 /account/notices | 404 | 404 | 404",
    ("account.mark_all_read", "POST"):       "login | 302 /account/notices | 302 /account/notices | 302 /account/notices | 302 /account/notices",
    ("account.settings", "GET"):             "login | 200 | 200 | 200 | 200",
    ("account.settings", "POST"):            "login | 302 /account/settings | 302 /account/settings | 302 /account/settings | 302 /account/settings",

    # A reply's conversation: its two parties and staff (who only read, and may mark a meeting
    # held); anyone else gets a 404. The meeting here is accepted and ahead.
    ("threads.thread", "GET"):               "login | 200 | 404 | 200 | 200",
    ("threads.post_message", "POST"):        "login | 422 | 404 | 422 | 403",
    ("threads.propose_meeting", "POST"):     "login | 422 | 404 | 422 | 403",
    ("threads.meeting_ics", "GET"):          "login | 200 | 404 | 200 | 200",
    ("threads.accept_meeting", "POST"):      "login | 302 /replies/{reply_id} | 404 | 302 /replies/{reply_id} | 403",
    ("threads.decline_meeting", "POST"):     "login | 302 /replies/{reply_id} | 404 | 302 /replies/{reply_id} | 403",
    ("threads.cancel_meeting", "POST"):      "login | 302 /replies/{reply_id} | 404 | 302 /replies/{reply_id} | 403",
    ("threads.meeting_held", "POST"):        "login | 302 /replies/{reply_id} | 404 | 302 /replies/{reply_id} | 302 /replies/{reply_id}",
    ("admin.calendar", "GET"):               "login | 403 | 403 | 403 | 200",

    # The directory. {org_id} is the company's organisation (profile for members only): the
    # company is its member (edits it; keeps no bookmark or note on itself), "both" another
    # company, staff check its credentials and references and mark alliance members.
    ("directory.index", "GET"):              "200 | 200 | 200 | 200 | 200",
    ("directory.bookmarks", "GET"):          "login | 200 | 200 | 200 | 200",
    ("directory.compare", "GET"):            "login | 200 | 200 | 200 | 200",
    ("directory.profile", "GET"):            "404 | 200 | 200 | 200 | 200",
    ("directory.edit_profile", "GET"):       "login | 200 | 403 | 403 | 403",
    ("directory.edit_profile", "POST"):      "login | 422 | 403 | 403 | 403",
    ("directory.logo", "GET"):               "404 | 404 | 404 | 404 | 404",
    ("directory.add_credential", "POST"):    "login | 422 | 403 | 403 | 403",
    ("directory.edit_credential", "GET"):    "login | 200 | 403 | 403 | 403",
    ("directory.edit_credential", "POST"):   "login | 422 | 403 | 403 | 403",
    # The company removes it first; it is gone for the others.
    ("directory.delete_credential", "POST"): "login | 302 /orgs/{org_id} | 404 | 404 | 404",
    ("directory.check_credential", "POST"):  "login | 403 | 403 | 403 | 302 /orgs/{org_id}",
    ("directory.add_reference", "POST"):     "login | 422 | 403 | 403 | 403",
    ("directory.edit_reference", "GET"):     "login | 200 | 403 | 403 | 403",
    # An empty form keeps the stored values: nothing changes.
    ("directory.edit_reference", "POST"):    "login | 302 /orgs/{org_id} | 403 | 403 | 403",
    ("directory.delete_reference", "POST"):  "login | 302 /orgs/{org_id} | 404 | 404 | 404",
    ("directory.check_reference", "POST"):   "login | 403 | 403 | 403 | 302 /orgs/{org_id}",
    ("directory.alliance", "POST"):          "login | 403 | 403 | 403 | 302 /orgs/{org_id}",
    ("directory.bookmark", "POST"):          "login | 403 | 302 /orgs/{org_id} | 403 | 403",
    ("directory.add_note", "POST"):          "login | 403 | 422 | 422 | 422",
    # A staff note: staff alone may delete it; to anyone else it does not exist.
    ("directory.delete_note", "POST"):       "login | 404 | 404 | 404 | 302 /orgs/{org_id}",
    ("directory.invite", "POST"):            "login | 403 | 302 /orgs/{org_id} | 403 | 403",
}


@pytest.fixture
def world(app, make, login):
    ids, per_route, users = build_world(app, make)
    clients = {"anonymous": app.test_client()}
    for name, user in users.items():
        clients[name] = login(app.test_client(), user)
    return ids, per_route, clients


def build_world(app, make):
    """The records every route of the table is tried on: (ids for the URLs, per-route ids,
    the signed-up users by role). tests/security replays the table over HTTP on it."""
    from board.extensions import db
    from board.models import Match
    from board.services import seeding

    with app.app_context():
        seeding.load_event()  # the event page has an event to show
        db.session.commit()
    company = make.user(Role.COMPANY)
    supplier = make.user(Role.SUPPLIER)
    both = make.user(Role.BOTH)
    staff = make.user(Role.STAFF)
    demand = make.demand(company, DemandStatus.PUBLISHED)
    cap = make.capability(supplier)
    doomed = make.capability(supplier, title="Platform screen door spare parts")
    reply = make.reply(supplier, demand)
    with app.app_context():  # an accepted meeting a week ahead, on the reply's thread
        import datetime as dt

        from board.models import Meeting, MeetingStatus, utcnow

        start = utcnow().replace(microsecond=0) + dt.timedelta(days=7)
        meeting = Meeting(reply_id=reply.id, proposed_by_id=supplier.id, side="supplier",
                          options=[start.strftime("%Y-%m-%dT%H:%M:%SZ")], duration_minutes=60,
                          place="会议室", status=MeetingStatus.ACCEPTED, starts_at=start,
                          answered_by_id=company.id, answered_at=utcnow())
        db.session.add(meeting)
        db.session.commit()
        meeting_id = meeting.id
    with app.app_context():
        match = db.session.query(Match).filter_by(demand_id=demand.id, capability_id=cap.id).first()
        assert match is not None, "the seeded pair should match"
        match_id = match.id
    bystander = make.user(Role.COMPANY)  # the account the disable/enable route flips
    with app.app_context():
        from board.models import MailStatus, Notification, OutboundMail

        notice = Notification(user_id=company.id, kind="reply_received", link=f"/demands/{demand.id}",
                              params={"org": "x", "demand": "y"})
        failed = OutboundMail(to_email="x@example.com", kind="invitation", lang="zh", subject="s",
                              body_text="t", body_html="h", status=MailStatus.FAILED)
        db.session.add_all([notice, failed])
        db.session.commit()
        notice_id, mail_id = notice.id, failed.id
    ids = {"demand_id": demand.id, "cap_id": cap.id, "reply_id": reply.id, "match_id": match_id,
           "org_id": company.organization_id, "user_id": bystander.id, "filename": "css/board.css",
           "notice_id": notice_id, "mail_id": mail_id, "token": "no-such-token",
           "meeting_id": meeting_id, "cid": "platform_screen_door"}
    with app.app_context():  # the event's round (closed) and its first agreement, both seeded
        from board.models import Outcome, Round

        ids["round_id"] = db.session.query(Round.id).order_by(Round.id).first()[0]
        ids["outcome_id"] = db.session.query(Outcome.id).order_by(Outcome.id).first()[0]
    with app.app_context():  # the directory: credentials, references and a staff note
        from board.models import Credential, CredentialType, OrgNote, Reference

        org = company.organization_id
        items = [Credential(organization_id=org, type=CredentialType.CRCC, valid_until=dt.date(2030, 1, 1)),
                 Credential(organization_id=org, type=CredentialType.ISO9001, valid_until=dt.date(2030, 1, 1)),
                 Reference(organization_id=org, project="车站改造"), Reference(organization_id=org, project="线路改造"),
                 OrgNote(target_id=org, organization_id=None, author_id=staff.id, body="备注")]
        db.session.add_all(items)
        db.session.commit()
        ids.update(credential_id=items[0].id, reference_id=items[2].id, note_id=items[4].id)
        doomed_items = {"directory.delete_credential": {"credential_id": items[1].id},
                        "directory.delete_reference": {"reference_id": items[3].id}}
    # Deleting a capability gets one of its own, so the routes after it still find theirs.
    per_route = {"supplier.delete_capability": {"cap_id": doomed.id}, **doomed_items}
    users = {"company": company, "both": both, "supplier": supplier, "staff": staff}
    return ids, per_route, users


def routes(app):
    # Sign-out goes last: it ends the session the other checks use.
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint == "auth.logout", r.rule))
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_blueprint_has_a_declared_audience(app):
    unknown = {r.endpoint.split(".")[0] for r, _ in routes(app)} - AUDIENCE.keys()
    assert not unknown, f"add these blueprints to AUDIENCE: {unknown}"


def test_every_route_is_in_the_table(app):
    listed = {(r.endpoint, m) for r, m in routes(app)}
    assert sorted(listed - EXPECTED.keys()) == [], "routes with no row in EXPECTED"
    assert sorted(EXPECTED.keys() - listed) == [], "rows for routes that no longer exist"
    for key, row in EXPECTED.items():
        cells = [c.strip() for c in row.split("|")]
        assert len(cells) == len(ROLES), key
        audience = AUDIENCE[key[0].split(".")[0]]
        for role, cell in zip(ROLES, cells, strict=True):
            # Outside a blueprint's audience the answer is always the guard's.
            if audience is not None and role not in audience:
                want = "login" if role == "anonymous" and key[0] != "api.suggest" else (
                    "401" if role == "anonymous" else "403")
                assert cell == want, (key, role, cell)


def problem(cell: str, resp, url: str, ids: dict) -> str | None:
    code, _, target = cell.partition(" ")
    location = resp.headers.get("Location", "")
    if cell == "login":
        where = urlsplit(location)
        ok = resp.status_code == 302 and where.path == "/login" and (
            unquote(parse_qs(where.query).get("next", [""])[0]) == unquote(url))
    else:
        ok = resp.status_code == int(code)
        if target:
            ok = ok and urlsplit(location).path == target.format(**ids)
        elif resp.status_code in (301, 302):
            ok = False
    return None if ok else f"{resp.status_code} {location}, expected {cell}"


def test_access_matrix(app, world):
    ids, per_route, clients = world
    problems, checked = [], 0
    for rule, method in routes(app):
        values = dict(ids, **per_route.get(rule.endpoint, {}))
        url = rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1]
        cells = [c.strip() for c in EXPECTED[(rule.endpoint, method)].split("|")]
        for role, cell in zip(ROLES, cells, strict=True):
            body = {"json": {}} if rule.endpoint.startswith("api.") else {"data": {}}
            resp = clients[role].open(url, method=method, **body)
            resp.close()
            why = problem(cell, resp, url, values)
            if why:
                problems.append(f"{method} {url} as {role}: {why}")
            checked += 1
    assert not problems, "\n".join(problems)
    assert checked == len(EXPECTED) * len(ROLES)


def test_company_cannot_touch_another_companys_demand(app, make, login):
    owner, other = make.user(Role.COMPANY), make.user(Role.COMPANY)
    d = make.demand(owner, DemandStatus.DRAFT)
    c = login(app.test_client(), other)
    assert c.get(f"/company/demands/{d.id}").status_code == 403
    assert c.get(f"/company/demands/{d.id}/edit").status_code == 403
    assert c.post(f"/company/demands/{d.id}/edit", data={"title": "hijacked"}).status_code == 403
    assert c.post(f"/company/demands/{d.id}/submit").status_code == 403
    assert c.post(f"/company/demands/{d.id}/close", data={"reason": "x"}).status_code == 403
    # A draft is not public either.
    assert c.get(f"/demands/{d.id}").status_code == 404
    assert app.test_client().get(f"/demands/{d.id}").status_code == 404


def test_supplier_cannot_touch_another_suppliers_rows(app, make, login):
    owner, other = make.user(Role.SUPPLIER), make.user(Role.SUPPLIER)
    company = make.user(Role.COMPANY)
    cap = make.capability(owner)
    d = make.demand(company)
    r = make.reply(owner, d)
    c = login(app.test_client(), other)
    assert c.get(f"/supplier/capabilities/{cap.id}").status_code == 403
    assert c.get(f"/supplier/capabilities/{cap.id}/edit").status_code == 403
    assert c.post(f"/supplier/capabilities/{cap.id}/delete").status_code == 403
    assert c.post(f"/supplier/replies/{r.id}/withdraw").status_code == 403
    # Replying with someone else's capability is refused on the server.
    resp = c.post(f"/supplier/demands/{d.id}/reply", data={
        "capability_id": str(cap.id), "fit": "我们也能做这个项目，经验丰富。", "contact_name": "赵",
        "contact_email": "zhao@example.com"})
    assert resp.status_code == 422
    with app.app_context():
        from board.extensions import db
        from board.models import Capability, Reply

        assert db.session.get(Capability, cap.id) is not None
        assert db.session.query(Reply).count() == 1


def test_company_cannot_answer_replies_to_another_companys_demand(app, make, login):
    owner, other = make.user(Role.COMPANY), make.user(Role.COMPANY)
    supplier = make.user(Role.SUPPLIER)
    r = make.reply(supplier, make.demand(owner))
    c = login(app.test_client(), other)
    assert c.post(f"/company/replies/{r.id}/answer", data={"decision": "declined", "reason": "no"}).status_code == 403


def test_unknown_ids_give_404(app, make, login):
    cases = {
        Role.COMPANY: ["/company/demands/999999", "/company/demands/999999/edit"],
        Role.SUPPLIER: ["/supplier/capabilities/999999", "/supplier/demands/999999/reply"],
        Role.STAFF: ["/admin/demands/999999"],
    }
    for role, urls in cases.items():
        c = login(app.test_client(), make.user(role))
        for url in urls:
            assert c.get(url).status_code == 404, url
    assert app.test_client().get("/demands/999999").status_code == 404
