"""Sign-up, sign-in, sign-out."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from ..auth import commit, is_safe_next
from ..extensions import db
from ..forms import ActionForm, LoginForm, SignUpForm
from ..models import OrgKind, Role
from ..services import accounts, rights
from ..services.errors import Invalid
from . import form_status, show_invalid

bp = Blueprint("auth", __name__)


#: Where each audience starts.
HOMES = {"company": "company.my_demands", "supplier": "supplier.matching", "admin": "admin.dashboard"}


def home_for(user) -> str:
    """The first page for a user: staff's console, or the member's first side."""
    if rights.is_staff(user):
        return url_for(HOMES["admin"])
    sides = rights.sides(user)
    return url_for(HOMES[sides[0]]) if sides else url_for("public.index")


def _sign_in(user) -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    accounts.start_session(user)
    login_user(user)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignUpForm()
    if request.method == "GET" and request.args.get("role") in ("company", "supplier", "both"):
        form.role.data = request.args["role"]
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                role=Role(form.role.data),
                organization_name=form.organization.data,
                organization_kind=OrgKind(form.organization_kind.data),
            )
            _sign_in(user)
            commit()
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        except IntegrityError:
            db.session.rollback()
            form.email.errors.append(_("An account with this e-mail already exists."))
        else:
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name), "success")
            return redirect(home_for(user))
    return render_template("auth/signup.html", form=form), form_status(form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = accounts.authenticate(
            form.email.data, form.password.data, current_app.config["BOARD_DEMO"]
        )
        if user is None:
            form.form_errors.append(_("E-mail or password is not correct."))
        else:
            _sign_in(user)
            commit()
            target = form.next.data
            return redirect(target if is_safe_next(target) else home_for(user))
    return render_template("auth/login.html", form=form), form_status(form)


@bp.post("/logout")
def logout():
    form = ActionForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        accounts.end_session(current_user.session_token)
        commit()
        logout_user()
        session.clear()
        flash(_("You have signed out."), "info")
    return redirect(url_for("public.index"))
