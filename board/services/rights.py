"""Who may see and do what: the one place these rules live.

Each function takes a user (an anonymous visitor is ``None`` or an object whose
``is_authenticated`` is false) and an object, and answers with one small frozen value.
Views, templates and exports ask; none re-derives a rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext as _

from ..models import (
    Capability,
    Demand,
    DemandStatus,
    Match,
    MatchStatus,
    Meeting,
    MeetingStatus,
    Reply,
    ReplyStatus,
    Role,
    utcnow,
)

# -- who the user is ---------------------------------------------------------------
COMPANY_ROLES = frozenset({Role.COMPANY, Role.BOTH})
SUPPLIER_ROLES = frozenset({Role.SUPPLIER, Role.BOTH})

#: The sides (blueprint names) each role may open.
AUDIENCES = {
    Role.COMPANY: frozenset({"company"}),
    Role.SUPPLIER: frozenset({"supplier"}),
    Role.BOTH: frozenset({"company", "supplier"}),
    Role.STAFF: frozenset({"admin"}),
}


def signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_staff(user) -> bool:
    return signed_in(user) and user.role == Role.STAFF


def is_company(user) -> bool:
    """Posts demands for an organisation."""
    return signed_in(user) and user.role in COMPANY_ROLES and user.organization_id is not None


def is_supplier(user) -> bool:
    """Offers capabilities and replies for an organisation."""
    return signed_in(user) and user.role in SUPPLIER_ROLES and user.organization_id is not None


def may_enter(user, audience: str) -> bool:
    """May this user open the pages of one audience ("company", "supplier", "admin")?"""
    if not signed_in(user):
        return False
    if audience != "admin" and user.organization_id is None:
        return False
    return audience in AUDIENCES.get(user.role, frozenset())


def sides(user) -> list[str]:
    """The member sides a user can switch between, in menu order."""
    if not signed_in(user):
        return []
    return [s for s in ("company", "supplier") if may_enter(user, s)]


def _member_of(user, org_id: int | None) -> bool:
    return signed_in(user) and org_id is not None and user.organization_id == org_id


# -- demands -----------------------------------------------------------------------
@dataclass(frozen=True)
class DemandRights:
    see: bool = False  # open the demand's page at all
    poster: bool = False  # see which organisation posted it
    contacts: bool = False  # see its contact person, e-mail and website
    manage: bool = False  # the poster's own pages: matches, replies, edit history
    edit: bool = False
    submit: bool = False
    close: bool = False
    reply: bool = False  # send a reply now
    replies: bool = False  # read every reply it received
    review: bool = False  # staff: publish, return, approve changes, review matches
    invite: bool = False  # ask a likely partner to reply (the poster, or staff on its behalf)
    replies_closed: bool = False  # published, but its reply-by date has passed
    closing_soon: bool = False  # published, and its reply-by date is at most CLOSING_SOON_DAYS away


def demand(user, d: Demand) -> DemandRights:
    owner = _member_of(user, d.organization_id) and is_company(user)
    staff = is_staff(user)
    public = d.was_published
    # Drafts belong to their organisation alone: staff see a demand from "submitted" on.
    staff_sees = staff and d.status != DemandStatus.DRAFT
    see = public or owner or staff_sees
    if not see:
        return DemandRights()
    open_ = d.status != DemandStatus.CLOSED
    window = reply_window(d)
    # An anonymous poster is revealed to a supplier once the company shortlists its reply.
    chosen = d.is_anonymous and is_supplier(user) and d.id in _shortlisted_demands(user)
    poster = owner or staff_sees or not d.is_anonymous or chosen
    return DemandRights(
        see=True,
        poster=poster,
        contacts=owner or staff_sees or chosen or (signed_in(user) and not d.is_anonymous),
        manage=owner,
        edit=owner and open_,
        submit=owner and d.status == DemandStatus.DRAFT,
        close=owner and open_,
        reply=(
            is_supplier(user)
            and not _member_of(user, d.organization_id)
            and window == "open"
        ),
        replies=owner or staff_sees,
        review=staff_sees,
        invite=(owner or staff_sees) and window == "open",
        replies_closed=window == "past",
        closing_soon=window == "open" and closing_soon(d),
    )


#: A published demand "closes soon" when its reply-by date is this many days away or fewer.
CLOSING_SOON_DAYS = 3


def zone() -> ZoneInfo:
    """The park's time zone (``BOARD_TIMEZONE``): dates on the board are dates there."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or "UTC")


