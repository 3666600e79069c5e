"""Staff console: collection rounds (create, edit, open, close, carry demands over) and
their round-on-round figures. Routes on the staff blueprint."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional

from ..auth import commit
from ..extensions import db
from ..forms import REQUIRED, ActionForm, Form, MultiCheckboxField, length, opts, strip
from ..i18n import loc
from ..models import Demand, DemandStatus
from ..services import funnel, records, rights, rounds
from ..services.demands import paginate
from ..services.errors import Invalid
from . import form_data, form_status, int_arg, show_invalid
from .admin import bp

DATE_HINT = _l("Format: 2026-12-31")


class RoundForm(Form):
    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired(REQUIRED), length(200)])
    name_en = StringField(_l("Name in English (optional)"), filters=[strip],
                          validators=[Optional(), length(200)])
    opens_on = DateField(_l("Opens on"), validators=[InputRequired(REQUIRED)], description=DATE_HINT)
    closes_on = DateField(_l("Closes on (optional)"), validators=[Optional()],
                          description=_l("The last day it takes demands. Leave empty to close it by hand."))
    description = TextAreaField(_l("Description"), filters=[strip], validators=[Optional(), length(3000)])
    description_en = TextAreaField(_l("Description in English (optional)"), filters=[strip],
                                   validators=[Optional(), length(3000)])
    segments = MultiCheckboxField(_l("Segments it calls for"), choices=[], validate_choice=True,
                                  description=_l("None checked: every segment."))
    themes = MultiCheckboxField(_l("Themes it calls for"), choices=[], validate_choice=True,
                                description=_l("None checked: every theme."))

    def set_choices(self) -> None:
        self.segments.choices = opts((s.code, loc(s, "name")) for s in records.all_segments())
        self.themes.choices = opts((t.code, loc(t, "name")) for t in records.all_themes())


class CarryForm(Form):
    """Which round a round's open demands go to; on closing, empty means none."""

    carry_to = SelectField(_l("Carry its open demands into"), choices=[], coerce=str,
                           validate_choice=True, default="")

    def set_choices(self, r, required: bool) -> None:
        first = _l("Choose a round") if required else _l("Do not carry them")
        self.carry_to.choices = opts(
            [("", first)] + [(str(t.id), _round_option(t)) for t in rounds.carry_targets(r)]
        )
        if required:
            self.carry_to.validators = [DataRequired(_l("Choose a round."))]
            self.carry_to.flags.required = True


def _round_option(r) -> str:
    if rounds.state(r) == "open":
        return _("%(name)s (open)", name=loc(r, "name"))
    return _("%(name)s (upcoming)", name=loc(r, "name"))


def _carried(n: int) -> str:
    return ngettext("%(num)s open demand was carried into the other round.",
                    "%(num)s open demands were carried into the other round.", n)


def _target(form: CarryForm):
    value = form.carry_to.data or ""
    return rounds.get(int(value)) if value.isdigit() else None


@bp.app_template_global("collection_notice")
def collection_notice():
    """What the public board says about the open round(s) (asked only where shown)."""
    return rounds.board_notice()


# -- the list --------------------------------------------------------------------------
@bp.get("/rounds")
def rounds_list():
    page = rounds.page(int_arg("page", 1))
    if page.page > page.pages:
        abort(404)
    return render_template("admin/rounds.html", page=page, rows=rounds.table(page.items))


@bp.route("/rounds/new", methods=["GET", "POST"])
def new_round():
    if not rights.manage_rounds(current_user):
        abort(403)
    form = RoundForm()
    form.set_choices()
    if form.validate_on_submit():
        try:
            r = rounds.create(current_user, form_data(form))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Round created."), "success")
            return redirect(url_for("admin.round", round_id=r.id))
    return render_template("admin/round_form.html", form=form, r=None), form_status(form)


# -- one round -------------------------------------------------------------------------
def _round_page(r, carry_form=None, status: int = 200):
    demands_page = paginate(
        sa.select(Demand)
        .where(Demand.round_id == r.id, Demand.status != DemandStatus.DRAFT)
        .options(selectinload(Demand.organization), selectinload(Demand.segment))
        .order_by(Demand.submitted_at.desc(), Demand.id.desc()),
        int_arg("page", 1), 30,
    )
    stage_of = funnel.stages(sa.select(Demand.id).where(Demand.id.in_([d.id for d in demands_page.items])))
    state = rounds.state(r)
    open_count = rounds.open_demand_count(r)
    if carry_form is None and state == "closed" and open_count:
        carry_form = CarryForm(formdata=None)
    if carry_form is not None:
        carry_form.set_choices(r, required=True)
    return (
        render_template(
            "admin/round.html",
            r=r,
            state=state,
            row=rounds.table([r])[0],
            counts=funnel.counts(funnel.scope(r.id)),
            demands_page=demands_page,
            stage_of=stage_of,
            open_count=open_count,
            carry_form=carry_form,
            history=rounds.history(r),
            segments={s.code: s for s in records.all_segments()},
            themes={t.code: t for t in records.all_themes()},
        ),
        status,
    )


@bp.get("/rounds/<int:round_id>")
def round(round_id: int):
    return _round_page(rounds.get(round_id))


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
def edit_round(round_id: int):
    r = rounds.get(round_id)
    if not rights.manage_rounds(current_user):
        abort(403)
    form = RoundForm(obj=r if request.method == "GET" else None)
    form.set_choices()
    if form.validate_on_submit():
        try:
            rounds.update(current_user, r, form_data(form))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Round saved."), "success")
            return redirect(url_for("admin.round", round_id=r.id))
    return render_template("admin/round_form.html", form=form, r=r), form_status(form)


@bp.post("/rounds/<int:round_id>/open")
def open_round(round_id: int):
    r = rounds.get(round_id)
    if not rights.manage_rounds(current_user):
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    if rounds.open_now(current_user, r):
        commit()
        flash(_("The round is open; demands submitted from today are filed in it."), "success")
    else:
        db.session.rollback()
        flash(_("The round was already open."), "info")
    return redirect(url_for("admin.round", round_id=round_id))


@bp.route("/rounds/<int:round_id>/close", methods=["GET", "POST"])
def close_round(round_id: int):
    """A confirmation page: close the round today, and carry its open demands if asked."""
    r = rounds.get(round_id)
    if not rights.manage_rounds(current_user):
        abort(403)
    form = CarryForm()
    form.set_choices(r, required=False)
    if form.validate_on_submit():
        try:
            result = rounds.close_now(current_user, r, _target(form))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            if result.closed:
                flash(_("The round is closed: today is the last day it takes demands."), "success")
            else:
                flash(_("The round was already closed."), "info")
            if result.carried:
                flash(_carried(result.carried), "success")
            return redirect(url_for("admin.round", round_id=round_id))
    return (
        render_template("admin/round_close.html", r=r, state=rounds.state(r), form=form,
                        open_count=rounds.open_demand_count(r)),
        form_status(form),
    )


@bp.post("/rounds/<int:round_id>/carry")
def carry_round(round_id: int):
    """Carry the open demands of a round that has closed into another round."""
    r = rounds.get(round_id)
    if not rights.manage_rounds(current_user):
        abort(403)
    form = CarryForm()
    form.set_choices(r, required=True)
    if form.validate_on_submit():
        try:
            moved = rounds.carry(current_user, r, _target(form))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            if moved:
                flash(_carried(moved), "success")
            else:
                flash(_("No open demand was left to carry."), "info")
            return redirect(url_for("admin.round", round_id=round_id))
    return _round_page(r, carry_form=form, status=422)
