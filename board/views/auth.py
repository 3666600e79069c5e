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
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from .. import i18n, throttle
from ..auth import commit, is_safe_next
from ..extensions import db
from ..forms import (
    ActionForm,
    ChangeEmailForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    SignUpForm,
)
from ..models import OrgKind, Role, TokenPurpose
from ..services import accounts, notices, rights, tokens
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
        wait = throttle.hit("signup-address", throttle.address())
        if wait:
            return _throttled("auth/signup.html", form, wait)
        links = {"login_link": _mail_link("auth.login"),
                 "reset_link": _mail_link("auth.forgot_password")}
        try:
            accounts.sign_up(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                role=Role(form.role.data),
                organization_name=form.organization.data,
                organization_kind=OrgKind(form.organization_kind.data),
                links=links,
                confirm_link_for=lambda token: _mail_link("auth.confirm_address", token),
                lang=i18n.lang(),
            )
            commit()
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        except IntegrityError:
            # The same address signed up twice at once: the first one holds it, and this
            # answer is the same as for any known address.
            db.session.rollback()
            return _signed_up(form.email.data)
        else:
            return _signed_up(form.email.data)
    return render_template("auth/signup.html", form=form), form_status(form)


def _signed_up(email: str):
    """One answer whether the address was new (the account now exists) or already had an
    account (its owner was e-mailed): nobody learns from sign-up which addresses exist."""
    flash(
        _(
            "Thank you. We have sent a message to %(email)s. If this address had no account "
            "yet, open the link in it within %(hours)d hours to confirm the address; then "
            "sign in with it and the password you chose.",
            email=accounts.normalise_email(email),
            hours=tokens.lifetime(TokenPurpose.ADDRESS_CHECK),
        ),
        "success",
    )
    return redirect(url_for("auth.login"))


def _throttled(template: str, form, wait: int):
    """The form again, with how long to wait, as 429 Too Many Requests."""
    form.form_errors.append(throttle.wait_message(wait))
    return render_template(template, form=form), 429, throttle.retry_header(wait)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        # Each attempt takes a place first (atomically, so that a burst of parallel guesses
        # cannot all slip in); a successful one gives its places back.
        account, here = accounts.normalise_email(form.email.data), throttle.address()
        wait = throttle.hit("login-address", here) or throttle.hit("login-account", account)
        if wait:  # the password is not even checked
            return _throttled("auth/login.html", form, wait)
        user = accounts.authenticate(
            form.email.data, form.password.data, current_app.config["BOARD_DEMO"]
        )
        if user is None:
            form.form_errors.append(_(
                "E-mail or password is not correct. A new account signs in once its address "
                "is confirmed through the link we e-mailed at sign-up."))
        else:
            throttle.clear("login-account", account)
            throttle.release("login-address", here)
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


# -- forgotten password, password and e-mail changes -----------------------------------
#: Pages reached through a link with a token are never cached.
NO_STORE = {"Cache-Control": "no-store"}


def _mail_link(endpoint: str, token: str | None = None) -> str:
    """An absolute link for an account e-mail. In production it is built on BOARD_URL unless
    TRUSTED_HOSTS checks the Host header, so a forged Host cannot send a token elsewhere."""
    path = url_for(endpoint, token=token) if token else url_for(endpoint)
    cfg = current_app.config
    if cfg["BOARD_ENV"] == "production" and not cfg.get("TRUSTED_HOSTS"):
        return cfg["BOARD_URL"] + path
    return notices.absolute(path)


def _link_invalid(state: tokens.LinkState, purpose: TokenPurpose):
    """A link that cannot be used: 404 when it never existed, 410 when used or expired."""
    code = 404 if state == tokens.LinkState.UNKNOWN else 410
    return (
        render_template("auth/link_invalid.html", state=state.value, purpose=purpose.value),
        code,
        NO_STORE,
    )


