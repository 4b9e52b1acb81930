"""Tables of the read model. Workflows own the truth of a petition's clock; these rows are its
projection (for lists and reports), the intake record with the citizen's data, the org
directory and the outbox of notices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, on SQLite (which stores none) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store UTC-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Unit(Base):
    """A responsible unit (责任单位): township, county department, or the bureau itself."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Sign-in (登录): an Argon2 hash, never the password. None: this person cannot sign in.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # True while the password is the dev-mode "demo" one: outside dev mode the API refuses to
    # start while any account still has it.
    default_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Access tokens issued before this moment are refused: a new password ends every session.
    password_changed_at: Mapped[datetime | None]
    # A service account (服务账号) of an integration: its role (系统对接), held without a post.
    # None: a person. A service account never signs in with a password; API keys act as one.
    service_role: Mapped[str | None] = mapped_column(String(32))
    # Where notices reach them (issue 11): ``phone`` is the office phone (办公电话); SMS goes to
    # ``mobile`` (手机). Quiet hours "HH:MM-HH:MM" Beijing time (None: 22:00-07:00), and the
    # channels per notice kind they chose ({"reminder": ["email", "sms"]}; None: the defaults,
    # domain/routing.py).
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(32))
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    channel_preferences: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ChatGroup(Base):
    """A group chat (工作群) and its robots: a unit's own group (``unit_id`` set, the id is the
    unit's), or a named group that is no unit (乡镇书记群, 局长群) for the daily report. The
    URLs and the DingTalk secret are credentials: the API shows them masked."""

    __tablename__ = "chat_groups"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), unique=True)
    wecom_url: Mapped[str | None] = mapped_column(String(500))
    dingtalk_url: Mapped[str | None] = mapped_column(String(500))
    dingtalk_secret: Mapped[str | None] = mapped_column(String(200))


