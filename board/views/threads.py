"""The conversation on one reply: messages and meetings between the demand's company and the
replying supplier; park staff read it. Anyone else gets a 404, whatever id they try."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, session, url_for
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import commit
from ..extensions import db, login_manager
from ..forms import (
    AcceptMeetingForm,
    ActionForm,
    DeclineMeetingForm,
    MeetingForm,
    MessageForm,
    opts,
)
from ..models import MeetingStatus, utcnow
from ..services import conversations, replies, rights
from ..services.errors import Invalid
from . import flash_invalid, show_invalid

bp = Blueprint("threads", __name__, url_prefix="/replies")


@bp.before_request
def signed_in():
    # Object rules (the two parties and staff) are checked on every route through rights.
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.app_template_filter("meeting_time")
def meeting_time(value, with_zone: bool = False) -> str:
    """A meeting's date and time on the board's clock: "2026年5月20日 14:30"."""
    if not value:
        return ""
    time = format_time(value, "HH:mm zzzz" if with_zone else "HH:mm")
    return f"{format_date(value, 'medium')} {time}"


@bp.app_template_filter("clock")
def clock(value) -> str:
    return format_time(value, "HH:mm") if value else ""


def _thread(reply_id: int):
    return conversations.get_thread(current_user, reply_id)


def _accept_form(m, bound: bool = True) -> AcceptMeetingForm:
    """The times of a proposal to choose from; ``bound``: read from the request."""
    form = AcceptMeetingForm() if bound else AcceptMeetingForm(formdata=None)
    form.option.choices = opts(
        (str(i), meeting_time(t)) for i, t in enumerate(conversations.times(m))
    )
    return form


def _page(r, *, message_form=None, meeting_form=None, accept_form=None, decline_form=None,
          status: int = 200):
    """The thread page; a failed form is passed in to be shown again with its errors."""
    can = rights.conversation(current_user, r)
    if can.side in rights.sides(current_user) and len(rights.sides(current_user)) > 1:
        session["side"] = can.side  # a member on both sides: show the menu of this side
    items = conversations.meetings(r)
    pending = next((m for m in items if m.status == MeetingStatus.PROPOSED), None)
    names = conversations.side_names(current_user, r)
    thread = conversations.messages(r)
    if can.side == "company":
        demand_url = url_for("company.demand", demand_id=r.demand_id) + f"#reply-{r.id}"
    elif can.side == "staff":
        demand_url = url_for("admin.demand", demand_id=r.demand_id)
    else:
        demand_url = url_for("public.demand", demand_id=r.demand_id)
    meeting_form = meeting_form or MeetingForm(formdata=None)
    return (
        render_template(
            "threads/thread.html",
            r=r,
            d=r.demand,
            can=can,
            names=names,
            demand_url=demand_url,
            messages=thread,
            authors={
                m.id: conversations.person(current_user, r, m.side, m.author) for m in thread
            },
            meetings=items,
            pending=pending,
            meeting_rights={m.id: rights.meeting(current_user, m) for m in items},
            people={
                m.id: (
                    conversations.person(current_user, r, m.side, m.proposed_by),
                    conversations.person(
                        current_user, r, conversations.other(m.side), m.answered_by
                    ),
                )
                for m in items
            },
            times={m.id: conversations.times(m) for m in items},
            ends={m.id: conversations.ends_at(m) for m in items},
            message_form=message_form or MessageForm(formdata=None),
            meeting_form=meeting_form,
            accept_form=accept_form or (_accept_form(pending, bound=False) if pending else None),
            decline_form=decline_form or DeclineMeetingForm(formdata=None),
            min_time=conversations.local_now().strftime("%Y-%m-%dT%H:%M"),
            zone=format_time(utcnow(), "zzzz"),
        ),
        status,
    )


def _back(r, anchor: str = ""):
    return redirect(conversations.thread_link(r, anchor))


def _may_write(r, form) -> bool:
    """Staff get a 403 and anyone else a 404 (raised); on a withdrawn reply's thread (which
    shows no forms) the page says it is read-only."""
    try:
        conversations.writer(current_user, r)
    except Invalid as exc:
        form.form_errors.append(str(exc.message))
        flash_invalid(exc)
        return False
    return True


def _may_answer(check, m) -> bool:
    """Whether the proposal can still be answered (or cancelled) by this user: staff and
    the wrong side get a 403 (raised); one already answered says so on the thread."""
    try:
        check(current_user, m)
    except Invalid as exc:
        flash_invalid(exc)
        return False
    return True


@bp.get("/<int:reply_id>")
def thread(reply_id: int):
    r = _thread(reply_id)
    # The company reading the thread has seen the reply: its sender can no longer change it.
    if replies.mark_opened(current_user, [r]):
        commit()
    return _page(r)


@bp.post("/<int:reply_id>/messages")
def post_message(reply_id: int):
    r = _thread(reply_id)
    form = MessageForm()
    if _may_write(r, form) and form.validate_on_submit():
        try:
            msg = conversations.post_message(current_user, r, form.body.data)
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Message sent."), "success")
            return _back(r, f"message-{msg.id}")
    return _page(r, message_form=form, status=422)


@bp.post("/<int:reply_id>/meetings")
def propose_meeting(reply_id: int):
    r = _thread(reply_id)
    form = MeetingForm()
    if _may_write(r, form) and form.validate_on_submit():
        when = [
            conversations.local_to_utc(f.data) if f.data else None
            for f in (form.option_1, form.option_2, form.option_3)
        ]
        try:
            m = conversations.propose(
                current_user, r, when, form.duration.data, place=form.place.data,
                online_link=form.online_link.data, note=form.note.data,
            )
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Meeting request sent. The other party will be told."), "success")
            return _back(r, f"meeting-{m.id}")
    return _page(r, meeting_form=form, status=422)


@bp.post("/<int:reply_id>/meetings/<int:meeting_id>/accept")
def accept_meeting(reply_id: int, meeting_id: int):
    r = _thread(reply_id)
    m = conversations.get_meeting(r, meeting_id)
    if not _may_answer(conversations.check_answer, m):
        return _back(r, f"meeting-{meeting_id}")
    form = _accept_form(m)
    if form.validate_on_submit():
        raw = form.option.data or ""
        index = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 3 else None
        try:
            conversations.accept(current_user, m, index)
        except Invalid as exc:
            db.session.rollback()
            if exc.field is None:  # no longer open: say so on the thread
                flash_invalid(exc)
                return _back(r, f"meeting-{meeting_id}")
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Meeting accepted. It is now in both parties' calendars on the board."),
                  "success")
            return _back(r, f"meeting-{m.id}")
    return _page(r, accept_form=form, status=422)


@bp.post("/<int:reply_id>/meetings/<int:meeting_id>/decline")
def decline_meeting(reply_id: int, meeting_id: int):
    r = _thread(reply_id)
    m = conversations.get_meeting(r, meeting_id)
    if not _may_answer(conversations.check_answer, m):
        return _back(r, f"meeting-{meeting_id}")
    form = DeclineMeetingForm()
    if form.validate_on_submit():
        try:
            conversations.decline(current_user, m, form.reason.data)
        except Invalid as exc:
            db.session.rollback()
            if exc.field is None:
                flash_invalid(exc)
                return _back(r, f"meeting-{meeting_id}")
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Meeting request declined."), "success")
            return _back(r, f"meeting-{m.id}")
    return _page(r, decline_form=form, status=422)


@bp.post("/<int:reply_id>/meetings/<int:meeting_id>/cancel")
def cancel_meeting(reply_id: int, meeting_id: int):
    r = _thread(reply_id)
    m = conversations.get_meeting(r, meeting_id)
    if _may_answer(conversations.check_cancel, m) and ActionForm().validate_on_submit():
        try:
            conversations.cancel(current_user, m)
        except Invalid as exc:
            db.session.rollback()
            flash_invalid(exc)
        else:
            commit()
            flash(_("Meeting request cancelled."), "success")
    return _back(r, f"meeting-{meeting_id}")


@bp.post("/<int:reply_id>/meetings/<int:meeting_id>/held")
def meeting_held(reply_id: int, meeting_id: int):
    r = _thread(reply_id)
    m = conversations.get_meeting(r, meeting_id)
    if ActionForm().validate_on_submit():
        try:
            _outcome, new = conversations.mark_held(current_user, m)
        except Invalid as exc:
            db.session.rollback()
            flash_invalid(exc)
        else:
            commit()
            if new:
                flash(_("Recorded: the meeting was held."), "success")
            else:
                flash(_("This meeting was already recorded as held."), "info")
    return _back(r, f"meeting-{meeting_id}")


@bp.get("/<int:reply_id>/meetings/<int:meeting_id>.ics")
def meeting_ics(reply_id: int, meeting_id: int):
    r = _thread(reply_id)
    m = conversations.get_meeting(r, meeting_id)
    body = conversations.ics_file(current_user, m)
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="meeting-{m.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )
