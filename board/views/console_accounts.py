"""Staff console: accounts (search, disable and enable, the staff role), organisations (their
page, verifying, merging duplicates) and the audit log. Routes on the staff blueprint."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import HiddenField, SelectField

from ..auth import commit
from ..extensions import db
from ..forms import REQUIRED, ActionForm, Form, opts
from ..i18n import label
from ..models import AuditEntry, Organization, Role, User
from ..services import organizations, rights, tables
from ..services.accounts import MEMBER_ROLES
from ..services.demands import paginate
from ..services.errors import Invalid
from . import MAX_INT, back, int_arg, text_arg
from .admin import bp
from .console_data import FilterError, read_filters

ACCOUNTS_PER_PAGE = 30
AUDIT_PER_PAGE = 50

#: The audit log's actions, named in the reader's language (others are shown as recorded).
ACTION_LABELS = {
    "demand.publish": _l("Demand published"),
    "demand.return": _l("Demand returned"),
    "revision.approve": _l("Changes approved"),
    "revision.return": _l("Changes returned"),
    "match.confirmed": _l("Match confirmed"),
    "match.dismissed": _l("Match dismissed"),
    "match.suggested": _l("Match set back to suggested"),
    "lexicon.term": _l("Lexicon term added"),
    "lexicon.concept": _l("Lexicon concept added"),
    "account.disable": _l("Account disabled"),
    "account.enable": _l("Account enabled"),
    "account.staff_grant": _l("Staff role granted"),
    "account.staff_remove": _l("Staff role removed"),
    "organization.verify": _l("Organisation verified"),
    "organization.unverify": _l("Verification withdrawn"),
    "organization.merge": _l("Organisations merged"),
    "organization.tag": _l("Organisation tagged"),
    "organization.untag": _l("Organisation tag removed"),
    "credential.check": _l("Credential checked"),
    "credential.uncheck": _l("Credential check taken off"),
    "reference.check": _l("Reference checked"),
    "reference.uncheck": _l("Reference check taken off"),
    "round.create": _l("Round created"),
    "round.update": _l("Round edited"),
    "round.open": _l("Round opened"),
    "round.close": _l("Round closed"),
    "round.carry": _l("Demands carried to another round"),
    "outcome.meeting": _l("Meeting recorded"),
    "outcome.agreement": _l("Agreement recorded"),
    "outcome.update": _l("Outcome corrected"),
    "export": _l("Export"),
    "import": _l("Import"),
}


@bp.app_template_filter("audit_action")
def audit_action(code: str) -> str:
    found = ACTION_LABELS.get(code)
    return str(found) if found is not None else code


@bp.app_template_filter("audit_value")
def audit_value(value) -> str:
    """One value of an audit entry, short: yes/no, lists and mappings on one line."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(audit_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {audit_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return format_datetime(dt.datetime.fromisoformat(value), "short")
        except ValueError:
            pass
    return str(value)


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _flat(values: dict | None, prefix: str = "") -> dict:
    """Nested values on one level: {"keep": {"users": 1}} as {"keep.users": 1}."""
    out = {}
    for k, v in (values or {}).items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def audit_diff(before: dict | None, after: dict | None) -> list[tuple[str, object, object, bool]]:
    """(field, before, after, changed) for the fields either side holds; when an entry has
    both sides, only the fields that changed."""
    b, a = _flat(before), _flat(after)
    rows = [(k, b.get(k), a.get(k), b.get(k) != a.get(k)) for k in dict.fromkeys([*b, *a])]
    if before is not None and after is not None:
        rows = [r for r in rows if r[3]] or rows
    return rows


# -- accounts --------------------------------------------------------------------------------
class RemoveStaffForm(Form):
    role = SelectField(_l("Role it gets instead"), choices=[], validate_choice=True)

    def set_choices(self) -> None:
        self.role.choices = opts([("", _l("Choose a role"))] + [(r.value, label(r)) for r in MEMBER_ROLES])


