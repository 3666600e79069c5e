"""Sign-up, sign-in and server-side sessions."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from functools import lru_cache

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import LoginSession, Organization, OrgKind, Role, User, utcnow
from . import audit, passwords
from .errors import Invalid

MIN_PASSWORD = passwords.MIN_LENGTH
#: A session's last request is written down at most this often (for the idle timeout).
TOUCH_EVERY = dt.timedelta(minutes=1)
#: The roles of an organisation's members (staff belong to no organisation).
MEMBER_ROLES = (Role.COMPANY, Role.SUPPLIER, Role.BOTH)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_email(email: str) -> None:
    try:
        validate_email(normalise_email(email), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(_l("Enter a valid e-mail address, such as name@example.com."), "email") from exc


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def find_organization(name: str) -> Organization | None:
    return db.session.scalar(sa.select(Organization).where(Organization.name == name.strip()))


def sign_up(
    *,
    email: str,
    password: str,
    display_name: str,
    role: Role,
    organization_name: str,
    organization_kind: OrgKind = OrgKind.ENTERPRISE,
    website: str | None = None,
    confirm_link_for: Callable[[str], str],
    links: dict | None = None,
    lang: str | None = None,
) -> User | None:
    """A company or supplier member with a new organisation of their own, who is mailed a
    link that confirms the address; the account signs in once it is opened. When the
    address already has an account nothing is created and its owner is mailed instead (a
    new confirmation link if it never confirmed; None is returned): the caller answers both
    alike, and sign-in refuses an unconfirmed account exactly as a wrong password, so
    neither says which addresses have accounts. ``links`` holds the absolute sign-in and
    reset links, ``confirm_link_for`` makes the confirmation link of a token; ``lang`` is
    the language the new member signed up in (kept on the account)."""
    from . import tokens

    if role not in MEMBER_ROLES:
        raise Invalid(_l("Choose whether you post demands, offer capabilities or both."), "role")
    check_email(email)
    if find_organization(organization_name):
        raise Invalid(
            _l(
                "This organisation is already registered. Ask its members or the park staff "
                "to add you."
            ),
            "organization",
        )
    passwords.check(password)
    links = links or {}
    owner = find_user(email)
    if owner is not None:
        generate_password_hash(password, current_app.config["PASSWORD_HASH_METHOD"])  # same time
        if owner.email_confirmed_at is None:
            tokens.send_address_check(owner, confirm_link_for)
        else:
            _mail_account(owner, "signup_attempt",
                          _l("Someone tried to sign up with your address"), owner.email, links)
        return None
    org = Organization(
        name=organization_name.strip(), kind=organization_kind, website=website or None
    )
    user = User(
        email=normalise_email(email),
        display_name=display_name.strip(),
        role=role,
        organization=org,
        locale=lang if lang in current_app.config["BOARD_LANGUAGES"] else None,
    )
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add_all([org, user])
    db.session.flush()
    tokens.send_address_check(user, confirm_link_for)
    return user


def _mail_account(user: User, template: str, subject, to: str, links: dict) -> None:
    """An account e-mail in the owner's language (none for shared demo accounts)."""
    from flask_babel import force_locale

    from . import notices

    if user.is_demo:
        return
    lang = notices.user_lang(user)
    with force_locale(lang):
        subject = str(subject)
    notices.queue_mail(to=to, user=user, kind=template, lang=lang, subject=subject,
                       template=template, email=to, **links)


def create_user(
    *,
    email: str,
    password: str,
    role: Role,
    display_name: str,
    organization: Organization | None = None,
    is_demo: bool = False,
) -> User:
    check_email(email)
    if find_user(email):
        raise Invalid(_l("An account with this e-mail already exists."), "email")
    passwords.check(password)
    user = User(
        email=normalise_email(email),
        display_name=display_name,
        role=role,
        organization=organization,
        is_demo=is_demo,
        email_confirmed_at=utcnow(),  # made by staff, the seed or the CLI
    )
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str, demo_mode: bool) -> User | None:
    """The user these credentials belong to, if they may sign in now."""
    user = find_user(email)
    if user is None:
        # Spend the same time as a real check so that timing does not reveal accounts.
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    if user.email_confirmed_at is None:  # answered as a wrong password: see sign_up
        return None
    if user.is_demo and not demo_mode:
        return None
    return user


