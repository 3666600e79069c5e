"""The directory of organisations: profiles at /orgs/<id>, the searchable list at
/directory, bookmarks, notes, invitations and comparison. Open to every audience: each
route asks services.rights about the organisation (404 when it may not be seen, 403 when
it may be seen but not changed)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, Email, NumberRange, Optional

from ..auth import commit
from ..extensions import db, login_manager
from ..forms import REQUIRED, URL_MSG, Form, MultiCheckboxField, length, opts, strip
from ..i18n import label, loc
from ..models import CredentialType, Demand, OrgKind, ProfileVisibility, SizeBand
from ..services import directory, logos, records, rights
from ..services.errors import Invalid
from . import back, flash_invalid, form_data, form_status, int_arg, show_invalid, text_arg

bp = Blueprint("directory", __name__)

EMAIL_MSG = _l("Enter a valid e-mail address, such as name@example.com.")


# -- forms ---------------------------------------------------------------------------------
class ProfileEditForm(Form):
    name_en = StringField(_l("English name"), filters=[strip], validators=[Optional(), length(200)])
    kind = SelectField(_l("Kind of organisation"), choices=[], validate_choice=True)
    description = TextAreaField(_l("About the organisation"), filters=[strip],
                                validators=[Optional(), length(3000)])
    website = StringField(_l("Website"), filters=[strip],
                          validators=[Optional(), URL(require_tld=False, message=URL_MSG), length(300)])
    district = StringField(_l("District"), filters=[strip], validators=[Optional(), length(50)])
    size_band = SelectField(_l("Size"), choices=[], validate_choice=True)
    segments = MultiCheckboxField(_l("Industry-chain segments served"), choices=[],
                                  validate_choice=True)
    themes = MultiCheckboxField(_l("Themes"), choices=[], validate_choice=True)
    profile_visibility = SelectField(_l("Who may see the profile"), choices=[],
                                     validate_choice=True)
    contact_name = StringField(_l("Contact person"), filters=[strip],
                               validators=[Optional(), length(100)])
    contact_email = EmailField(_l("Contact e-mail"), filters=[strip],
                               validators=[Optional(), Email(EMAIL_MSG), length(254)])
    contact_phone = StringField(_l("Contact phone"), filters=[strip],
                                validators=[Optional(), length(40)])
    logo = FileField(_l("Logo"), description=_l("A PNG or JPEG image of at most 2 MB; it is "
                                                 "resized to 256 pixels."))
    remove_logo = BooleanField(_l("Remove the logo"))

    def set_choices(self) -> None:
        self.kind.choices = opts((k.value, label(k)) for k in OrgKind)
        self.size_band.choices = opts([("", _l("Not given"))] + [
            (s.value, directory.SIZE_LABELS[s]) for s in SizeBand])
        self.segments.choices = opts((s.code, loc(s, "name")) for s in records.all_segments())
        self.themes.choices = opts((t.code, loc(t, "name")) for t in records.all_themes())
        self.profile_visibility.choices = opts(
            (v.value, directory.VISIBILITY_LABELS[v]) for v in ProfileVisibility)


class CredentialForm(Form):
    type = SelectField(_l("Certificate"), choices=[], validate_choice=True)
    sil_level = SelectField(_l("Safety integrity level (EN 50126/50128/50129)"), choices=[],
                            validate_choice=True)
    name = StringField(_l("Which certificate (for “other”)"), filters=[strip],
                       validators=[Optional(), length(200)])
    number = StringField(_l("Certificate number"), filters=[strip], validators=[Optional(), length(100)])
    issuer = StringField(_l("Issued by"), filters=[strip], validators=[Optional(), length(200)])
    valid_until = DateField(_l("Valid until"), validators=[DataRequired(REQUIRED)])

    def set_choices(self) -> None:
        self.type.choices = opts((t.value, directory.CREDENTIAL_LABELS[t]) for t in CredentialType)
        self.sil_level.choices = opts([("", _l("Not applicable"))] + [
            (str(n), f"SIL {n}") for n in range(1, 5)])


class ReferenceForm(Form):
    project = StringField(_l("Project"), filters=[strip],
                          validators=[DataRequired(REQUIRED), length(200)])
    client = StringField(_l("Client"), filters=[strip], validators=[Optional(), length(200)])
    client_unnamed = BooleanField(_l("Do not name the client: show “a client in the sector”"))
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(1950, 2100)])
    delivered = TextAreaField(_l("What was delivered"), filters=[strip],
                              validators=[Optional(), length(2000)])


class NoteForm(Form):
    body = TextAreaField(_l("Note"), filters=[strip], validators=[DataRequired(REQUIRED), length(4000)])


class InviteForm(Form):
    demand_id = SelectField(_l("Demand"), choices=[], validate_choice=False)
    message = TextAreaField(_l("Message (optional)"), filters=[strip],
                            validators=[Optional(), length(1000)])


def _credential_form(obj=None) -> CredentialForm:
    form = CredentialForm(obj=obj)
    form.set_choices()
    if obj is not None and request.method == "GET":
        form.type.data = obj.type.value
        form.sil_level.data = str(obj.sil_level or "")
    return form


def _credential_data(form) -> dict:
    data = form_data(form)
    data["sil_level"] = int(data["sil_level"]) if data.get("sil_level") else None
    return data


def _reference_form(obj=None) -> ReferenceForm:
    form = ReferenceForm(obj=obj)
    if obj is not None and request.method == "GET":
        form.client_unnamed.data = obj.client is None
    return form


def _invite_form(user) -> InviteForm:
    form = InviteForm()
    form.demand_id.choices = opts((str(d.id), d.title) for d in directory.invitable_demands(user))
    return form


@bp.app_template_global("credential_label")
def credential_label(c) -> str:
    """A credential's name: its type (with the SIL level), or what "other" says."""
    if c.type == CredentialType.OTHER and c.name:
        return c.name
    text = str(directory.CREDENTIAL_LABELS.get(c.type, c.type))
    return f"{text} · SIL {c.sil_level}" if c.sil_level else text