def _previous_roles(users: list[User]) -> dict[int, str]:
    """The member role each staff account had before it was made staff (one query)."""
    ids = [u.id for u in users if u.role == Role.STAFF]
    if not ids:
        return {}
    out: dict[int, str] = {}
    for object_id, before in db.session.execute(
        sa.select(AuditEntry.object_id, AuditEntry.before)
        .where(AuditEntry.action == "account.staff_grant", AuditEntry.object_type == "user_account",
               AuditEntry.object_id.in_(ids))
        .order_by(AuditEntry.created_at, AuditEntry.id)
    ):
        role = (before or {}).get("role")
        if role in {r.value for r in MEMBER_ROLES}:
            out[object_id] = role
    return out


def _accounts_page(errors: dict[int, RemoveStaffForm] | None = None, status: int = 200, q: str | None = None):
    q = text_arg("q", 50) if q is None else q
    role = text_arg("role", 20) or None
    state = text_arg("state", 20) or None
    page = organizations.accounts(q, role, state, int_arg("page", 1), ACCOUNTS_PER_PAGE)
    previous = _previous_roles(page.items)
    forms = {}
    for u in page.items:
        if u.role != Role.STAFF:
            continue
        form = (errors or {}).get(u.id)
        if form is None:
            form = RemoveStaffForm(formdata=None)
            form.set_choices()
            form.role.data = previous.get(u.id, "")
        forms[u.id] = form
    return render_template(
        "admin/accounts.html",
        page=page, q=q, role=role, state=state,
        roles=list(Role), states=organizations.ACCOUNT_STATES,
        may={u.id: rights.account(current_user, u) for u in page.items},
        remove_forms=forms,
    ), status


@bp.get("/accounts")
def accounts():
    return _accounts_page()


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _set_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        changed = organizations.set_active(current_user, user, active)
    except Invalid as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return back("admin.accounts")
    commit()
    if not changed:
        flash(_("Nothing changed: the account was already enabled.") if active else
              _("Nothing changed: the account was already disabled."), "info")
    else:
        flash(_("Account enabled.") if active else _("Account disabled; its sessions have ended."),
              "success")
    return back("admin.accounts")


@bp.post("/users/<int:user_id>/disable")
def disable_user(user_id: int):
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/enable")
def enable_user(user_id: int):
    return _set_active(user_id, True)


@bp.post("/users/<int:user_id>/staff/grant")
def grant_staff(user_id: int):
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    changed = organizations.set_staff(current_user, user, True)
    commit()
    flash(_("%(email)s is now park staff.", email=user.email) if changed else
          _("Nothing changed: the account was already staff."), "success" if changed else "info")
    return back("admin.accounts")


@bp.post("/users/<int:user_id>/staff/remove")
def remove_staff(user_id: int):
    user = _user_or_404(user_id)
    form = RemoveStaffForm()
    form.set_choices()
    if not form.validate_on_submit() or not form.role.data:
        if not form.role.errors:
            form.role.errors = [REQUIRED]
        return _accounts_page({user.id: form}, 422, q=user.email)
    try:
        changed = organizations.set_staff(current_user, user, False, Role(form.role.data))
    except Invalid as exc:
        db.session.rollback()
        if exc.field == "role":
            form.role.errors = [str(exc.message)]
            return _accounts_page({user.id: form}, 422, q=user.email)
        flash(str(exc.message), "error")
        return back("admin.accounts")
    commit()
    flash(_("%(email)s is no longer park staff.", email=user.email) if changed else
          _("Nothing changed: the account was not staff."), "success" if changed else "info")
    return back("admin.accounts")


# -- organisations ---------------------------------------------------------------------------
PROFILE_PAGES = {"demands": "dpage", "capabilities": "cpage", "replies": "rpage", "outcomes": "opage"}


def organization_page(org: Organization) -> dict:
    """What the organisation page shows besides its accounts: its records, its check, and the
    organisation it was merged into."""
    pages = {name: int_arg(arg, 1) for name, arg in PROFILE_PAGES.items()}
    return {
        "profile": organizations.profile(org, pages),
        "page_args": PROFILE_PAGES,
        "kept": organizations.kept_organization(org),
        "verified_by": db.session.get(User, org.verified_by_id) if org.verified_by_id else None,
        "account_rights": {u.id: rights.account(current_user, u)
                           for u in organizations.members(org)},
    }


