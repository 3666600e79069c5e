"""Staff console: outcomes recorded offline, each demand's funnel and timeline, and the
dashboard with charts. Routes on the staff blueprint."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.routing import BuildError
from wtforms import DateField, DecimalField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from ..auth import commit
from ..extensions import db
from ..forms import REQUIRED, Form, length, opts, strip
from ..i18n import join_list, loc
from ..models import OutcomeKind
from ..services import charts, demands, funnel, rights, rounds, waiting
from ..services.errors import Invalid
from . import form_status, int_arg, show_invalid, text_arg
from .admin import bp


class OutcomeForm(Form):
    kind = RadioField(
        _l("What happened"),
        choices=opts([(OutcomeKind.MEETING.value, _l("A meeting was held")),
                      (OutcomeKind.AGREEMENT.value, _l("An agreement was signed"))]),
        validators=[InputRequired(message=_l("Choose one."))],
    )
    organization_b_id = SelectField(_l("Supplier organisation"), choices=[], coerce=str,
                                    validate_choice=True, validators=[DataRequired(REQUIRED)])
    occurred_on = DateField(_l("Date"), validators=[InputRequired(REQUIRED)],
                            description=_l("Format: 2026-12-31"))
    value_wan = DecimalField(
        _l("Value in 10,000 yuan (optional)"), places=2,
        validators=[Optional(), NumberRange(min=0, message=_l("The value cannot be negative."))],
        description=_l("Agreements only, when the parties give it."),
    )
    note = TextAreaField(_l("Note (optional)"), filters=[strip], validators=[Optional(), length(2000)])
    note_en = TextAreaField(_l("Note in English (optional)"), filters=[strip],
                            validators=[Optional(), length(2000)])

    def set_choices(self, orgs) -> None:
        self.organization_b_id.choices = opts(
            [("", _l("Choose an organisation"))] + [(str(o.id), loc(o, "name")) for o in orgs]
        )

    def values(self) -> dict:
        org = self.organization_b_id.data or ""
        return {
            "kind": self.kind.data,
            "organization_b_id": int(org) if org.isdigit() else None,
            "occurred_on": self.occurred_on.data,
            "value_wan": self.value_wan.data,
            "note": self.note.data,
            "note_en": self.note_en.data,
        }


# -- what the staff demand page shows ----------------------------------------------------
@bp.app_template_global("demand_story")
def demand_story(d):
    """The funnel stage, timeline, outcomes and replies of a demand (staff demand page)."""
    return funnel.story(d)


@bp.app_template_global("reply_attachment_url")
def reply_attachment_url(r):
    """Where staff download a reply's attachment, when the board serves attachments."""
    if not r.attachment_key:
        return None
    try:
        return url_for("public.reply_attachment", reply_id=r.id)
    except BuildError:
        return None


@bp.app_template_global("stage_label")
def stage_label(stage: str) -> str:
    return funnel.stage_label(stage)


@bp.app_template_global("waiting_replies")
def waiting_replies(limit: int = 10):
    """Replies the company has left unanswered past REPLY_REMINDER_DAYS, longest first, and
    how many there are (the staff dashboard)."""
    return waiting.replies(limit)


@bp.app_template_global("reply_waiting_days")
def reply_waiting_days(r):
    return waiting.days(r)


# -- outcomes --------------------------------------------------------------------------
KINDS = ("meeting", "agreement")


@bp.get("/outcomes")
def outcomes():
    kind = text_arg("kind", 20) or None
    if kind and kind not in KINDS:
        abort(404)
    round_id = int_arg("round")
    if round_id is not None:
        rounds.get(round_id)
    page = funnel.outcomes_page(kind, round_id, int_arg("page", 1))
    if page.page > page.pages:
        abort(404)
    return render_template("admin/outcomes.html", page=page, kind=kind, round_id=round_id,
                           all_rounds=rounds.all_rounds())


def _outcome_form_page(form, d, o, status=200):
    return render_template("admin/outcomes_form.html", form=form, d=d, o=o), status


