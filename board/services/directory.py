"""The directory: organisation profiles (with credentials and references), the search over
organisations and their capabilities, bookmarks, private notes, side-by-side comparison for
one demand, and what a supplier sees about its own profile (completeness, weekly views).

Services flush, never commit. Who may see or do what is asked of services.rights."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload, undefer

from ..extensions import db
from ..matching import Doc
from ..models import (
    Bookmark,
    Capability,
    Credential,
    CredentialType,
    Demand,
    DemandStatus,
    Match,
    MatchStatus,
    Organization,
    OrganizationKey,
    OrgKind,
    OrgNote,
    OrgTag,
    ProfileView,
    ProfileVisibility,
    Reference,
    Segment,
    SizeBand,
    Theme,
    organization_segment,
    organization_tag,
    organization_theme,
    utcnow,
)
from . import audit, idsets, invitations, logos, organizations, rights, search
from .demands import Page
from .errors import Forbidden, Invalid, NotFound
from .matcher import get_engine
from .rights import today

PER_PAGE = 20
MAX_COMPARE = 4
#: Capabilities shown under each organisation in the directory's list.
CAPS_PER_ROW = 3

CREDENTIAL_LABELS = {
    CredentialType.CRCC: _l("CRCC product certification"),
    CredentialType.IRIS: "IRIS / ISO/TS 22163",
    CredentialType.ISO9001: "ISO 9001",
    CredentialType.EN5012X: "EN 50126/50128/50129",
    CredentialType.GB_TB: _l("GB/T or TB/T conformity"),
    CredentialType.HIGH_TECH: _l("High-tech enterprise"),
    CredentialType.OTHER: _l("Other certificate"),
}
SIZE_LABELS = {
    SizeBand.MICRO: _l("Fewer than 20 people"),
    SizeBand.SMALL: _l("20 to 99 people"),
    SizeBand.MEDIUM: _l("100 to 999 people"),
    SizeBand.LARGE: _l("1,000 people or more"),
}
VISIBILITY_LABELS = {
    ProfileVisibility.PUBLIC: _l("Public: anyone may open the profile"),
    ProfileVisibility.MEMBERS: _l("Members: signed-in members of the board only"),
    ProfileVisibility.STAFF: _l("Staff: park staff only"),
}


# -- profiles ------------------------------------------------------------------------------
def get(user, org_id: int) -> Organization:
    """An organisation whose profile this user may see (404 otherwise)."""
    org = db.session.get(Organization, org_id)
    if org is None or not rights.organization(user, org).see:
        raise NotFound()
    return org


def editable(user, org_id: int) -> Organization:
    org = get(user, org_id)
    if not rights.organization(user, org).edit:
        raise Forbidden()
    return org


def segments_of(org_ids: list[int]) -> dict[int, list[Segment]]:
    out: dict[int, list[Segment]] = {i: [] for i in org_ids}
    if org_ids:
        rows = db.session.execute(
            sa.select(organization_segment.c.organization_id, Segment)
            .join(Segment, Segment.code == organization_segment.c.segment_code)
            .where(organization_segment.c.organization_id.in_(org_ids))
            .order_by(Segment.position)
        )
        for org_id, seg in rows:
            out[org_id].append(seg)
    return out


def themes_of(org_ids: list[int]) -> dict[int, list[Theme]]:
    out: dict[int, list[Theme]] = {i: [] for i in org_ids}
    if org_ids:
        rows = db.session.execute(
            sa.select(organization_theme.c.organization_id, Theme)
            .join(Theme, Theme.code == organization_theme.c.theme_code)
            .where(organization_theme.c.organization_id.in_(org_ids))
            .order_by(Theme.position)
        )
        for org_id, theme in rows:
            out[org_id].append(theme)
    return out


def credentials_of(org_ids: list[int]) -> dict[int, list[Credential]]:
    out: dict[int, list[Credential]] = {i: [] for i in org_ids}
    if org_ids:
        for c in db.session.scalars(
            sa.select(Credential).where(Credential.organization_id.in_(org_ids))
            .order_by(Credential.valid_until.desc(), Credential.id)
        ):
            out[c.organization_id].append(c)
    return out


def references_of(org_ids: list[int]) -> dict[int, list[Reference]]:
    out: dict[int, list[Reference]] = {i: [] for i in org_ids}
    if org_ids:
        for r in db.session.scalars(
            sa.select(Reference).where(Reference.organization_id.in_(org_ids))
            .order_by(Reference.year.desc().nulls_last(), Reference.id.desc())
        ):
            out[r.organization_id].append(r)
    return out


def is_alliance_member(org_ids: list[int]) -> set[int]:
    if not org_ids:
        return set()
    return set(db.session.scalars(
        sa.select(organization_tag.c.organization_id).where(
            organization_tag.c.organization_id.in_(org_ids),
            organization_tag.c.tag == OrgTag.ALLIANCE_MEMBER.value)
    ))


def listed_demands(org: Organization, limit: int = 20) -> list[Demand]:
    """The demands a profile lists: published under the organisation's name (never an
    anonymous one, whoever looks)."""
    return list(db.session.scalars(
        sa.select(Demand).where(Demand.organization_id == org.id, rights.profile_demand_clause())
        .options(selectinload(Demand.segment), selectinload(Demand.themes))
        .order_by(Demand.published_at.desc(), Demand.id.desc()).limit(limit)
    ))


def capabilities_of(org: Organization, limit: int = 50) -> list[Capability]:
    return list(db.session.scalars(
        sa.select(Capability).where(Capability.organization_id == org.id)
        .options(selectinload(Capability.segment), selectinload(Capability.themes))
        .order_by(Capability.updated_at.desc(), Capability.id.desc()).limit(limit)
    ))


def both_sides(org_ids: list[int]) -> set[int]:
    """Organisations that offer capabilities and post demands under their own name."""
    if not org_ids:
        return set()
    return set(db.session.scalars(
        sa.select(Organization.id).where(Organization.id.in_(org_ids), _both_clause())))


def _both_clause():
    return Organization.id.in_(sa.select(Capability.organization_id)) & Organization.id.in_(
        sa.select(Demand.organization_id).where(rights.profile_demand_clause()))


def profile(user, org: Organization) -> dict:
    """Everything the profile page shows, loaded in a fixed number of queries."""
    ids = [org.id]
    can = rights.organization(user, org)
    creds = credentials_of(ids)[org.id]
    return {
        "org": org,
        "can": can,
        "segments": segments_of(ids)[org.id],
        "themes": themes_of(ids)[org.id],
        "credentials": creds,
        "references": references_of(ids)[org.id],
        "capabilities": capabilities_of(org),
        "demands": listed_demands(org),
        "alliance": org.id in is_alliance_member(ids),
        "both_sides": org.id in both_sides(ids),
        "bookmarked": _bookmarked(user, [org.id]),
        "notes": notes_for(user, org) if can.note or can.member else [],
        "today": today(),
    }


def _clean(value) -> str | None:
    value = (value or "").strip() if isinstance(value, str) else value
    return value or None


def update_profile(user, org: Organization, data: dict, logo_file=None) -> Organization:
    """A member changes its organisation's profile (and logo). Only flushes."""
    if not rights.organization(user, org).edit:
        raise Forbidden()
    vis = data.get("profile_visibility") or org.profile_visibility
    if vis not in rights.PROFILE_VISIBILITIES:
        raise Invalid(_l("Choose who may see the profile."), "profile_visibility")
    kind = data.get("kind") or org.kind
    org.name_en = _clean(data.get("name_en"))
    org.kind = OrgKind(kind)
    org.description = _clean(data.get("description"))
    org.website = _clean(data.get("website"))
    org.district = _clean(data.get("district"))
    size = data.get("size_band") or None
    org.size_band = SizeBand(size).value if size else None
    org.profile_visibility = vis
    for attr in ("contact_name", "contact_email", "contact_phone"):
        setattr(org, attr, _clean(data.get(attr)))
    _set_codes(organization_segment, "segment_code", org.id, data.get("segments") or [],
               {s.code for s in db.session.scalars(sa.select(Segment))})
    _set_codes(organization_theme, "theme_code", org.id, data.get("themes") or [],
               {t.code for t in db.session.scalars(sa.select(Theme))})
    if logo_file is not None and getattr(logo_file, "filename", ""):
        key = logos.store(logo_file)
        logos.discard(org.logo_key)
        org.logo_key = key
    elif data.get("remove_logo") and org.logo_key:
        logos.discard(org.logo_key)
        org.logo_key = None
    org.profile_updated_at = utcnow()
    reindex(org)
    db.session.flush()
    return org


