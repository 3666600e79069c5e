"""The data model (SQLAlchemy 2, typed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class JSONText(sa.TypeDecorator):
    """JSON stored as text, portable across SQLite and PostgreSQL."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


def _enum(enum_cls) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


class Role(StrEnum):
    COMPANY = "company"
    SUPPLIER = "supplier"
    #: A member of a firm on both sides of the chain: posts demands and offers capabilities.
    BOTH = "both"
    STAFF = "staff"


class OrgKind(StrEnum):
    ENTERPRISE = "enterprise"
    UNIVERSITY = "university"
    ALLIANCE = "alliance"
    PARK = "park"
    OTHER = "other"


class DemandStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    CLOSED = "closed"


class Visibility(StrEnum):
    PUBLIC = "public"
    ANONYMOUS = "anonymous"


class ReplyStatus(StrEnum):
    SENT = "sent"
    SHORTLISTED = "shortlisted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class RevisionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"
    DISCARDED = "discarded"


class MatchStatus(StrEnum):
    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class OutcomeKind(StrEnum):
    MEETING = "meeting"
    AGREEMENT = "agreement"


class Cooperation(StrEnum):
    """The form of cooperation a supplier proposes in a reply."""

    JOINT_RD = "joint_rd"
    SUPPLY = "supply"
    PILOT = "pilot"
    TRAINING = "training"
    OTHER = "other"


class DeclineReason(StrEnum):
    NOT_A_FIT = "not_a_fit"
    TOO_EARLY = "too_early"
    COST = "cost"
    PARTNER_CHOSEN = "partner_chosen"
    OTHER = "other"


class MeetingStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    HELD = "held"


class MailStatus(StrEnum):
    QUEUED = "queued"  # waiting for the sender (``flask send-mail``)
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry
    OUTBOX = "outbox"  # no mail server configured: kept for staff to read


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # nosec B105  # a token purpose's name, not a password
    EMAIL_CHANGE = "email_change"
    ADDRESS_CHECK = "address_check"  # a new account's address, before its first sign-in


class Organization(db.Model):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind), default=OrgKind.ENTERPRISE)
    country: Mapped[str | None] = mapped_column(sa.String(2))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    event_role: Mapped[str | None] = mapped_column(sa.Text)
    event_role_en: Mapped[str | None] = mapped_column(sa.Text)
    is_illustrative: Mapped[bool] = mapped_column(default=False)
    provenance: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Staff checked who this organisation is (approved on the board).
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL", use_alter=True)
    )
    #: Set when staff merged this organisation into another (its records moved there).
    merged_into_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="SET NULL")
    )
    # -- the directory profile (issue 13) --
    district: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    size_band: Mapped[str | None] = mapped_column(sa.String(20))
    #: Who may open the profile: "public", "members" (signed in) or "staff".
    profile_visibility: Mapped[str] = mapped_column(
        sa.String(10), default="members", server_default="members"
    )
    #: The re-encoded logo's generated file name under UPLOAD_DIR/logos.
    logo_key: Mapped[str | None] = mapped_column(sa.String(80))
    contact_name: Mapped[str | None] = mapped_column(sa.String(100))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(40))
    #: Per profile fact, where it comes from: "article" (the event report) or "illustrative".
    fact_sources: Mapped[dict | None] = mapped_column(JSONText)
    profile_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)

    users: Mapped[list[User]] = relationship(
        back_populates="organization", foreign_keys="User.organization_id"
    )

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name!r}>"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    display_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[Role] = mapped_column(_enum(Role))
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the owner proved the address through a mailed link. Accounts made by staff, the
    #: seed or the CLI count as confirmed; one made by sign-up signs in only once it is.
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Notice kinds the user does not want by e-mail (they still appear in the app).
    email_muted: Mapped[list | None] = mapped_column(JSONText)
    #: Gather a day's notices into one e-mail instead of one e-mail each.
    email_digest: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    organization: Mapped[Organization | None] = relationship(
        back_populates="users", foreign_keys=[organization_id]
    )

    #: The login session this user object was loaded through (set by the loader).
    session_token = None

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str | None:  # Flask-Login stores the session token, not the user id
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class LoginSession(db.Model):
    """A server-side record of one sign-in; revoking it ends that session."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The last request seen (kept to the minute), for the idle timeout.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class Event(db.Model):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    name_en: Mapped[str | None] = mapped_column(sa.String(300))
    banner: Mapped[str | None] = mapped_column(sa.String(200))
    banner_en: Mapped[str | None] = mapped_column(sa.String(200))
    held_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    location: Mapped[str | None] = mapped_column(sa.String(200))
    location_en: Mapped[str | None] = mapped_column(sa.String(200))
    summary: Mapped[str | None] = mapped_column(sa.Text)
    summary_en: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.Text)
    provenance: Mapped[str | None] = mapped_column(sa.Text)

    rounds: Mapped[list[Round]] = relationship(back_populates="event", order_by="Round.opens_on")


class Round(db.Model):
    """A collection round: demands are gathered between two dates."""

    __tablename__ = "collection_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("event.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    opens_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    closes_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    description: Mapped[str | None] = mapped_column(sa.Text)
    description_en: Mapped[str | None] = mapped_column(sa.Text)
    #: The segments and themes the round calls for (codes); empty means all.
    segments: Mapped[list | None] = mapped_column(JSONText)
    themes: Mapped[list | None] = mapped_column(JSONText)
    provenance: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event | None] = relationship(back_populates="rounds")


class RoundMove(db.Model):
    """A demand carried from one round into the next when the first closed (history)."""

    __tablename__ = "round_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(
        sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True
    )
    from_round_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("collection_round.id", ondelete="SET NULL")
    )
    to_round_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("collection_round.id", ondelete="SET NULL")
    )
    moved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    moved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrgTag(StrEnum):
    CHAIN_LEADER = "chain_leader"  # 链长单位
    INVESTMENT_TARGET = "investment_target"  # 招商目标
    ALLIANCE_MEMBER = "alliance_member"  # member of the industry alliance


organization_tag = sa.Table(
    "organization_tag",
    db.metadata,
    sa.Column(
        "organization_id", sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(30), primary_key=True),
)


class AuditEntry(db.Model):
    """One staff action: who, when, what, and the values before and after. Never edited."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    #: The actor's e-mail at the time (kept if the account is later removed).
    actor_email: Mapped[str | None] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[int | None] = mapped_column()
    before: Mapped[dict | None] = mapped_column(JSONText)
    after: Mapped[dict | None] = mapped_column(JSONText)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()


