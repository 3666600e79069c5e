"""Park staff: review demands and their matches, keep the lexicon."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import commit, require_audience
from ..extensions import db
from ..forms import ActionForm, ConceptForm, InviteForm, MemberForm, ReasonForm, TermForm, opts
from ..i18n import loc
from ..models import MatchStatus, Role
from ..services import (
    accounts,
    bands,
    demands,
    invitations,
    lexicon_admin,
    matches,
    organizations,
    records,
    replies,
    revisions,
    rights,
    search,
)
from ..services.errors import Invalid
from . import attempt, back, flash_invalid, form_status, int_arg, show_invalid, text_arg
from .company import invite_context

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_audience("admin"))


@bp.get("/")
def dashboard():
    tab = text_arg("status", 20) or "submitted"
    if tab not in demands.STAFF_TABS:
        abort(404)
    q = text_arg("q", search.MAX_QUERY)
    query = search.parse(q) if q else None
    sort = search.sort_arg(text_arg("sort", 10))
    page = demands.for_staff(tab, int_arg("page", 1), 30, query, sort)
    return render_template(
        "admin/dashboard.html",
        page=page,
        q=q,
        sort=sort,
        **search.extras(query, page),
        tab=tab,
        tabs=demands.STAFF_TABS,
        counts=demands.staff_counts(),
        reply_counts=replies.counts_for_demands([d.id for d in page.items]),
    )


@bp.get("/calendar")
def calendar():
    """Accepted and held meetings: from today on and before, or those of one month."""
    from ..services import conversations

    raw = text_arg("month", 20)
    month = conversations.parse_month(raw)
    today = conversations.local_now().date()
    shown = month or (today.year, today.month)
    if month:
        days, upcoming, past = conversations.month_meetings(*month), None, None
    else:
        days, (upcoming, past) = None, conversations.upcoming_and_past()
    return render_template(
        "admin/calendar.html",
        month=month,
        bad_month=bool(raw) and month is None,
        days=days,
        upcoming=upcoming,
        past=past,
        shown=f"{shown[0]:04d}-{shown[1]:02d}",
        months={
            step: "{:04d}-{:02d}".format(*conversations.shift_month(*shown, step))
            for step in (-1, 1)
        },
        month_name=conversations.month_name,
        ends=conversations.ends_at,
    )


def _demand_page(d, return_form=None, revision_form=None, status: int = 200, invite_forms=None):
    rev = revisions.pending(d)
    shown = matches.for_demand(d, include_dismissed=True)
    return (
        render_template(
            "admin/demand.html",
            d=d,
            matches=shown,
            match_rights={m.id: rights.match(current_user, m) for m in shown},
            bands=bands.of(shown),  # staff see every band, nothing folded
            replies=replies.for_demand(d),
            revision=rev,
            changes=revisions.compare(d, rev) if rev else [],
            return_form=return_form or ReasonForm(formdata=None),
            revision_form=revision_form or ReasonForm(formdata=None),
            # Staff invite likely partners on the poster's behalf.
            **invite_context(d, shown, "admin.invite", invite_forms),
        ),
        status,
    )


@bp.get("/demands/<int:demand_id>")
def demand(demand_id: int):
    return _demand_page(demands.get_for_review(current_user, demand_id))


@bp.post("/demands/<int:demand_id>/publish")
def publish(demand_id: int):
    d = demands.get_for_review(current_user, demand_id)
    if ActionForm().validate_on_submit():
        attempt(lambda: demands.publish(current_user, d),
                _("Published. It is now on the board."))
    return redirect(url_for("admin.demand", demand_id=d.id))


@bp.post("/demands/<int:demand_id>/return")
def return_demand(demand_id: int):
    d = demands.get_for_review(current_user, demand_id)
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(lambda: demands.return_to_poster(current_user, d, form.reason.data),
                _("Returned to the poster with your reason."))
        return redirect(url_for("admin.demand", demand_id=d.id))
    return _demand_page(d, return_form=form, status=422)


@bp.post("/demands/<int:demand_id>/changes/approve")
def approve_changes(demand_id: int):
    d = demands.get_for_review(current_user, demand_id)
    if ActionForm().validate_on_submit():
        attempt(lambda: revisions.approve(current_user, d),
                _("Changes approved: the board now shows the new version."))
    return redirect(url_for("admin.demand", demand_id=d.id))


@bp.post("/demands/<int:demand_id>/changes/return")
def return_changes(demand_id: int):
    d = demands.get_for_review(current_user, demand_id)
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(lambda: revisions.return_to_poster(current_user, d, form.reason.data),
                _("Changes returned to the poster with your reason; the published version stays."))
        return redirect(url_for("admin.demand", demand_id=d.id))
    return _demand_page(d, revision_form=form, status=422)


def _review(match_id: int, status: MatchStatus, message: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    return console_review.review_one(match_id, status, message)


@bp.post("/matches/<int:match_id>/confirm")
def confirm_match(match_id: int):
    return _review(match_id, MatchStatus.CONFIRMED, _("Match confirmed: both sides now see it as recommended."))


@bp.post("/matches/<int:match_id>/dismiss")
def dismiss_match(match_id: int):
    return _review(match_id, MatchStatus.DISMISSED, _("Match dismissed: neither side sees it."))


@bp.post("/matches/<int:match_id>/reset")
def reset_match(match_id: int):
    return _review(match_id, MatchStatus.SUGGESTED, _("Match set back to suggested."))


@bp.post("/matches/<int:match_id>/invite")
def invite(match_id: int):
    """Invite a likely partner to reply, on the poster's behalf."""
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
        org = loc(m.capability.organization, "name")
        if created:
            flash(_("Invitation sent to %(org)s.", org=org), "success")
        else:
            flash(_("%(org)s was already invited.", org=org), "info")
    return redirect(url_for("admin.demand", demand_id=m.demand_id) + f"#match-{m.id}")


