"""Staff console: the industry map, the gap and strengths lists, the capabilities list, and
organisation tags (chain leaders, investment targets)."""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..auth import commit
from ..forms import ActionForm
from ..models import OrgTag
from ..services import bands, industry_map, organizations, records, review_queue, search
from . import back, int_arg, text_arg
from .admin import bp

TAG_LABELS = {
    OrgTag.CHAIN_LEADER: _l("Chain leader"),
    OrgTag.INVESTMENT_TARGET: _l("Investment target"),
    OrgTag.ALLIANCE_MEMBER: _l("Alliance member"),
}


@bp.app_template_filter("org_tag")
def org_tag_label(tag) -> str:
    """An organisation tag's name in the UI language."""
    try:
        return str(TAG_LABELS[OrgTag(tag)])
    except ValueError:
        return str(tag)


@bp.app_template_global("org_tag_choices")
def org_tag_choices() -> list[OrgTag]:
    """The tags staff can put on an organisation."""
    return list(OrgTag)


def tag_arg() -> OrgTag | None:
    raw = text_arg("tag", 30)
    return OrgTag(raw) if raw in {t.value for t in OrgTag} else None


def _segment_arg() -> str | None:
    code = text_arg("segment", 30)
    return code if code in {s.code for s in records.all_segments()} else None


def _theme_arg() -> str | None:
    code = text_arg("theme", 30)
    return code if code in {t.code for t in records.all_themes()} else None


def _map_links(round_id: int | None):
    """Where each number of a map cell leads: the board (demands), the staff capabilities
    list and the review queue (confirmed matches); none for "segment not given"."""
    all_ = industry_map.ALL

    def links(segment: str | None, theme: str | None) -> dict:
        if segment is None:
            return {}
        seg = None if segment == all_ else segment
        th = None if theme in (None, all_) else theme
        return {
            "demands": url_for("public.index", segment=seg, theme=th, round=round_id),
            "capabilities": url_for("admin.capability_list", segment=seg, theme=th),
            "confirmed": url_for("admin.match_queue", segment=seg, theme=th, round=round_id,
                                 status="confirmed", band="all", stage="published"),
        }

    def subfield(concept: str, label: str, segment: str | None) -> dict:
        if segment is None:
            return {}
        seg = None if segment == all_ else segment
        return {
            "demands": url_for("public.index", q=label, segment=seg, round=round_id),
            "capabilities": url_for("admin.capability_list", concept=concept, segment=seg),
        }

    return links, subfield


@bp.get("/map")
def industry_map_page():
    round_id = int_arg("round")
    links, subfield_links = _map_links(round_id)
    return render_template(
        "admin/map.html",
        round_id=round_id,
        rounds=industry_map.rounds(),
        m=industry_map.matrix(round_id),
        sub=industry_map.subfield_matrix(round_id),
        links=links,
        subfield_links=subfield_links,
        ALL=industry_map.ALL,
    )


@bp.get("/gaps")
def gaps():
    round_id, segment, theme = int_arg("round"), _segment_arg(), _theme_arg()
    page = industry_map.gaps(round_id, segment, theme, int_arg("page", 1) or 1, 20)
    return render_template(
        "admin/gaps.html",
        page=page,
        round_id=round_id,
        segment=segment,
        theme=theme,
        rounds=industry_map.rounds(),
        segments=records.all_segments(),
        themes=records.all_themes(),
        floor=review_queue.floor(),
        band_of=bands.settings().band,
        concepts=industry_map.Concepts(),
    )


#: How many strengths the list shows by default, and at most.
STRENGTHS_SHOWN, STRENGTHS_MAX = 20, 100


@bp.get("/strengths")
def strengths():
    round_id, segment = int_arg("round"), _segment_arg()
    limit = min(int_arg("n", STRENGTHS_SHOWN) or STRENGTHS_SHOWN, STRENGTHS_MAX)
    return render_template(
        "admin/strengths.html",
        rows=industry_map.strengths(limit, segment, round_id),
        limit=limit,
        round_id=round_id,
        segment=segment,
        rounds=industry_map.rounds(),
        segments=records.all_segments(),
        strong=review_queue.strong(),
    )


@bp.get("/capabilities")
def capability_list():
    """Registered capabilities, filtered by segment, theme and lexicon concept."""
    segment, theme = _segment_arg(), _theme_arg()
    concepts = industry_map.Concepts()
    concept = text_arg("concept", 80)
    if concept not in concepts.lex.concepts:
        concept = ""
    q = text_arg("q", search.MAX_QUERY)
    query = search.parse(q) if q else None
    sort = search.sort_arg(text_arg("sort", 10))
    page = industry_map.capability_page(segment, theme, concept, int_arg("page", 1) or 1, 30, query, sort)
    return render_template(
        "admin/capabilities.html",
        page=page,
        q=q,
        sort=sort,
        **search.extras(query, page),
        segment=segment,
        theme=theme,
        concept=concept,
        concept_label=concepts.label(concept) if concept else "",
        segments=records.all_segments(),
        themes=records.all_themes(),
    )


@bp.post("/organizations/<int:org_id>/tags")
def organization_tag(org_id: int):
    """Put a tag on an organisation (``on=1``) or take it off (``on=0``)."""
    org = organizations.get(org_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    raw, on = request.form.get("tag", ""), request.form.get("on")
    if raw not in {t.value for t in OrgTag} or on not in ("0", "1"):
        abort(400)
    tag = OrgTag(raw)
    changed = organizations.set_tag(current_user, org, tag, on == "1")
    commit()
    label = org_tag_label(tag)
    if on == "1":
        flash(_("Tagged “%(tag)s”.", tag=label) if changed else _("Already tagged “%(tag)s”.", tag=label),
              "success" if changed else "info")
    else:
        flash(_("Tag “%(tag)s” removed.", tag=label) if changed else _("The tag “%(tag)s” was already off.", tag=label),
              "success" if changed else "info")
    return back("admin.organization", org_id=org.id)