def _set_codes(table, column: str, org_id: int, codes, known: set[str]) -> None:
    codes = sorted({c for c in codes if c in known})
    db.session.execute(sa.delete(table).where(table.c.organization_id == org_id))
    if codes:
        db.session.execute(sa.insert(table), [{"organization_id": org_id, column: c} for c in codes])


def set_codes(org: Organization, segments, themes) -> None:
    """Seed and tests: an organisation's segments and themes."""
    _set_codes(organization_segment, "segment_code", org.id, segments,
               {s.code for s in db.session.scalars(sa.select(Segment))})
    _set_codes(organization_theme, "theme_code", org.id, themes,
               {t.code for t in db.session.scalars(sa.select(Theme))})


def reindex(org: Organization) -> None:
    """File the profile's own text (names, description) under the engine's keys."""
    reindex_many([org])


def reindex_many(orgs, engine=None) -> None:
    """``reindex`` for many organisations, with one engine and batched statements (a full
    rebuild refiles every profile)."""
    engine = engine or get_engine()
    orgs = list(orgs)
    for i in range(0, len(orgs), 500):
        batch = orgs[i : i + 500]
        db.session.execute(
            sa.delete(OrganizationKey).where(OrganizationKey.organization_id.in_([o.id for o in batch])),
            execution_options={"synchronize_session": False})
        rows = []
        for org in batch:
            title = " ".join(x for x in (org.name, org.name_en) if x)
            a = engine.analyze(Doc(id=f"org-{org.id}", title=title,
                                   description=org.description or ""))
            rows += [{"organization_id": org.id, "key": k[:160], "weight": w}
                     for k, w in engine.keys(a).items()]
        if rows:
            db.session.execute(sa.insert(OrganizationKey), rows)


