"""Links sent by e-mail: password reset, the change of an account's e-mail address and the
confirmation of a new account's address.

A link carries a random token; only its SHA-256 hash is stored (``account_token``). A token
is used once, expires, and asking again voids the older unused ones of the same purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import AccountToken, TokenPurpose, User, utcnow
from . import accounts, notices
from .errors import Invalid, ServiceError

#: The setting that says how many hours a link of each purpose stays valid.
HOURS_SETTING = {
    TokenPurpose.PASSWORD_RESET: "PASSWORD_RESET_HOURS",
    TokenPurpose.EMAIL_CHANGE: "EMAIL_CHANGE_HOURS",
    TokenPurpose.ADDRESS_CHECK: "ADDRESS_CHECK_HOURS",
}
#: One reset e-mail per account in this time, however often the form is sent.
RESEND_AFTER = dt.timedelta(minutes=1)
#: Longer strings are not tokens of ours (token_urlsafe(32) gives 43 characters).
MAX_TOKEN_LENGTH = 100


class LinkState(StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"  # never issued, or its account may not use it
    USED = "used"  # used, or replaced by a newer link
    EXPIRED = "expired"


class LinkInvalid(ServiceError):
    """A link that cannot be used (any more)."""

    def __init__(self, state: LinkState):
        super().__init__(str(state))
        self.state = state


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def lifetime(purpose: TokenPurpose) -> int:
    """Hours a link of this purpose stays valid."""
    return int(current_app.config[HOURS_SETTING[purpose]])


def issue(user: User, purpose: TokenPurpose, *, new_email: str | None = None) -> str:
    """A new token (returned once, never stored) that voids the user's older ones."""
    invalidate(user, purpose)
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        AccountToken(
            user=user,
            purpose=purpose,
            token_hash=hash_token(raw),
            new_email=new_email,
            created_at=now,
            expires_at=now + dt.timedelta(hours=lifetime(purpose)),
        )
    )
    db.session.flush()
    return raw


def invalidate(user: User, purpose: TokenPurpose | None = None) -> None:
    """Void the user's unused tokens (of one purpose, or all of them)."""
    q = sa.update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.used_at.is_(None)
    )
    if purpose is not None:
        q = q.where(AccountToken.purpose == purpose)
    db.session.execute(q.values(used_at=utcnow()))


def lookup(raw: str | None, purpose: TokenPurpose) -> tuple[AccountToken | None, LinkState]:
    """The token behind a link and whether it may be used now."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None, LinkState.UNKNOWN
    token = db.session.scalar(
        sa.select(AccountToken).where(
            AccountToken.token_hash == hash_token(raw), AccountToken.purpose == purpose
        )
    )
    if token is None:
        return None, LinkState.UNKNOWN
    user = token.user
    if not user.active or (user.is_demo and not current_app.config["BOARD_DEMO"]):
        return None, LinkState.UNKNOWN
    if token.used_at is not None:
        return token, LinkState.USED
    if token.expires_at <= utcnow():
        return token, LinkState.EXPIRED
    return token, LinkState.VALID


def valid(raw: str | None, purpose: TokenPurpose) -> AccountToken:
    token, state = lookup(raw, purpose)
    if state != LinkState.VALID:
        raise LinkInvalid(state)
    return token


def consume(token: AccountToken) -> None:
    """Mark the token used; only one of two requests racing with the same link gets it."""
    done = db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise LinkInvalid(LinkState.USED)
    db.session.refresh(token)


def pending(user: User, purpose: TokenPurpose) -> AccountToken | None:
    """The user's newest link of this purpose that may still be used."""
    return db.session.scalar(
        sa.select(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
        .order_by(AccountToken.id.desc())
        .limit(1)
    )


def _mail_link(user: User, purpose: TokenPurpose, kind: str, subject, link_for: Callable[[str], str],
               **fields) -> None:
    """Issue a one-time link for ``purpose`` (voiding older ones) and queue it to the account's
    address in its language; ``kind`` names the notice and the mail template."""
    raw = issue(user, purpose)
    lang = notices.user_lang(user)
    with force_locale(lang):
        subject = str(subject)
    notices.queue_mail(to=user.email, user=user, kind=kind, lang=lang, subject=subject,
                       template=kind, link=link_for(raw), hours=lifetime(purpose), **fields)


# -- password reset -------------------------------------------------------------------
def request_password_reset(email: str, link_for: Callable[[str], str]) -> None:
    """Mail a reset link to an active account with this address. Says nothing either way, so
    the caller gives every visitor the same answer. Demo accounts are shared: no reset."""
    user = accounts.find_user(email)
    if user is None or not user.active or user.is_demo:
        return
    recent = db.session.scalar(
        sa.select(sa.func.count()).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == TokenPurpose.PASSWORD_RESET,
            AccountToken.used_at.is_(None),
            AccountToken.created_at > utcnow() - RESEND_AFTER,
        )
    )
    if recent:
        return
    _mail_link(user, TokenPurpose.PASSWORD_RESET, "password_reset", _l("Reset your password"),
               link_for)
    db.session.flush()


