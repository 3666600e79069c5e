"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from flask import Flask, g, has_request_context, request
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

from . import i18n
from .models import DemandStatus, Role, Visibility


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
    # Each piece of the text was escaped above; only <mark> is added.
    return _lines(Markup("".join(out)))  # nosec B704


def _lines(markup: Markup) -> Markup:
    # ``markup`` is already escaped; only <br> is added.
    return Markup(str(markup).replace("\r\n", "\n").replace("\n", "<br>\n"))  # nosec B704


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
        from .services.records import all_segments, all_themes

        g.taxonomy = {
            "themes": {t.code: t for t in all_themes()},
            "segments": {s.code: s for s in all_segments()},
        }
    return g.taxonomy


def theme_name(code: str) -> str:
    theme = _taxonomy()["themes"].get(code)
    return i18n.loc(theme, "name") if theme else code


def reason_words() -> dict:
    """What the match reasons macro writes on every line, in the UI language: the field labels
    and the list separator, translated once per request and language (not once per line)."""
    lang = i18n.lang()
    cache = g.get("_reason_words") if has_request_context() else None
    if cache is None or cache["lang"] != lang:
        # The separator is escaped before it is marked safe.
        cache = {"lang": lang, "sep": Markup(escape(i18n.list_separator())),  # nosec B704
                 "fields": {k: str(v) for k, v in i18n.FIELD_LABELS.items()}}
        if has_request_context():
            g._reason_words = cache
    return cache


def field_list(fields, words: dict) -> Markup:
    """Field names as their labels, listed in the UI language (``words`` from ``reason_words``);
    the same text as ``fields|map('field_label')|join_list``."""
    labels = words["fields"]
    return words["sep"].join(escape(str(labels.get(f, f))) for f in fields)


def join_list(items) -> str:
    """Items joined the way the page's language lists them: "A、B" in Chinese, "A, B" in English."""
    return i18n.join_list(items)


def staff_tab(tab: str) -> str:
    """The name of a tab of the staff list (a demand status, or one of the extra views)."""
    extra = {"changes": _("Changes to review"), "all": _("All")}
    return str(extra[tab]) if tab in extra else i18n.label(DemandStatus(tab))


def segment_name(code: str | None) -> str:
    segment = _taxonomy()["segments"].get(code)
    return i18n.loc(segment, "name") if segment else (code or "")


def form_field_label(name: str) -> str:
    """A demand field's label, as the demand form shows it."""
    from .forms import DemandForm

    unbound = getattr(DemandForm, name, None)
    return str(unbound.args[0]) if unbound is not None and unbound.args else name


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


def nav() -> dict:
    """Which side's menu the header shows: a member of a firm on both sides switches between
    the demand side and the supplier side (the last one visited is remembered)."""
    from flask import session
    from flask_login import current_user

    from .services import rights

    if rights.is_staff(current_user):
        return {"sides": ["admin"], "side": "admin"}
    sides = rights.sides(current_user)
    side = request.blueprint if request.blueprint in sides else session.get("side")
    if side not in sides:
        side = sides[0] if sides else None
    return {"sides": sides, "side": side}


def init_app(app: Flask) -> None:
    # Mail is also rendered outside a request (commands, notices from services): no menu there.
    app.context_processor(lambda: {"nav": nav()} if has_request_context() else {})
    app.jinja_env.filters.update(
        highlight=highlight,
        date=lambda d, fmt="medium": format_date(d, fmt) if d else "",
        datetime=lambda d, fmt="medium": format_datetime(d, fmt) if d else "",
        number=lambda n: format_decimal(n),
        label=i18n.label,
        concept=i18n.concept_label,
        field_label=lambda f: str(i18n.FIELD_LABELS.get(f, f)),
        theme_name=theme_name,
        segment_name=segment_name,
        join_list=join_list,
        field_list=field_list,
        provenance=i18n.provenance_label,
        staff_tab=staff_tab,
        form_field_label=form_field_label,
        visibility_label=lambda v: i18n.label(Visibility(v)),
        iso_date=lambda v: format_date(dt.date.fromisoformat(v), "medium") if v else "",
    )
    app.jinja_env.globals.update(
        loc=i18n.loc,
        current_lang=i18n.lang,
        list_separator=i18n.list_separator,
        reason_words=reason_words,
        page_url=page_url,
        match_terms=match_terms,
        Role=Role,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
