"""Fields shared by demands and capabilities: keywords, themes, refs."""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa

from ..extensions import db
from ..models import Segment, Theme

KEYWORD_SPLIT = re.compile(r"[;；,，、\n\r]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Invisible format characters (Unicode category Cf) that text never needs: zero-width
#: space, word joiner, BOM, soft hyphen, bidirectional overrides and isolates, and the like.
#: Zero-width joiner and non-joiner (U+200C, U+200D) stay inside text, where emoji and some
#: scripts use them, but never make a field non-empty on their own.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u115f\u1160\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufeff\uffa0\ufff9-\ufffb]"
)
_JOINERS_AT_EDGES = re.compile(r"^[\u200c\u200d\s]+|[\u200c\u200d\s]+$")


def clean_text(value):
    """Text as every form, import and query stores it: line breaks as \\n, no control or
    invisible format characters, no lone surrogates; nothing but joiners and whitespace at
    the ends counts as empty. Anything that is not a string passes through."""
    if not isinstance(value, str):
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _INVISIBLE.sub("", _CONTROL.sub("", value))
    if _JOINERS_AT_EDGES.search(value):
        value = _JOINERS_AT_EDGES.sub("", value)
    return value


def split_keywords(raw: str | list[str] | None) -> list[str]:
    """Keywords separated by ; ； , ， 、 or newlines; blanks and repeats dropped."""
    if raw is None:
        return []
    parts = raw if isinstance(raw, list) else KEYWORD_SPLIT.split(raw)
    out: list[str] = []
    for p in parts:
        p = p.strip()
        if p and p not in out:
            out.append(p[:60])
    return out[:20]


def join_keywords(words: list[str]) -> str:
    return "\n".join(words)


def themes_by_code(codes) -> list[Theme]:
    codes = list(dict.fromkeys(codes or []))
    if not codes:
        return []
    found = db.session.scalars(sa.select(Theme).where(Theme.code.in_(codes))).all()
    return sorted(found, key=lambda t: t.position)


def all_segments() -> list[Segment]:
    return list(db.session.scalars(sa.select(Segment).order_by(Segment.position)))


def all_themes() -> list[Theme]:
    return list(db.session.scalars(sa.select(Theme).order_by(Theme.position)))


def new_ref(prefix: str) -> str:
    """A stable public id for a record created in the board."""
    return f"{prefix}-{secrets.token_hex(5)}"


def apply_fields(record, data: dict) -> None:
    """Copy the editable text fields from ``data`` onto a demand or capability."""
    record.title = data["title"].strip()
    record.description = (data.get("description") or "").strip()
    record.keywords = join_keywords(split_keywords(data.get("keywords")))
    record.segment_code = data.get("segment") or None
    record.themes = themes_by_code(data.get("themes"))
    record.contact_name = (data.get("contact_name") or "").strip() or None
    record.contact_email = (data.get("contact_email") or "").strip().lower() or None
    record.website = (data.get("website") or "").strip() or None


def current_data(record) -> dict:
    """A record's editable fields as a form would send them."""
    data = {
        "title": record.title,
        "description": record.description,
        "keywords": record.keyword_list,
        "segment": record.segment_code,
        "themes": record.theme_codes,
        "contact_name": record.contact_name,
        "contact_email": record.contact_email,
        "website": record.website,
    }
    if hasattr(record, "visibility"):
        data["visibility"] = record.visibility.value
        data["deadline"] = record.deadline
    return data