@bp.route("/demands/<int:demand_id>/outcomes/new", methods=["GET", "POST"])
def new_outcome(demand_id: int):
    d = demands.get_for_review(current_user, demand_id)
    if not rights.record_outcome(current_user, d):
        abort(404)
    form = OutcomeForm()
    form.set_choices(funnel.partner_choices(d.organization_id))
    if request.method == "GET":
        form.kind.data = OutcomeKind.AGREEMENT.value
    if form.validate_on_submit():
        try:
            o, created = funnel.record_outcome(current_user, d, form.values())
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            if created:
                flash(_("Outcome recorded."), "success")
            else:
                flash(_("This outcome was already recorded; nothing was added."), "info")
            return redirect(url_for("admin.demand", demand_id=d.id, _anchor="funnel"))
    return _outcome_form_page(form, d, None, form_status(form))


@bp.route("/outcomes/<int:outcome_id>/edit", methods=["GET", "POST"])
def edit_outcome(outcome_id: int):
    o = funnel.get_outcome(outcome_id)
    if not rights.edit_outcome(current_user, o):
        abort(404)
    d = o.demand
    form = OutcomeForm(obj=o if request.method == "GET" else None)
    form.set_choices(funnel.partner_choices(o.organization_a_id, o))
    if request.method == "GET":
        form.kind.data = o.kind.value
        form.organization_b_id.data = str(o.organization_b_id)
        form.note.data, form.note_en.data = o.note, o.note_en
    if form.validate_on_submit():
        try:
            funnel.update_outcome(current_user, o, form.values())
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Outcome saved."), "success")
            if d is not None:
                return redirect(url_for("admin.demand", demand_id=d.id, _anchor="funnel"))
            return redirect(url_for("admin.outcomes"))
    return _outcome_form_page(form, d, o, form_status(form))


# -- the dashboard ---------------------------------------------------------------------
def _n(value) -> str:
    return format_decimal(value)


def _funnel_chart(chart_id: str, c: funnel.Counts, title: str) -> Markup:
    rows = [(funnel.stage_label(s), c.reached[s], _n(c.reached[s])) for s in funnel.STAGES]
    desc = join_list(f"{label} {shown}" for label, _v, shown in rows)
    return charts.hbars(chart_id, rows, title=title, desc=str(desc))


@bp.app_template_global("funnel_chart")
def funnel_chart(chart_id: str, counts, title: str) -> Markup:
    return _funnel_chart(chart_id, counts, title)


@bp.get("/insights")
def insights():
    round_id = int_arg("round")
    selected = rounds.get(round_id) if round_id is not None else None
    data = funnel.insights(round_id)
    seg_labels = [loc(s, "name") if s is not None else _("No segment") for s, _d, _c in data.segments]
    segment_chart = charts.grouped_hbars(
        "chart-segments", seg_labels,
        [(_("Published demands"), [(dn, _n(dn)) for _s, dn, _c in data.segments]),
         (_("Capabilities"), [(cn, _n(cn)) for _s, _d, cn in data.segments])],
        title=_("Demands and capabilities by segment"),
        desc=str(join_list(_("%(segment)s: %(demands)s demands, %(capabilities)s capabilities",
                             segment=label, demands=_n(dn), capabilities=_n(cn))
                           for label, (_s, dn, cn) in zip(seg_labels, data.segments, strict=True))),
    )
    month_chart = charts.columns(
        "chart-agreements", [(m, n, _n(n)) for m, n in data.months],
        title=_("Agreements signed by month"),
        desc=str(join_list(f"{m} {_n(n)}" for m, n in data.months)),
    ) if data.months else None
    return render_template(
        "admin/insights.html",
        data=data,
        selected=selected,
        round_id=round_id,
        all_rounds=rounds.all_rounds(),
        funnel_svg=_funnel_chart("chart-funnel", data.counts, _("The funnel")),
        segment_chart=segment_chart,
        seg_labels=seg_labels,
        month_chart=month_chart,
        reply_rate=format_percent(data.reply_rate, "#,##0%") if data.reply_rate is not None else None,
        median_days=format_decimal(round(data.median_days, 1)) if data.median_days is not None else None,
        threshold=current_app.config["MATCH_THRESHOLD"],
        stages=funnel.STAGES,
    )
