"""Supplier members: profile, capabilities, demands that match them, replies."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import commit, require_audience
from ..extensions import db
from ..forms import ActionForm, CapabilityForm, ProfileForm, ReplyForm, opts
from ..i18n import TRL_LABELS, loc
from ..models import ReplyStatus
from ..services import (
    bands,
    capabilities,
    demands,
    invitations,
    matches,
    records,
    replies,
    rights,
    search,
    uploads,
)
from ..services.errors import Duplicate, Invalid
from . import flash_invalid, form_data, form_status, int_arg, show_invalid, text_arg
from .suggestions import accepted_changes, nothing_picked_message, suggestion_context

bp = Blueprint("supplier", __name__, url_prefix="/supplier")
bp.before_request(require_audience("supplier"))


def _form(obj=None) -> CapabilityForm:
    form = CapabilityForm(obj=obj)
    form.set_choices(records.all_segments(), records.all_themes(), loc)
    if obj is not None and request.method == "GET":
        form.segment.data = obj.segment_code or ""
        form.themes.data = obj.theme_codes
        form.keywords.data = "、".join(obj.keyword_list)
    return form


@bp.get("/")
def matching():
    grouped = matches.for_supplier(current_user.organization_id)
    has_capabilities = bool(capabilities.of_organization(current_user.organization_id))
    replied = {r.demand_id: r for r in replies.of_organization(current_user.organization_id)}
    invited = invitations.for_supplier(current_user.organization_id)
    shown = [d for d, _ in grouped] + [i.invitation.demand for i in invited]
    strength = bands.of([m for _, ms in grouped for m in ms] + [i.match for i in invited if i.match])
    # A demand this organisation fits only weakly (against the demand's best match) is folded away.
    fits = [g for g in grouped if not all(bands.folded(m, strength[m.id]) for m in g[1])]
    weak = [g for g in grouped if all(bands.folded(m, strength[m.id]) for m in g[1])]
    return render_template(
        "supplier/matching.html",
        grouped=fits,
        weak_grouped=weak,
        bands=strength,
        has_capabilities=has_capabilities,
        replied=replied,
        invited=invited,
        by_staff={i.invitation.id: invitations.by_staff(i.invitation) for i in invited},
        can={d.id: rights.demand(current_user, d) for d in shown},
        posters=rights.poster_labels(current_user, shown),
    )


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    org = current_user.organization
    form = ProfileForm(obj=org)
    if form.validate_on_submit():
        capabilities.update_profile(current_user, form_data(form))
        commit()
        flash(_("Profile saved."), "success")
        return redirect(url_for("supplier.profile"))
    return render_template("supplier/profile.html", form=form, org=org), form_status(form)


@bp.get("/capabilities")
def capability_list():
    """The organisation's capabilities, searched the way the board searches demands."""
    q = text_arg("q", search.MAX_QUERY)
    query = search.parse(q) if q else None
    sort = search.sort_arg(text_arg("sort", 10))
    segment, theme = text_arg("segment", 30) or None, text_arg("theme", 30) or None
    page = capabilities.search_own(
        current_user.organization_id, query, sort, segment, theme, int_arg("page", 1) or 1, 20
    )
    return render_template(
        "supplier/capabilities.html",
        page=page,
        q=q,
        sort=sort,
        segment=segment,
        theme=theme,
        segments=records.all_segments(),
        themes=records.all_themes(),
        **search.extras(query, page),
    )


@bp.route("/capabilities/new", methods=["GET", "POST"])
def new_capability():
    form = _form()
    if form.validate_on_submit():
        cap = capabilities.create(current_user, form_data(form))
        commit()
        flash(_("Capability saved. Demands that match it are listed under “Matching me”."), "success")
        return redirect(url_for("supplier.capability", cap_id=cap.id))
    return render_template("supplier/capability_form.html", form=form, cap=None), form_status(form)


@bp.get("/capabilities/<int:cap_id>")
def capability(cap_id: int):
    cap = capabilities.get_owned(current_user, cap_id)
    return render_template("supplier/capability.html", cap=cap, **suggestion_context(cap))


@bp.route("/capabilities/<int:cap_id>/edit", methods=["GET", "POST"])
def edit_capability(cap_id: int):
    cap = capabilities.get_owned(current_user, cap_id)
    form = _form(cap)
    if form.validate_on_submit():
        capabilities.update(current_user, cap, form_data(form))
        commit()
        flash(_("Saved."), "success")
        return redirect(url_for("supplier.capability", cap_id=cap.id))
    return render_template("supplier/capability_form.html", form=form, cap=cap), form_status(form)


@bp.post("/capabilities/<int:cap_id>/delete")
def delete_capability(cap_id: int):
    cap = capabilities.get_owned(current_user, cap_id)
    if ActionForm().validate_on_submit():
        capabilities.delete(current_user, cap)
        commit()
        flash(_("Capability deleted."), "success")
    return redirect(url_for("supplier.capability_list"))


@bp.post("/capabilities/<int:cap_id>/suggestions")
def accept_suggestions(cap_id: int):
    cap = capabilities.get_owned(current_user, cap_id)
    data = accepted_changes(cap)
    if data is None:
        flash(nothing_picked_message(), "error")
    else:
        capabilities.update(current_user, cap, data)
        commit()
        flash(_("Suggestions applied."), "success")
    return redirect(url_for("supplier.capability", cap_id=cap.id))


