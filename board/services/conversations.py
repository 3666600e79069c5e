"""Conversations on a reply: messages between the demand's company and the replying supplier,
and meetings one side proposes and the other answers.

Who may read or do what is asked of ``rights.conversation`` and ``rights.meeting``. Staff read
every thread and may mark a meeting held, but write nothing in it. Writes that must not happen
twice (a second open proposal, a second answer, a second outcome) are decided by the database:
the thread's reply row is locked first, and a meeting changes state only from the state it was
read in. Everything here flushes; the view commits.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..i18n import label, loc
from ..models import (
    Demand,
    Meeting,
    MeetingStatus,
    Message,
    Outcome,
    OutcomeKind,
    Reply,
    ReplyStatus,
    User,
    utcnow,
)
from . import ics, notices, rights
from .errors import Forbidden, Invalid, NotFound

MESSAGE_MAX = 4000
MAX_TIMES = 3
DURATION_MIN, DURATION_MAX = 30, 240
PLACE_MAX, LINK_MAX, NOTE_MAX, REASON_MAX = 300, 500, 1000, 1000
#: How far ahead a meeting may be proposed.
HORIZON = dt.timedelta(days=366)
#: The same text sent again by the same person this soon is a repeated submit: kept once.
REPEAT_WINDOW = dt.timedelta(minutes=2)
#: Meetings listed under "past" on the staff calendar when no month is chosen.
PAST_LIMIT = 100

PARTIES = ("company", "supplier")
HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
SHOWN = (MeetingStatus.ACCEPTED, MeetingStatus.HELD)


def other(side: str) -> str:
    return "supplier" if side == "company" else "company"


# -- time ----------------------------------------------------------------------------
def board_timezone():
    """The board's timezone (BABEL_DEFAULT_TIMEZONE, Asia/Shanghai by default)."""
    return get_timezone()


def local_to_utc(value: dt.datetime) -> dt.datetime:
    """A naive wall-clock time typed on the board (its timezone) as an aware UTC time."""
    try:
        if value.tzinfo is None:
            tz = board_timezone()
            value = tz.localize(value) if hasattr(tz, "localize") else value.replace(tzinfo=tz)
        return value.astimezone(dt.UTC)
    except OverflowError:  # the first hours of year 1: long past
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def local_date(value: dt.datetime) -> dt.date:
    return value.astimezone(board_timezone()).date()


