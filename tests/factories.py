"""Factories: build users, organisations, demands and capabilities through the services,
so matches and analyses are kept up to date as in real use."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from board.extensions import db
from board.models import (
    Capability,
    Demand,
    DemandStatus,
    Organization,
    Reply,
    Role,
    User,
    Visibility,
)
from board.services import accounts, capabilities, demands, replies

_seq = itertools.count(1)

def board_today() -> dt.date:
    """Today at the park (the board's default time zone), which is not the machine's date
    for eight hours of every UTC day."""
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


PASSWORD = "track-gauge-1435"  # not in seed/common-passwords.txt


class Factory:
    def __init__(self, app):
        self.app = app

    def _n(self) -> int:
        return next(_seq)

    def org(self, name: str | None = None, **kw) -> Organization:
        with self.app.app_context():
            org = Organization(name=name or f"测试机构{self._n()}", **kw)
            db.session.add(org)
            db.session.commit()
            db.session.refresh(org)
            db.session.expunge(org)
            return org

    def user(self, role: Role | str = Role.COMPANY, org: Organization | None = None,
             email: str | None = None, **kw) -> User:
        role = Role(role)
        with self.app.app_context():
            if org is None and role != Role.STAFF:
                org = Organization(name=f"{role.value}机构{self._n()}")
                db.session.add(org)
                db.session.flush()
            elif org is not None:
                org = db.session.get(Organization, org.id)
            user = accounts.create_user(
                email=email or f"{role.value}{self._n()}@example.com",
                password=kw.pop("password", PASSWORD),
                role=role,
                display_name=kw.pop("display_name", f"{role.value} user"),
                organization=org,
                **kw,
            )
            db.session.commit()
            return self._detached(User, user.id)

    def demand(self, user: User, status: DemandStatus | str = DemandStatus.PUBLISHED,
               **fields) -> Demand:
        data = {
            "title": "站台门改造",
            "description": "既有线路站台门（屏蔽门）改造与维护，需要与信号系统联动。",
            "keywords": "站台门、屏蔽门",
            "segment": "equipment",
            "themes": [],
            "visibility": Visibility.PUBLIC.value,
        }
        data.update(fields)
        status = DemandStatus(status)
        with self.app.app_context():
            u = db.session.get(User, user.id)
            d = demands.create(u, data)
            if status in (DemandStatus.SUBMITTED, DemandStatus.PUBLISHED, DemandStatus.CLOSED):
                demands.submit(u, d)
            if status in (DemandStatus.PUBLISHED, DemandStatus.CLOSED):
                demands.publish(u, d)
            if status == DemandStatus.CLOSED:
                demands.close(u, d, "done")
            db.session.commit()
            return self._detached(Demand, d.id)

    def capability(self, user: User, **fields) -> Capability:
        data = {
            "title": "Platform screen doors: retrofit and maintenance",
            "description": "We retrofit and maintain platform screen doors on existing metro lines.",
            "keywords": "platform screen door",
            "segment": "equipment",
            "themes": [],
        }
        data.update(fields)
        with self.app.app_context():
            u = db.session.get(User, user.id)
            c = capabilities.create(u, data)
            db.session.commit()
            return self._detached(Capability, c.id)

    def reply(self, user: User, demand: Demand, **fields) -> Reply:
        data = {
            "fit": "我们为三条线路完成过站台门改造，可以提供完整方案。",
            "cases": "",
            "contact_name": "王工",
            "contact_email": "wang@example.com",
            "contact_phone": "",
            "capability_id": None,
        }
        data.update(fields)
        with self.app.app_context():
            u = db.session.get(User, user.id)
            r = replies.create(u, db.session.get(Demand, demand.id), data)
            db.session.commit()
            return self._detached(Reply, r.id)

    def _detached(self, model, pk):
        obj = db.session.get(model, pk)
        db.session.refresh(obj)
        # Touch the attributes tests read, then detach so they can be used after the context.
        for attr in ("organization_id", "status", "ref", "email", "role"):
            getattr(obj, attr, None)
        db.session.expunge(obj)
        return obj
