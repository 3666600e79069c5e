"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Flask, g, request
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

from . import i18n
from .models import Demand, Role, User


def highlight(text: str | None, terms) -> Markup:
    """Escape ``text`` and mark the given words in it; keep line breaks."""
    text = text or ""
    words = sorted({t for t in (terms or ()) if t and t.strip()}, key=len, reverse=True)
    if not words:
        return _lines(escape(text))
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[pos : m.start()])))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return _lines(Markup("".join(out)))


def _lines(markup: Markup) -> Markup:
    return Markup(str(markup).replace("\r\n", "\n").replace("\n", "<br>\n"))


def poster_name(demand: Demand, viewer: User | None = None) -> str:
    """Who posted a demand, as this viewer may see it."""
    if demand.is_anonymous:
        can_see = viewer is not None and getattr(viewer, "is_authenticated", False) and (
            viewer.role == Role.STAFF or viewer.organization_id == demand.organization_id
        )
        if not can_see:
            return _("Anonymous poster")
    return i18n.loc(demand.organization, "name")


def page_url(**changes) -> str:
    """The current URL with some query arguments changed (for pagination and filters)."""
    args = request.args.to_dict(flat=False)
    for k, v in changes.items():
        if v is None:
            args.pop(k, None)
        else:
            args[k] = [str(v)]
    query = urlencode(args, doseq=True)
    return request.path + ("?" + query if query else "")


def _taxonomy() -> dict:
    if "taxonomy" not in g:
        from .services.records import all_themes

        g.taxonomy = {"themes": {t.code: t for t in all_themes()}}
    return g.taxonomy


def theme_name(code: str) -> str:
    theme = _taxonomy()["themes"].get(code)
    return i18n.loc(theme, "name") if theme else code


def match_terms(reasons_list, side: str) -> list[str]:
    """The words behind a set of matches on one side ('demand' or 'capability')."""
    out: list[str] = []
    for r in reasons_list:
        if not r:
            continue
        for c in r.get("concepts", []):
            out.extend(c.get(f"{side}_terms", []))
        for t in r.get("terms", []):
            out.append(t.get(side, ""))
    return [w for w in dict.fromkeys(out) if w]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        highlight=highlight,
        date=lambda d, fmt="medium": format_date(d, fmt) if d else "",
        datetime=lambda d, fmt="medium": format_datetime(d, fmt) if d else "",
        number=lambda n: format_decimal(n),
        label=i18n.label,
        concept=i18n.concept_label,
        field_label=lambda f: str(i18n.FIELD_LABELS.get(f, f)),
        theme_name=theme_name,
    )
    app.jinja_env.globals.update(
        loc=i18n.loc,
        current_lang=i18n.lang,
        poster_name=poster_name,
        page_url=page_url,
        match_terms=match_terms,
        Role=Role,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