def today() -> dt.date:
    """Today at the park (reply-by dates and rounds are dates there)."""
    return dt.datetime.now(zone()).date()


def local_date(when: dt.datetime) -> dt.date:
    """The park's date of a stored (UTC) time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(zone()).date()


def reply_window(d: Demand) -> str:
    """Whether a demand takes replies: "open" (published, reply-by date not passed), "past"
    (published, its reply-by date has passed) or "shut" (not published, or closed)."""
    if d.status != DemandStatus.PUBLISHED:
        return "shut"
    if d.deadline is not None and d.deadline < today():
        return "past"
    return "open"


def closing_soon(d: Demand) -> bool:
    """A published demand still taking replies whose reply-by date is near."""
    if reply_window(d) != "open" or d.deadline is None:
        return False
    return (d.deadline - today()).days <= CLOSING_SOON_DAYS


def _shortlisted_demands(user) -> frozenset[int]:
    """Demands on which the user's organisation has a shortlisted reply (once per request)."""
    import sqlalchemy as sa
    from flask import g, has_request_context

    from ..extensions import db

    key = ("shortlisted", user.organization_id)
    cache = g.setdefault("rights_cache", {}) if has_request_context() else {}
    if key not in cache:
        cache[key] = frozenset(
            db.session.scalars(
                sa.select(Reply.demand_id).where(
                    Reply.organization_id == user.organization_id,
                    Reply.status == ReplyStatus.SHORTLISTED,
                )
            )
        )
    return cache[key]


def poster_label(user, d: Demand) -> str:
    """Who posted a demand, as this user may see it."""
    from ..i18n import loc

    if demand(user, d).poster:
        return loc(d.organization, "name")
    return _("Anonymous poster")


def poster_labels(user, items) -> dict[int, str]:
    """``poster_label`` for a list of demands, by id (for list pages)."""
    return {d.id: poster_label(user, d) for d in items}


# -- replies -----------------------------------------------------------------------
@dataclass(frozen=True)
class ReplyRights:
    see: bool = False  # read it, and download its attachment
    edit: bool = False  # the sender changes it: until the company has opened it
    withdraw: bool = False
    answer: bool = False  # the company shortlists or declines it
    opens: bool = False  # viewing it counts as the company having opened it


def reply(user, r: Reply) -> ReplyRights:
    sender = is_supplier(user) and _member_of(user, r.organization_id)
    receiver = is_company(user) and _member_of(user, r.demand.organization_id)
    staff = is_staff(user)
    if not (sender or receiver or staff):
        return ReplyRights()
    demand_open = r.demand.status == DemandStatus.PUBLISHED
    live = r.status != ReplyStatus.WITHDRAWN
    return ReplyRights(
        see=True,
        edit=(
            sender
            and r.status == ReplyStatus.SENT
            and r.opened_at is None
            and reply_window(r.demand) == "open"
        ),
        withdraw=sender and demand_open and live,
        answer=receiver and demand_open and live,
        opens=receiver and live,
    )


def invitable(user, d: Demand, org_id: int | None) -> bool:
    """May this user invite one organisation to reply to a demand? Not the poster's own
    organisation (a firm on both sides does not invite itself)."""
    return bool(demand(user, d).invite and org_id is not None and org_id != d.organization_id)


# -- who is told ---------------------------------------------------------------------
def members(org_id: int | None, side: str) -> list:
    """The active accounts of an organisation on one side ("company" or "supplier"):
    those a notice about that side's business goes to."""
    import sqlalchemy as sa

    from ..extensions import db
    from ..models import User

    if org_id is None:
        return []
    roles = COMPANY_ROLES if side == "company" else SUPPLIER_ROLES
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.organization_id == org_id, User.role.in_(roles), User.active.is_(True))
            .order_by(User.id)
        )
    )


# -- matches -----------------------------------------------------------------------
@dataclass(frozen=True)
class MatchRights:
    contacts: bool = False  # see the supplier's contact details beside the match
    review: bool = False  # confirm, dismiss or reset it


def match(user, m: Match) -> MatchRights:
    """Staff see everything; the poster sees a supplier's contacts once staff confirmed it."""
    review = demand(user, m.demand).review
    poster = demand(user, m.demand).manage
    return MatchRights(
        contacts=review or (poster and m.status == MatchStatus.CONFIRMED), review=review
    )


# -- capabilities ------------------------------------------------------------------
@dataclass(frozen=True)
class CapabilityRights:
    see: bool = False
    edit: bool = False