def _sign_out_here() -> None:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        wait = throttle.first_wait(
            throttle.hit("reset-account", accounts.normalise_email(form.email.data)),
            throttle.hit("reset-address", throttle.address()),
        )
        if wait:
            return _throttled("auth/forgot.html", form, wait)
        tokens.request_password_reset(
            form.email.data, lambda token: _mail_link("auth.reset_password", token)
        )
        commit()
        # The same answer whether or not the address has an account.
        flash(
            _(
                "If an account exists for %(email)s, we have sent it a link to choose a new "
                "password. The link works once, within %(hours)d hours.",
                email=accounts.normalise_email(form.email.data),
                hours=tokens.lifetime(TokenPurpose.PASSWORD_RESET),
            ),
            "info",
        )
        return redirect(url_for("auth.forgot_password"))
    return render_template("auth/forgot.html", form=form), form_status(form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    _row, state = tokens.lookup(token, TokenPurpose.PASSWORD_RESET)
    if state != tokens.LinkState.VALID:
        return _link_invalid(state, TokenPurpose.PASSWORD_RESET)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            tokens.reset_password(token, form.password.data)
            commit()
        except tokens.LinkInvalid as exc:
            db.session.rollback()
            return _link_invalid(exc.state, TokenPurpose.PASSWORD_RESET)
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            if current_user.is_authenticated:
                _sign_out_here()
            flash(
                _(
                    "Your password has been changed and every session of your account has "
                    "ended. Sign in with your new password."
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), form_status(form), NO_STORE


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(user, form.current.data, form.password.data)
            commit()
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            flash(
                _(
                    "Your password has been changed. You are still signed in here; every "
                    "other session of your account has ended."
                ),
                "success",
            )
            return redirect(url_for("auth.change_password"))
    return render_template("auth/password.html", form=form), form_status(form)


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
def change_email():
    user = current_user._get_current_object()
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            new = tokens.request_email_change(
                user, form.password.data, form.email.data,
                lambda token: _mail_link("auth.confirm_email", token),
            )
            commit()
        except Invalid as exc:
            db.session.rollback()
            show_invalid(form, exc)
        else:
            flash(
                _(
                    "We have sent a link to %(email)s. Your address changes when the link is "
                    "opened, within %(hours)d hours; until then you sign in with your current "
                    "address.",
                    email=new,
                    hours=tokens.lifetime(TokenPurpose.EMAIL_CHANGE),
                ),
                "info",
            )
            return redirect(url_for("auth.change_email"))
    pending = tokens.pending(user, TokenPurpose.EMAIL_CHANGE)
    return render_template("auth/email.html", form=form, pending=pending), form_status(form)


@bp.route("/account/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    row, state = tokens.lookup(token, TokenPurpose.EMAIL_CHANGE)
    if state != tokens.LinkState.VALID:
        return _link_invalid(state, TokenPurpose.EMAIL_CHANGE)
    # The address changes on the button, not on opening the page: mail scanners that
    # follow links do not confirm anything.
    form = ActionForm()
    new_email, owner_id = row.new_email, row.user_id
    problem = None
    if form.validate_on_submit():
        here = current_user.is_authenticated and current_user.id == owner_id
        keep = current_user.session_token if here else None
        try:
            tokens.confirm_email_change(token, keep)
            commit()
        except tokens.LinkInvalid as exc:
            db.session.rollback()
            return _link_invalid(exc.state, TokenPurpose.EMAIL_CHANGE)
        except Invalid as exc:
            db.session.rollback()
            problem = str(exc.message)
        except IntegrityError:  # taken by another account in the meantime
            db.session.rollback()
            problem = _(
                "The address %(email)s now belongs to another account, so it cannot be "
                "yours. Sign in and ask for the change again with another address.",
                email=new_email,
            )
        else:
            if here:
                flash(_("Your e-mail address is now %(email)s.", email=new_email), "success")
                return redirect(url_for("auth.change_email"))
            flash(
                _(
                    "Your e-mail address is now %(email)s. Sign in with it; your other "
                    "sessions have ended.",
                    email=new_email,
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    return (
        render_template("auth/confirm_email.html", form=form, new_email=new_email,
                        problem=problem),
        409 if problem else 200,
        NO_STORE,
    )


@bp.route("/account/confirm/<token>", methods=["GET", "POST"])
def confirm_address(token: str):
    """A new account's address: confirmed on the button (mail scanners that open links
    confirm nothing), then the owner signs in."""
    _row, state = tokens.lookup(token, TokenPurpose.ADDRESS_CHECK)
    if state != tokens.LinkState.VALID:
        return _link_invalid(state, TokenPurpose.ADDRESS_CHECK)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            tokens.confirm_address(token)
            commit()
        except tokens.LinkInvalid as exc:
            db.session.rollback()
            return _link_invalid(exc.state, TokenPurpose.ADDRESS_CHECK)
        flash(_("Your e-mail address is confirmed. Sign in with it and your password."),
              "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/confirm_address.html", form=form), 200, NO_STORE
