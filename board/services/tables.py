"""The export kinds: one table definition per kind (columns with a key, a Chinese and an
English header and a value getter, and the query that loads its records), used by the
``flask export`` command and the staff console alike.

Building a table never writes; the caller records the export in the audit log."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import selectinload

from .. import i18n
from ..extensions import db
from ..models import (
    AuditEntry,
    Capability,
    Demand,
    DemandStatus,
    Match,
    MatchStatus,
    Organization,
    OrgKind,
    Outcome,
    OutcomeKind,
    Reply,
    ReplyStatus,
    Round,
    User,
    organization_tag,
)
from . import bands, rights
from .exporting import reason_lines

LANGS = ("zh", "en")
FORMATS = ("xlsx", "csv")


# -- filters -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """What a list shows: the same filters narrow its export."""

    round_id: int | None = None
    status: str | None = None
    segment: str | None = None
    theme: str | None = None
    action: str | None = None
    actor: str | None = None  # the acting account's e-mail
    start: dt.date | None = None
    end: dt.date | None = None
    q: str | None = None
    tag: str | None = None
    #: A strength band (matches): one of MATCH_BANDS.
    band: str | None = None
    #: The demand's stage (matches): one of MATCH_STAGES.
    stage: str | None = None

    def given(self) -> dict[str, Any]:
        """The filters in use, as plain values (for the audit log and for links)."""
        out = {}
        for k, v in asdict(self).items():
            if v not in (None, ""):
                out[k] = v.isoformat() if isinstance(v, dt.date) else v
        return out


#: Query-string names of the filters (the console's lists use the same names).
QUERY_NAMES = {"round_id": "round", "status": "status", "segment": "segment", "theme": "theme",
               "action": "action", "actor": "actor", "start": "from", "end": "to", "q": "q",
               "tag": "tag", "band": "band", "stage": "stage"}

#: The band filter of the matches: one band, or "reviewable" (strong and possible: what the
#: review queue shows unless asked for the weak band).
MATCH_BANDS = ("strong", "possible", "weak", "reviewable")
#: The stage filter of the matches: demands published, awaiting review, or either ("open": what
#: the review queue shows unless asked for one of them).
MATCH_STAGES = {
    "published": (DemandStatus.PUBLISHED,),
    "submitted": (DemandStatus.SUBMITTED,),
    "open": (DemandStatus.PUBLISHED, DemandStatus.SUBMITTED),
}
BAND_LABELS = {
    "strong": {"zh": "强匹配", "en": "Strong match"},
    "possible": {"zh": "可能匹配", "en": "Possible match"},
    "weak": {"zh": "弱匹配", "en": "Weak match"},
}


# -- table definitions -------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    get: Callable[[Any, dict], Any]  # (record, extras) -> value

    def header(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Table:
    kind: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    #: Loads (record, extras) pairs for the given filters.
    load: Callable[[Filters], list[tuple[Any, dict]]]
    #: The filters this kind takes.
    filters: tuple[str, ...] = ()
    note_zh: str = ""
    note_en: str = ""
    #: A module of board.services the kind reads its rows from, when it is not this one.
    needs: str | None = None

    def available(self) -> bool:
        if self.needs is None:
            return True
        from importlib.util import find_spec

        return find_spec(f"board.services.{self.needs}") is not None

    def title(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def note(self, lang: str) -> str:
        return self.note_en if lang == "en" else self.note_zh

    def header(self, lang: str) -> list[str]:
        return [c.header(lang) for c in self.columns]

    def build(self, filters: Filters | None = None, lang: str = "zh") -> tuple[list[str], list[list]]:
        """The header row and one row per record, in ``lang``."""
        lang = lang if lang in LANGS else "zh"
        with force_locale(lang):
            items = self.load(filters or Filters())
            rows = [[_plain(c.get(rec, extra), lang) for c in self.columns] for rec, extra in items]
        return self.header(lang), rows


def _plain(value, lang: str):
    """A cell value: labels for codes, lists joined the way the language lists them."""
    if isinstance(value, enum.Enum):
        return i18n.label(value)
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, dict) and ("zh" in value or "en" in value):
        return value.get(lang) or value.get("zh") or value.get("en")
    if isinstance(value, list | tuple | set):
        sep = "、" if lang == "zh" else ", "
        return sep.join(str(_plain(v, lang)) for v in value if v not in (None, ""))
    return value


def col(key: str, zh: str, en: str, get: Callable[[Any, dict], Any] | None = None) -> Column:
    return Column(key, zh, en, get or (lambda r, x, k=key: getattr(r, k)))


def loc(obj, attr: str) -> str:
    return i18n.loc(obj, attr) if obj is not None else ""


def _names(records) -> list[str]:
    return [loc(r, "name") for r in records]


def _chunked(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _grouped(query_for: Callable[[list[int]], sa.Select], ids: list[int]) -> dict:
    """Run a grouped query over ids in chunks (the IN list stays short); {key: row}."""
    out = {}
    for part in _chunked(ids):
        for row in db.session.execute(query_for(part)):
            out[row[0]] = row[1:] if len(row) > 2 else row[1]
    return out


# -- demands -------------------------------------------------------------------------------
def demand_query(f: Filters) -> sa.Select:
    """Demands staff may see (drafts stay with their organisation), newest first."""
    q = sa.select(Demand).where(Demand.status != DemandStatus.DRAFT)
    if f.status:
        q = q.where(Demand.status == DemandStatus(f.status))
    if f.round_id:
        q = q.where(Demand.round_id == f.round_id)
    if f.segment:
        q = q.where(Demand.segment_code == f.segment)
    if f.theme:
        q = q.where(Demand.themes.any(code=f.theme))
    return q


def _load_demands(f: Filters):
    demands = db.session.scalars(
        demand_query(f)
        .options(selectinload(Demand.organization), selectinload(Demand.segment),
                 selectinload(Demand.themes), selectinload(Demand.round))
        .order_by(Demand.id)
    ).all()
    ids = [d.id for d in demands]
    replies = _grouped(lambda part: sa.select(Reply.demand_id, sa.func.count())
                       .where(Reply.demand_id.in_(part)).group_by(Reply.demand_id), ids)
    found = _grouped(lambda part: sa.select(Match.demand_id, sa.func.count(), sa.func.max(Match.score))
                     .where(Match.demand_id.in_(part), Match.status != MatchStatus.DISMISSED)
                     .group_by(Match.demand_id), ids)
    return [(d, {"replies": replies.get(d.id, 0), "matches": found.get(d.id, (0, None))}) for d in demands]


DEMANDS = Table(
    "demands", "需求", "Demands",
    (
        col("ref", "编号", "Ref"),
        col("title", "标题", "Title"),
        col("organization", "发布机构", "Posted by", lambda d, x: loc(d.organization, "name")),
        col("anonymous", "匿名发布", "Anonymous", lambda d, x: d.is_anonymous),
        col("status", "状态", "Status"),
        col("round", "征集轮次", "Round", lambda d, x: loc(d.round, "name")),
        col("segment", "产业链环节", "Segment", lambda d, x: loc(d.segment, "name")),
        col("themes", "技术方向", "Themes", lambda d, x: _names(d.themes)),
        col("keywords", "关键词", "Keywords", lambda d, x: d.keyword_list),
        col("description", "需求描述", "Description"),
        col("deadline", "回复截止", "Reply by"),
        col("contact_name", "联系人", "Contact"),
        col("contact_email", "联系邮箱", "Contact e-mail"),
        col("submitted_at", "提交时间", "Submitted"),
        col("published_at", "发布时间", "Published"),
        col("close_reason", "关闭原因", "Reason for closing"),
        col("replies", "回复数", "Replies", lambda d, x: x["replies"]),
        col("matches", "匹配数", "Matches", lambda d, x: x["matches"][0]),
        col("best_score", "最高匹配分", "Best score",
            lambda d, x: round(x["matches"][1], 1) if x["matches"][1] is not None else None),
    ),
    _load_demands,
    filters=("round_id", "status", "segment", "theme"),
    note_zh="提交后的全部需求（草稿只属于其机构）。", note_en="Every demand from submission on (drafts stay with their organisation).",
)


# -- capabilities --------------------------------------------------------------------------
def _load_capabilities(f: Filters):
    q = (sa.select(Capability)
         .options(selectinload(Capability.organization), selectinload(Capability.segment),
                  selectinload(Capability.themes))
         .order_by(Capability.id))
    if f.segment:
        q = q.where(Capability.segment_code == f.segment)
    if f.theme:
        q = q.where(Capability.themes.any(code=f.theme))
    caps = db.session.scalars(q).all()
    ids = [c.id for c in caps]
    found = _grouped(
        lambda part: sa.select(
            Match.capability_id, sa.func.count(),
            sa.func.sum(sa.case((Match.status == MatchStatus.CONFIRMED, 1), else_=0)),
            sa.func.max(Match.score))
        .where(Match.capability_id.in_(part), Match.status != MatchStatus.DISMISSED)
        .group_by(Match.capability_id), ids)
    return [(c, {"matches": found.get(c.id, (0, 0, None))}) for c in caps]


CAPABILITIES = Table(
    "capabilities", "能力", "Capabilities",
    (
        col("ref", "编号", "Ref"),
        col("title", "标题", "Title"),
        col("organization", "供给机构", "Supplier", lambda c, x: loc(c.organization, "name")),
        col("segment", "产业链环节", "Segment", lambda c, x: loc(c.segment, "name")),
        col("themes", "技术方向", "Themes", lambda c, x: _names(c.themes)),
        col("keywords", "关键词", "Keywords", lambda c, x: c.keyword_list),
        col("description", "能力描述", "Description"),
        col("contact_name", "联系人", "Contact"),
        col("contact_email", "联系邮箱", "Contact e-mail"),
        col("website", "网站", "Website"),
        col("created_at", "登记时间", "Registered"),
        col("matches", "匹配需求数", "Matched demands", lambda c, x: x["matches"][0]),
        col("confirmed", "已确认匹配", "Confirmed matches", lambda c, x: int(x["matches"][1] or 0)),
        col("best_score", "最高匹配分", "Best score",
            lambda c, x: round(x["matches"][2], 1) if x["matches"][2] is not None else None),
    ),
    _load_capabilities,
    filters=("segment", "theme"),
)


# -- matches -------------------------------------------------------------------------------
def _load_matches(f: Filters):
    q = (sa.select(Match).join(Match.demand)
         .where(Demand.status != DemandStatus.DRAFT)
         .options(selectinload(Match.demand).selectinload(Demand.organization),
                  selectinload(Match.capability).selectinload(Capability.organization),
                  selectinload(Match.reviewed_by))
         .order_by(Match.demand_id, Match.score.desc(), Match.capability_id))
    if f.round_id:
        q = q.where(Demand.round_id == f.round_id)
    if f.status:
        q = q.where(Match.status == MatchStatus(f.status))
    if f.segment:
        q = q.where(Demand.segment_code == f.segment)
    if f.theme:
        q = q.where(Demand.themes.any(code=f.theme))
    if f.stage in MATCH_STAGES:
        q = q.where(Demand.status.in_(MATCH_STAGES[f.stage]))
    if f.band in MATCH_BANDS:
        best = bands.best_subquery()
        q = q.join(best, best.c.demand_id == Match.demand_id, isouter=True).where(
            bands.condition("" if f.band == "reviewable" else f.band, Match.score, best.c.best))
    found = list(db.session.scalars(q))
    band = bands.of(found)
    return [(m, {"band": band[m.id]}) for m in found]


MATCHES = Table(
    "matches", "匹配", "Matches",
    (
        col("demand_ref", "需求编号", "Demand ref", lambda m, x: m.demand.ref),
        col("demand_title", "需求标题", "Demand", lambda m, x: m.demand.title),
        col("demand_organization", "需求方", "Posted by", lambda m, x: loc(m.demand.organization, "name")),
        col("capability_ref", "能力编号", "Capability ref", lambda m, x: m.capability.ref),
        col("capability_title", "能力标题", "Capability", lambda m, x: m.capability.title),
        col("supplier", "供给方", "Supplier", lambda m, x: loc(m.capability.organization, "name")),
        col("score", "匹配分", "Score", lambda m, x: round(m.score, 1)),
        col("band", "匹配档次", "Band", lambda m, x: BAND_LABELS.get(x["band"])),
        col("status", "状态", "Status"),
        col("reasons", "匹配理由", "Reasons", lambda m, x: "; ".join(reason_lines(m.reasons or {}))),
        col("reviewed_by", "审核人", "Reviewed by", lambda m, x: m.reviewed_by.email if m.reviewed_by else None),
        col("reviewed_at", "审核时间", "Reviewed"),
        col("dismiss_reason", "忽略原因", "Reason for dismissing"),
    ),
    _load_matches,
    filters=("round_id", "status", "segment", "theme", "band", "stage"),
)


# -- replies -------------------------------------------------------------------------------
def _load_replies(f: Filters):
    q = (sa.select(Reply).join(Reply.demand)
         .options(selectinload(Reply.demand).selectinload(Demand.organization),
                  selectinload(Reply.organization), selectinload(Reply.capability))
         .order_by(Reply.id))
    if f.round_id:
        q = q.where(Demand.round_id == f.round_id)
    if f.status:
        q = q.where(Reply.status == ReplyStatus(f.status))
    return [(r, {}) for r in db.session.scalars(q)]


REPLIES = Table(
    "replies", "回复", "Replies",
    (
        col("demand_ref", "需求编号", "Demand ref", lambda r, x: r.demand.ref),
        col("demand_title", "需求标题", "Demand", lambda r, x: r.demand.title),
        col("demand_organization", "需求方", "Posted by", lambda r, x: loc(r.demand.organization, "name")),
        col("supplier", "回复机构", "Replied by", lambda r, x: loc(r.organization, "name")),
        col("capability", "对应能力", "Capability", lambda r, x: r.capability.title if r.capability else None),
        col("status", "状态", "Status"),
        col("fit", "匹配说明", "How it fits"),
        col("cases", "案例", "Cases"),
        col("trl", "技术成熟度", "Readiness (TRL)"),
        col("cooperation", "合作方式", "Cooperation"),
        col("contact_name", "联系人", "Contact"),
        col("contact_email", "联系邮箱", "Contact e-mail"),
        col("contact_phone", "联系电话", "Phone"),
        col("created_at", "回复时间", "Sent"),
        col("opened_at", "查看时间", "Opened"),
        col("answered_at", "答复时间", "Answered"),
        col("decline_reason", "婉拒原因", "Reason for declining"),
        col("status_reason", "说明", "Note"),
    ),
    _load_replies,
    filters=("round_id", "status"),
)


# -- outcomes ------------------------------------------------------------------------------
OUTCOME_KINDS = {OutcomeKind.MEETING: ("会谈", "Meeting"), OutcomeKind.AGREEMENT: ("签约", "Agreement")}


def _outcome_kind(o: Outcome, x: dict) -> str:
    zh, en = OUTCOME_KINDS.get(o.kind, (o.kind, o.kind))
    return en if i18n.lang() == "en" else zh


def _load_outcomes(f: Filters):
    q = (sa.select(Outcome)
         .options(selectinload(Outcome.demand), selectinload(Outcome.organization_a),
                  selectinload(Outcome.organization_b))
         .order_by(Outcome.occurred_on.is_(None), Outcome.occurred_on, Outcome.id))
    if f.round_id:
        q = q.join(Outcome.demand).where(Demand.round_id == f.round_id)
    if f.status:
        q = q.where(Outcome.kind == OutcomeKind(f.status))
    outcomes = db.session.scalars(q).all()
    ids = sorted({o.recorded_by_id for o in outcomes if o.recorded_by_id})
    who = _grouped(lambda part: sa.select(User.id, User.email).where(User.id.in_(part)), ids)
    return [(o, {"recorded_by": who.get(o.recorded_by_id)}) for o in outcomes]


OUTCOMES = Table(
    "outcomes", "成果", "Outcomes",
    (
        col("kind", "类型", "Kind", _outcome_kind),
        col("occurred_on", "日期", "Date"),
        col("demand_ref", "需求编号", "Demand ref", lambda o, x: o.demand.ref if o.demand else None),
        col("demand_title", "需求标题", "Demand", lambda o, x: o.demand.title if o.demand else None),
        col("party_a", "甲方", "Party A", lambda o, x: loc(o.organization_a, "name")),
        col("party_b", "乙方", "Party B", lambda o, x: loc(o.organization_b, "name")),
        col("value_wan", "金额（万元）", "Value (10,000 yuan)"),
        col("note", "说明", "Note", lambda o, x: loc(o, "note") or None),
        col("recorded_by", "记录人", "Recorded by", lambda o, x: x["recorded_by"]),
    ),
    _load_outcomes,
    filters=("round_id", "status"),
)


# -- the industry map, the gap list and the strengths list (board.services.industry_map) -----
def _map_rows(f: Filters):
    from . import industry_map

    return [(row, {}) for row in industry_map.map_rows(round_id=f.round_id)]


def _gap_rows(f: Filters):
    from . import industry_map

    return [(row, {}) for row in industry_map.gap_rows(round_id=f.round_id, segment=f.segment,
                                                       theme=f.theme)]


#: The strengths export lists every concept the suppliers cover (the screen shows the first).
STRENGTHS_ALL = 100_000


def _strength_rows(f: Filters):
    from . import industry_map

    return [(row, {}) for row in industry_map.strength_rows(limit=STRENGTHS_ALL, segment=f.segment,
                                                            round_id=f.round_id)]


def key(name: str) -> Callable[[dict, dict], Any]:
    return lambda row, x: row.get(name)


MAP = Table(
    "map", "产业图谱", "Industry map",
    (
        col("segment", "产业链环节", "Segment", key("segment_name")),
        col("theme", "技术方向", "Theme", key("theme_name")),
        col("demands", "已发布需求", "Published demands", key("demands")),
        col("capabilities", "登记能力", "Registered capabilities", key("capabilities")),
        col("confirmed_matches", "已确认匹配", "Confirmed matches", key("confirmed_matches")),
    ),
    _map_rows,
    needs="industry_map",
    filters=("round_id",),
    note_zh="每个“环节 × 方向”一行，另有各环节、各方向的合计。",
    note_en="One row per segment × theme, then the totals per segment and per theme.",
)

GAPS = Table(
    "gaps", "补短板清单", "Gap list",
    (
        col("ref", "需求编号", "Demand ref", key("ref")),
        col("title", "需求标题", "Demand", key("title")),
        col("organization", "需求方", "Posted by", key("organization")),
        col("segment", "产业链环节", "Segment", key("segment_name")),
        col("themes", "技术方向", "Themes", key("theme_names")),
        col("round", "征集轮次", "Round", key("round")),
        col("published_on", "发布日期", "Published", key("published_on")),
        col("best_score", "最佳匹配分", "Best score", key("best_score")),
        col("best_capability", "最佳匹配能力", "Best match", key("best_capability")),
        col("best_organization", "最佳匹配机构", "Best match by", key("best_organization")),
        col("missing_concepts", "缺少的技术概念", "Missing concepts", key("missing_concepts")),
    ),
    _gap_rows,
    needs="industry_map",
    filters=("round_id", "segment", "theme"),
    note_zh="最佳匹配弱或没有匹配的已发布需求，每个需求一行。",
    note_en="Published demands whose best match is weak or absent, one row per demand.",
)

STRENGTHS = Table(
    "strengths", "锻长板清单", "Strengths list",
    (
        col("rank", "排名", "Rank", key("rank")),
        col("concept", "技术概念", "Concept", key("concept_name")),
        col("broader", "所属领域", "Field", key("broader_name")),
        col("capabilities", "能力数", "Capabilities", key("capabilities")),
        col("organizations", "供给机构数", "Suppliers", key("organizations")),
        col("confirmed_matches", "已确认匹配", "Confirmed matches", key("confirmed_matches")),
        col("strong_matches", "强匹配", "Strong matches", key("strong_matches")),
    ),
    _strength_rows,
    needs="industry_map",
    filters=("round_id", "segment"),
    note_zh="园区供给方密集且匹配强的技术概念。", note_en="Concepts where the park's suppliers are dense and strong.",
)


# -- the audit log -------------------------------------------------------------------------
def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of a day in the board's time zone, as a UTC time."""
    return dt.datetime.combine(day, dt.time(), rights.zone()).astimezone(dt.UTC)


