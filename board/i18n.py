"""Language choice (user's switch, else Accept-Language, else Chinese) and labels."""

from __future__ import annotations

import re

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from .extensions import babel, db
from .models import (
    Cooperation,
    DeclineReason,
    DemandStatus,
    MatchStatus,
    MeetingStatus,
    OrgKind,
    ReplyStatus,
    Role,
    Segment,
    Visibility,
)

LANG_COOKIE = "lang"
#: Over HTTPS (SESSION_COOKIE_SECURE) the language cookie is host-only and Secure, like the
#: session's.
SECURE_LANG_COOKIE = "__Host-lang"


def lang_cookie() -> str:
    return SECURE_LANG_COOKIE if current_app.config.get("SESSION_COOKIE_SECURE") else LANG_COOKIE


def select_locale() -> str:
    langs = current_app.config["BOARD_LANGUAGES"]
    if not has_request_context():  # commands and background work
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = getattr(g, "lang_override", None) or request.cookies.get(lang_cookie())
    if chosen in langs:
        return chosen
    user_locale = stored_locale(current_user)
    if user_locale in langs:
        return user_locale
    return request.accept_languages.best_match(langs) or current_app.config["BABEL_DEFAULT_LOCALE"]


def stored_locale(user) -> str | None:
    """The language kept on an account. Demo accounts are shared by many visitors, so they
    keep none: their language lives only in each browser's cookie."""
    if not user or not getattr(user, "is_authenticated", False) or getattr(user, "is_demo", False):
        return None
    return getattr(user, "locale", None)


def remembers_language(user) -> bool:
    """Whether a language switch is stored on this account (not on shared demo accounts)."""
    return bool(getattr(user, "is_authenticated", False)) and not getattr(user, "is_demo", False)


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


def list_separator() -> str:
    """The separator between the items of a list in the UI language."""
    return "、" if lang() == "zh" else ", "


def join_list(items) -> Markup:
    """Items as a list in the UI language: "A、B" in Chinese, "A, B" in English (escaped)."""
    # The separator and every item are escaped before they are joined.
    return Markup(escape(list_separator())).join(escape(i) for i in items if i is not None)  # nosec B704


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
    MeetingStatus: {
        MeetingStatus.PROPOSED: _l("Awaiting an answer"),
        MeetingStatus.ACCEPTED: _l("Accepted"),
        MeetingStatus.DECLINED: _l("Declined"),
        MeetingStatus.CANCELLED: _l("Cancelled"),
        MeetingStatus.HELD: _l("Held"),
    },
    Cooperation: {
        Cooperation.JOINT_RD: _l("Joint R&D"),
        Cooperation.SUPPLY: _l("Supply"),
        Cooperation.PILOT: _l("Pilot application"),
        Cooperation.TRAINING: _l("Training"),
        Cooperation.OTHER: _l("Other"),
    },
    DeclineReason: {
        DeclineReason.NOT_A_FIT: _l("Not a fit"),
        DeclineReason.TOO_EARLY: _l("Too early a stage"),
        DeclineReason.COST: _l("Cost"),
        DeclineReason.PARTNER_CHOSEN: _l("Partner already chosen"),
        DeclineReason.OTHER: _l("Other"),
    },
    Role: {
        Role.COMPANY: _l("Company (posts demands)"),
        Role.SUPPLIER: _l("Supplier (offers capabilities)"),
        Role.BOTH: _l("Company and supplier (both sides)"),
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

#: Technology readiness levels (a reply's maturity), 1-9.
TRL_LABELS = {
    1: _l("1 · basic principles observed"),
    2: _l("2 · technology concept formulated"),
    3: _l("3 · experimental proof of concept"),
    4: _l("4 · validated in the laboratory"),
    5: _l("5 · validated in a relevant environment"),
    6: _l("6 · demonstrated in a relevant environment"),
    7: _l("7 · prototype demonstrated in operation"),
    8: _l("8 · system complete and qualified"),
    9: _l("9 · proven in operation"),
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


# Provenance is stored as "kind" or "kind: detail" (seed/event.json). The kinds, and the
# details the seed uses, are shown translated; any other detail is data and shown as written.
PROVENANCE_KINDS = {
    "event article": _l("Event report"),
    "illustrative": _l("Illustrative"),
}
PROVENANCE_DETAILS = {
    "the firm's general manager described this plan at the release":
        _l("the firm's general manager described this plan at the release"),
    "a neutral name for demands written for this board":
        _l("a neutral name for demands written for this board"),
    "written for this board so that matches are not empty":
        _l("written for this board so that matches are not empty"),
}
_SEGMENT_DETAIL = re.compile(
    r"written for this board for the (\w+) link named at the event; not any firm's words"
)


def _provenance_detail(detail: str) -> str:
    known = PROVENANCE_DETAILS.get(detail)
    if known is not None:
        return str(known)
    m = _SEGMENT_DETAIL.fullmatch(detail)
    if m:
        segment = db.session.get(Segment, m.group(1))
        name = loc(segment, "name") if segment else m.group(1)
        return str(_l("written for this board for the %(segment)s link named at the event; not any firm's words", segment=name))
    return detail


def provenance_label(text: str | None) -> str:
    """Where a record comes from, in the UI language."""
    if not text:
        return ""
    kind, _sep, detail = (part.strip() for part in text.partition(":"))
    label_ = PROVENANCE_KINDS.get(kind.lower())
    if label_ is None:
        return text
    if not detail:
        return str(label_)
    return f"{label_}{'：' if lang() == 'zh' else ': '}{_provenance_detail(detail)}"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