class Segment(db.Model):
    """A link of the industry chain (design, construction, equipment, operation, control)."""

    __tablename__ = "segment"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    short: Mapped[str] = mapped_column(sa.String(10))
    position: Mapped[int] = mapped_column(default=0)


class Theme(db.Model):
    """A technology theme announced by the industry alliance."""

    __tablename__ = "theme"

    code: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str | None] = mapped_column(sa.Text)
    description_en: Mapped[str | None] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0)


demand_theme = sa.Table(
    "demand_theme",
    db.metadata,
    sa.Column("demand_id", sa.ForeignKey("demand.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("theme_code", sa.ForeignKey("theme.code"), primary_key=True),
)

capability_theme = sa.Table(
    "capability_theme",
    db.metadata,
    sa.Column(
        "capability_id", sa.ForeignKey("capability.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("theme_code", sa.ForeignKey("theme.code"), primary_key=True),
)


class MatchableMixin:
    """Fields shared by demands and capabilities: the texts the engine reads."""

    ref: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    keywords: Mapped[str] = mapped_column(sa.Text, default="")
    segment_code: Mapped[str | None] = mapped_column(sa.ForeignKey("segment.code"), index=True)
    contact_name: Mapped[str | None] = mapped_column(sa.String(100))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    is_illustrative: Mapped[bool] = mapped_column(default=False)
    provenance: Mapped[str | None] = mapped_column(sa.Text)
    #: Normalised and segmented forms, computed when the record is saved.
    analysis: Mapped[dict | None] = mapped_column(JSONText, deferred=True)
    analysis_version: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def keyword_list(self) -> list[str]:
        return [k for k in (self.keywords or "").split("\n") if k.strip()]

    @property
    def theme_codes(self) -> list[str]:
        return sorted(t.code for t in self.themes)


class Demand(MatchableMixin, db.Model):
    __tablename__ = "demand"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collection_round.id"), index=True)
    status: Mapped[DemandStatus] = mapped_column(
        _enum(DemandStatus), default=DemandStatus.DRAFT, index=True
    )
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility), default=Visibility.PUBLIC)
    deadline: Mapped[dt.date | None] = mapped_column(sa.Date, index=True)
    return_reason: Mapped[str | None] = mapped_column(sa.Text)
    close_reason: Mapped[str | None] = mapped_column(sa.Text)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
    author: Mapped[User | None] = relationship()
    round: Mapped[Round | None] = relationship()
    segment: Mapped[Segment | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=demand_theme, order_by=Theme.position)
    replies: Mapped[list[Reply]] = relationship(
        back_populates="demand", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (sa.Index("ix_demand_status_published", "status", "published_at"),)

    @property
    def is_anonymous(self) -> bool:
        return self.visibility == Visibility.ANONYMOUS

    @property
    def was_published(self) -> bool:
        """Published now, or closed after it was published."""
        return self.published_at is not None and self.status in (
            DemandStatus.PUBLISHED,
            DemandStatus.CLOSED,
        )

    def __repr__(self) -> str:
        return f"<Demand {self.id} {self.ref} {self.status}>"


class DemandRevision(db.Model):
    """Changes to a published demand, waiting for staff review; the published text stays
    public until they are approved."""

    __tablename__ = "demand_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(
        sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    #: The proposed fields, as a form sends them (dates as ISO text).
    data: Mapped[dict[str, Any]] = mapped_column(JSONText)
    status: Mapped[RevisionStatus] = mapped_column(
        _enum(RevisionStatus), default=RevisionStatus.PENDING, index=True
    )
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )

    demand: Mapped[Demand] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Capability(MatchableMixin, db.Model):
    __tablename__ = "capability"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    organization: Mapped[Organization] = relationship()
    author: Mapped[User | None] = relationship()
    segment: Mapped[Segment | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=capability_theme, order_by=Theme.position)

    def __repr__(self) -> str:
        return f"<Capability {self.id} {self.ref}>"


class Reply(db.Model):
    """A supplier's expression of interest in a demand."""

    __tablename__ = "reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    capability_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("capability.id", ondelete="SET NULL")
    )
    fit: Mapped[str] = mapped_column(sa.Text)
    cases: Mapped[str | None] = mapped_column(sa.Text)
    #: Technology readiness level, 1-9.
    trl: Mapped[int | None] = mapped_column(sa.SmallInteger)
    cooperation: Mapped[Cooperation | None] = mapped_column(_enum(Cooperation))
    contact_name: Mapped[str] = mapped_column(sa.String(100))
    contact_email: Mapped[str] = mapped_column(sa.String(254))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[ReplyStatus] = mapped_column(
        _enum(ReplyStatus), default=ReplyStatus.SENT, index=True
    )
    decline_reason: Mapped[DeclineReason | None] = mapped_column(_enum(DeclineReason))
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: A PDF the supplier attached: the name it had, and the generated name it is stored under.
    attachment_name: Mapped[str | None] = mapped_column(sa.String(200))
    attachment_key: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    attachment_size: Mapped[int | None] = mapped_column()
    #: When the company first opened it (the supplier may edit it until then).
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    demand: Mapped[Demand] = relationship(back_populates="replies")
    organization: Mapped[Organization] = relationship()
    author: Mapped[User | None] = relationship()
    capability: Mapped[Capability | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("demand_id", "organization_id"),)


class Invitation(db.Model):
    """A company (or staff on its behalf) asks a supplier to reply to a demand."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    capability_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("capability.id", ondelete="SET NULL")
    )
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    demand: Mapped[Demand] = relationship()
    organization: Mapped[Organization] = relationship()
    capability: Mapped[Capability | None] = relationship()
    invited_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("demand_id", "organization_id"),)


class Message(db.Model):
    """One message in the thread of a reply, between the company and the supplier."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reply.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    #: The side it was written from: "company" or "supplier" (or "staff").
    side: Mapped[str] = mapped_column(sa.String(10))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    reply: Mapped[Reply] = relationship()
    author: Mapped[User | None] = relationship()


class Meeting(db.Model):
    """A meeting one side proposes (one to three times) and the other accepts or declines."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reply.id", ondelete="CASCADE"), index=True
    )
    proposed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    #: The side that proposed it: "company" or "supplier".
    side: Mapped[str] = mapped_column(sa.String(10))
    #: Proposed start times, ISO 8601 in UTC, one to three.
    options: Mapped[list] = mapped_column(JSONText)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    place: Mapped[str | None] = mapped_column(sa.String(300))
    online_link: Mapped[str | None] = mapped_column(sa.String(500))
    note: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[MeetingStatus] = mapped_column(
        _enum(MeetingStatus), default=MeetingStatus.PROPOSED, index=True
    )
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    answered_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    reply: Mapped[Reply] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])


class Notification(db.Model):
    """A notice in a user's in-app list; rendered in the reader's language from kind+params."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSONText)
    link: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Set when a digest e-mail carried it (digest users get no e-mail per notice).
    digested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (sa.Index("ix_notification_user_read", "user_id", "read_at"),)


class OutboundMail(db.Model):
    """An e-mail queued in the same transaction as what caused it; ``send-mail`` sends it."""

    __tablename__ = "outbound_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    to_email: Mapped[str] = mapped_column(sa.String(254))
    kind: Mapped[str] = mapped_column(sa.String(40))
    lang: Mapped[str] = mapped_column(sa.String(8))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[MailStatus] = mapped_column(
        _enum(MailStatus), default=MailStatus.QUEUED, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AccountToken(db.Model):
    """A single-use, expiring token sent by e-mail (password reset, e-mail change)."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(_enum(TokenPurpose))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Match(db.Model):
    """A stored suggestion: one capability for one demand, with score and reasons."""

    __tablename__ = "match"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"))
    capability_id: Mapped[int] = mapped_column(
        sa.ForeignKey("capability.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(sa.Float)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSONText)
    status: Mapped[MatchStatus] = mapped_column(_enum(MatchStatus), default=MatchStatus.SUGGESTED)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Why staff dismissed it (shown to staff only).
    dismiss_reason: Mapped[str | None] = mapped_column(sa.Text)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    demand: Mapped[Demand] = relationship()
    capability: Mapped[Capability] = relationship()
    reviewed_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("demand_id", "capability_id"),
        # a demand's matches best first; the review queue's matches by status, best first
        sa.Index("ix_match_demand_score", "demand_id", "score"),
        sa.Index("ix_match_status_score", "status", "score"),
    )


class MatchKey(db.Model):
    """Inverted index for candidate generation: which records carry which concept or term."""

    __tablename__ = "match_key"

    side: Mapped[str] = mapped_column(sa.String(1), primary_key=True)  # "d" or "c"
    key: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True)
    weight: Mapped[float] = mapped_column(sa.Float)

    __table_args__ = (sa.Index("ix_match_key_record", "side", "record_id"),)


class IndexRebuild(db.Model):
    """One full rebuild of the matching index and of every active demand's matches."""

    __tablename__ = "index_rebuild"

    id: Mapped[int] = mapped_column(primary_key=True)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    seconds: Mapped[float] = mapped_column(sa.Float)
    demands: Mapped[int] = mapped_column()
    capabilities: Mapped[int] = mapped_column()
    lexicon_version: Mapped[str] = mapped_column(sa.String(80))


class Outcome(db.Model):
    """A meeting held or an agreement signed between two organisations."""

    __tablename__ = "outcome"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutcomeKind] = mapped_column(_enum(OutcomeKind))
    demand_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("demand.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("event.id"), index=True)
    organization_a_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))
    organization_b_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))
    occurred_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: The reply (and meeting) it came from, when it happened through the board.
    reply_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reply.id", ondelete="SET NULL"), index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="SET NULL")
    )
    #: The agreement's value in 10,000 yuan (万元), when the parties give it.
    value_wan: Mapped[float | None] = mapped_column(sa.Numeric(14, 2, asdecimal=False))
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(sa.Text)
    note_en: Mapped[str | None] = mapped_column(sa.Text)
    provenance: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    demand: Mapped[Demand | None] = relationship()
    event: Mapped[Event | None] = relationship()
    organization_a: Mapped[Organization] = relationship(foreign_keys=[organization_a_id])
    organization_b: Mapped[Organization] = relationship(foreign_keys=[organization_b_id])