def audit_query(f: Filters) -> sa.Select:
    """Audit entries, newest first, narrowed by action, actor and dates (the end day included)."""
    q = sa.select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if f.action:
        q = q.where(AuditEntry.action == f.action)
    if f.actor:
        q = q.where(AuditEntry.actor_email == f.actor)
    if f.start:
        q = q.where(AuditEntry.created_at >= _day_start(f.start))
    if f.end:
        q = q.where(AuditEntry.created_at < _day_start(f.end + dt.timedelta(days=1)))
    return q


def _load_audit(f: Filters):
    return [(e, {}) for e in db.session.scalars(audit_query(f))]


def compact(values: dict | None) -> str:
    """Before/after values as one short line: key=value; ..."""
    if not values:
        return ""
    return "; ".join(f"{k}={_short(v)}" for k, v in values.items())


def _short(v) -> str:
    if isinstance(v, dict):
        return "{" + compact(v) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_short(i) for i in v) + "]"
    return "" if v is None else str(v)


AUDIT = Table(
    "audit", "操作日志", "Audit log",
    (
        col("created_at", "时间", "When"),
        col("actor", "操作人", "Who", lambda e, x: e.actor_email),
        col("action", "操作", "Action"),
        col("object_type", "对象类型", "Object type"),
        col("object_id", "对象编号", "Object id"),
        col("before", "之前", "Before", lambda e, x: compact(e.before)),
        col("after", "之后", "After", lambda e, x: compact(e.after)),
    ),
    _load_audit,
    filters=("action", "actor", "start", "end"),
)