@bp.app_template_global("size_label")
def size_label(code: str | None) -> str:
    try:
        return str(directory.SIZE_LABELS[SizeBand(code)])
    except ValueError:
        return code or ""


@bp.app_template_global("credential_type_label")
def credential_type_label(code: str) -> str:
    try:
        return str(directory.CREDENTIAL_LABELS[CredentialType(code)])
    except ValueError:
        return code


def _require_signed_in():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


# -- the directory ---------------------------------------------------------------------------
def _filters() -> directory.Filters:
    segments = {s.code for s in records.all_segments()}
    themes = {t.code for t in records.all_themes()}
    cred = text_arg("credential", 20)
    return directory.Filters(
        q=text_arg("q", 100),
        segment=text_arg("segment", 20) if text_arg("segment", 20) in segments else None,
        theme=text_arg("theme", 30) if text_arg("theme", 30) in themes else None,
        district=text_arg("district", 50) or None,
        credential=cred if cred in {t.value for t in CredentialType} else None,
        verified=request.args.get("verified") == "1",
        alliance=request.args.get("alliance") == "1",
        both=request.args.get("both") == "1",
        sort="updated" if request.args.get("sort") == "updated" else "relevance",
    )


@bp.get("/directory")
def index():
    f = _filters()
    result = directory.find(current_user, f, page=int_arg("page", 1))
    return render_template(
        "directory/index.html", f=f, result=result,
        segments={s.code: s for s in records.all_segments()},
        themes={t.code: t for t in records.all_themes()},
        credential_types=list(CredentialType),
        invite_form=_invite_form(current_user) if rights.is_company(current_user) else None,
        staff=rights.is_staff(current_user),
    )


@bp.get("/directory/bookmarks")
def bookmarks():
    if (resp := _require_signed_in()) is not None:
        return resp
    orgs = directory.bookmarks(current_user)
    return render_template("directory/bookmarks.html", orgs=orgs,
                           demands=directory.invitable_demands(current_user))


@bp.get("/directory/compare")
def compare():
    if (resp := _require_signed_in()) is not None:
        return resp
    demand_id = int_arg("demand")
    demands = directory.invitable_demands(current_user)
    d = db.session.get(Demand, demand_id) if demand_id else None
    if d is None:
        if demand_id:
            abort(404)
        return render_template("directory/compare.html", demands=demands, d=None, data=None,
                               candidates=[])
    if not rights.demand(current_user, d).see:
        abort(404)
    if not rights.compare(current_user, d):
        abort(403)
    org_ids = [int(v) for v in request.args.getlist("org") if v.isascii() and v.isdigit()
               and 0 < int(v) < 2**31][: directory.MAX_COMPARE + 1]
    candidates = directory.compare_candidates(current_user, d)
    data, error = None, None
    if org_ids:
        try:
            data = directory.comparison(current_user, d, org_ids)
        except Invalid as exc:
            error = str(exc.message)
    return render_template("directory/compare.html", demands=demands, d=d, data=data,
                           candidates=candidates, chosen=set(org_ids), error=error,
                           invite_form=InviteForm(formdata=None)), (422 if error else 200)