class CustomConcept(db.Model):
    """A concept staff added to the lexicon from the admin view."""

    __tablename__ = "custom_concept"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    broader: Mapped[str | None] = mapped_column(sa.String(80))
    label_zh: Mapped[str] = mapped_column(sa.String(100))
    label_en: Mapped[str] = mapped_column(sa.String(100))
    segments: Mapped[str] = mapped_column(sa.String(100), default="")
    themes: Mapped[str] = mapped_column(sa.String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomTerm(db.Model):
    """A term staff attached to a concept (built-in or custom)."""

    __tablename__ = "custom_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    concept_key: Mapped[str] = mapped_column(sa.String(80), index=True)
    term: Mapped[str] = mapped_column(sa.String(100))
    lang: Mapped[str] = mapped_column(sa.String(4))  # zh, en or abbr
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("concept_key", "term"),)


# -- the directory: profiles, credentials, references, bookmarks, notes (issue 13) ---------
class ProfileVisibility(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"  # signed-in members and staff
    STAFF = "staff"  # park staff (and the organisation itself)


class SizeBand(StrEnum):
    MICRO = "micro"  # fewer than 20 people
    SMALL = "small"  # 20-99
    MEDIUM = "medium"  # 100-999
    LARGE = "large"  # 1,000 or more


class CredentialType(StrEnum):
    CRCC = "crcc"  # China Railway Test & Certification Centre product certificate
    IRIS = "iris"  # IRIS / ISO/TS 22163 railway quality management
    ISO9001 = "iso9001"
    EN5012X = "en5012x"  # EN 50126/50128/50129 safety, with a SIL level
    GB_TB = "gb_tb"  # GB/T or TB/T conformity
    HIGH_TECH = "high_tech"  # national high-tech enterprise
    OTHER = "other"


organization_segment = sa.Table(
    "organization_segment",
    db.metadata,
    sa.Column(
        "organization_id", sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("segment_code", sa.ForeignKey("segment.code"), primary_key=True, index=True),
)

organization_theme = sa.Table(
    "organization_theme",
    db.metadata,
    sa.Column(
        "organization_id", sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("theme_code", sa.ForeignKey("theme.code"), primary_key=True, index=True),
)


class Credential(db.Model):
    """A certificate an organisation holds; staff may check it (edited: unchecked again)."""

    __tablename__ = "credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[CredentialType] = mapped_column(_enum(CredentialType))
    #: Safety integrity level 1-4 (EN 50126/50128/50129 only).
    sil_level: Mapped[int | None] = mapped_column(sa.SmallInteger)
    name: Mapped[str | None] = mapped_column(sa.String(200))  # what "other" is
    number: Mapped[str | None] = mapped_column(sa.String(100))
    issuer: Mapped[str | None] = mapped_column(sa.String(200))
    valid_until: Mapped[dt.date] = mapped_column(sa.Date)
    checked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_illustrative: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    checked_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_credential_type_valid", "type", "valid_until"),)

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_until is not None and self.valid_until >= day


class Reference(db.Model):
    """A project an organisation delivered: for whom (or "a client in the sector"), when, what."""

    __tablename__ = "reference"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    project: Mapped[str] = mapped_column(sa.String(200))
    #: The client's name; None: "a client in the sector".
    client: Mapped[str | None] = mapped_column(sa.String(200))
    year: Mapped[int | None] = mapped_column(sa.SmallInteger)
    delivered: Mapped[str] = mapped_column(sa.Text, default="")
    checked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_illustrative: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    checked_by: Mapped[User | None] = relationship()


class Bookmark(db.Model):
    """An organisation keeps another (a supplier) on its list."""

    __tablename__ = "bookmark"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE")
    )
    target_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    target: Mapped[Organization] = relationship(foreign_keys=[target_id])

    __table_args__ = (sa.UniqueConstraint("organization_id", "target_id"),)


class OrgNote(db.Model):
    """A private note about an organisation: its author's organisation reads it, or, written
    by staff (``organization_id`` empty), staff alone."""

    __tablename__ = "org_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class ProfileView(db.Model):
    """How many times a profile was opened in a week (a count, never who)."""

    __tablename__ = "profile_view"

    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    week: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)  # the week's Monday
    count: Mapped[int] = mapped_column(default=0)


class OrganizationKey(db.Model):
    """Index keys of a profile's own text (name, description), as the engine files records."""

    __tablename__ = "organization_key"

    key: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    weight: Mapped[float] = mapped_column(sa.Float)


class ThrottleCounter(db.Model):
    """One throttle counter for one window (the database store of board/throttle.py; Redis
    holds them instead when REDIS_URL is set). The key holds no address or e-mail in clear."""

    __tablename__ = "throttle_counter"

    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(db.Model):
    """Long work run outside the web request (board/services/jobs.py): a rematch, an import,
    sending mail. Staff see its state, progress and failure."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    state: Mapped[JobState] = mapped_column(_enum(JobState), default=JobState.QUEUED, index=True)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()


class JobLock(db.Model):
    """One job of a kind at a time across every worker and server (the database lock; Redis
    holds it instead when REDIS_URL is set). A lock past ``expires_at`` was left by a worker
    that died and may be taken over."""

    __tablename__ = "job_lock"

    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    job_id: Mapped[int | None] = mapped_column(sa.Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