# -- credentials and references -------------------------------------------------------------
CREDENTIAL_FIELDS = ("type", "sil_level", "name", "number", "issuer", "valid_until")
REFERENCE_FIELDS = ("project", "client", "year", "delivered")


def _credential_values(data: dict) -> dict:
    try:
        ctype = CredentialType(data.get("type"))
    except ValueError:
        raise Invalid(_l("Choose the type of certificate."), "type") from None
    sil = data.get("sil_level")
    sil = int(sil) if sil not in (None, "", "0") else None
    if ctype == CredentialType.EN5012X:
        if sil not in (1, 2, 3, 4):
            raise Invalid(_l("Give the safety integrity level (SIL 1 to 4)."), "sil_level")
    else:
        sil = None
    name = _clean(data.get("name"))
    if ctype == CredentialType.OTHER and not name:
        raise Invalid(_l("Say which certificate it is."), "name")
    valid_until = data.get("valid_until")
    if not isinstance(valid_until, dt.date):
        raise Invalid(_l("Give the date the certificate is valid until."), "valid_until")
    return {"type": ctype, "sil_level": sil, "name": name, "number": _clean(data.get("number")),
            "issuer": _clean(data.get("issuer")), "valid_until": valid_until}


def add_credential(user, org: Organization, data: dict) -> Credential:
    if not rights.organization(user, org).edit:
        raise Forbidden()
    c = Credential(organization_id=org.id, **_credential_values(data))
    db.session.add(c)
    org.profile_updated_at = utcnow()
    db.session.flush()
    return c


def get_credential(user, cred_id: int, *, edit: bool = False, check: bool = False) -> Credential:
    c = db.session.get(Credential, cred_id)
    if c is None or not rights.organization(user, c.organization).see:
        raise NotFound()
    can = rights.organization(user, c.organization)
    if (edit and not can.edit) or (check and not can.check):
        raise Forbidden()
    return c


def update_credential(user, c: Credential, data: dict) -> bool:
    """Change a credential; a change to any of its facts takes the park's check off."""
    if not rights.organization(user, c.organization).edit:
        raise Forbidden()
    values = _credential_values(data)
    changed = {k for k, v in values.items() if getattr(c, k) != v}
    for k in changed:
        setattr(c, k, values[k])
    if changed:
        c.checked_at = None
        c.checked_by_id = None
        c.organization.profile_updated_at = utcnow()
    db.session.flush()
    return bool(changed)


def delete_credential(user, c: Credential) -> None:
    if not rights.organization(user, c.organization).edit:
        raise Forbidden()
    db.session.delete(c)
    db.session.flush()


def _reference_values(data: dict) -> dict:
    project = _clean(data.get("project"))
    if not project:
        raise Invalid(_l("Name the project."), "project")
    year = data.get("year")
    if year in ("", None):
        year = None
    elif not (isinstance(year, int) and 1950 <= year <= today().year):
        raise Invalid(_l("Give a year between 1950 and this year."), "year")
    client = None if data.get("client_unnamed") else _clean(data.get("client"))
    return {"project": project, "client": client, "year": year,
            "delivered": _clean(data.get("delivered")) or ""}


def add_reference(user, org: Organization, data: dict) -> Reference:
    if not rights.organization(user, org).edit:
        raise Forbidden()
    r = Reference(organization_id=org.id, **_reference_values(data))
    db.session.add(r)
    org.profile_updated_at = utcnow()
    db.session.flush()
    return r


def get_reference(user, ref_id: int, *, edit: bool = False, check: bool = False) -> Reference:
    r = db.session.get(Reference, ref_id)
    if r is None or not rights.organization(user, r.organization).see:
        raise NotFound()
    can = rights.organization(user, r.organization)
    if (edit and not can.edit) or (check and not can.check):
        raise Forbidden()
    return r