# -- a profile -------------------------------------------------------------------------------
@bp.get("/orgs/<int:org_id>")
def profile(org_id: int):
    org = directory.get(current_user, org_id)
    data = directory.profile(current_user, org)
    can = data["can"]
    directory.record_view(current_user, org)
    commit()
    extra = {}
    if can.insights:
        extra["checklist"] = directory.checklist(org)
        extra["views"] = directory.views_per_week(org)
        extra["matched"], extra["posters"] = directory.matched_demands(current_user, org)
    return render_template(
        "directory/profile.html", **data, **extra,
        credential_form=_credential_form() if can.edit else None,
        reference_form=_reference_form() if can.edit else None,
        note_form=NoteForm(formdata=None) if can.note else None,
        invite_form=_invite_form(current_user) if can.invite else None,
    )


@bp.route("/orgs/<int:org_id>/edit", methods=["GET", "POST"])
def edit_profile(org_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    org = directory.editable(current_user, org_id)
    form = ProfileEditForm(obj=org)
    form.set_choices()
    if request.method == "GET":
        form.kind.data = org.kind.value if org.kind else OrgKind.ENTERPRISE.value
        form.size_band.data = org.size_band or ""
        form.segments.data = [s.code for s in directory.segments_of([org.id])[org.id]]
        form.themes.data = [t.code for t in directory.themes_of([org.id])[org.id]]
    if form.validate_on_submit():
        try:
            data = form_data(form)
            directory.update_profile(current_user, org, data, logo_file=data.pop("logo", None))
        except Invalid as exc:
            db.session.rollback()
            org = directory.editable(current_user, org_id)
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Profile saved."), "success")
            return redirect(url_for("directory.profile", org_id=org.id))
    return render_template("directory/edit.html", form=form, org=org), form_status(form)


@bp.get("/orgs/<int:org_id>/logo")
def logo(org_id: int):
    org = directory.get(current_user, org_id)
    path = logos.path_of(org.logo_key)
    if path is None or not path.is_file():
        abort(404)
    resp = send_file(path, mimetype="image/png", max_age=0, conditional=True)
    resp.headers["Cache-Control"] = "private, max-age=300"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'"
    return resp


# -- credentials and references ----------------------------------------------------------------
def _profile_page(org, status: int, **forms):
    """The profile again with a failed form and its errors."""
    data = directory.profile(current_user, org)
    can = data["can"]
    extra = {}
    if can.insights:
        extra["checklist"] = directory.checklist(org)
        extra["views"] = directory.views_per_week(org)
        extra["matched"], extra["posters"] = directory.matched_demands(current_user, org)
    defaults = {
        "credential_form": _credential_form() if can.edit else None,
        "reference_form": ReferenceForm(formdata=None) if can.edit else None,
        "note_form": NoteForm(formdata=None) if can.note else None,
        "invite_form": _invite_form(current_user) if can.invite else None,
    }
    defaults.update(forms)
    return render_template("directory/profile.html", **data, **extra, **defaults), status


@bp.post("/orgs/<int:org_id>/credentials")
def add_credential(org_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    org = directory.editable(current_user, org_id)
    form = _credential_form()
    if form.validate_on_submit():
        try:
            directory.add_credential(current_user, org, _credential_data(form))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Credential added."), "success")
            return redirect(url_for("directory.profile", org_id=org.id) + "#credentials")
    return _profile_page(directory.editable(current_user, org_id), 422, credential_form=form)


@bp.route("/credentials/<int:credential_id>/edit", methods=["GET", "POST"])
def edit_credential(credential_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    c = directory.get_credential(current_user, credential_id, edit=True)
    form = _credential_form(c)
    if form.validate_on_submit():
        try:
            changed = directory.update_credential(current_user, c, _credential_data(form))
        except Invalid as exc:
            db.session.rollback()
            c = directory.get_credential(current_user, credential_id, edit=True)
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Credential saved; the park checks it again before it shows as verified.")
                  if changed else _("Nothing changed."), "success")
            return redirect(url_for("directory.profile", org_id=c.organization_id) + "#credentials")
    return render_template("directory/item_edit.html", form=form, item=c, kind="credential",
                           org=c.organization), form_status(form)


@bp.post("/credentials/<int:credential_id>/delete")
def delete_credential(credential_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    c = directory.get_credential(current_user, credential_id, edit=True)
    org_id = c.organization_id
    directory.delete_credential(current_user, c)
    commit()
    flash(_("Credential removed."), "success")
    return redirect(url_for("directory.profile", org_id=org_id) + "#credentials")


@bp.post("/credentials/<int:credential_id>/check")
def check_credential(credential_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    c = directory.get_credential(current_user, credential_id, check=True)
    on = request.form.get("checked", "1") == "1"
    directory.set_checked(current_user, c, on)
    commit()
    flash(_("Marked as verified by the park.") if on else _("Verification taken off."), "success")
    return redirect(url_for("directory.profile", org_id=c.organization_id) + "#credentials")


@bp.post("/orgs/<int:org_id>/references")
def add_reference(org_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    org = directory.editable(current_user, org_id)
    form = ReferenceForm()
    if form.validate_on_submit():
        try:
            directory.add_reference(current_user, org, form_data(form))
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Reference added."), "success")
            return redirect(url_for("directory.profile", org_id=org.id) + "#references")
    return _profile_page(directory.editable(current_user, org_id), 422, reference_form=form)


@bp.route("/references/<int:reference_id>/edit", methods=["GET", "POST"])
def edit_reference(reference_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    r = directory.get_reference(current_user, reference_id, edit=True)
    form = _reference_form(r)
    if form.validate_on_submit():
        try:
            changed = directory.update_reference(current_user, r, form_data(form))
        except Invalid as exc:
            db.session.rollback()
            r = directory.get_reference(current_user, reference_id, edit=True)
            show_invalid(form, exc)
        else:
            commit()
            flash(_("Reference saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("directory.profile", org_id=r.organization_id) + "#references")
    return render_template("directory/item_edit.html", form=form, item=r, kind="reference",
                           org=r.organization), form_status(form)


@bp.post("/references/<int:reference_id>/delete")
def delete_reference(reference_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    r = directory.get_reference(current_user, reference_id, edit=True)
    org_id = r.organization_id
    directory.delete_reference(current_user, r)
    commit()
    flash(_("Reference removed."), "success")
    return redirect(url_for("directory.profile", org_id=org_id) + "#references")


@bp.post("/references/<int:reference_id>/check")
def check_reference(reference_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    r = directory.get_reference(current_user, reference_id, check=True)
    on = request.form.get("checked", "1") == "1"
    directory.set_checked(current_user, r, on)
    commit()
    flash(_("Marked as verified by the park.") if on else _("Verification taken off."), "success")
    return redirect(url_for("directory.profile", org_id=r.organization_id) + "#references")


@bp.post("/orgs/<int:org_id>/alliance")
def alliance(org_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    org = directory.get(current_user, org_id)
    if not rights.organization(current_user, org).check:
        abort(403)
    on = request.form.get("member", "1") == "1"
    directory.set_alliance(current_user, org, on)
    commit()
    flash(_("Marked as a member of the industry alliance.") if on
          else _("Alliance membership taken off."), "success")
    return redirect(url_for("directory.profile", org_id=org.id))


# -- working the directory: bookmarks, notes, invitations ------------------------------------------
@bp.post("/orgs/<int:org_id>/bookmark")
def bookmark(org_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    org = directory.get(current_user, org_id)
    if not rights.organization(current_user, org).bookmark:
        abort(403)
    on = request.form.get("on", "1") == "1"
    directory.set_bookmark(current_user, org, on)
    commit()
    flash(_("Kept in your organisation's list.") if on else _("Taken off your list."), "success")
    return back("directory.profile", org_id=org.id)


@bp.post("/orgs/<int:org_id>/notes")
def add_note(org_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    org = directory.get(current_user, org_id)
    if not rights.organization(current_user, org).note:
        abort(403)
    form = NoteForm()
    if form.validate_on_submit():
        directory.add_note(current_user, org, form.body.data)
        commit()
        flash(_("Note saved."), "success")
        return redirect(url_for("directory.profile", org_id=org.id) + "#notes")
    return _profile_page(org, 422, note_form=form)


@bp.post("/notes/<int:note_id>/delete")
def delete_note(note_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    n = directory.delete_note(current_user, note_id)
    commit()
    flash(_("Note deleted."), "success")
    return redirect(url_for("directory.profile", org_id=n.target_id) + "#notes")


@bp.post("/orgs/<int:org_id>/invite")
def invite(org_id: int):
    if (resp := _require_signed_in()) is not None:
        return resp
    org = directory.get(current_user, org_id)
    if not rights.organization(current_user, org).invite:
        abort(403)
    form = _invite_form(current_user)
    if not form.validate_on_submit():
        flash(_("Choose one of your published demands."), "error")
        return back("directory.profile", org_id=org.id)
    raw = form.demand_id.data or ""
    demand_id = int(raw) if raw.isascii() and raw.isdigit() and int(raw) < 2**31 else None
    try:
        _inv, new = directory.invite(current_user, org, demand_id, form.message.data or "")
    except Invalid as exc:
        db.session.rollback()
        flash_invalid(exc)
        return back("directory.profile", org_id=org.id)
    commit()
    flash(_("Invitation sent: %(org)s is asked to reply.", org=loc(org, "name")) if new
          else _("This supplier was invited already."), "success")
    return back("directory.profile", org_id=org.id)