# -- organisations -------------------------------------------------------------------------
def organization_query(f: Filters) -> sa.Select:
    """Organisations not merged into another, by name."""
    q = sa.select(Organization).where(Organization.merged_into_id.is_(None)).order_by(Organization.name)
    if f.q:
        like = f"%{f.q.replace('%', '').replace('_', '')[:50]}%"
        q = q.where(sa.or_(Organization.name.ilike(like), Organization.name_en.ilike(like)))
    if f.tag:
        q = q.where(Organization.id.in_(sa.select(organization_tag.c.organization_id)
                                        .where(organization_tag.c.tag == f.tag)))
    if f.status == "verified":
        q = q.where(Organization.verified_at.is_not(None))
    elif f.status == "unverified":
        q = q.where(Organization.verified_at.is_(None))
    return q


TAG_NAMES = {"chain_leader": ("链长单位", "chain leader"),
             "investment_target": ("招商目标", "investment target"),
             "alliance_member": ("联盟成员", "alliance member")}


def tags_of(org_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for part in _chunked(org_ids):
        for org_id, tag in db.session.execute(
            sa.select(organization_tag.c.organization_id, organization_tag.c.tag)
            .where(organization_tag.c.organization_id.in_(part))
            .order_by(organization_tag.c.tag)
        ):
            out.setdefault(org_id, []).append(tag)
    return out


def _load_organizations(f: Filters):
    orgs = db.session.scalars(organization_query(f)).all()
    ids = [o.id for o in orgs]
    counts = {}
    for name, model in (("users", User), ("demands", Demand), ("capabilities", Capability),
                        ("replies", Reply)):
        query = sa.select(model.organization_id, sa.func.count()).group_by(model.organization_id)
        if model is Demand:
            query = query.where(Demand.status != DemandStatus.DRAFT)
        counts[name] = _grouped(lambda part, q=query, m=model: q.where(m.organization_id.in_(part)), ids)
    segments: dict[int, set[str]] = {}
    for model in (Demand, Capability):
        for part in _chunked(ids):
            for org_id, code in db.session.execute(
                sa.select(model.organization_id, model.segment_code).distinct()
                .where(model.organization_id.in_(part), model.segment_code.is_not(None))
            ):
                segments.setdefault(org_id, set()).add(code)
    from .records import all_segments

    seg = {s.code: s for s in all_segments()}
    tags = tags_of(ids)
    # The directory profile: the segments it chose (else those of its records), credentials
    # and references.
    from . import directory

    chosen, creds, refs = {}, {}, {}
    for part in _chunked(ids):
        chosen.update(directory.segments_of(part))
        creds.update(directory.credentials_of(part))
        refs.update({k: len(v) for k, v in directory.references_of(part).items()})
    return [(o, {
        "counts": {k: v.get(o.id, 0) for k, v in counts.items()},
        "segments": chosen.get(o.id) or [
            seg[c] for c in sorted(segments.get(o.id, ()), key=lambda c: seg[c].position) if c in seg],
        "tags": tags.get(o.id, []),
        "credentials": creds.get(o.id, []),
        "references": refs.get(o.id, 0),
    }) for o in orgs]


def _credential_cells(o, x) -> list[str]:
    """Each credential as "type, valid until date (expired), verified"."""
    from flask_babel import gettext

    from . import directory

    today = rights.today()
    out = []
    for c in x["credentials"]:
        name = c.name if c.type.value == "other" and c.name else str(directory.CREDENTIAL_LABELS[c.type])
        if c.sil_level:
            name += f" SIL {c.sil_level}"
        text = f"{name} {gettext('until %(date)s', date=c.valid_until.isoformat())}"
        if c.valid_until < today:
            text += f" ({gettext('expired')})"
        if c.checked_at:
            text += f" ✓ {gettext('Verified by the park')}"
        out.append(text)
    return out


def _tag_names(o, x) -> list[str]:
    en = i18n.lang() == "en"
    return [TAG_NAMES.get(t, (t, t))[1 if en else 0] for t in x["tags"]]


ORGANIZATIONS = Table(
    "organizations", "机构", "Organisations",
    (
        col("name", "名称", "Name"),
        col("name_en", "英文名称", "English name"),
        col("kind", "类型", "Kind", lambda o, x: o.kind if isinstance(o.kind, OrgKind) else None),
        col("segments", "产业链环节", "Segments", lambda o, x: _names(x["segments"])),
        col("tags", "标签", "Tags", _tag_names),
        col("district", "所在区", "District"),
        col("credentials", "资质证书", "Credentials", _credential_cells),
        col("references", "业绩数", "References", lambda o, x: x["references"]),
        col("alliance_member", "联盟成员", "Alliance member", lambda o, x: "alliance_member" in x["tags"]),
        col("verified", "已核实", "Verified", lambda o, x: o.verified_at is not None),
        col("verified_at", "核实时间", "Verified on"),
        col("users", "账号数", "Accounts", lambda o, x: x["counts"]["users"]),
        col("demands", "需求数", "Demands", lambda o, x: x["counts"]["demands"]),
        col("capabilities", "能力数", "Capabilities", lambda o, x: x["counts"]["capabilities"]),
        col("replies", "回复数", "Replies", lambda o, x: x["counts"]["replies"]),
        col("website", "网站", "Website"),
    ),
    _load_organizations,
    filters=("q", "tag", "status"),
)


TABLES: dict[str, Table] = {t.kind: t for t in (
    DEMANDS, CAPABILITIES, MATCHES, REPLIES, OUTCOMES, MAP, GAPS, STRENGTHS, AUDIT, ORGANIZATIONS)}

#: The values each status filter takes, per kind.
STATUSES = {
    "demands": [s.value for s in DemandStatus if s != DemandStatus.DRAFT],
    "matches": [s.value for s in MatchStatus],
    "replies": [s.value for s in ReplyStatus],
    "outcomes": [k.value for k in OutcomeKind],
    "organizations": ["verified", "unverified"],
}


def get(kind: str) -> Table | None:
    return TABLES.get(kind)


def rounds() -> list[Round]:
    """The collection rounds, newest first (for the round filter)."""
    return list(db.session.scalars(
        sa.select(Round).order_by(Round.opens_on.desc().nulls_last(), Round.id.desc())))


def filename(kind: str, fmt: str, filters: Filters | None = None, today: dt.date | None = None) -> str:
    """A dated file name, such as demands-round3-20240301.xlsx."""
    today = today or rights.today()
    parts = [kind]
    if filters and filters.round_id:
        parts.append(f"round{filters.round_id}")
    parts.append(today.strftime("%Y%m%d"))
    return "-".join(parts) + f".{fmt}"