def local_now() -> dt.datetime:
    """Now on the board's clock, naive (what a datetime-local input shows)."""
    return utcnow().astimezone(board_timezone()).replace(tzinfo=None)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def times(m: Meeting) -> list[dt.datetime]:
    """A meeting's proposed start times, as aware UTC datetimes."""
    out = []
    for raw in m.options or []:
        value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        out.append(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return out


def ends_at(m: Meeting) -> dt.datetime | None:
    return m.starts_at + dt.timedelta(minutes=m.duration_minutes) if m.starts_at else None


# -- reading -------------------------------------------------------------------------
def get_thread(user, reply_id: int) -> Reply:
    """A reply whose thread the user may read; 404 for anyone else (ids are not confirmed)."""
    r = db.session.get(Reply, reply_id)
    if r is None or not rights.reply(user, r).see:
        raise NotFound()
    return r


def get_meeting(reply: Reply, meeting_id: int) -> Meeting:
    m = db.session.get(Meeting, meeting_id)
    if m is None or m.reply_id != reply.id:
        raise NotFound()
    return m


def messages(reply: Reply) -> list[Message]:
    """The thread, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Message)
            .where(Message.reply_id == reply.id)
            .options(selectinload(Message.author))
            .order_by(Message.created_at, Message.id)
        )
    )


def meetings(reply: Reply) -> list[Meeting]:
    """Every meeting proposed on the reply, newest first."""
    return list(
        db.session.scalars(
            sa.select(Meeting)
            .where(Meeting.reply_id == reply.id)
            .options(selectinload(Meeting.proposed_by), selectinload(Meeting.answered_by))
            .order_by(Meeting.created_at.desc(), Meeting.id.desc())
        )
    )


def side_names(user, reply: Reply) -> dict[str, str]:
    """Each side's organisation as this user may see it: an anonymous poster stays
    "Anonymous poster" to the supplier until its reply is shortlisted."""
    return {
        "company": rights.poster_label(user, reply.demand),
        "supplier": loc(reply.organization, "name"),
    }


def person(user, reply: Reply, side: str, author: User | None) -> str | None:
    """The name of whoever wrote or answered for a side, when this user may see it (the
    people behind an anonymous demand are as hidden as its organisation)."""
    if author is None or side == "staff":
        return None
    if side == "company" and not rights.conversation(user, reply).poster:
        return None
    return author.display_name


# -- messages ------------------------------------------------------------------------
def writer(user, reply: Reply) -> rights.ConversationRights:
    """The user's rights in a thread they may write in; raises why not (staff: 403)."""
    c = rights.conversation(user, reply)
    if not c.see:
        raise NotFound()
    if not c.write:
        if c.side not in PARTIES:
            raise Forbidden()  # staff read the thread; they do not write in it
        raise Invalid(_l("This reply was withdrawn: its conversation is kept, but read-only."))
    return c


def _lock(reply: Reply) -> None:
    """Write to the reply's row (changing nothing) so that writes to one thread queue up:
    PostgreSQL locks the row, SQLite the database. Reads after it see what others committed."""
    db.session.execute(
        sa.update(Reply)
        .where(Reply.id == reply.id)
        .values(updated_at=Reply.updated_at)
        .execution_options(synchronize_session=False)
    )


def post_message(user: User, reply: Reply, body: str) -> Message:
    c = writer(user, reply)
    body = (body or "").strip()
    if not body:
        raise Invalid(_l("Write a message first."), "body")
    if len(body) > MESSAGE_MAX:
        raise Invalid(_l("Enter at most %(max)d characters.", max=MESSAGE_MAX), "body")
    _lock(reply)
    last = db.session.execute(
        sa.select(Message.id, Message.author_id, Message.body, Message.created_at)
        .where(Message.reply_id == reply.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    if (
        last is not None
        and last.author_id == user.id
        and last.body == body
        and utcnow() - last.created_at < REPEAT_WINDOW
    ):
        return db.session.get(Message, last.id)  # the same message sent twice
    msg = Message(reply=reply, author=user, side=c.side, body=body)
    db.session.add(msg)
    db.session.flush()
    _tell(user, reply, c.side, "message", thread_link(reply, f"message-{msg.id}"))
    return msg


# -- notices -------------------------------------------------------------------------
def thread_link(reply: Reply, anchor: str = "") -> str:
    """The thread's path (inside a request or not: commands and tests call services too)."""
    if has_request_context():
        path = url_for("threads.thread", reply_id=reply.id)
    else:
        path = current_app.url_map.bind("localhost").build("threads.thread", {"reply_id": reply.id})
    return path + (f"#{anchor}" if anchor else "")


def members(reply: Reply, side: str) -> list[User]:
    """The active members of one party: the demand's company side or the reply's supplier side."""
    if side == "company":
        org_id, roles = reply.demand.organization_id, rights.COMPANY_ROLES
    else:
        org_id, roles = reply.organization_id, rights.SUPPLIER_ROLES
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.organization_id == org_id,
                User.role.in_(sorted(roles)),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _in_each_language(fn) -> dict[str, str]:
    out = {}
    for lang in current_app.config["BOARD_LANGUAGES"]:
        with force_locale(lang):
            out[lang] = str(fn())
    return out


def _tell(actor: User, reply: Reply, from_side: str, kind: str, link: str, **params) -> None:
    """Notify the other party's members; the sender's organisation is named as they may see
    it (the members of one organisation all see the same)."""
    readers = members(reply, other(from_side))
    if not readers:
        return
    reader = readers[0]
    params.update(
        org=_in_each_language(lambda: side_names(reader, reply)[from_side]),
        demand=reply.demand.title,
    )
    notices.notify(readers, kind, params, link, actor=actor)


# -- meetings ------------------------------------------------------------------------
def open_proposal(reply: Reply) -> Meeting | None:
    return db.session.scalar(
        sa.select(Meeting)
        .where(Meeting.reply_id == reply.id, Meeting.status == MeetingStatus.PROPOSED)
        .order_by(Meeting.id)
        .limit(1)
    )


def _check_times(values: list[dt.datetime | None], now: dt.datetime) -> list[dt.datetime]:
    """The proposed start times (aware, any zone; None for an empty field ``option_<n>``)."""
    if len(values) > MAX_TIMES:
        raise Invalid(_l("Propose at most three times."))
    chosen: list[dt.datetime] = []
    for n, value in enumerate(values, start=1):
        if value is None:
            continue
        field = f"option_{n}"
        value = value.astimezone(dt.UTC).replace(second=0, microsecond=0)
        if value <= now:
            raise Invalid(_l("This time has passed. Choose a time in the future."), field)
        if value > now + HORIZON:
            raise Invalid(_l("Choose a time within the next twelve months."), field)
        if value in chosen:
            raise Invalid(_l("This time is already one of the options."), field)
        chosen.append(value)
    if not chosen:
        raise Invalid(_l("Propose at least one time."), "option_1")
    return sorted(chosen)


def propose(user: User, reply: Reply, when: list[dt.datetime | None], duration: int | None,
            place: str | None = None, online_link: str | None = None,
            note: str | None = None) -> Meeting:
    """Either party proposes one to three times; one open proposal per reply at a time."""
    c = writer(user, reply)
    chosen = _check_times(when, utcnow())
    if duration is None or not DURATION_MIN <= duration <= DURATION_MAX:
        raise Invalid(_l("Enter a number of minutes between 30 and 240."), "duration")
    place = (place or "").strip() or None
    online_link = (online_link or "").strip() or None
    note = (note or "").strip() or None
    if place is None and online_link is None:
        raise Invalid(_l("Give a place, an online link, or both."), "place")
    if place and len(place) > PLACE_MAX:
        raise Invalid(_l("Enter at most %(max)d characters.", max=PLACE_MAX), "place")
    if online_link and (len(online_link) > LINK_MAX or not HTTP_URL.match(online_link)):
        raise Invalid(
            _l("Enter a full web address starting with http:// or https://."), "online_link"
        )
    if note and len(note) > NOTE_MAX:
        raise Invalid(_l("Enter at most %(max)d characters.", max=NOTE_MAX), "note")
    _lock(reply)
    if open_proposal(reply) is not None:
        raise Invalid(
            _l("A meeting request is already waiting for an answer. It must be answered or "
               "cancelled before another one is proposed.")
        )
    m = Meeting(
        reply=reply,
        proposed_by=user,
        side=c.side,
        options=[_iso(t) for t in chosen],
        duration_minutes=duration,
        place=place,
        online_link=online_link,
        note=note,
        status=MeetingStatus.PROPOSED,
    )
    db.session.add(m)
    db.session.flush()
    _tell(user, reply, c.side, "meeting_request", thread_link(reply, f"meeting-{m.id}"))
    return m


def _no_longer_open(m: Meeting) -> Invalid:
    return Invalid(
        _l("This meeting request was already answered or cancelled: it is now “%(status)s”.",
           status=label(m.status))
    )


def _check(user, m: Meeting, allowed: bool) -> None:
    """Explain why a proposal cannot be answered or cancelled by this user."""
    if allowed:
        return
    c = rights.conversation(user, m.reply)
    if not c.see:
        raise NotFound()
    if c.side not in PARTIES:
        raise Forbidden()  # staff read the thread; they do not write in it
    if m.status != MeetingStatus.PROPOSED:
        raise _no_longer_open(m)
    writer(user, m.reply)  # a withdrawn reply: read-only
    raise Forbidden()  # the proposing side answers nothing; the other side cancels nothing


def check_answer(user, m: Meeting) -> None:
    """May this user accept or decline the proposal now? Raises why not."""
    _check(user, m, rights.meeting(user, m).answer)


def check_cancel(user, m: Meeting) -> None:
    _check(user, m, rights.meeting(user, m).cancel)


def _move(m: Meeting, source: MeetingStatus, target: MeetingStatus, **values) -> bool:
    """Change the meeting's status only if it still has ``source`` (two identical requests
    at once: the second finds it changed). Returns whether this request changed it."""
    result = db.session.execute(
        sa.update(Meeting)
        .where(Meeting.id == m.id, Meeting.status == source)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(m)
    return result.rowcount == 1


def _status_params(status: MeetingStatus) -> dict[str, str]:
    return _in_each_language(lambda: label(status))


def accept(user: User, m: Meeting, index: int | None) -> Meeting:
    """The other party accepts one of the proposed times (``index`` from 0)."""
    check_answer(user, m)
    options = times(m)
    if index is None or not 0 <= index < len(options):
        raise Invalid(_l("Choose one of the proposed times."), "option")
    now = utcnow()
    if options[index] <= now:
        raise Invalid(_l("This time has passed. Decline, and propose new times instead."), "option")
    if not _move(m, MeetingStatus.PROPOSED, MeetingStatus.ACCEPTED, starts_at=options[index],
                 answered_by_id=user.id, answered_at=now):
        raise _no_longer_open(m)
    _tell(user, m.reply, other(m.side), "meeting_answer", thread_link(m.reply, f"meeting-{m.id}"),
          status=_status_params(MeetingStatus.ACCEPTED))
    return m


def decline(user: User, m: Meeting, reason: str | None = None) -> Meeting:
    """The other party declines, with an optional reason."""
    check_answer(user, m)
    reason = (reason or "").strip() or None
    if reason and len(reason) > REASON_MAX:
        raise Invalid(_l("Enter at most %(max)d characters.", max=REASON_MAX), "reason")
    if not _move(m, MeetingStatus.PROPOSED, MeetingStatus.DECLINED, decline_reason=reason,
                 answered_by_id=user.id, answered_at=utcnow()):
        raise _no_longer_open(m)
    _tell(user, m.reply, other(m.side), "meeting_answer", thread_link(m.reply, f"meeting-{m.id}"),
          status=_status_params(MeetingStatus.DECLINED))
    return m


def cancel(user: User, m: Meeting) -> Meeting:
    """The proposing side withdraws its proposal while it waits for an answer."""
    check_cancel(user, m)
    if not _move(m, MeetingStatus.PROPOSED, MeetingStatus.CANCELLED,
                 answered_by_id=user.id, answered_at=utcnow()):
        raise _no_longer_open(m)
    _tell(user, m.reply, m.side, "meeting_cancelled", thread_link(m.reply, f"meeting-{m.id}"))
    return m


def outcome_of(m: Meeting) -> Outcome | None:
    return db.session.scalar(
        sa.select(Outcome).where(Outcome.meeting_id == m.id).order_by(Outcome.id).limit(1)
    )


def mark_held(user: User, m: Meeting) -> tuple[Outcome, bool]:
    """After its start, either party or staff records that an accepted meeting took place:
    the meeting becomes "held" and one Outcome (kind meeting) moves the demand's funnel on.
    Marking it again changes nothing; returns the outcome and whether it is new."""
    now = utcnow()
    c = rights.conversation(user, m.reply)
    if not c.see:
        raise NotFound()
    if m.status == MeetingStatus.HELD:
        found = outcome_of(m)
        if found is not None:
            return found, False  # already marked: nothing changes
    if not rights.meeting(user, m, now).held:
        if m.status != MeetingStatus.ACCEPTED:
            raise Invalid(_l("Only an accepted meeting can be marked as held."))
        if m.starts_at is not None and m.starts_at > now:
            raise Invalid(_l("This meeting has not started yet; mark it as held afterwards."))
        if m.reply.status == ReplyStatus.WITHDRAWN:
            raise Invalid(_l("This reply was withdrawn: its conversation is kept, but read-only."))
        raise Forbidden()
    if not _move(m, MeetingStatus.ACCEPTED, MeetingStatus.HELD):
        found = outcome_of(m) if m.status == MeetingStatus.HELD else None
        if found is None:
            raise _no_longer_open(m)
        return found, False  # marked by a request that committed meanwhile
    found = outcome_of(m)
    if found is not None:
        return found, False
    r = m.reply
    outcome = Outcome(
        kind=OutcomeKind.MEETING,
        demand_id=r.demand_id,
        # No event: outcomes of an event are listed publicly, and the demand may be anonymous.
        organization_a_id=r.demand.organization_id,
        organization_b_id=r.organization_id,
        occurred_on=local_date(m.starts_at),
        reply_id=r.id,
        meeting_id=m.id,
        provenance="board: meeting held",
    )
    db.session.add(outcome)
    db.session.flush()
    return outcome, True


# -- calendar files ------------------------------------------------------------------
def ics_file(user, m: Meeting) -> str:
    """An accepted (or held) meeting as an iCalendar file, in the user's language and naming
    the organisations as the user may see them."""
    if m.status not in SHOWN or m.starts_at is None:
        raise NotFound()
    r = m.reply
    names = side_names(user, r)
    thread = notices.absolute(thread_link(r, f"meeting-{m.id}"))
    lines = [
        _("Demand: %(title)s", title=r.demand.title),
        _("Company: %(name)s", name=names["company"]),
        _("Supplier: %(name)s", name=names["supplier"]),
    ]
    if m.place:
        lines.append(_("Place: %(place)s", place=m.place))
    if m.online_link:
        lines.append(_("Online link: %(url)s", url=m.online_link))
    if m.note:
        lines.append(_("Note: %(note)s", note=m.note))
    lines.append(_("The conversation on the board: %(url)s", url=thread))
    host = urlsplit(current_app.config["BOARD_URL"]).hostname or "board"
    event = ics.Event(
        uid=f"meeting-{m.id}@{host}",
        stamp=m.answered_at or m.created_at,
        start=m.starts_at,
        end=ends_at(m),
        summary=_("Meeting: %(company)s × %(supplier)s", company=names["company"],
                  supplier=names["supplier"]),
        location=m.place or m.online_link,
        url=m.online_link or thread,
        description="\n".join(lines),
    )
    return ics.calendar([event])


# -- the staff calendar --------------------------------------------------------------
@dataclass(frozen=True)
class Day:
    date: dt.date
    meetings: list[Meeting]


def parse_month(raw: str | None) -> tuple[int, int] | None:
    """"2026-03" (or "2026-3") as (2026, 3); anything else is None."""
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", raw or "")
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    return (year, month) if 2000 <= year <= 2100 and 1 <= month <= 12 else None


def _local_midnight(day: dt.date) -> dt.datetime:
    return local_to_utc(dt.datetime(day.year, day.month, day.day))


def _calendar_query():
    return (
        sa.select(Meeting)
        .where(Meeting.status.in_(SHOWN), Meeting.starts_at.is_not(None))
        .options(
            selectinload(Meeting.reply).selectinload(Reply.organization),
            selectinload(Meeting.reply)
            .selectinload(Reply.demand)
            .selectinload(Demand.organization),
        )
    )


def by_day(items: list[Meeting]) -> list[Day]:
    days: dict[dt.date, list[Meeting]] = {}
    for m in items:
        days.setdefault(local_date(m.starts_at), []).append(m)
    return [Day(d, ms) for d, ms in days.items()]


def month_meetings(year: int, month: int) -> list[Day]:
    """Accepted and held meetings starting in one month of the board's calendar."""
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    q = _calendar_query().where(
        Meeting.starts_at >= _local_midnight(first), Meeting.starts_at < _local_midnight(after)
    )
    return by_day(list(db.session.scalars(q.order_by(Meeting.starts_at, Meeting.id))))


def upcoming_and_past(limit: int = PAST_LIMIT) -> tuple[list[Day], list[Day]]:
    """From today on (soonest first), and before today (latest first, the last ``limit``)."""
    today = _local_midnight(local_now().date())
    upcoming = db.session.scalars(
        _calendar_query().where(Meeting.starts_at >= today).order_by(Meeting.starts_at, Meeting.id)
    )
    past = db.session.scalars(
        _calendar_query()
        .where(Meeting.starts_at < today)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(limit)
    )
    return by_day(list(upcoming)), by_day(list(past))


def month_name(value: str) -> str:
    """"2026-05" as the page's language names it: "2026年5月", "May 2026"."""
    from babel.dates import format_skeleton
    from flask_babel import get_locale

    parsed = parse_month(value)
    if parsed is None:
        return value
    return format_skeleton("yMMMM", dt.date(*parsed, 1), locale=get_locale())


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    n = year * 12 + (month - 1) + delta
    return n // 12, n % 12 + 1
