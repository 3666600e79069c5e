"""Language choice (user's switch, else Accept-Language, else Chinese) and labels."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import babel
from .models import DemandStatus, MatchStatus, OrgKind, ReplyStatus, Role, Visibility

LANG_COOKIE = "lang"


def select_locale() -> str:
    langs = current_app.config["BOARD_LANGUAGES"]
    if not has_request_context():  # commands and background work
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = getattr(g, "lang_override", None) or request.cookies.get(LANG_COOKIE)
    if chosen in langs:
        return chosen
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in langs:
        return user_locale
    return request.accept_languages.best_match(langs) or current_app.config["BABEL_DEFAULT_LOCALE"]


def lang() -> str:
    """The current UI language code: 'zh' or 'en'."""
    return "en" if str(get_locale()).startswith("en") else "zh"


def loc(obj, attr: str) -> str:
    """A record's text in the UI language: ``name`` or ``name_en``, falling back to Chinese."""
    if obj is None:
        return ""
    if lang() == "en":
        value = getattr(obj, f"{attr}_en", None)
        if value:
            return value
    return getattr(obj, attr, "") or ""


def concept_label(entry: dict) -> str:
    """A concept named in the viewer's language (entries carry 'zh' and 'en')."""
    return entry.get(lang()) or entry.get("zh") or entry.get("id", "")


LABELS = {
    DemandStatus: {
        DemandStatus.DRAFT: _l("Draft"),
        DemandStatus.SUBMITTED: _l("Awaiting review"),
        DemandStatus.PUBLISHED: _l("Published"),
        DemandStatus.CLOSED: _l("Closed"),
    },
    Visibility: {
        Visibility.PUBLIC: _l("Public: show our organisation"),
        Visibility.ANONYMOUS: _l("Anonymous: hide our organisation from the public"),
    },
    ReplyStatus: {
        ReplyStatus.SENT: _l("Sent"),
        ReplyStatus.SHORTLISTED: _l("Shortlisted"),
        ReplyStatus.DECLINED: _l("Declined"),
        ReplyStatus.WITHDRAWN: _l("Withdrawn"),
    },
    MatchStatus: {
        MatchStatus.SUGGESTED: _l("Suggested"),
        MatchStatus.CONFIRMED: _l("Recommended by the park"),
        MatchStatus.DISMISSED: _l("Dismissed"),
    },
    Role: {
        Role.COMPANY: _l("Company (posts demands)"),
        Role.SUPPLIER: _l("Supplier (offers capabilities)"),
        Role.STAFF: _l("Park staff"),
    },
    OrgKind: {
        OrgKind.ENTERPRISE: _l("Enterprise"),
        OrgKind.UNIVERSITY: _l("University or college"),
        OrgKind.ALLIANCE: _l("Industry alliance"),
        OrgKind.PARK: _l("Park administration"),
        OrgKind.OTHER: _l("Other"),
    },
}

FIELD_LABELS = {
    "title": _l("title"),
    "keywords": _l("keywords"),
    "description": _l("description"),
}


def label(value) -> str:
    for enum_cls, names in LABELS.items():
        if isinstance(value, enum_cls):
            return str(names[value])
    return str(value)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
