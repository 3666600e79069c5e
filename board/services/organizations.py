"""Organisations as staff see them: members and activity."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Capability, Demand, Organization, OrgTag, User, organization_tag
from . import audit, rights
from .demands import Page, paginate
from .errors import Forbidden, NotFound


def get(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound()
    return org


def search(q: str, page: int, per_page: int = 30, tag: OrgTag | None = None) -> Page:
    # Organisations merged into another are hidden from lists.
    query = sa.select(Organization).where(Organization.merged_into_id.is_(None)).order_by(Organization.name)
    if tag is not None:
        query = query.where(
            sa.exists().where(organization_tag.c.organization_id == Organization.id,
                              organization_tag.c.tag == tag.value)
        )
    if q:
        like = f"%{q.replace('%', '').replace('_', '')[:50]}%"
        query = query.where(sa.or_(Organization.name.ilike(like), Organization.name_en.ilike(like)))
    return paginate(query, page, per_page)


def activity(org_ids: list[int]) -> dict[int, dict[str, int]]:
    """Members, demands and capabilities per organisation."""
    out = {i: {"users": 0, "demands": 0, "capabilities": 0} for i in org_ids}
    if not org_ids:
        return out
    for name, model in (("users", User), ("demands", Demand), ("capabilities", Capability)):
        rows = db.session.execute(
            sa.select(model.organization_id, sa.func.count())
            .where(model.organization_id.in_(org_ids))
            .group_by(model.organization_id)
        )
        for org_id, n in rows:
            out[org_id][name] = n
    return out


def members(org: Organization) -> list[User]:
    return list(
        db.session.scalars(sa.select(User).where(User.organization_id == org.id).order_by(User.id))
    )


# -- tags: chain leaders (链长单位), investment targets (招商目标), alliance members ----------
def tags_of(org_ids: list[int]) -> dict[int, list[OrgTag]]:
    """The tags of some organisations, in the enum's order."""
    out: dict[int, list[OrgTag]] = {i: [] for i in org_ids}
    if not org_ids:
        return out
    rows = db.session.execute(
        sa.select(organization_tag.c.organization_id, organization_tag.c.tag).where(
            organization_tag.c.organization_id.in_(org_ids)
        )
    )
    known = {t.value: t for t in OrgTag}
    for org_id, tag in rows:
        if tag in known:
            out[org_id].append(known[tag])
    order = list(OrgTag)
    return {i: sorted(tags, key=order.index) for i, tags in out.items()}


def set_tag(actor: User, org: Organization, tag: OrgTag, on: bool) -> bool:
    """Tag an organisation or take the tag off; True when something changed. Idempotent:
    two staff doing the same at once leave one row and one audit entry, with no error."""
    if not rights.is_staff(actor):
        raise Forbidden()
    tag = OrgTag(tag)
    before = [t.value for t in tags_of([org.id])[org.id]]
    if on:
        if db.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(organization_tag).values(organization_id=org.id, tag=tag.value)
        stmt = stmt.on_conflict_do_nothing().returning(organization_tag.c.tag)
        changed = db.session.execute(stmt).first() is not None
    else:
        changed = db.session.execute(
            sa.delete(organization_tag).where(
                organization_tag.c.organization_id == org.id, organization_tag.c.tag == tag.value
            )
        ).rowcount == 1
    if changed:
        after = [t.value for t in OrgTag if t.value in before or t == tag] if on else [
            t for t in before if t != tag.value]
        audit.record(actor, "organization.tag" if on else "organization.untag", org,
                     before={"tags": before}, after={"tags": after})
        db.session.flush()
    return changed


# -- accounts (staff console): list, disable and enable, the staff role --------------------
#: Filters of the account list: role codes, and "active" / "disabled".
ACCOUNT_STATES = ("active", "disabled")


