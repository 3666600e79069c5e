"""Company members: post and manage demands, see their matches and replies."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import commit, require_audience
from ..extensions import db
from ..forms import ActionForm, AnswerReplyForm, DemandForm, InviteForm, ReasonForm
from ..i18n import TRL_LABELS, loc
from ..models import DemandStatus, ReplyStatus
from ..services import bands, demands, invitations, matches, records, replies, revisions, rights
from ..services.errors import Invalid
from . import attempt, flash_invalid, form_data, form_status, show_invalid
from .suggestions import accepted_changes, nothing_picked_message, suggestion_context

bp = Blueprint("company", __name__, url_prefix="/company")
bp.before_request(require_audience("company"))


def _form(d=None) -> DemandForm:
    """The demand form; editing a published demand starts from its pending changes."""
    data = None
    if d is not None and request.method == "GET":
        rev = revisions.pending(d)
        data = revisions.as_form_data(rev.data) if rev else records.current_data(d)
        data.update(keywords="、".join(data.get("keywords") or []), segment=data.get("segment") or "")
    form = DemandForm(data=data)
    form.set_choices(records.all_segments(), records.all_themes(), loc)
    return form


@bp.get("/")
def my_demands():
    items = demands.of_organization(current_user.organization_id)
    ids = [d.id for d in items]
    top = matches.top_for_demands(ids, 3)
    strength = bands.of(m for ms in top.values() for m in ms)
    return render_template(
        "company/my_demands.html",
        items=items,
        top={d: [m for m in ms if not bands.folded(m, strength[m.id])] for d, ms in top.items()},
        bands=strength,
        reply_counts=replies.counts_for_demands(ids),
    )


@bp.route("/demands/new", methods=["GET", "POST"])
def new_demand():
    form = _form()
    if form.validate_on_submit():
        try:
            d = demands.create(current_user, form_data(form))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Draft saved. Check the suggestions, then submit it for review."), "success")
            return redirect(url_for("company.demand", demand_id=d.id))
    return render_template("company/demand_form.html", form=form, d=None), form_status(form)


@bp.get("/demands/<int:demand_id>")
def demand(demand_id: int):
    d = demands.get_owned(current_user, demand_id)
    # Seeing the page opens its replies: from now on their senders cannot change them.
    if replies.mark_opened(current_user, replies.for_demand(d)):
        commit()
    return _demand_page(d)


def _demand_page(d, answer_forms=None, status: int = 200, invite_forms=None):
    """The poster's page for one demand; ``answer_forms`` and ``invite_forms`` carry a failed
    answer's or invitation's errors."""
    rev = revisions.pending(d)
    received = replies.for_demand(d)
    shown = matches.for_demand(d)
    forms = {
        r.id: AnswerReplyForm(
            formdata=None,
            decision=r.status.value,
            decline_reason=r.decline_reason.value if r.decline_reason else None,
            reason=r.status_reason,
        )
        for r in received
    }
    forms.update(answer_forms or {})
    for reply_id, form in forms.items():  # several answer forms on one page: unique ids
        for f in (form.decision, form.decline_reason, form.reason):
            f.id = f.label.field_id = f"reply-{reply_id}-{f.name}"
    context = suggestion_context(d) if d.status in (DemandStatus.DRAFT, DemandStatus.SUBMITTED) else {}
    reply_matches = replies.matches_for(received)
    strength = bands.of([*shown, *reply_matches.values()])
    partners, weak_partners = bands.shown_and_weak(shown, strength)
    return (
        render_template(
            "company/demand.html",
            d=d,
            can=rights.demand(current_user, d),
            reply_rights={r.id: rights.reply(current_user, r) for r in received},
            revision=rev,
            changes=revisions.compare(d, rev) if rev else [],
            returned=None if rev else revisions.latest_returned(d),
            matches=shown,
            match_rights={m.id: rights.match(current_user, m) for m in shown},
            replies=received,
            answer_forms=forms,
            reply_matches=reply_matches,
            bands=strength,
            partners=partners,
            weak_partners=weak_partners,
            waiting={r.id: replies.waiting_days(r) for r in received},
            trl_labels=TRL_LABELS,
            **invite_context(d, shown, "company.invite", invite_forms),
            close_form=ReasonForm(formdata=None),
            **context,
        ),
        status,
    )


@bp.route("/demands/<int:demand_id>/edit", methods=["GET", "POST"])
def edit_demand(demand_id: int):
    d = demands.get_owned(current_user, demand_id)
    if d.status == DemandStatus.CLOSED:
        flash(_("A closed demand cannot be edited."), "error")
        return redirect(url_for("company.demand", demand_id=d.id))
    form = _form(d)
    if form.validate_on_submit():
        was_published = d.status == DemandStatus.PUBLISHED
        try:
            demands.update(current_user, d, form_data(form))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            if was_published:
                flash(
                    _("Changes saved for review. The published version stays on the board "
                      "until the park staff approve them."),
                    "info",
                )
            else:
                flash(_("Saved."), "success")
            return redirect(url_for("company.demand", demand_id=d.id))
    return render_template("company/demand_form.html", form=form, d=d), form_status(form)


@bp.post("/demands/<int:demand_id>/submit")
def submit_demand(demand_id: int):
    d = demands.get_owned(current_user, demand_id)
    if ActionForm().validate_on_submit():
        attempt(lambda: demands.submit(current_user, d),
                _("Submitted. The park staff will review it before it is published."))
    return redirect(url_for("company.demand", demand_id=d.id))


@bp.post("/demands/<int:demand_id>/close")
def close_demand(demand_id: int):
    d = demands.get_owned(current_user, demand_id)
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(lambda: demands.close(current_user, d, form.reason.data),
                _("The demand is closed."))
    else:
        flash(_("Give a reason for closing the demand."), "error")
    return redirect(url_for("company.demand", demand_id=d.id))


@bp.post("/demands/<int:demand_id>/suggestions")
def accept_suggestions(demand_id: int):
    d = demands.get_owned(current_user, demand_id)
    if d.status not in (DemandStatus.DRAFT, DemandStatus.SUBMITTED):
        flash(_("Suggestions apply to drafts and demands in review; edit a published demand instead."), "error")
    else:
        data = accepted_changes(d)
        if data is None:
            flash(nothing_picked_message(), "error")
        else:
            try:
                demands.update(current_user, d, data)
            except Invalid as exc:
                db.session.rollback()
                flash_invalid(exc)
            else:
                commit()
                flash(_("Suggestions applied."), "success")
    return redirect(url_for("company.demand", demand_id=d.id))


@bp.post("/replies/<int:reply_id>/answer")
def answer_reply(reply_id: int):
    r = replies.get_received(current_user, reply_id)
    form = AnswerReplyForm()
    if form.validate_on_submit():
        try:
            replies.answer(current_user, r, ReplyStatus(form.decision.data), form.reason.data or "",
                           form.decline_reason.data or None)
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Your answer was saved; the supplier can see it."), "success")
            return redirect(url_for("company.demand", demand_id=r.demand_id) + f"#reply-{r.id}")
    # Shown again with the errors at their fields, under the reply they belong to.
    return _demand_page(r.demand, {r.id: form}, 422)


def invite_context(d, shown, endpoint: str, failed=None) -> dict:
    """What the match cards need for their invite buttons (also used on the staff page):
    each card's state, a note form per card that may invite (with a failed one's errors)."""
    states = invitations.card_states(current_user, d, shown)
    forms = {mid: InviteForm(formdata=None) for mid, state in states.items() if state == "invite"}
    forms.update(failed or {})
    for mid, form in forms.items():
        form.message.id = form.message.label.field_id = f"match-{mid}-message"
    return {"invite_states": states, "invite_forms": forms, "invite_endpoint": endpoint}


@bp.post("/matches/<int:match_id>/invite")
def invite(match_id: int):
    """Invite a likely partner to reply; inviting twice changes nothing."""
    m = invitations.match_for_invite(current_user, match_id)
    form = InviteForm()
    if not form.validate_on_submit():
        return _demand_page(m.demand, status=422, invite_forms={m.id: form})
    try:
        _inv, created = invitations.invite_for_match(current_user, m, form.message.data or "")
    except Invalid as exc:
        db.session.rollback()
        flash_invalid(exc)
    else:
        commit()
        if created:
            flash(_("Invitation sent to %(org)s.", org=loc(m.capability.organization, "name")), "success")
        else:
            flash(_("%(org)s was already invited.", org=loc(m.capability.organization, "name")), "info")
    return redirect(url_for("company.demand", demand_id=m.demand_id) + f"#match-{m.id}")