class Post(Base):
    """Who holds which post in which unit. ``rank`` orders a unit's handlers: the first is the
    one who receives the assignment slip."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("unit_id", "role", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    rank: Mapped[int] = mapped_column(Integer, default=0)


class PostTerm(Base):
    """The history of the directory (任职记录): one row per person's term in a post, so the
    record shows who was accountable when, long after a leader has been replaced. ``posts``
    holds the current holders; a term without ``ended_at`` is one of them."""

    __tablename__ = "post_terms"
    __table_args__ = (Index("ix_post_terms_unit_role", "unit_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ApiKey(Base):
    """An API key of a system integration (系统对接), acting as its directory person. Only a
    SHA-256 of the key is kept: the key itself is shown once, when it is issued."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # to recognise a key in lists, not to use it
    name: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Who issued it (their username): the audit trail names them beside every use of the key.
    issued_by: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    """A refresh token issued at sign-in, kept as a SHA-256. Each is good once: using it issues
    a new pair, and using it twice revokes every token of the person (a stolen copy)."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_person", "person_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The sign-in this token descends from: refreshing never carries a session past
    # ``session_max_hours`` from it. None on tokens issued before it was kept: ``issued_at``.
    session_started_at: Mapped[datetime | None]


class SignInCounter(Base):
    """The sign-in throttle: attempts per scope (a username, a client address, everyone) in
    the current window, counted by one atomic upsert before the password is verified."""

    __tablename__ = "sign_in_counters"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)


def _partial(name: str, where: str, *columns: str) -> Index:
    """An index of the rows ``where`` holds (SQLite spells true as 1)."""
    return Index(
        name,
        *columns,
        postgresql_where=text(where),
        sqlite_where=text(where.replace(" IS true", " IS 1")),
    )


# What the reports count of a petition (store/report_facts.py), beside its registration time.
REPORTED = (
    "channel",
    "persons",
    "destination_level",
    "unit_id",
    "category",
    "track",
    "first_time",
    "stage",
    "phase",
    "accepted_at",
    "unaccepted_overdue",
    "completed_at",
    "handling_overdue",
    "rating",
    "closure",
)


class Petition(Base):
    __tablename__ = "petitions"
    __table_args__ = (
        Index("ix_petitions_stage_unit", "stage", "unit_id"),
        # A unit's list in list order; its level beside it for the counts by unit and level.
        Index(
            "ix_petitions_unit_recent",
            "unit_id",
            "registered_at",
            "id",
            postgresql_include=["level"],
        ),
        # Supervisors' lists (migration 0017): each index ends in the lists' order, newest
        # first, so a page is a range of it; flags and rare columns index only the rows that
        # carry them, since a projected step (never a HOT update) writes every index it meets.
        Index("ix_petitions_recent", "registered_at", "id"),
        Index("ix_petitions_category_recent", "category", "registered_at", "id"),
        _partial("ix_petitions_overdue_recent", "overdue IS true", "registered_at", "id"),
        _partial(
            "ix_petitions_unaccepted_overdue", "unaccepted_overdue IS true", "registered_at", "id"
        ),
        Index(
            "ix_petitions_next_due",
            "next_due_at",
            postgresql_where=text("next_due_at IS NOT NULL"),
            sqlite_where=text("next_due_at IS NOT NULL"),
            postgresql_include=["registered_at", "id"],  # the rows due soon in list order
        ),
        _partial("ix_petitions_owner", "owner_id IS NOT NULL", "owner_id"),
        _partial("ix_petitions_handling_unit", "handling_unit_id IS NOT NULL", "handling_unit_id"),
        # The reports' counts (issue 13) read these columns only: on PostgreSQL an index-only
        # scan of them, not of the wide rows (the intake's texts, the policy, the deadlines),
        # a month's some 2,500 pages (migration 0019 added what the 月报's per-unit count reads).
        Index(
            "ix_petitions_report_series",
            "registered_at",
            postgresql_include=list(REPORTED),
        ),
        # The 巡查's overdue list, each unit's most urgent first, from the overdue rows alone.
        Index(
            "ix_petitions_overdue_listed",
            "unit_id",
            "registered_at",
            "id",
            postgresql_where=text("overdue IS true"),
            sqlite_where=text("overdue IS 1"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Intake (登记): the citizen's data lives here, never in workflow histories.
    channel: Mapped[str] = mapped_column(String(32))
    petitioner_name: Mapped[str] = mapped_column(String(100))
    petitioner_phone: Mapped[str] = mapped_column(String(32))
    petitioner_id_number: Mapped[str | None] = mapped_column(String(32))  # 身份证号, optional
    persons: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    # None while registered at the bureau, before assignment (交办).
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    track: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime]
    policy_version: Mapped[str] = mapped_column(String(128))
    # The policy the petition started with ({"book": …, "day_seconds": …}), so a workflow
    # started late (after a crash between registration and start) runs on the terms the
    # petition was registered under.
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    # 重复件: the terminated petition (三级终结) of the same petitioner on the same matter.
    repeat_of: Mapped[str | None] = mapped_column(String(32))
    # Which rule matched it (id_number+category, phone+category), and the new facts and reasons
    # (新的事实和理由) the bureau recorded to run it again all the same.
    repeat_rule: Mapped[str | None] = mapped_column(String(32))
    new_facts: Mapped[str | None] = mapped_column(Text)
    # What the reports count of the intake (issue 13, domain.report_rules): where a visit went
    # (到县/到市/赴省/进京访), 初信初访 (else a 重复信访), and the 重点信访人 flag.
    destination_level: Mapped[str] = mapped_column(String(16), server_default="county")
    first_time: Mapped[bool] = mapped_column(Boolean, server_default=true())
    key_petitioner: Mapped[bool] = mapped_column(Boolean, server_default=false())
    workflow_started: Mapped[bool] = mapped_column(Boolean, default=False)
    # Projection of the workflow's live state.
    stage: Mapped[str] = mapped_column(String(32))
    phase: Mapped[str] = mapped_column(String(16), default="handling")
    level: Mapped[int | None] = mapped_column(Integer)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    # 逾期未受理: left unaccepted past the statutory limit (set by the workflow at the limit).
    unaccepted_overdue: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The unit that handled the first round (办理) and whether it went overdue there: during
    # 复查/复核 the petition is at the review body, and this stays on the handling unit's books.
    handling_unit_id: Mapped[str | None] = mapped_column(String(64))
    handling_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    accountable: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # 包案领导
    owner_id: Mapped[str | None] = mapped_column(String(64))  # who owns it, for their lists
    closure: Mapped[str | None] = mapped_column(String(32))
    rating: Mapped[str | None] = mapped_column(String(32))
    extension: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    uploaded: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    reply: Mapped[str | None] = mapped_column(Text)
    deadlines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The nearest pending deadline, so "due soon" is an indexed query, not a scan of JSON.
    next_due_at: Mapped[datetime | None]
    projected_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (UniqueConstraint("petition_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    petition_id: Mapped[str] = mapped_column(ForeignKey("petitions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(32))
    person_id: Mapped[str | None] = mapped_column(String(64))
    person_name: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class Notice(Base):
    """The outbox (三单): one row per petition and step key, so a retried step writes nothing."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("petition_id", "key"),
        Index("ix_notices_recipient", "recipient_id", "signed_at"),  # the inbox, unsigned first
        # The 巡查's slips not signed for: the few unsigned notices, not the whole outbox.
        Index(
            "ix_notices_unsigned",
            "created_at",
            "id",
            postgresql_where=text("signed_at IS NULL"),
            sqlite_where=text("signed_at IS NULL"),
        ),
        UniqueConstraint("kind", "serial_year", "serial", name="uq_notices_number"),
        # The outbox's notices not yet routed to their channels (patch deliveries-outboxed):
        # the few the notices' process has still to look up, not the whole table.
        Index(
            "ix_notices_to_route",
            "id",
            postgresql_where=text("to_route IS true"),
            sqlite_where=text("to_route IS 1"),
        ),
        # The 督办单 whose 签收 the notices' process still awaits (migration 0021).
        Index(
            "ix_notices_sign_by",
            "sign_by",
            postgresql_where=text("sign_by IS NOT NULL"),
            sqlite_where=text("sign_by IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    petition_id: Mapped[str] = mapped_column(ForeignKey("petitions.id"), index=True)
    key: Mapped[str] = mapped_column(String(96))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[int | None] = mapped_column(Integer)
    recipient_id: Mapped[str] = mapped_column(String(64))
    recipient_name: Mapped[str] = mapped_column(String(100))
    recipient_role: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # The first delivery on any channel (送达); None while it is in the inbox only.
    delivered_at: Mapped[datetime | None]
    # 签收: when the recipient acknowledged it in their inbox (issue 11).
    signed_at: Mapped[datetime | None]
    # The county's yearly number (文号, domain.slips): its year and serial, taken in the
    # transaction that writes the slip. None for the kinds that carry none.
    serial_year: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(Integer)
    # The deadline the slip asks to be met, as it stood when the slip was issued.
    deadline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Written by a step on the outbox path (migration 0018): the notices' process has still to
    # look up its channels and write its delivery rows; None once done, and for older paths.
    to_route: Mapped[bool | None] = mapped_column(Boolean)
    # The patch signatures-watched-in-outbox (migration 0021): not signed for by then, the
    # notices' process writes its 催办; None once looked at, and for the kinds signed without.
    sign_by: Mapped[datetime | None]


_DUE = "status = 'pending' AND due_at IS NOT NULL"


class NoticeDelivery(Base):
    """One notice on one channel (送达记录): at most one row each, so a retried or repeated
    delivery finds what was done before sending again (issue 11)."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "channel"),
        Index("ix_notice_deliveries_status", "status"),
        # The outbox's rows still to send (since the patch ``deliveries-outboxed``), by when due:
        # the drainer's claim (activities/outbox.py) reads only these.
        Index(
            "ix_notice_deliveries_due",
            "due_at",
            postgresql_where=text(_DUE),
            sqlite_where=text(_DUE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The provider's message id when it gives one (an email's Message-ID).
    provider_id: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # The outbox (migration 0018): the text sent when not the notice's own (the petitioner's
    # short SMS); when the row is next due (quiet hours' release, a retry's backoff, a claim's
    # lease; None: a row of the activities' deliveries, never drained); when it is given up.
    text: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    give_up_at: Mapped[datetime | None]


class Document(Base):
    """Written documents of a petition (告知书, 答复意见书), one per petition, kind and key."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("petition_id", "key"),
        UniqueConstraint("kind", "serial_year", "serial", name="uq_documents_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    petition_id: Mapped[str] = mapped_column(ForeignKey("petitions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # The county's yearly number (文号), as on the slips.
    serial_year: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(Integer)
    # What the printed document needs beyond its text (答复意见书: the unit and the round).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DocumentCounter(Base):
    """The last number issued per document kind and year (文号: 青信督〔2026〕12号). Bumped in the
    transaction that writes the slip, so numbers are gap-free and never given twice."""

    __tablename__ = "document_counters"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class PetitionCounter(Base):
    """The last petition number issued per year (XF-<year>-<n>)."""

    __tablename__ = "petition_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class PetitionTally(Base):
    """How many petitions the read model holds: one row, kept by the database's own triggers
    (migration 0020) on every insert and delete, read by the bureau's unfiltered list."""

    __tablename__ = "petition_tally"
    __table_args__ = (CheckConstraint("id = 1", name="ck_petition_tally_one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    petitions: Mapped[int] = mapped_column(BigInteger)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    petition_id: Mapped[str] = mapped_column(ForeignKey("petitions.id"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """The audit trail (审计): one row per command, refused ones included. Append-only: no API
    changes it, and on PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_petition", "petition_id"),
        # Failed sign-ins of a username lately (the sign-in throttle), without a scan.
        Index("ix_audit_actor_at", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))  # the signed-in user; "anonymous" until then
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    petition_id: Mapped[str | None] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # done / refused / invalid / failed
    detail: Mapped[str | None] = mapped_column(Text)
    # How the actor signed in: "password" or "api_key"; a key's id and who issued it.
    via: Mapped[str | None] = mapped_column(String(16))
    api_key_id: Mapped[int | None] = mapped_column(Integer)
    key_issued_by: Mapped[str | None] = mapped_column(String(64))


class SpecialReport(Base):
    """专报 (issue 13): the bureau marked a petition for the county's principal leaders at once
    (进京访, 扬言, 极端, 不稳定), with a short reason. A petition may be marked again later."""

    __tablename__ = "special_reports"
    __table_args__ = (Index("ix_special_reports_marked_at", "marked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    petition_id: Mapped[str] = mapped_column(ForeignKey("petitions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    marked_by: Mapped[str] = mapped_column(String(64))  # the dispatcher's username
    marked_at: Mapped[datetime]


class LeaderReception(Base):
    """A leader's reception day (领导接访, issue 13): who received, when, how many people, how
    many petitions were registered from it and how many the leader signed (签批). The 周报
    counts them per county leader."""

    __tablename__ = "leader_receptions"
    __table_args__ = (Index("ix_leader_receptions_day", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    leader_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    day: Mapped[date]
    persons: Mapped[int] = mapped_column(Integer)  # 接访人次
    petitions: Mapped[int] = mapped_column(Integer)  # 登记信访事项
    signed_instructions: Mapped[int] = mapped_column(Integer)  # 签批件次
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class DutyDay(Base):
    """The AB-post duty roster (接访AB岗, issue 13): each day a leader on post A receives, and
    the one on post B stands in when A cannot."""

    __tablename__ = "duty_roster"

    day: Mapped[date] = mapped_column(primary_key=True)
    a_person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    b_person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class ReportRun(Base):
    """One scheduled run of a report (定时报送, issue 13): the 巡查, 日报, 周报 or 月报 as built
    at the run, kept whole so its inbox entries show what was sent. Its id is the run's
    workflow id (the schedule's id and the scheduled time): a run is filed once."""

    __tablename__ = "report_runs"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)  # domain.reports.Report
    created_at: Mapped[datetime]


class ReportReceipt(Base):
    """A run to one recipient on one channel: an inbox entry (channel ``inbox``, a person) or a
    post to a group's robot (``wecom``/``dingtalk``, a group). At most one row each, written
    before the send, so a retried run posts nothing twice (notices need a petition; reports
    have none, hence their own rows)."""

    __tablename__ = "report_receipts"
    __table_args__ = (
        UniqueConstraint("run_id", "channel", "recipient_id"),
        Index("ix_report_receipts_recipient", "recipient_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("report_runs.id"))
    channel: Mapped[str] = mapped_column(String(16))
    recipient_id: Mapped[str] = mapped_column(String(64))  # a person's id, or a group's
    recipient_name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(String(64))  # whose section it is
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending / sent / failed; inbox: sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]  # an inbox entry opened (已阅)
    created_at: Mapped[datetime]


class ReportMonth(Base):
    """A closed Beijing month whose 月报 series is kept (issue 13, store/report_months.py): its
    petitions' counts by the intake fields alone, which never change after registration. A
    database trigger (migration 0019) deletes the row in the transaction that inserts, deletes
    or re-files a petition of the month, so what is kept is never stale."""

    __tablename__ = "report_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-10"
    # The month's Beijing days as instants [starts_at, ends_at): what the trigger compares.
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    counted_at: Mapped[datetime]


class ReportMonthCount(Base):
    """A kept month's petitions of one channel, 集体访 or not, and 去向 (批次 and 人次)."""

    __tablename__ = "report_month_counts"

    month: Mapped[str] = mapped_column(
        ForeignKey("report_months.month", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    collective: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    destination: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    persons: Mapped[int] = mapped_column(Integer)