def accounts(q: str = "", role: str | None = None, state: str | None = None, page: int = 1,
             per_page: int = 30) -> Page:
    """Accounts by e-mail, searched in e-mail, name and organisation name."""
    from sqlalchemy.orm import selectinload

    from ..models import Role

    query = (sa.select(User).outerjoin(User.organization)
             .options(selectinload(User.organization)).order_by(User.email))
    if q:
        like = f"%{q.replace('%', '').replace('_', '')[:50]}%"
        query = query.where(sa.or_(User.email.ilike(like), User.display_name.ilike(like),
                                   Organization.name.ilike(like), Organization.name_en.ilike(like)))
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    if state in ACCOUNT_STATES:
        query = query.where(User.active.is_(state == "active"))
    return paginate(query, page, per_page)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def set_active(actor: User, user: User, active: bool) -> bool:
    """Disable an account (ending its sessions) or enable it; True when it changed. Asking
    for the state it is already in changes nothing and records nothing."""
    from flask_babel import lazy_gettext as _l

    from . import accounts as account_service
    from . import audit, rights
    from .errors import Invalid

    if not rights.account(actor, user).change_active:
        raise Invalid(_l("You cannot disable or enable your own account."))
    changed = db.session.execute(
        sa.update(User).where(User.id == user.id, User.active.is_(not active))
        .values(active=active).execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.expire(user, ["active"])
    if changed:
        if not active:
            account_service.end_all_sessions(user)
        audit.record(actor, "account.enable" if active else "account.disable", user,
                     before={"active": not active}, after={"active": active})
        db.session.flush()
    return changed


def previous_role(user: User):
    """The member role an account had before it was made staff (from the audit log)."""
    from ..models import AuditEntry, Role

    before = db.session.scalar(
        sa.select(AuditEntry.before)
        .where(AuditEntry.action == "account.staff_grant", AuditEntry.object_type == "user_account",
               AuditEntry.object_id == user.id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(1)
    )
    try:
        return Role((before or {}).get("role"))
    except ValueError:
        return None


def set_staff(actor: User, user: User, staff: bool, role=None) -> bool:
    """Grant the staff role, or remove it giving back a member ``role`` (company, supplier
    or both); True when it changed. An account of no organisation can only be staff."""
    from flask_babel import lazy_gettext as _l

    from ..models import Role
    from . import audit, rights
    from .accounts import MEMBER_ROLES
    from .errors import Forbidden, Invalid

    if not rights.is_staff(actor):
        raise Forbidden()
    if staff:
        target = Role.STAFF
    else:
        if user.id == actor.id:
            raise Invalid(_l("You cannot remove your own staff role."))
        if role is None or Role(role) not in MEMBER_ROLES:
            raise Invalid(_l("Choose the role the account gets instead."), "role")
        if user.organization_id is None:
            raise Invalid(_l("This account belongs to no organisation, so it can only be staff; "
                             "disable it instead."), "role")
        target = Role(role)
    before = user.role
    query = sa.update(User).where(User.id == user.id)
    query = query.where(User.role != Role.STAFF) if staff else query.where(User.role == Role.STAFF)
    changed = db.session.execute(
        query.values(role=target).execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.expire(user, ["role"])
    if changed:
        audit.record(actor, "account.staff_grant" if staff else "account.staff_remove", user,
                     before={"role": before}, after={"role": target})
        db.session.flush()
    return changed


# -- verifying an organisation --------------------------------------------------------------
def set_verified(actor: User, org: Organization, verified: bool) -> bool:
    """Mark an organisation checked by staff (or take the mark off); True when it changed."""
    from ..models import utcnow
    from . import audit

    now = utcnow()
    query = sa.update(Organization).where(Organization.id == org.id)
    if verified:
        query = query.where(Organization.verified_at.is_(None)).values(verified_at=now,
                                                                      verified_by_id=actor.id)
    else:
        query = query.where(Organization.verified_at.is_not(None)).values(verified_at=None,
                                                                         verified_by_id=None)
    before = {"verified_at": org.verified_at, "verified_by_id": org.verified_by_id}
    changed = db.session.execute(query.execution_options(synchronize_session=False)).rowcount == 1
    db.session.expire(org, ["verified_at", "verified_by_id"])
    if changed:
        audit.record(actor, "organization.verify" if verified else "organization.unverify", org,
                     before=before, after={"verified_at": now if verified else None,
                                           "verified_by_id": actor.id if verified else None})
        db.session.flush()
    return changed


# -- one organisation's page ------------------------------------------------------------------
def profile(org: Organization, pages: dict[str, int], per_page: int = 10) -> dict[str, Page]:
    """Its demands (from submission on: drafts stay with the organisation), capabilities,
    replies and outcomes, each list paginated on its own."""
    from sqlalchemy.orm import selectinload

    from ..models import DemandStatus, Outcome, Reply

    queries = {
        "demands": sa.select(Demand).where(Demand.organization_id == org.id,
                                           Demand.status != DemandStatus.DRAFT)
        .options(selectinload(Demand.segment)).order_by(Demand.id.desc()),
        "capabilities": sa.select(Capability).where(Capability.organization_id == org.id)
        .options(selectinload(Capability.segment)).order_by(Capability.id.desc()),
        "replies": sa.select(Reply).where(Reply.organization_id == org.id)
        .options(selectinload(Reply.demand)).order_by(Reply.id.desc()),
        "outcomes": sa.select(Outcome).where(sa.or_(Outcome.organization_a_id == org.id,
                                                    Outcome.organization_b_id == org.id))
        .options(selectinload(Outcome.organization_a), selectinload(Outcome.organization_b),
                 selectinload(Outcome.demand))
        .order_by(Outcome.occurred_on.desc().nulls_last(), Outcome.id.desc()),
    }
    return {name: paginate(q, pages.get(name, 1), per_page) for name, q in queries.items()}


def kept_organization(org: Organization) -> Organization | None:
    """The organisation a merged one now stands for."""
    return db.session.get(Organization, org.merged_into_id) if org.merged_into_id else None


# -- merging duplicate organisations ----------------------------------------------------------
#: What moves from the duplicate to the organisation kept, in this order on the page.
MERGED_PARTS = ("users", "demands", "capabilities", "replies", "invitations", "outcomes", "tags")


def footprint(org_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many of each part belong to each organisation (grouped counts)."""
    from ..models import Invitation, Outcome, Reply, organization_tag

    out = {i: dict.fromkeys(MERGED_PARTS, 0) for i in org_ids}
    if not org_ids:
        return out
    for name, model in (("users", User), ("demands", Demand), ("capabilities", Capability),
                        ("replies", Reply), ("invitations", Invitation)):
        for org_id, n in db.session.execute(
            sa.select(model.organization_id, sa.func.count())
            .where(model.organization_id.in_(org_ids)).group_by(model.organization_id)
        ):
            out[org_id][name] = n
    for column in (Outcome.organization_a_id, Outcome.organization_b_id):
        for org_id, n in db.session.execute(
            sa.select(column, sa.func.count()).where(column.in_(org_ids)).group_by(column)
        ):
            out[org_id]["outcomes"] += n
    for org_id, n in db.session.execute(
        sa.select(organization_tag.c.organization_id, sa.func.count())
        .where(organization_tag.c.organization_id.in_(org_ids))
        .group_by(organization_tag.c.organization_id)
    ):
        out[org_id]["tags"] = n
    return out


def merge_candidates(org: Organization, q: str, limit: int = 20) -> list[Organization]:
    """Organisations the duplicate could be merged into: by name, not itself, not merged."""
    if not q:
        return []
    like = f"%{q.replace('%', '').replace('_', '')[:50]}%"
    return list(db.session.scalars(
        sa.select(Organization)
        .where(Organization.id != org.id, Organization.merged_into_id.is_(None),
               sa.or_(Organization.name.ilike(like), Organization.name_en.ilike(like)))
        .order_by(Organization.name).limit(limit)
    ))


def _check_merge(duplicate: Organization, keep: Organization | None) -> None:
    from flask_babel import lazy_gettext as _l

    from .errors import Invalid

    if duplicate.merged_into_id is not None:
        raise Invalid(_l("This organisation was merged into another already."), "keep")
    if keep is None:
        raise Invalid(_l("Choose the organisation to keep."), "keep")
    if keep.id == duplicate.id:
        raise Invalid(_l("Choose another organisation: one cannot be merged into itself."), "keep")
    if keep.merged_into_id is not None:
        raise Invalid(_l("The organisation chosen was itself merged into another; choose that one."),
                      "keep")


def merge_plan(duplicate: Organization, keep: Organization | None) -> dict:
    """What merging would move, and the replies and invitations of the duplicate that are
    dropped because the organisation kept already has one on the same demand."""
    from sqlalchemy.orm import selectinload

    from ..models import Invitation, Reply

    _check_merge(duplicate, keep)
    kept_replies = sa.select(Reply.demand_id).where(Reply.organization_id == keep.id)
    dropped = list(db.session.scalars(
        sa.select(Reply).where(Reply.organization_id == duplicate.id, Reply.demand_id.in_(kept_replies))
        .options(selectinload(Reply.demand)).order_by(Reply.id)
    ))
    kept_invites = sa.select(Invitation.demand_id).where(Invitation.organization_id == keep.id)
    dropped_invitations = db.session.scalar(
        sa.select(sa.func.count()).select_from(Invitation)
        .where(Invitation.organization_id == duplicate.id, Invitation.demand_id.in_(kept_invites))
    )
    counts = footprint([duplicate.id, keep.id])
    moving = dict(counts[duplicate.id])
    moving["replies"] -= len(dropped)
    moving["invitations"] -= dropped_invitations
    return {"duplicate": duplicate, "keep": keep, "before": counts, "moving": moving,
            "dropped_replies": dropped, "dropped_invitations": dropped_invitations}


def _lock(org_id: int, **values) -> bool:
    """Update (or just lock) an organisation that is not merged; False if it was merged."""
    values = values or {"name": Organization.name}
    return db.session.execute(
        sa.update(Organization).where(Organization.id == org_id, Organization.merged_into_id.is_(None))
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount == 1


def merge(actor: User, duplicate: Organization, keep: Organization | None) -> dict:
    """Move everything of the duplicate to the organisation kept, in one transaction, and mark
    the duplicate merged (hidden from lists). Where both replied to (or were invited to) the
    same demand, the kept organisation's reply (or invitation) stays and the duplicate's is
    removed. Only flushes."""
    from flask_babel import lazy_gettext as _l

    from ..models import Invitation, Outcome, Reply, organization_tag
    from . import audit
    from .errors import Invalid

    plan = merge_plan(duplicate, keep)
    dup_id, keep_id = duplicate.id, keep.id
    # Lock both rows in id order, so two merges of the same pair (either way round) give one
    # result: the second finds one of them merged.
    for org_id in sorted((dup_id, keep_id)):
        ok = _lock(org_id, merged_into_id=keep_id) if org_id == dup_id else _lock(org_id)
        if not ok:
            raise Invalid(_l("One of the two organisations was merged meanwhile; nothing was changed."),
                          "keep")
    dropped_ids = [r.id for r in plan["dropped_replies"]]
    if dropped_ids:
        db.session.execute(sa.delete(Reply).where(Reply.id.in_(dropped_ids)))
    db.session.execute(sa.delete(Invitation).where(
        Invitation.organization_id == dup_id,
        Invitation.demand_id.in_(sa.select(Invitation.demand_id).where(Invitation.organization_id == keep_id)
                                 .scalar_subquery())))
    for model in (User, Demand, Capability, Reply, Invitation):
        db.session.execute(sa.update(model).where(model.organization_id == dup_id)
                           .values(organization_id=keep_id).execution_options(synchronize_session=False))
    db.session.execute(sa.update(Outcome).where(Outcome.organization_a_id == dup_id)
                       .values(organization_a_id=keep_id).execution_options(synchronize_session=False))
    db.session.execute(sa.update(Outcome).where(Outcome.organization_b_id == dup_id)
                       .values(organization_b_id=keep_id).execution_options(synchronize_session=False))
    kept_tags = sa.select(organization_tag.c.tag).where(organization_tag.c.organization_id == keep_id)
    db.session.execute(organization_tag.insert().from_select(
        ["organization_id", "tag"],
        sa.select(sa.literal(keep_id), organization_tag.c.tag)
        .where(organization_tag.c.organization_id == dup_id, organization_tag.c.tag.not_in(kept_tags))))
    db.session.execute(sa.delete(organization_tag).where(organization_tag.c.organization_id == dup_id))
    from .directory import merge_profiles

    merge_profiles(dup_id, keep_id)
    # Organisations merged into the duplicate earlier now point at the one kept.
    db.session.execute(sa.update(Organization).where(Organization.merged_into_id == dup_id,
                                                     Organization.id != dup_id)
                       .values(merged_into_id=keep_id).execution_options(synchronize_session=False))
    db.session.expire_all()
    after = footprint([dup_id, keep_id])
    audit.record(actor, "organization.merge", db.session.get(Organization, dup_id),
                 before={"duplicate": plan["before"][dup_id], "keep": plan["before"][keep_id]},
                 after={"duplicate": after[dup_id], "keep": after[keep_id], "merged_into_id": keep_id,
                        "dropped_replies": dropped_ids,
                        "dropped_invitations": plan["dropped_invitations"]})
    db.session.flush()
    plan["after"] = after
    return plan