@bp.get("/lexicon")
def lexicon():
    term_form, concept_form = TermForm(), ConceptForm()
    concept = text_arg("concept", 80)
    if concept:
        term_form.concept.data = concept
    return _lexicon_page(term_form, concept_form, text_arg("q", 50), 200)


def _concept_choices(form: ConceptForm) -> None:
    form.segments.choices = opts((s.code, loc(s, "name")) for s in records.all_segments())
    form.themes.choices = opts((t.code, loc(t, "name")) for t in records.all_themes())


def _lexicon_page(term_form: TermForm, concept_form: ConceptForm, q: str = "", status: int = 422):
    _concept_choices(concept_form)
    return (
        render_template(
            "admin/lexicon.html",
            q=q,
            concepts=lexicon_admin.search(q),
            custom=lexicon_admin.additions(),
            term_form=term_form,
            concept_form=concept_form,
            stats=lexicon_admin.stats(),
        ),
        status,
    )


@bp.post("/lexicon/terms")
def add_term():
    form = TermForm()
    concept_form = ConceptForm(formdata=None)
    if form.validate_on_submit():
        try:
            result = lexicon_admin.add_term(current_user, form.concept.data, form.term.data, form.lang.data)
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Term added; the matches are being refreshed in the background (job %(id)d).",
                    id=result.id), "success")
            return redirect(url_for("admin.lexicon", q=form.term.data))
    return _lexicon_page(form, concept_form)


@bp.post("/lexicon/concepts")
def add_concept():
    form = ConceptForm()
    _concept_choices(form)
    term_form = TermForm(formdata=None)
    if form.validate_on_submit():
        try:
            result = lexicon_admin.add_concept(current_user, form.data)
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Concept added; the matches are being refreshed in the background (job %(id)d).",
                    id=result.id), "success")
            return redirect(url_for("admin.lexicon", q=form.key.data))
    return _lexicon_page(term_form, form)




@bp.get("/organizations")
def organization_list():
    q = text_arg("q", 50)
    tag = console_map.tag_arg()
    page = organizations.search(q, int_arg("page", 1), tag=tag)
    return render_template(
        "admin/organizations.html",
        q=q,
        page=page,
        activity=organizations.activity([o.id for o in page.items]),
        tag=tag,
        tags=organizations.tags_of([o.id for o in page.items]),
    )


@bp.route("/organizations/<int:org_id>", methods=["GET", "POST"])
def organization(org_id: int):
    org = organizations.get(org_id)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            accounts.add_member(
                organization=org,
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                role=Role(form.role.data),
            )
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Account added to %(org)s.", org=org.name), "success")
            return redirect(url_for("admin.organization", org_id=org.id))
    return (
        render_template(
            "admin/organization.html",
            org=org,
            members=organizations.members(org),
            activity=organizations.activity([org.id])[org.id],
            form=form,
            tags=organizations.tags_of([org.id])[org.id],
            **console_accounts.organization_page(org),
        ),
        form_status(form),
    )


# -- background jobs: rematches, imports, mail -----------------------------------------------
@bp.get("/jobs")
def jobs():
    from ..services import jobs as job_service

    recent = job_service.recent()
    return render_template("admin/jobs.html", jobs=recent, progress=job_service.progress_of(recent),
                           mode=job_service.mode(current_app))


# -- mail: the outbox, the queue, and what was sent or failed ------------------------------
@bp.get("/mail")
def mail():
    from ..services import mailer

    tab = text_arg("status", 20) or "all"
    if tab not in mailer.STAFF_TABS:
        abort(404)
    return render_template(
        "admin/mail.html",
        page=mailer.for_staff(tab, int_arg("page", 1)),
        tab=tab,
        tabs=mailer.STAFF_TABS,
        counts=mailer.staff_counts(),
        kind_label=mailer.kind_label,
        mail_server=bool(current_app.config.get("MAIL_SERVER")),
    )


def _mail_or_404(mail_id: int):
    from ..models import OutboundMail

    mail = db.session.get(OutboundMail, mail_id)
    if mail is None:
        abort(404)
    return mail


@bp.get("/mail/<int:mail_id>")
def mail_message(mail_id: int):
    from ..services import mailer

    mail = _mail_or_404(mail_id)
    return render_template("admin/mail_message.html", m=mail, kind_label=mailer.kind_label(mail.kind))


@bp.post("/mail/<int:mail_id>/retry")
def retry_mail(mail_id: int):
    from ..services import mailer

    mail = _mail_or_404(mail_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        mailer.retry(mail)
    except Invalid as exc:
        flash_invalid(exc)
    else:
        commit()
        flash(_("The e-mail is queued again; the mail worker sends it on its next run."), "success")
    return back("admin.mail")

# The console's areas add their routes to this blueprint.
from . import (  # noqa: E402, F401
    console_accounts,
    console_data,
    console_lexicon,
    console_map,
    console_outcomes,
    console_review,
    console_rounds,
)