def capability(user, cap: Capability) -> CapabilityRights:
    own = is_supplier(user) and _member_of(user, cap.organization_id)
    if own:
        return CapabilityRights(see=True, edit=True)
    return CapabilityRights(see=is_staff(user))


# -- conversations: the messages and meetings on a reply ----------------------------
@dataclass(frozen=True)
class ConversationRights:
    see: bool = False  # read it: the two parties and staff (who see every reply)
    side: str | None = None  # "company", "supplier" or "staff"
    #: Write messages, propose meetings and answer them: the two parties, unless the reply
    #: was withdrawn (its thread is then read-only). Staff read but never write.
    write: bool = False
    poster: bool = False  # see which organisation posted the demand (and who wrote for it)


def conversation_side(user, r: Reply) -> str | None:
    """The side a user takes in a reply's thread, or None for anyone else. A member of a
    firm on both sides cannot be on both: a firm never replies to its own demand."""
    if is_supplier(user) and _member_of(user, r.organization_id):
        return "supplier"
    if is_company(user) and _member_of(user, r.demand.organization_id):
        return "company"
    if is_staff(user):
        return "staff"
    return None


def conversation(user, r: Reply) -> ConversationRights:
    if not reply(user, r).see:
        return ConversationRights()
    side = conversation_side(user, r)
    return ConversationRights(
        see=True,
        side=side,
        write=side in ("company", "supplier") and r.status != ReplyStatus.WITHDRAWN,
        poster=demand(user, r.demand).poster,
    )


@dataclass(frozen=True)
class MeetingRights:
    answer: bool = False  # accept one of its times or decline it
    cancel: bool = False
    held: bool = False  # mark it held (records the outcome)
    calendar: bool = False  # download it as an .ics file


def meeting(user, m: Meeting, now=None) -> MeetingRights:
    """The other party answers a proposal; the proposing side may cancel it meanwhile. Once
    accepted and started, either party or staff marks it held. Nothing changes on a
    withdrawn reply."""
    c = conversation(user, m.reply)
    if not c.see:
        return MeetingRights()
    now = now or utcnow()
    proposed = m.status == MeetingStatus.PROPOSED
    started = m.starts_at is not None and m.starts_at <= now
    open_ = m.reply.status != ReplyStatus.WITHDRAWN
    return MeetingRights(
        answer=c.write and proposed and c.side != m.side,
        cancel=c.write and proposed and c.side == m.side,
        held=(c.write or (c.side == "staff" and open_))
        and m.status == MeetingStatus.ACCEPTED
        and started,
        calendar=m.status in (MeetingStatus.ACCEPTED, MeetingStatus.HELD),
    )


# -- the staff console: rounds and outcomes ------------------------------------------
def manage_rounds(user) -> bool:
    """Create, edit, open and close collection rounds; carry demands between them."""
    return is_staff(user)


def record_outcome(user, d: Demand) -> bool:
    """Record a meeting or agreement that happened offline on a demand staff can review."""
    return demand(user, d).review


def edit_outcome(user, o) -> bool:
    """Correct a recorded outcome (one of the event's included)."""
    return is_staff(user) and (o.demand is None or demand(user, o.demand).review)


# -- accounts (staff console) ---------------------------------------------------------
@dataclass(frozen=True)
class AccountRights:
    change_active: bool = False  # disable or enable it: never one's own account
    grant_staff: bool = False  # make it a staff account
    remove_staff: bool = False  # give it back a member role: never one's own staff role


def account(user, target) -> AccountRights:
    if not is_staff(user) or target is None:
        return AccountRights()
    own = target.id == user.id
    return AccountRights(
        change_active=not own,
        grant_staff=target.role != Role.STAFF,
        remove_staff=not own and target.role == Role.STAFF,
    )


# -- the directory: organisation profiles -----------------------------------------------
#: Who may open a profile, by the visibility its organisation chose.
PROFILE_VISIBILITIES = ("public", "members", "staff")


@dataclass(frozen=True)
class OrganizationRights:
    see: bool = False  # open its profile (and its logo)
    member: bool = False  # the viewer belongs to it
    edit: bool = False  # change its profile, credentials and references
    contacts: bool = False  # its contact person, e-mail and phone
    check: bool = False  # staff: check credentials and references, mark alliance members
    bookmark: bool = False  # keep it on the viewer's organisation's list
    note: bool = False  # keep notes on it (the organisation's own, or staff-only for staff)
    invite: bool = False  # ask it to reply to one of the viewer's demands
    insights: bool = False  # its completeness checklist, weekly views, demands it matched


