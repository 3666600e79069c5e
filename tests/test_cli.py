"""Operator commands: create-staff, set-active, rematch."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import Match, Role, User
from board.services import accounts
from tests.factories import PASSWORD


def run(app, *args, **kw):
    return app.test_cli_runner().invoke(args=list(args), **kw)


def sign_in(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)))


# -- create-staff --------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, env",
    [
        (["--password", "staff-pass-1"], {}),
        ([], {"BOARD_STAFF_PASSWORD": "staff-pass-1"}),
    ],
    ids=["option", "environment"],
)
def test_create_staff_makes_an_account_that_can_sign_in(app, client, args, env):
    result = run(app, "create-staff", " Ops@Example.com ", *args, env=env)
    assert result.exit_code == 0, result.output
    assert "ops@example.com" in result.output
    with app.app_context():
        user = accounts.find_user("ops@example.com")
        assert user.role == Role.STAFF and user.display_name == "Ops"

    resp = sign_in(client, "ops@example.com", "staff-pass-1")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/admin")
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("taken@example.com", "another-pass-1", "already exists"),
        ("TAKEN@example.com", "another-pass-1", "already exists"),
        ("new@example.com", "short", "at least 8 characters"),
    ],
)
def test_create_staff_refuses_clearly(app, make, email, password, message):
    make.user(Role.COMPANY, email="taken@example.com")
    before = user_count(app)
    result = run(app, "create-staff", email, "--password", password)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert user_count(app) == before


# -- set-active ----------------------------------------------------------------------
def test_disabling_an_account_ends_its_sessions_and_enabling_lets_it_back(app, make, login):
    user = make.user(Role.COMPANY)
    client = login(app.test_client(), user)
    assert client.get("/company/").status_code == 200

    result = run(app, "set-active", user.email, "--disable")
    assert result.exit_code == 0, result.output
    assert "disabled" in result.output

    signed_out = client.get("/company/")
    assert signed_out.status_code == 302
    assert "/login" in signed_out.headers["Location"]
    assert sign_in(app.test_client(), user.email, PASSWORD).status_code != 302

    assert run(app, "set-active", user.email, "--enable").exit_code == 0
    assert sign_in(app.test_client(), user.email, PASSWORD).status_code == 302


def test_set_active_on_an_unknown_account_fails(app):
    result = run(app, "set-active", "nobody@example.com", "--disable")
    assert result.exit_code != 0
    assert "nobody@example.com" in result.output


# -- rematch -------------------------------------------------------------------------
def match_pairs(app) -> set[tuple[int, int]]:
    with app.app_context():
        return set(db.session.execute(sa.select(Match.demand_id, Match.capability_id)))


def test_rematch_recomputes_deleted_matches_and_reports(app, make):
    company, supplier = make.user(Role.COMPANY), make.user(Role.SUPPLIER)
    make.demand(company)
    make.demand(company, title="CBTC 信号系统升级",
                description="信号系统升级为基于通信的列车控制（CBTC）。", keywords="CBTC、信号系统",
                segment="control")
    make.capability(supplier)
    pairs = match_pairs(app)
    assert pairs, "the platform screen door demand should match the capability"
    with app.app_context():
        db.session.execute(sa.delete(Match))
        db.session.commit()
    assert match_pairs(app) == set()

    result = run(app, "rematch")

    assert result.exit_code == 0, result.output
    assert match_pairs(app) == pairs
    summary = re.search(r"(\d+) demands against (\d+) capabilities", result.output)
    assert summary and summary.groups() == ("2", "1"), result.output
