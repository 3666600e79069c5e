"""Who is told of each step of a demand and its replies, in which words and with which link.

Services call these right after the change they announce (same transaction); the notices
service writes the in-app notice and queues the e-mail in each reader's language.
"""

from __future__ import annotations

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale

from ..i18n import label
from ..models import Demand, Invitation, Match, Reply, ReplyStatus, User
from . import notices, rights

LANGS = ("zh", "en")


def path(endpoint: str, **values) -> str:
    """A local link (path only), inside a request or not (commands, tests' factories)."""
    if has_request_context():
        return url_for(endpoint, **values)
    adapter = current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return adapter.build(endpoint, values)


def in_both(make) -> dict:
    """A value in each language, for a notice read by people who chose different ones:
    ``make`` is called once per language (lazy texts and labels are rendered there)."""
    out = {}
    for lang in LANGS:
        with force_locale(lang):
            out[lang] = str(make())
    return out


def org_name(org) -> dict:
    return {"zh": org.name, "en": org.name_en or org.name}


def poster_name(user, d: Demand) -> dict | str:
    """The demand's poster as this reader may know it (anonymous demands stay anonymous)."""
    if rights.demand(user, d).poster:
        return org_name(d.organization)
    return in_both(lambda: rights.poster_label(None, d))


def _company(d: Demand) -> list[User]:
    return [u for u in rights.members(d.organization_id, "company") if rights.demand(u, d).manage]


def _suppliers(org_id: int, d: Demand) -> list[User]:
    """Supplier-side members of an organisation who may see the demand."""
    return [u for u in rights.members(org_id, "supplier") if rights.demand(u, d).see]


# -- a demand's review ------------------------------------------------------------------
def demand_published(d: Demand, actor: User | None) -> None:
    notices.notify(_company(d), "demand_published", {"demand": d.title},
                   path("company.demand", demand_id=d.id), actor=actor)


def demand_returned(d: Demand, reason: str, actor: User | None) -> None:
    notices.notify(_company(d), "demand_returned", {"demand": d.title, "reason": reason},
                   path("company.demand", demand_id=d.id), actor=actor)


def changes_approved(d: Demand, actor: User | None) -> None:
    notices.notify(_company(d), "changes_approved", {"demand": d.title},
                   path("company.demand", demand_id=d.id), actor=actor)


def changes_returned(d: Demand, reason: str, actor: User | None) -> None:
    notices.notify(_company(d), "changes_returned", {"demand": d.title, "reason": reason},
                   path("company.demand", demand_id=d.id), actor=actor)


# -- matches ----------------------------------------------------------------------------
def match_confirmed(m: Match, actor: User | None, sides=("company", "supplier")) -> None:
    """Both sides of a match staff confirmed; suppliers only once the demand is public."""
    d, cap = m.demand, m.capability
    params = {"demand": d.title, "capability": cap.title}
    if "company" in sides:
        notices.notify(_company(d), "match_confirmed", params,
                       path("company.demand", demand_id=d.id) + f"#match-{m.id}", actor=actor)
    if "supplier" in sides:
        notices.notify(_suppliers(cap.organization_id, d), "match_confirmed", params,
                       path("public.demand", demand_id=d.id), actor=actor)


# -- invitations and replies --------------------------------------------------------------
def invitation(inv: Invitation, actor: User | None) -> None:
    d = inv.demand
    for user in _suppliers(inv.organization_id, d):
        notices.notify([user], "invitation", {"demand": d.title, "org": poster_name(user, d)},
                       path("supplier.matching") + f"#invitation-{d.id}", actor=actor)


def reply_received(r: Reply, actor: User | None) -> None:
    d = r.demand
    notices.notify(_company(d), "reply_received", {"demand": d.title, "org": org_name(r.organization)},
                   path("company.demand", demand_id=d.id) + f"#reply-{r.id}", actor=actor)


def status_label(r: Reply) -> dict:
    """The reply's status as its sender reads it, in both languages ("Declined: cost")."""
    def make():
        text = label(r.status)
        if r.status == ReplyStatus.DECLINED and r.decline_reason is not None:
            sep = "：" if _lang() == "zh" else ": "
            text = f"{text}{sep}{label(r.decline_reason)}"
        return text

    return in_both(make)


def _lang() -> str:
    from ..i18n import lang

    return lang()


def reply_status(r: Reply, actor: User | None) -> None:
    d = r.demand
    notices.notify(_suppliers(r.organization_id, d), "reply_status",
                   {"demand": d.title, "status": status_label(r)},
                   path("supplier.my_replies") + f"#reply-{r.id}", actor=actor)