def update_reference(user, r: Reference, data: dict) -> bool:
    if not rights.organization(user, r.organization).edit:
        raise Forbidden()
    values = _reference_values(data)
    changed = {k for k, v in values.items() if getattr(r, k) != v}
    for k in changed:
        setattr(r, k, values[k])
    if changed:
        r.checked_at = None
        r.checked_by_id = None
        r.organization.profile_updated_at = utcnow()
    db.session.flush()
    return bool(changed)


def delete_reference(user, r: Reference) -> None:
    if not rights.organization(user, r.organization).edit:
        raise Forbidden()
    db.session.delete(r)
    db.session.flush()


def set_checked(user, item: Credential | Reference, checked: bool) -> bool:
    """Staff mark a credential or reference checked (who, when) or take the mark off; the
    audit log records it. True when something changed."""
    if not rights.organization(user, item.organization).check:
        raise Forbidden()
    if checked == (item.checked_at is not None):
        return False
    before = audit.snapshot(item, "checked_at", "checked_by_id")
    item.checked_at = utcnow() if checked else None
    item.checked_by_id = user.id if checked else None
    kind = item.__tablename__
    audit.record(user, f"{kind}.check" if checked else f"{kind}.uncheck", item, before=before,
                 after={**audit.snapshot(item, "checked_at", "checked_by_id"),
                        "organization_id": item.organization_id})
    db.session.flush()
    return True


def set_alliance(user, org: Organization, member: bool) -> bool:
    """Staff mark a member of the industry alliance (the console's tag, audit-logged)."""
    if not rights.organization(user, org).check:
        raise Forbidden()
    return organizations.set_tag(user, org, OrgTag.ALLIANCE_MEMBER, member)


def merge_profiles(dup_id: int, keep_id: int) -> None:
    """When staff merge a duplicate organisation: its credentials, references, notes (its own
    and those about it), bookmarks, segments and themes move to the one kept; what the kept
    one already has stays once. Part of the merge's transaction."""
    for model in (Credential, Reference):
        db.session.execute(sa.update(model).where(model.organization_id == dup_id)
                           .values(organization_id=keep_id).execution_options(synchronize_session=False))
    for column in (OrgNote.organization_id, OrgNote.target_id):
        db.session.execute(sa.update(OrgNote).where(column == dup_id)
                           .values({column.key: keep_id}).execution_options(synchronize_session=False))
    for column, other in ((Bookmark.organization_id, Bookmark.target_id),
                          (Bookmark.target_id, Bookmark.organization_id)):
        kept = sa.select(other).where(column == keep_id).scalar_subquery()
        db.session.execute(sa.delete(Bookmark).where(column == dup_id, other.in_(kept)))
        db.session.execute(sa.update(Bookmark).where(column == dup_id)
                           .values({column.key: keep_id}).execution_options(synchronize_session=False))
    db.session.execute(sa.delete(Bookmark).where(Bookmark.organization_id == Bookmark.target_id))
    for table, code in ((organization_segment, "segment_code"), (organization_theme, "theme_code")):
        have = sa.select(table.c[code]).where(table.c.organization_id == keep_id)
        db.session.execute(table.insert().from_select(
            ["organization_id", code],
            sa.select(sa.literal(keep_id), table.c[code])
            .where(table.c.organization_id == dup_id, table.c[code].not_in(have))))
        db.session.execute(sa.delete(table).where(table.c.organization_id == dup_id))


# -- bookmarks and notes ---------------------------------------------------------------------
def _bookmarked(user, org_ids: list[int]) -> set[int]:
    if not rights.signed_in(user) or user.organization_id is None or not org_ids:
        return set()
    return set(db.session.scalars(
        sa.select(Bookmark.target_id).where(Bookmark.organization_id == user.organization_id,
                                            Bookmark.target_id.in_(org_ids))))


def set_bookmark(user, org: Organization, on: bool) -> bool:
    """Keep a supplier on the user's organisation's list, or take it off (idempotent)."""
    if not rights.organization(user, org).bookmark:
        raise Forbidden()
    mine = user.organization_id
    found = db.session.scalar(sa.select(Bookmark).where(Bookmark.organization_id == mine,
                                                        Bookmark.target_id == org.id))
    if on and found is None:
        try:
            with db.session.begin_nested():
                db.session.add(Bookmark(organization_id=mine, target_id=org.id, created_by_id=user.id))
                db.session.flush()
        except IntegrityError:
            return False  # someone of the same organisation kept it a moment ago
        return True
    if not on and found is not None:
        db.session.delete(found)
        db.session.flush()
        return True
    return False