@bp.route("/demands/<int:demand_id>/reply", methods=["GET", "POST"])
def reply(demand_id: int):
    d = demands.get_published(demand_id)
    if d.organization_id == current_user.organization_id:
        flash(_("Your organisation posted this demand; it cannot reply to it."), "error")
        return redirect(url_for("public.demand", demand_id=d.id))
    can = rights.demand(current_user, d)
    if not can.reply:
        if can.replies_closed:
            flash(_("Replies to this demand closed on %(date)s.", date=format_date(d.deadline)), "error")
        else:
            flash(_("This demand is closed; it no longer takes replies."), "error")
        return redirect(url_for("public.demand", demand_id=d.id))
    mine = replies.existing(current_user.organization_id, d.id)
    if mine is not None and mine.status != ReplyStatus.WITHDRAWN:
        flash(_("Your organisation has already replied to this demand."), "info")
        return redirect(url_for("supplier.my_replies") + f"#reply-{mine.id}")
    caps = capabilities.of_organization(current_user.organization_id)
    form = _reply_form(caps)
    if request.method == "GET":
        form.contact_name.data = current_user.display_name
        form.contact_email.data = current_user.email
        invited = invitations.existing(d.id, current_user.organization_id)
        best = invited.capability_id if invited and invited.capability_id else _best_capability(d.id, caps)
        if best:
            form.capability_id.data = str(best)
    if form.validate_on_submit():
        try:
            r = replies.create(current_user, d, _reply_data(form), _upload(form))
        except Duplicate as exc:  # sent twice: the reply that exists is the answer
            db.session.rollback()
            flash(str(exc.message), "info")
            if exc.existing is None:
                return redirect(url_for("supplier.my_replies"))
            return redirect(url_for("supplier.my_replies") + f"#reply-{exc.existing.id}")
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Reply sent. The company will see it on its demand page."), "success")
            return redirect(url_for("supplier.my_replies") + f"#reply-{r.id}")
    return render_template("supplier/reply_form.html", form=form, d=d, r=None), form_status(form)


@bp.route("/replies/<int:reply_id>/edit", methods=["GET", "POST"])
def edit_reply(reply_id: int):
    """The same form, filled in: a reply can be changed until the company opens it."""
    r = replies.get_own(current_user, reply_id)
    back_to = url_for("supplier.my_replies") + f"#reply-{r.id}"
    if not rights.reply(current_user, r).edit:
        if r.status == ReplyStatus.SENT and r.opened_at is not None:
            flash(_("The company has opened your reply; it can no longer be changed."), "info")
        else:
            flash(_("This reply can no longer be changed."), "info")
        return redirect(back_to)
    caps = capabilities.of_organization(current_user.organization_id)
    form = _reply_form(caps, r if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            replies.update(current_user, r, _reply_data(form), _upload(form),
                           remove_attachment=bool(form.remove_attachment.data))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Reply saved."), "success")
            return redirect(back_to)
    return render_template("supplier/reply_form.html", form=form, d=r.demand, r=r), form_status(form)


def _reply_form(caps, r=None) -> ReplyForm:
    form = ReplyForm()
    form.capability_id.choices = opts([("", _("None in particular"))] + [(str(c.id), c.title) for c in caps])
    form.attachment.description = _("A PDF file of at most %(mb)d MB.", mb=uploads.max_mb())
    if r is not None:  # editing: start from what was sent
        for name in ("fit", "cases", "contact_name", "contact_email", "contact_phone"):
            getattr(form, name).data = getattr(r, name)
        form.capability_id.data = str(r.capability_id) if r.capability_id else ""
        form.trl.data = str(r.trl) if r.trl else ""
        form.cooperation.data = r.cooperation.value if r.cooperation else None
    return form


def _reply_data(form) -> dict:
    data = form_data(form)
    raw = data.get("capability_id") or ""
    data["capability_id"] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    return data


def _upload(form):
    """The uploaded file, or None when none was chosen."""
    f = form.attachment.data
    return f if f is not None and getattr(f, "filename", "") else None


def _best_capability(demand_id: int, caps) -> int | None:
    own = {c.id for c in caps}
    for m in matches.for_demand(demands.get(demand_id)):
        if m.capability_id in own:
            return m.capability_id
    return None


@bp.get("/replies")
def my_replies():
    items = replies.of_organization(current_user.organization_id)
    return render_template(
        "supplier/replies.html",
        items=items,
        can={r.id: rights.reply(current_user, r) for r in items},
        posters=rights.poster_labels(current_user, [r.demand for r in items]),
        trl_labels=TRL_LABELS,
    )


@bp.post("/replies/<int:reply_id>/withdraw")
def withdraw_reply(reply_id: int):
    r = replies.get_own(current_user, reply_id)
    if ActionForm().validate_on_submit():
        try:
            replies.withdraw(current_user, r)
            commit()
            flash(_("Reply withdrawn."), "success")
        except Invalid as exc:
            flash_invalid(exc)
    return redirect(url_for("supplier.my_replies"))
