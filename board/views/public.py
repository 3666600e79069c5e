"""Pages anyone can see: the board, a demand, the event; the language switch."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import commit, is_safe_next
from ..extensions import db
from ..forms import ContactForm, LanguageForm
from ..i18n import lang_cookie, remembers_language
from ..models import Event, Organization, Outcome, Round
from ..services import contact as contact_service
from ..services import demands, records, rights, search, uploads
from ..services import replies as reply_service
from . import form_status, int_arg, text_arg

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    page = int_arg("page", 1)
    segment = text_arg("segment", 30) or None
    theme = text_arg("theme", 30) or None
    round_id = int_arg("round")
    q = text_arg("q", search.MAX_QUERY)
    sort = "newest" if text_arg("sort", 10) == "newest" else "relevance"
    query = search.parse(q) if q else None
    result = demands.search_published(
        query=query, sort=sort, segment=segment, theme=theme, round_id=round_id, page=page,
        per_page=int(current_app.config["PAGE_SIZE"]),
    )
    if page > result.pages and result.total:
        abort(404)
    rounds = db.session.scalars(sa.select(Round).order_by(Round.opens_on.desc())).all()
    return render_template(
        "public/index.html",
        page=result,
        q=q,
        segment=segment,
        theme=theme,
        round_id=round_id,
        segments=records.all_segments(),
        themes=records.all_themes(),
        rounds=rounds,
        posters=rights.poster_labels(current_user, result.items),
        closing={d.id for d in result.items if rights.closing_soon(d)},
        sort=sort,
        marks=search.highlights(query, result.items) if query else {},
        related=search.related(query) if query and not result.total else [],
    )


@bp.get("/demands/<int:demand_id>")
def demand(demand_id: int):
    d = demands.get_visible(current_user, demand_id)
    my_reply = None
    if rights.is_supplier(current_user):
        my_reply = reply_service.existing(current_user.organization_id, d.id)
    return render_template(
        "public/demand.html",
        d=d,
        can=rights.demand(current_user, d),
        poster=rights.poster_label(current_user, d),
        # Never for an anonymous demand: a profile link would name its poster.
        poster_profile=rights.poster_profile(current_user, d),
        my_reply=my_reply,
        is_supplier=rights.is_supplier(current_user),
        is_staff=rights.is_staff(current_user),
    )


@bp.get("/event")
def event():
    ev = db.session.scalar(sa.select(Event).order_by(Event.held_on.desc()).limit(1))
    if ev is None:
        abort(404)
    participants = db.session.scalars(
        sa.select(Organization)
        .where(Organization.event_role.is_not(None))
        .order_by(Organization.id)
    ).all()
    outcomes = db.session.scalars(
        sa.select(Outcome).where(Outcome.event_id == ev.id).order_by(Outcome.id)
    ).all()
    published = demands.search_published(per_page=10)
    return render_template(
        "public/event.html",
        ev=ev,
        participants=participants,
        outcomes=outcomes,
        themes=records.all_themes(),
        segments=records.all_segments(),
        demands=published,
        posters=rights.poster_labels(current_user, published.items),
    )


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)


@bp.post("/lang")
def set_language():
    form = LanguageForm()
    target = form.next.data if is_safe_next(form.next.data) else url_for("public.index")
    resp = redirect(target)
    if form.validate_on_submit() and form.lang.data in ("zh", "en"):
        resp.set_cookie(
            lang_cookie(), form.lang.data, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"], path="/",
        )
        g.lang_override = form.lang.data
        if remembers_language(current_user):  # not on shared demo accounts: the cookie only
            current_user.locale = form.lang.data
            commit()
    return resp



@bp.route("/contact", methods=["GET", "POST"])
def contact():
    """Anyone may write to the park staff; they answer by e-mail."""
    form = ContactForm()
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data = current_user.display_name
        form.email.data = current_user.email
        if current_user.organization is not None:
            form.organization.data = current_user.organization.name
    if form.validate_on_submit():
        sent = contact_service.send_to_staff(
            name=form.name.data, email=form.email.data, organization=form.organization.data,
            subject=form.subject.data, message=form.message.data,
        )
        if sent:
            commit()
            flash(
                _(
                    "Thank you. Your message has reached the park staff; they will answer "
                    "at %(email)s.",
                    email=form.email.data,
                ),
                "success",
            )
            return redirect(url_for("public.contact"))
        db.session.rollback()
        form.form_errors.append(
            _("Messages cannot be received at the moment. Please try again later.")
        )
        return render_template("public/contact.html", form=form), 503
    return render_template("public/contact.html", form=form), form_status(form)


@bp.get("/replies/<int:reply_id>/attachment")
def reply_attachment(reply_id: int):
    """A reply's PDF, for the two parties and staff only: 404 for anyone else (signed in or
    not), always downloaded, never shown inline."""
    r = reply_service.get_visible(current_user, reply_id)
    path = uploads.path_of(r.attachment_key)
    if path is None or not path.is_file():
        abort(404)
    if reply_service.mark_opened(current_user, [r]):  # the company has seen it
        commit()
    resp = send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=r.attachment_name or "attachment.pdf", max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