def bookmarks(user) -> list[Organization]:
    """The organisations the user's organisation keeps, that the user may still see."""
    if not rights.signed_in(user) or user.organization_id is None:
        return []
    orgs = db.session.scalars(
        sa.select(Organization).join(Bookmark, Bookmark.target_id == Organization.id)
        .where(Bookmark.organization_id == user.organization_id)
        .order_by(Bookmark.created_at.desc(), Bookmark.id.desc())
    ).all()
    return [o for o in orgs if rights.organization(user, o).see]


def notes_for(user, org: Organization) -> list[OrgNote]:
    """The notes this user may read about an organisation: its own organisation's, or
    staff's for staff."""
    if rights.is_staff(user):
        cond = OrgNote.organization_id.is_(None)
    elif rights.signed_in(user) and user.organization_id is not None:
        cond = OrgNote.organization_id == user.organization_id
    else:
        return []
    return list(db.session.scalars(
        sa.select(OrgNote).where(OrgNote.target_id == org.id, cond)
        .options(selectinload(OrgNote.author))
        .order_by(OrgNote.created_at.desc(), OrgNote.id.desc())))


def add_note(user, org: Organization, body: str) -> OrgNote:
    if not rights.organization(user, org).note:
        raise Forbidden()
    body = (body or "").strip()
    if not body:
        raise Invalid(_l("Write the note first."), "body")
    n = OrgNote(target_id=org.id, author_id=user.id, body=body[:4000],
                organization_id=None if rights.is_staff(user) else user.organization_id)
    db.session.add(n)
    db.session.flush()
    return n


def delete_note(user, note_id: int) -> OrgNote:
    n = db.session.get(OrgNote, note_id)
    if n is None or not rights.org_note(user, n).delete:
        raise NotFound()
    db.session.delete(n)
    db.session.flush()
    return n


# -- invitations from the directory ---------------------------------------------------------
def invitable_demands(user) -> list[Demand]:
    """The user's organisation's demands it may invite suppliers to now."""
    if not rights.is_company(user):
        return []
    rows = db.session.scalars(
        sa.select(Demand).where(Demand.organization_id == user.organization_id,
                                Demand.status == DemandStatus.PUBLISHED)
        .order_by(Demand.published_at.desc(), Demand.id.desc()).limit(50))
    return [d for d in rows if rights.demand(user, d).invite]


def best_capability(d: Demand, org_id: int) -> Capability | None:
    """The organisation's capability that best fits a demand (by its stored match), else
    its latest capability."""
    m = db.session.scalar(
        sa.select(Match).join(Match.capability)
        .where(Match.demand_id == d.id, Capability.organization_id == org_id,
               Match.status != MatchStatus.DISMISSED)
        .order_by(Match.score.desc(), Match.capability_id).limit(1))
    if m is not None:
        return m.capability
    return db.session.scalar(sa.select(Capability).where(Capability.organization_id == org_id)
                             .order_by(Capability.updated_at.desc(), Capability.id.desc()).limit(1))


def invite(user, org: Organization, demand_id: int | None, message: str = ""):
    """Invite a supplier found in the directory to reply to one of the user's demands."""
    if not rights.organization(user, org).invite:
        raise Forbidden()
    d = db.session.get(Demand, demand_id) if demand_id else None
    if d is None or not rights.demand(user, d).manage:
        raise Invalid(_l("Choose one of your published demands."), "demand_id")
    cap = best_capability(d, org.id)
    if cap is None:
        raise Invalid(_l("This organisation has no capability on the board to invite."))
    return invitations.invite(user, d, cap, message)


# -- profile views and the supplier's own view ----------------------------------------------
def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def record_view(user, org: Organization) -> None:
    """Count one view of a profile this week (not its own members' nor staff's). Only the
    count is kept, never who looked."""
    if rights.is_staff(user) or rights.organization(user, org).member:
        return
    week = week_of(today())
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(ProfileView).values(organization_id=org.id, week=week, count=1)
    stmt = stmt.on_conflict_do_update(index_elements=["organization_id", "week"],
                                      set_={"count": ProfileView.count + 1})
    db.session.execute(stmt)


def views_per_week(org: Organization, weeks: int = 8) -> list[tuple[dt.date, int]]:
    """The last ``weeks`` weeks, oldest first, with the views each had."""
    this = week_of(today())
    first = this - dt.timedelta(weeks=weeks - 1)
    got = dict(db.session.execute(
        sa.select(ProfileView.week, ProfileView.count)
        .where(ProfileView.organization_id == org.id, ProfileView.week >= first)).all())
    return [(first + dt.timedelta(weeks=i), got.get(first + dt.timedelta(weeks=i), 0))
            for i in range(weeks)]


@dataclass(frozen=True)
class CheckItem:
    code: str
    label: str
    done: bool
    detail: str = ""