def reset_password(raw: str, password: str) -> User:
    """Set a new password through a reset link; every session of the account ends."""
    token = valid(raw, TokenPurpose.PASSWORD_RESET)
    accounts.check_new_password(password)
    consume(token)
    user = token.user
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    if user.email_confirmed_at is None:  # the reset link reached the address too
        user.email_confirmed_at = utcnow()
    invalidate(user)
    accounts.end_all_sessions(user)
    db.session.flush()
    return user


# -- change of e-mail address -----------------------------------------------------------
def request_email_change(
    user: User, password: str, new_email: str, link_for: Callable[[str], str]
) -> str:
    """Mail a confirmation link to the new address and a warning to the current one; the
    address changes when the link is used. Returns the new address."""
    if user.is_demo:
        raise Invalid(_l("Demo accounts are shared: their e-mail address cannot be changed."))
    if not user.check_password(password):
        raise Invalid(_l("Your current password is not correct."), "password")
    accounts.check_email(new_email)
    new = accounts.normalise_email(new_email)
    if new == user.email:
        raise Invalid(_l("This is already your e-mail address."), "email")
    if accounts.find_user(new) is not None:
        raise Invalid(_l("An account with this e-mail already exists."), "email")
    raw = issue(user, TokenPurpose.EMAIL_CHANGE, new_email=new)
    lang = notices.user_lang(user)
    hours = lifetime(TokenPurpose.EMAIL_CHANGE)
    with force_locale(lang):
        confirm_subject = _("Confirm your new e-mail address")
        notice_subject = _("A change of your e-mail address was requested")
    notices.queue_mail(
        to=new, user=user, kind="email_change", lang=lang, subject=confirm_subject,
        template="email_change", link=link_for(raw), new_email=new, hours=hours,
    )
    notices.queue_mail(
        to=user.email, user=user, kind="email_change_notice", lang=lang, subject=notice_subject,
        template="email_change_notice", new_email=new, hours=hours,
    )
    db.session.flush()
    return new


def confirm_email_change(raw: str, current_session: str | None = None) -> User:
    """Move the account to the address the link was sent to. Sessions of the account end,
    except ``current_session`` (the browser that opened the link, if signed in to it)."""
    token = valid(raw, TokenPurpose.EMAIL_CHANGE)
    user = token.user
    new = token.new_email
    holder = accounts.find_user(new) if new else None
    if not new or (holder is not None and holder.id != user.id):
        raise Invalid(
            _l(
                "The address %(email)s now belongs to another account, so it cannot be "
                "yours. Sign in and ask for the change again with another address.",
                email=new or "",
            )
        )
    consume(token)
    user.email = new
    invalidate(user)  # a reset link mailed to the old address must not work any more
    accounts.end_other_sessions(user, current_session)
    db.session.flush()
    return user


# -- confirming a new account's address -------------------------------------------------
def send_address_check(user: User, link_for: Callable[[str], str]) -> None:
    """Mail the link that confirms a signed-up account's address (voiding older ones)."""
    _mail_link(user, TokenPurpose.ADDRESS_CHECK, "confirm_address", _l("Confirm your e-mail address"),
               link_for, email=user.email)
    db.session.flush()


def confirm_address(raw: str) -> User:
    """The owner opened the link: the account may sign in from now on."""
    token = valid(raw, TokenPurpose.ADDRESS_CHECK)
    consume(token)
    user = token.user
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    db.session.flush()
    return user
