"""Segment, themes and keywords suggested from a record's text, accepted with a click
(or, without JavaScript, on the record's page after saving)."""

from __future__ import annotations

from flask_babel import gettext as _

from ..forms import SuggestionForm, opts
from ..i18n import loc
from ..matching import Suggestion
from ..services import records
from ..services.matcher import get_engine, to_doc


def pending(record) -> Suggestion:
    """What the board suggests that the record does not have yet."""
    s = get_engine().suggest(to_doc(record), lang=None)
    have_kw = {k.lower() for k in record.keyword_list}
    return Suggestion(
        segment=s.segment if not record.segment_code else None,
        themes=[t for t in s.themes if t not in record.theme_codes],
        keywords=[k for k in s.keywords if k.lower() not in have_kw],
    )


def _form(s: Suggestion) -> SuggestionForm:
    form = SuggestionForm()
    themes = {t.code: t for t in records.all_themes()}
    form.themes.choices = opts((code, loc(themes[code], "name")) for code in s.themes if code in themes)
    form.keywords.choices = opts((k, k) for k in s.keywords)
    return form


def suggestion_context(record) -> dict:
    s = pending(record)
    segments = {seg.code: seg for seg in records.all_segments()}
    return {
        "suggestion": s,
        "suggested_segment": segments.get(s.segment) if s.segment else None,
        "suggestion_form": _form(s),
    }


def accepted_changes(record) -> dict | None:
    """The record's fields with the accepted suggestions applied, or None if nothing was picked."""
    s = pending(record)
    form = _form(s)
    if not form.validate_on_submit():
        return None
    data = records.current_data(record)
    changed = False
    if form.segment.data and s.segment:
        data["segment"] = s.segment
        changed = True
    if form.themes.data:
        data["themes"] = sorted(set(data["themes"]) | set(form.themes.data))
        changed = True
    picked = [k for k in (form.keywords.data or []) if k in s.keywords]
    if picked:
        data["keywords"] = data["keywords"] + picked
        changed = True
    return data if changed else None


def nothing_picked_message() -> str:
    return _("Tick at least one suggestion to apply.")