def checklist(org: Organization) -> list[CheckItem]:
    """The facts companies look for on a supplier's profile, and which are still missing."""
    ids = [org.id]
    segs = segments_of(ids)[org.id]
    creds = credentials_of(ids)[org.id]
    refs = references_of(ids)[org.id]
    day = today()
    covered = set(db.session.scalars(
        sa.select(Capability.segment_code).distinct()
        .where(Capability.organization_id == org.id, Capability.segment_code.is_not(None))))
    missing = [s for s in segs if s.code not in covered]
    from ..i18n import join_list, loc

    return [
        CheckItem("description", str(_l("A description of what the organisation does")),
                  bool(org.description)),
        CheckItem("segments", str(_l("The industry-chain segments it serves")), bool(segs)),
        CheckItem("district", str(_l("Its district")), bool(org.district)),
        CheckItem("contacts", str(_l("A contact person and e-mail (shown only to parties)")),
                  bool(org.contact_name and org.contact_email)),
        CheckItem("credential", str(_l("At least one valid credential")),
                  any(c.valid_on(day) for c in creds)),
        CheckItem("reference", str(_l("At least one reference project")), bool(refs)),
        CheckItem("capability_per_segment", str(_l("A capability for each segment it serves")),
                  bool(segs) and not missing,
                  str(join_list(loc(s, "name") for s in missing)) if missing else ""),
        CheckItem("logo", str(_l("A logo")), bool(org.logo_key)),
    ]


def matched_demands(user, org: Organization, limit: int = 20):
    """The published demands its capabilities matched, best first, with the poster's name
    as this user may see it."""
    from .matches import for_supplier

    grouped = for_supplier(org.id, limit=200)[:limit]
    return grouped, rights.poster_labels(user, [d for d, _ in grouped])


# -- the directory's list -------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    q: str = ""
    segment: str | None = None
    theme: str | None = None
    district: str | None = None
    credential: str | None = None  # a CredentialType value: held and valid today
    verified: bool = False
    alliance: bool = False
    both: bool = False
    sort: str = "relevance"  # or "updated"

    def args(self, **change) -> dict:
        """The filters as query-string arguments (with some changed)."""
        values = {"q": self.q, "segment": self.segment, "theme": self.theme,
                  "district": self.district, "credential": self.credential,
                  "verified": "1" if self.verified else None,
                  "alliance": "1" if self.alliance else None, "both": "1" if self.both else None,
                  "sort": self.sort if self.sort != "relevance" else None}
        values.update(change)
        return {k: v for k, v in values.items() if v not in (None, "", False)}


@dataclass
class Result:
    page: Page
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    rows: dict[int, dict] = field(default_factory=dict)
    query: search.Query | None = None


def _conditions(user, f: Filters, day: dt.date) -> list:
    conds = [Organization.merged_into_id.is_(None), rights.profile_clause(user)]
    if f.segment:
        conds.append(Organization.id.in_(sa.select(organization_segment.c.organization_id)
                                         .where(organization_segment.c.segment_code == f.segment)))
    if f.theme:
        conds.append(Organization.id.in_(sa.select(organization_theme.c.organization_id)
                                         .where(organization_theme.c.theme_code == f.theme)))
    if f.district:
        conds.append(Organization.district == f.district)
    if f.credential:
        conds.append(Organization.id.in_(
            sa.select(Credential.organization_id).where(Credential.type == f.credential,
                                                        Credential.valid_until >= day)))
    if f.verified:
        conds.append(Organization.verified_at.is_not(None))
    if f.alliance:
        conds.append(Organization.id.in_(sa.select(organization_tag.c.organization_id).where(
            organization_tag.c.tag == OrgTag.ALLIANCE_MEMBER.value)))
    if f.both:
        conds.append(_both_clause())
    return conds


def _scored(query: search.Query, text: str):
    """A subquery (org, relevance): organisations whose capabilities or own profile the
    engine finds for the query, or whose name holds the text as typed."""
    parts = []
    if not query.empty:
        caps = search.relevance(query, "c")
        parts.append(sa.select(Capability.organization_id.label("org"),
                               sa.func.max(caps.c.relevance).label("rel"))
                     .join(caps, caps.c.id == Capability.id)
                     .group_by(Capability.organization_id))
        weight = sa.case(dict(query.keys), value=OrganizationKey.key, else_=0.0)
        parts.append(sa.select(OrganizationKey.organization_id.label("org"),
                               sa.func.sum(OrganizationKey.weight * weight).label("rel"))
                     .where(OrganizationKey.key.in_(list(query.keys)),
                            OrganizationKey.organization_id.in_(
                                sa.select(OrganizationKey.organization_id)
                                .where(OrganizationKey.key.in_(query.finding))))
                     .group_by(OrganizationKey.organization_id))
    typed = unicodedata.normalize("NFKC", text).replace("%", "").replace("_", "").strip()[:50]
    if typed:
        like = f"%{typed}%"
        parts.append(sa.select(Organization.id.label("org"), sa.literal(5.0).label("rel"))
                     .where(sa.or_(Organization.name.ilike(like), Organization.name_en.ilike(like))))
    if not parts:  # nothing searchable was typed (punctuation alone): nothing is found
        return None
    union = sa.union_all(*parts).subquery()
    return (sa.select(union.c.org.label("org"), sa.func.sum(union.c.rel).label("relevance"))
            .group_by(union.c.org).subquery())


