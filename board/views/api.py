"""JSON endpoints used by the pages' scripts."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from .. import bodies, throttle
from ..auth import require_audience
from ..i18n import loc
from ..matching import Doc
from ..services import records
from ..services.matcher import get_engine

bp = Blueprint("api", __name__, url_prefix="/api")
bp.before_request(require_audience("company", "supplier", "admin"))

MAX_TEXT = 5000


@bp.post("/suggest")
def suggest():
    wait = throttle.first_wait(
        throttle.hit("suggest-account", str(current_user.id)),
        throttle.hit("suggest-address", throttle.address()),
    )
    if wait:
        return jsonify(error=throttle.wait_message(wait), status=429), 429, throttle.retry_header(wait)
    try:
        data = bodies.json_body()
    except bodies.BadBody as exc:
        return jsonify(error=exc.message, status=exc.status), exc.status
    if not isinstance(data, dict):
        return jsonify(error=_("Send a JSON object with title, description and keywords.")), 400
    title = data.get("title") or ""
    description = data.get("description") or ""
    keywords = data.get("keywords") or ""
    if not all(isinstance(v, str) for v in (title, description, keywords)):
        return jsonify(error=_("title, description and keywords must be text.")), 400
    if len(title) + len(description) + len(keywords) > 2 * MAX_TEXT:
        return jsonify(error=_("The text is too long.")), 413
    doc = Doc(
        id="draft",
        title=records.clean_text(title),
        description=records.clean_text(description),
        keywords=tuple(records.split_keywords(records.clean_text(keywords))),
    )
    s = get_engine().suggest(doc)
    segments = {seg.code: seg for seg in records.all_segments()}
    themes = {t.code: t for t in records.all_themes()}
    return jsonify(
        segment={"code": s.segment, "name": loc(segments[s.segment], "name")}
        if s.segment in segments
        else None,
        themes=[{"code": t, "name": loc(themes[t], "name")} for t in s.themes if t in themes],
        keywords=s.keywords,
    )