def start_session(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user=user, token_hash=LoginSession.hash_token(token),
                                last_seen_at=utcnow()))
    user.last_login_at = utcnow()
    db.session.flush()
    user.session_token = token
    return token


def load_session_user(token: str | None, demo_mode: bool) -> User | None:
    """The signed-in user behind a session token, unless it was revoked or disabled."""
    if not token:
        return None
    row = db.session.scalar(
        sa.select(LoginSession).where(LoginSession.token_hash == LoginSession.hash_token(token))
    )
    if row is None or row.revoked_at is not None:
        return None
    cfg, now = current_app.config, utcnow()
    lifetime = dt.timedelta(hours=cfg["SESSION_LIFETIME_HOURS"])
    if row.created_at < now - lifetime:  # sign in again after the session's lifetime
        return None
    seen = row.last_seen_at or row.created_at
    if seen < now - dt.timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):  # idle too long
        return None
    user = row.user
    if not user.active or (user.is_demo and not demo_mode):
        return None
    if now - seen > TOUCH_EVERY:
        row.last_seen_at = now  # committed by auth.touch_session, before the view runs
    user.session_token = token
    return user


def end_session(token: str | None) -> None:
    if not token:
        return
    db.session.execute(
        sa.update(LoginSession)
        .where(LoginSession.token_hash == LoginSession.hash_token(token))
        .where(LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def end_all_sessions(user: User) -> None:
    db.session.execute(
        sa.update(LoginSession)
        .where(LoginSession.user_id == user.id)
        .where(LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Disable (ending every session) or re-enable an account."""
    before = user.active
    user.active = active
    if not active:
        end_all_sessions(user)
    if actor is not None and before != active:
        audit.record(actor, "account.enable" if active else "account.disable", user,
                     before={"active": before}, after={"active": active})
    db.session.flush()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(8))


def add_member(
    *, organization: Organization, email: str, password: str, display_name: str, role: Role
) -> User:
    """Staff give an organisation another account, on either side (a firm may post demands
    and offer capabilities)."""
    if role not in MEMBER_ROLES:
        raise Invalid(_l("Choose whether you post demands, offer capabilities or both."), "role")
    return create_user(
        email=email, password=password, role=role, display_name=display_name,
        organization=organization,
    )


# -- password and sessions (account page, reset links) --------------------------------
def check_new_password(password: str, field: str = "password") -> None:
    """A new password: at least MIN_PASSWORD characters, not a common one, kept exactly as
    typed."""
    passwords.check(password, field)


def end_other_sessions(user: User, keep_token: str | None) -> None:
    """End every session of the account but the one behind ``keep_token``."""
    q = (
        sa.update(LoginSession)
        .where(LoginSession.user_id == user.id)
        .where(LoginSession.revoked_at.is_(None))
    )
    if keep_token:
        q = q.where(LoginSession.token_hash != LoginSession.hash_token(keep_token))
    db.session.execute(q.values(revoked_at=utcnow()))


def change_password(user: User, current: str, new: str) -> None:
    """The signed-in user changes their password; their other sessions end, and links
    mailed earlier (reset, e-mail change) stop working."""
    from . import tokens

    if user.is_demo:
        raise Invalid(_l("Demo accounts are shared: their password cannot be changed."))
    if not user.check_password(current):
        raise Invalid(_l("Your current password is not correct."), "current")
    check_new_password(new)
    if new == current:
        raise Invalid(_l("Choose a password different from the current one."), "password")
    user.set_password(new, current_app.config["PASSWORD_HASH_METHOD"])
    end_other_sessions(user, user.session_token)
    tokens.invalidate(user)
    db.session.flush()