def find(user, f: Filters, page: int = 1, per_page: int = PER_PAGE) -> Result:
    """The directory: organisations this user may see, searched, filtered and sorted, one
    page, with counts per filter value and each row's facts loaded in batches.

    With a query, the organisations the engine finds are scored once (one grouped query over
    the index) and everything else works on their ids; without one, the filters are SQL
    conditions and the page is read in the order of the last update (indexed)."""
    day = today()
    conds = _conditions(user, f, day)
    query = search.parse(f.q) if f.q else None
    if f.q:
        scored = _scored(query, f.q)
        rel = dict(db.session.execute(sa.select(scored.c.org, scored.c.relevance)).all()) if (
            scored is not None) else {}
        ids = list(db.session.scalars(sa.select(Organization.id).where(
            *conds, idsets.among(Organization.id, rel)))) if rel else []
        if f.sort == "updated":
            order = dict(db.session.execute(
                sa.select(Organization.id, Organization.profile_updated_at)
                .where(idsets.among(Organization.id, ids))).all()) if ids else {}
            floor = dt.datetime.min.replace(tzinfo=dt.UTC)
            ids.sort(key=lambda i: (order.get(i) or floor, i), reverse=True)
        else:
            ids.sort(key=lambda i: (-(rel[i] or 0), -i))
        total = len(ids)
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        shown = ids[(page - 1) * per_page: page * per_page]
        by_id = {o.id: o for o in db.session.scalars(
            sa.select(Organization).where(Organization.id.in_(shown)))} if shown else {}
        items = [by_id[i] for i in shown]
        source = ids
    else:
        select = (sa.select(Organization).where(*conds)
                  .order_by(Organization.profile_updated_at.desc().nulls_last(), Organization.id.desc()))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Organization).where(*conds)) or 0
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        items = list(db.session.scalars(select.limit(per_page).offset((page - 1) * per_page)))
        source = sa.select(Organization.id).where(*conds)
    result = Result(Page(items, page, per_page, total), query=query)
    result.facets = _facets(source, day)
    result.rows = _rows(user, items, query, day)
    return result


def _facets(in_ids, day: dt.date) -> dict[str, list[tuple[str, int]]]:
    """How many of the organisations listed (ids, or a select of them) have each filter value."""

    def listed(column):
        return idsets.among(column, in_ids) if isinstance(in_ids, list) else column.in_(in_ids)

    def grouped(column, org_column, *where):
        return [(v, n) for v, n in db.session.execute(
            sa.select(column, sa.func.count(sa.distinct(org_column)))
            .where(listed(org_column), column.is_not(None), *where)
            .group_by(column).order_by(column)) if v]

    def count(*where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Organization)
                                 .where(listed(Organization.id), *where)) or 0

    return {
        "segment": grouped(organization_segment.c.segment_code, organization_segment.c.organization_id),
        "theme": grouped(organization_theme.c.theme_code, organization_theme.c.organization_id),
        "district": grouped(Organization.district, Organization.id),
        "credential": [(getattr(t, "value", t), n) for t, n in grouped(
            Credential.type, Credential.organization_id, Credential.valid_until >= day)],
        "verified": [("1", count(Organization.verified_at.is_not(None)))],
        "alliance": [("1", count(Organization.id.in_(
            sa.select(organization_tag.c.organization_id)
            .where(organization_tag.c.tag == OrgTag.ALLIANCE_MEMBER.value))))],
        "both": [("1", count(_both_clause()))],
    }


