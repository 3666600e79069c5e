"""Loading the event's seed and the taxonomy. Safe to run again: nothing is added twice."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from ..config import DATA_ROOT
from ..extensions import db
from ..models import (
    Capability,
    Demand,
    DemandStatus,
    Event,
    Organization,
    OrgKind,
    Outcome,
    OutcomeKind,
    Role,
    Round,
    Segment,
    Theme,
    User,
    Visibility,
)
from . import accounts
from .records import join_keywords, themes_by_code

SEED_DIR = DATA_ROOT / "seed"


def _read(name: str) -> dict:
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def load_taxonomy() -> int:
    """Segments and themes (reference data every database needs). Returns rows added."""
    data = _read("taxonomy.json")
    added = 0
    for pos, s in enumerate(data["segments"]):
        row = db.session.get(Segment, s["code"])
        if row is None:
            row = Segment(code=s["code"])
            db.session.add(row)
            added += 1
        row.name, row.name_en, row.short, row.position = s["name"], s["name_en"], s["short"], pos
    for pos, t in enumerate(data["themes"]):
        row = db.session.get(Theme, t["code"])
        if row is None:
            row = Theme(code=t["code"])
            db.session.add(row)
            added += 1
        row.name, row.name_en, row.position = t["name"], t["name_en"], pos
        row.description, row.description_en = t.get("description"), t.get("description_en")
    db.session.flush()
    return added


def has_event_data() -> bool:
    return db.session.scalar(sa.select(sa.func.count(Event.id))) > 0


def load_event() -> dict:
    """The event, its round, organisations, demands, capabilities and outcomes."""
    data = _read("event.json")
    counts = {"organizations": 0, "demands": 0, "capabilities": 0, "outcomes": 0}
    e = data["event"]
    event = db.session.scalar(sa.select(Event).where(Event.slug == e["slug"]))
    if event is None:
        event = Event(slug=e["slug"])
        db.session.add(event)
    for k in ("name", "name_en", "banner", "banner_en", "location", "location_en", "summary",
              "summary_en", "provenance"):
        setattr(event, k, e.get(k))
    event.held_on = _date(e["held_on"])
    event.source = data.get("source")
    db.session.flush()

    r = data["round"]
    rnd = db.session.scalar(sa.select(Round).where(Round.event_id == event.id, Round.name == r["name"]))
    if rnd is None:
        rnd = Round(event_id=event.id, name=r["name"])
        db.session.add(rnd)
    rnd.name_en, rnd.provenance = r.get("name_en"), r.get("provenance")
    rnd.opens_on, rnd.closes_on = _date(r.get("opens_on")), _date(r.get("closes_on"))

    orgs: dict[str, Organization] = {}
    for o in data["organizations"]:
        org = accounts.find_organization(o["name"])
        if org is None:
            org = Organization(name=o["name"])
            db.session.add(org)
            counts["organizations"] += 1
        org.name_en = o.get("name_en")
        org.kind = OrgKind(o.get("kind", "enterprise"))
        org.country = o.get("country")
        org.event_role, org.event_role_en = o.get("event_role"), o.get("event_role_en")
        org.description = o.get("description") or org.description
        org.is_illustrative = bool(o.get("illustrative"))
        org.provenance = o.get("provenance")
        orgs[o["name"]] = org
    db.session.flush()

    for item in data["demands"]:
        if db.session.scalar(sa.select(Demand.id).where(Demand.ref == item["ref"])):
            continue
        published = dt.datetime.fromisoformat(item["published_at"])
        d = Demand(
            ref=item["ref"],
            organization=orgs[item["organization"]],
            round=rnd,
            status=DemandStatus.PUBLISHED,
            visibility=Visibility.PUBLIC,
            submitted_at=published,
            published_at=published,
            created_at=published,
            updated_at=published,
        )
        _fill(d, item)
        db.session.add(d)
        counts["demands"] += 1

    for item in data["capabilities"]:
        if db.session.scalar(sa.select(Capability.id).where(Capability.ref == item["ref"])):
            continue
        c = Capability(ref=item["ref"], organization=orgs[item["organization"]])
        _fill(c, item)
        db.session.add(c)
        counts["capabilities"] += 1

    for item in data["outcomes"]:
        a, b = orgs[item["a"]], orgs[item["b"]]
        exists = db.session.scalar(
            sa.select(Outcome.id).where(
                Outcome.event_id == event.id,
                Outcome.organization_a_id == a.id,
                Outcome.organization_b_id == b.id,
            )
        )
        if exists:
            continue
        db.session.add(
            Outcome(
                kind=OutcomeKind(item["kind"]),
                event_id=event.id,
                organization_a=a,
                organization_b=b,
                occurred_on=_date(item.get("occurred_on")),
                note=item.get("note"),
                note_en=item.get("note_en"),
                provenance=item.get("provenance"),
            )
        )
        counts["outcomes"] += 1
    db.session.flush()
    counts["profiles"] = load_profiles()
    return counts


def load_profiles() -> int:
    """Directory profiles of the seeded organisations (seed/directory.json), with the source
    of each fact. A profile its members or staff have already changed is left alone."""
    from ..models import Credential, CredentialType, OrgTag, Reference, SizeBand
    from . import directory

    data = _read("directory.json")
    done = 0
    for p in data["profiles"]:
        org = accounts.find_organization(p["organization"])
        if org is None or org.fact_sources is not None or org.profile_updated_at is not None:
            continue
        org.profile_visibility = p.get("visibility", "public")
        org.district = p.get("district")
        org.size_band = SizeBand(p["size"]).value if p.get("size") else None
        if p.get("description") and not org.description:
            org.description = p["description"]
        org.fact_sources = p.get("sources") or {}
        directory.set_codes(org, p.get("segments", []), p.get("themes", []))
        illustrative = org.is_illustrative
        for c in p.get("credentials", []):
            db.session.add(Credential(
                organization_id=org.id, type=CredentialType(c["type"]), sil_level=c.get("sil"),
                number=c.get("number"), issuer=c.get("issuer"),
                valid_until=dt.date.fromisoformat(c["valid_until"]), is_illustrative=illustrative))
        for r in p.get("references", []):
            db.session.add(Reference(
                organization_id=org.id, project=r["project"], client=r.get("client"),
                year=r.get("year"), delivered=r.get("delivered", ""), is_illustrative=illustrative))
        if p.get("alliance"):
            from ..models import organization_tag

            exists = db.session.scalar(sa.select(sa.func.count()).select_from(organization_tag).where(
                organization_tag.c.organization_id == org.id,
                organization_tag.c.tag == OrgTag.ALLIANCE_MEMBER.value))
            if not exists:
                db.session.execute(organization_tag.insert().values(
                    organization_id=org.id, tag=OrgTag.ALLIANCE_MEMBER.value))
        directory.reindex(org)
        done += 1
    db.session.flush()
    return done


def _fill(record, item: dict) -> None:
    record.title = item["title"]
    record.description = item.get("description", "")
    record.keywords = join_keywords(item.get("keywords", []))
    record.segment_code = item.get("segment")
    record.themes = themes_by_code(item.get("themes"))
    record.is_illustrative = bool(item.get("illustrative"))
    record.provenance = item.get("provenance")


def load_demo_accounts() -> list[dict]:
    """The demo sign-ins (only ever called in demo mode). Returns them for printing."""
    data = _read("event.json")
    out = []
    for acc in data["demo_accounts"]:
        org = accounts.find_organization(acc["organization"]) if acc["organization"] else None
        user = accounts.find_user(acc["email"])
        if user is None:
            user = accounts.create_user(
                email=acc["email"],
                password=acc["password"],
                role=Role(acc["role"]),
                display_name=acc["display_name"],
                organization=org,
                is_demo=True,
            )
        out.append({"email": acc["email"], "password": acc["password"], "role": acc["role"]})
    db.session.flush()
    return out


def remove_demo_accounts() -> int:
    """Outside demo mode no default account exists: delete the demo sign-ins (their sessions
    go with them; what they posted stays, without an author)."""
    users = list(db.session.scalars(sa.select(User).where(User.is_demo.is_(True))))
    for user in users:
        db.session.delete(user)
    db.session.flush()
    return len(users)