def organization(user, org) -> OrganizationRights:
    """A profile is seen by everyone (public), by anyone signed in (members) or by staff
    (staff); its own members and staff always see it. A merged organisation has no profile
    but for staff. Contacts are never public: its members, staff, and the other party of a
    reply or a confirmed match between the two organisations see them."""
    staff = is_staff(user)
    member = signed_in(user) and not staff and _member_of(user, org.id)
    if org.merged_into_id is not None and not staff:
        return OrganizationRights()
    vis = org.profile_visibility or "members"
    see = staff or member or vis == "public" or (vis == "members" and signed_in(user))
    if not see:
        return OrganizationRights()
    other = signed_in(user) and not staff and not member and user.organization_id is not None
    return OrganizationRights(
        see=True,
        member=member,
        edit=member and org.merged_into_id is None,
        contacts=member or staff or (other and _parties(user, org.id)),
        check=staff,
        bookmark=other and is_company(user),
        note=other or staff,
        invite=other and is_company(user),
        insights=member or staff,
    )


def _parties(user, org_id: int) -> bool:
    """Do the user's organisation and ``org_id`` meet in a reply or a confirmed match that
    lets this user see the other side (the reply and match rules decide)?"""
    import sqlalchemy as sa
    from flask import g, has_request_context

    from ..extensions import db

    key = ("parties", user.id, org_id)
    cache = g.setdefault("rights_cache", {}) if has_request_context() else {}
    if key in cache:
        return cache[key]
    mine = user.organization_id
    found = False
    # The supplier replied to one of the user's demands: the company reads the reply.
    for r in db.session.scalars(
        sa.select(Reply).join(Reply.demand).where(
            Reply.organization_id == org_id, Demand.organization_id == mine,
            Reply.status != ReplyStatus.WITHDRAWN)
    ):
        if reply(user, r).see:
            found = True
            break
    # The user's organisation replied to one of org's demands: only where the poster is shown.
    if not found:
        for r in db.session.scalars(
            sa.select(Reply).join(Reply.demand).where(
                Reply.organization_id == mine, Demand.organization_id == org_id,
                Reply.status != ReplyStatus.WITHDRAWN)
        ):
            if reply(user, r).see and demand(user, r.demand).poster:
                found = True
                break
    # Staff confirmed a match of org's capability on one of the user's demands.
    if not found:
        for m in db.session.scalars(
            sa.select(Match).join(Match.demand).join(Match.capability).where(
                Demand.organization_id == mine, Capability.organization_id == org_id,
                Match.status == MatchStatus.CONFIRMED)
        ):
            if match(user, m).contacts:
                found = True
                break
    cache[key] = found
    return found


def profile_lists_demand(d: Demand) -> bool:
    """A profile lists a demand only when it was published under its poster's name: an
    anonymous demand is never listed (not even counted) on its poster's profile."""
    return d.was_published and not d.is_anonymous


def profile_demand_clause():
    """``profile_lists_demand`` as a SQL condition on Demand."""
    from ..models import Visibility

    return (
        Demand.published_at.is_not(None)
        & Demand.status.in_([DemandStatus.PUBLISHED, DemandStatus.CLOSED])
        & (Demand.visibility == Visibility.PUBLIC)
    )


def poster_profile(user, d: Demand) -> bool:
    """May a demand's page link to its poster's profile? Never for an anonymous demand."""
    return (not d.is_anonymous and demand(user, d).poster
            and organization(user, d.organization).see)


def profile_clause(user):
    """The organisations whose profiles ``user`` may see, as a SQL condition (the directory's
    list applies the same rule as ``organization``)."""
    import sqlalchemy as sa

    from ..models import Organization

    if is_staff(user):
        return sa.true()
    allowed = ["public", "members"] if signed_in(user) else ["public"]
    cond = Organization.profile_visibility.in_(allowed)
    if signed_in(user) and user.organization_id is not None:
        cond = cond | (Organization.id == user.organization_id)
    return Organization.merged_into_id.is_(None) & cond


@dataclass(frozen=True)
class NoteRights:
    see: bool = False
    delete: bool = False


def org_note(user, n) -> NoteRights:
    """A note is read by its writer's organisation alone; a staff note by staff alone."""
    if n.organization_id is None:
        ok = is_staff(user)
    else:
        ok = signed_in(user) and not is_staff(user) and user.organization_id == n.organization_id
    return NoteRights(see=ok, delete=ok)


def compare(user, d: Demand) -> bool:
    """Put suppliers side by side for a demand: its poster, and staff who review it."""
    r = demand(user, d)
    return r.manage or r.review