def _rows(user, orgs: list[Organization], query: search.Query | None, day: dt.date) -> dict:
    """Per organisation of a page: segments, valid credentials, alliance and both-sides
    marks, capability count and the capabilities to show (those the query found first)."""
    ids = [o.id for o in orgs]
    if not ids:
        return {}
    segs, creds = segments_of(ids), credentials_of(ids)
    alliance, both, kept = is_alliance_member(ids), both_sides(ids), _bookmarked(user, ids)
    counts = dict(db.session.execute(
        sa.select(Capability.organization_id, sa.func.count())
        .where(Capability.organization_id.in_(ids)).group_by(Capability.organization_id)).all())
    order = [Capability.updated_at.desc(), Capability.id.desc()]
    base = sa.select(Capability.id, Capability.organization_id)
    if query is not None and not query.empty:  # relevance of these organisations' records only
        caps = search.relevance(query, "c", within=sa.select(Capability.id).where(
            Capability.organization_id.in_(ids)))
        base = base.join(caps, caps.c.id == Capability.id)
        order = [caps.c.relevance.desc(), Capability.id.desc()]
    ranked = base.add_columns(
        sa.func.row_number().over(partition_by=Capability.organization_id, order_by=order)
        .label("n")).where(Capability.organization_id.in_(ids)).subquery()
    cap_ids = list(db.session.scalars(sa.select(ranked.c.id).where(ranked.c.n <= CAPS_PER_ROW)))
    shown: dict[int, list[Capability]] = {i: [] for i in ids}
    caps_loaded = db.session.scalars(
        sa.select(Capability).where(Capability.id.in_(cap_ids))
        .options(undefer(Capability.analysis))).all() if cap_ids else []
    for c in sorted(caps_loaded, key=lambda c: cap_ids.index(c.id)):
        shown[c.organization_id].append(c)
    marks = search.highlights(query, caps_loaded) if query is not None and not query.empty else {}
    return {o.id: {
        "segments": segs[o.id],
        "credentials": [c for c in creds[o.id] if c.valid_on(day)],
        "alliance": o.id in alliance,
        "both": o.id in both,
        "bookmarked": o.id in kept,
        "capability_count": counts.get(o.id, 0),
        "capabilities": shown[o.id],
        "marks": marks,
    } for o in orgs}


def districts() -> list[str]:
    return [d for d in db.session.scalars(
        sa.select(Organization.district).distinct().where(Organization.district.is_not(None))
        .order_by(Organization.district)) if d]


# -- comparison ------------------------------------------------------------------------------
def compare_candidates(user, d: Demand) -> list[Organization]:
    """Suppliers to compare for a demand: those the user's organisation keeps, then those
    the engine suggests (best first), each once, all visible to the user."""
    out: dict[int, Organization] = {o.id: o for o in bookmarks(user)}
    for m in db.session.scalars(
        sa.select(Match).where(Match.demand_id == d.id, Match.status != MatchStatus.DISMISSED)
        .options(selectinload(Match.capability).selectinload(Capability.organization))
        .order_by(Match.score.desc(), Match.capability_id).limit(30)
    ):
        org = m.capability.organization
        if org.id not in out and rights.organization(user, org).see:
            out[org.id] = org
    return [o for o in out.values() if o.id != d.organization_id]


def comparison(user, d: Demand, org_ids: list[int]) -> dict:
    """Up to four suppliers side by side for one demand: valid credentials, references,
    capabilities, and the engine's strength and reasons from the stored matches."""
    if not rights.compare(user, d):
        raise Forbidden()
    org_ids = list(dict.fromkeys(org_ids))
    if len(org_ids) > MAX_COMPARE:
        raise Invalid(_l("Compare at most %(n)d suppliers at a time.", n=MAX_COMPARE), "org")
    orgs = []
    for i in org_ids:
        org = db.session.get(Organization, i)
        if org is None or not rights.organization(user, org).see:
            raise NotFound()
        orgs.append(org)
    ids = [o.id for o in orgs]
    day = today()
    creds, refs = credentials_of(ids), references_of(ids)
    caps: dict[int, list[Capability]] = {i: [] for i in ids}
    for c in db.session.scalars(sa.select(Capability).where(Capability.organization_id.in_(ids))
                                .order_by(Capability.id)):
        caps[c.organization_id].append(c)
    best: dict[int, Match] = {}
    for m in db.session.scalars(
        sa.select(Match).join(Match.capability)
        .where(Match.demand_id == d.id, Capability.organization_id.in_(ids),
               Match.status != MatchStatus.DISMISSED)
        .options(selectinload(Match.capability))
        .order_by(Match.score.desc(), Match.capability_id)
    ):
        best.setdefault(m.capability.organization_id, m)
    states = invitations.states_for_demand(d)
    alliance = is_alliance_member(ids)
    return {
        "demand": d,
        "orgs": orgs,
        "columns": {o.id: {
            "valid": [c for c in creds[o.id] if c.valid_on(day)],
            "expired": [c for c in creds[o.id] if not c.valid_on(day)],
            "references": refs[o.id],
            "capabilities": caps[o.id],
            "match": best.get(o.id),
            "state": states.get(o.id) or (
                "invite" if rights.invitable(user, d, o.id) and rights.organization(user, o).invite
                and caps[o.id] else None),
            "alliance": o.id in alliance,
        } for o in orgs},
        "today": day,
    }