def _verify(org_id: int, verified: bool):
    org = organizations.get(org_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    changed = organizations.set_verified(current_user, org, verified)
    commit()
    if verified:
        flash(_("Organisation marked verified.") if changed else
              _("Nothing changed: it was verified already."), "success" if changed else "info")
    else:
        flash(_("Verification withdrawn.") if changed else
              _("Nothing changed: it was not verified."), "success" if changed else "info")
    return redirect(url_for("admin.organization", org_id=org.id))


@bp.post("/organizations/<int:org_id>/verify")
def verify_organization(org_id: int):
    return _verify(org_id, True)


@bp.post("/organizations/<int:org_id>/unverify")
def unverify_organization(org_id: int):
    return _verify(org_id, False)


class MergeForm(Form):
    keep = HiddenField(validators=[])


@bp.route("/organizations/<int:org_id>/merge", methods=["GET", "POST"])
def merge_organization(org_id: int):
    """Merge a duplicate (this organisation) into the one to keep: choose, preview, confirm."""
    dup = organizations.get(org_id)
    form = MergeForm()
    if request.method == "POST":
        raw = (form.keep.data or "") if form.validate_on_submit() else ""
        keep = None
        if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_INT:
            keep = db.session.get(Organization, int(raw))
        try:
            plan = organizations.merge(current_user, dup, keep)
        except Invalid as exc:
            db.session.rollback()
            dup = organizations.get(org_id)
            return _merge_page(dup, None, error=str(exc.message), status=422)
        commit()
        moved = plan["moving"]
        flash(_("Merged into %(org)s: %(users)s accounts, %(demands)s demands, %(caps)s capabilities "
                "and %(replies)s replies moved.", org=plan["keep"].name, users=moved["users"],
                demands=moved["demands"], caps=moved["capabilities"], replies=moved["replies"]),
              "success")
        return redirect(url_for("admin.organization", org_id=plan["keep"].id))
    keep_id = int_arg("keep")
    keep = db.session.get(Organization, keep_id) if keep_id else None
    if keep_id and keep is None:
        abort(404)
    return _merge_page(dup, keep)


def _merge_page(dup: Organization, keep: Organization | None, error: str | None = None, status: int = 200):
    q = text_arg("q", 50)
    plan = None
    if keep is not None and error is None:
        try:
            plan = organizations.merge_plan(dup, keep)
        except Invalid as exc:
            error, status = str(exc.message), 422
    form = MergeForm(formdata=None)
    if keep is not None:
        form.keep.data = str(keep.id)
    return render_template(
        "admin/organization_merge.html",
        org=dup, keep=keep, q=q, plan=plan, error=error, form=form,
        kept=organizations.kept_organization(dup),
        candidates=organizations.merge_candidates(dup, q) if keep is None else [],
        parts=organizations.MERGED_PARTS,
    ), status


# -- the audit log ---------------------------------------------------------------------------
@bp.get("/audit")
def audit_log():
    error = None
    try:
        filters = read_filters(tables.AUDIT)
    except FilterError as exc:
        filters, error = tables.Filters(), exc
    page = paginate(tables.audit_query(filters), int_arg("page", 1), AUDIT_PER_PAGE)
    actions = list(db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    actors = list(db.session.scalars(
        sa.select(AuditEntry.actor_email).where(AuditEntry.actor_email.is_not(None))
        .distinct().order_by(AuditEntry.actor_email)))
    return render_template(
        "admin/audit.html", page=page, filters=filters, error=error,
        actions=actions, actors=actors, diff=audit_diff,
        export_args=_audit_args(filters),
    ), 422 if error else 200


def _audit_args(filters: tables.Filters) -> dict:
    return {tables.QUERY_NAMES[k]: v for k, v in filters.given().items()}
