"""Runtime settings, read from ``PETITIONFLOW_*`` environment variables (and ``.env``)."""

from __future__ import annotations

import base64
import binascii
import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import EscalationPolicy, PolicyBook, load_policy_book

log = logging.getLogger("petitionflow.settings")

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEMO_DIRECTORY = PROJECT_DIR / "store" / "demo_county.yaml"
# Known to everyone who reads this file: accepted in dev mode only.
DEV_SECRET_KEY = "petitionflow-dev-secret-key-not-for-production"  # noqa: S105
DEV_PASSWORD = "demo"  # noqa: S105
MIN_SECRET_BYTES = 32
# Encrypts workflow payloads in Temporal (core/codec.py): base64 of 32 bytes. Generate one with
#   python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"
DEV_PAYLOAD_KEY = "cGV0aXRpb25mbG93LWRldi1wYXlsb2FkLWtleS0zMmI="
PAYLOAD_KEY_BYTES = 32
# A time of day on Beijing's clock, HH:MM (the reports' schedules).
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PETITIONFLOW_", env_file=".env", extra="ignore")

    # The length of one policy day in seconds: 86400 in production; 1 compresses the four-week
    # chain into about half a minute for a demo or a black-box test.
    day_seconds: float = Field(default=86400, gt=0)
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_DIR / 'var' / 'petitionflow.db'}"
    # PostgreSQL connections each process keeps open (README, "Scaling out"); five more may
    # open in a burst and are closed once idle. More at once is slower on a small machine: a
    # burst of steps queues on the same rows and cores (ten kept gave the escalation benchmark
    # twice the p99 of five), and a process that needs more than it keeps opens and closes
    # connections, each a server process (the notices' process did, before its records were
    # batched).
    database_pool_size: int = Field(default=5, ge=1, le=200)
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "petitions"
    # The org directory loaded into an empty database on first start.
    directory_file: Path = DEMO_DIRECTORY
    # The local stack (`make run`): where the API listens and where Temporal's Web UI is served.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_ui_port: int = 8233
    # Where the worker serves its metrics for Prometheus (the Temporal SDK's own and the
    # escalation lag) at http://<address>/metrics; empty turns them off. Loopback for `make run`;
    # a container binds 0.0.0.0:9464 so Prometheus can reach it (docker-compose.yml).
    worker_metrics_address: str = "127.0.0.1:9464"
    data_dir: Path = PROJECT_DIR / "var"
    # The policy book (policy.yaml): the default, and overrides per unit and per category.
    policy_file: Path = PROJECT_DIR / "policy.yaml"
    # Where replies are uploaded (上传): an http(s) URL of the upper-level petition information
    # system, or a directory (file:///… or a path); empty means <data_dir>/upstream.
    upstream_url: str = ""
    upstream_token: str | None = None
    # SMS (短信) through an HTTP gateway (README "SMS and group robots"); empty sends none. The
    # template takes one parameter, ``text``; the signature (签名) is the sender's name, e.g.
    # 青川县信访局. Group robots' URLs are in the directory, per unit or group.
    sms_gateway_url: str = ""
    sms_gateway_token: SecretStr | None = None
    sms_template_id: str = ""
    sms_signature: str = ""
    # Seconds one send to the SMS gateway or a group robot may take before it is retried.
    channel_timeout_seconds: float = Field(default=10, gt=0)
    # The county's prefix of its document numbers (文号): its abbreviation and 信 for the
    # petition bureau, e.g. 青信 → 青信督〔2026〕12号. Printed, never stored: set it once.
    document_prefix: str = Field(default="青信", min_length=1, max_length=16)
    # The review bodies (复查, 复核) of the org directory: the next levels up.
    review_units: list[str] = Field(default_factory=lambda: ["county-review", "city-review"])
    # The largest request body the API reads (a petition's content is at most 20,000
    # characters, about 60 KB in UTF-8): anything larger is refused with 413 before parsing.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # What one worker process holds (README, "Scaling out"): the workflows it keeps in memory
    # between their steps (an evicted one is replayed from its history when it next wakes) and
    # the activities (database transactions) it runs at once. A cached petition costs some
    # 0.4 MB (bench/worker_memory: 121 MB idle, 565 MB with the SDK's default 1,000 cached), so
    # 500 keeps a worker under 500 MB however many petitions are open; with thousands open a
    # larger cache barely raises the hits, since a petition wakes once every few days.
    worker_max_cached_workflows: int = Field(default=500, ge=0)
    worker_max_concurrent_activities: int = Field(default=100, ge=1)
    # Workflow tasks one worker works on at once. They share one Python thread, so more at once
    # only queues them inside the process, where a burst starves each past its 10 s timeout:
    # the engine then fails the task, retries it and refuses updates meanwhile (seen with the
    # SDK's default 100 on a loaded 2-core machine). Waiting on the server's queue costs nothing.
    worker_max_concurrent_workflow_tasks: int = Field(default=20, ge=2)
    # How long a petition's next workflow task waits for the worker that has it cached before
    # the engine gives it to any worker (which replays its history to take it). The SDK's 10 s
    # moves a dead worker's petitions on quickly; a worker that is only behind loses them too,
    # and the worker that takes them must replay them and evict others from its full cache.
    worker_sticky_queue_timeout_seconds: float = Field(default=10, gt=0)
    # How long the API waits on the workflow for a query or an update before answering 503.
    temporal_rpc_timeout_seconds: float = Field(default=10, gt=0)
    # Dev mode (`make run`, the tests): the demo county's accounts sign in with the password
    # "demo" and the default secrets are accepted. Outside dev mode the API refuses to start
    # with a default secret or while any account still has the default password.
    dev_mode: bool = False
    # Signs the JWT access tokens (HS256): at least 32 bytes of randomness in production.
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_hours: int = Field(default=12, ge=1, le=24 * 90)
    # Guessing passwords: after this many failed sign-ins of one username within the window,
    # that username is refused (429) until the window has passed, even with the right password.
    sign_in_max_failures: int = Field(default=10, ge=1)
    sign_in_window_minutes: int = Field(default=15, ge=1)
    # Password spraying (one guess at each of many usernames): failed sign-ins within the window
    # from one client address, and from everyone together, before sign-in is refused (429).
    sign_in_client_max_failures: int = Field(default=100, ge=1)
    sign_in_global_max_failures: int = Field(default=1000, ge=1)
    # A session's absolute lifetime from its sign-in: refreshing never extends it.
    session_max_hours: float = Field(default=12, gt=0, le=24 * 90)
    # Encrypts what Temporal stores of a petition (its intake travels in the workflow input):
    # base64 of 32 bytes. Every process of a deployment needs the same key. When replacing it,
    # list the previous ones in ``payload_old_keys`` (a JSON list) so old histories still open.
    payload_key: SecretStr = SecretStr(DEV_PAYLOAD_KEY)
    payload_old_keys: list[SecretStr] = Field(default_factory=list)
    # mTLS to Temporal's frontend (production, README "Security"): PEM files of this process's
    # client certificate and key, and of the CA that signed the server's certificate (none:
    # the system's roots). Unset: plain gRPC, for `make run` and the compose network.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    # The origins (scheme://host:port) of the Temporal Web UI allowed to call the API's codec
    # endpoint (/api/v1/codec/decode) from a browser, with the operator's cookie: `make run`'s
    # UI by default. A JSON list; empty allows no browser at all (the CLI needs no CORS).
    codec_ui_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8233", "http://localhost:8233"]
    )

    # Notices (issue 11). Off: notices stay in their recipients' inboxes only (no delivery
    # workflows, no 催办 of an unsigned 督办单).
    notice_delivery: bool = True
    # The delivery workflows' task queue (empty: "<task_queue>-notices"), apart from the
    # petitions' so that a list of the petitions' workflows holds petitions only.
    notice_task_queue: str = ""
    # Send activities (each a step's sends) one worker runs at once on that queue: bounded, so a
    # burst of mail waits on the server's queue, not in the process beside the chain's steps.
    worker_max_concurrent_sends: int = Field(default=10, ge=1)
    # How much a process that only sends (`python -m worker --queues notices`) lowers its CPU
    # priority (os.nice), so that the chain's workflow tasks win the cores in a burst; 0: not.
    notice_worker_nice: int = Field(default=10, ge=0, le=19)
    # The delivery outbox (patch deliveries-outboxed, activities/outbox.py): how often the
    # notices' process looks for rows due, and how long a row it claimed is its own (a process
    # killed mid-send leaves its rows to another after this; longer than a send may take).
    notice_poll_seconds: float = Field(default=0.3, gt=0)
    notice_lease_seconds: float = Field(default=120.0, gt=0)
    # Email: smtp://[user:password@]host:port (STARTTLS when offered, or as smtp_starttls
    # says: true requires it, false never) or smtps://… (TLS from the start, port 465).
    # Empty: no email; notices reach the inbox (and the other channels) only.
    smtp_url: SecretStr = SecretStr("")
    smtp_starttls: bool | None = None
    smtp_validate_certs: bool = True
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    mail_from: str = "县信访局 <noreply@petitionflow.invalid>"

    # The reports' schedules (issue 13), Beijing time: the 巡查 at each of patrol_times, the 日报
    # each working day, the 周报 on Monday, the 月报 on the 1st. Off: the worker deletes them.
    # Unset: on with the real clock, off under a compressed policy day (a demo, a test), where
    # the times shrink with the day and a report every few seconds is noise unless asked for.
    report_schedules: bool | None = None
    patrol_times: list[ClockTime] = Field(default_factory=lambda: ["09:00", "15:00"])
    daily_report_time: ClockTime = "17:30"
    weekly_report_time: ClockTime = "09:00"
    monthly_report_time: ClockTime = "09:00"

    def reports_scheduled(self) -> bool:
        if self.report_schedules is not None:
            return self.report_schedules
        return self.day_seconds >= 86400

    def notice_queue(self) -> str:
        return self.notice_task_queue or f"{self.task_queue}-notices"

    def insecure_settings(self, *, signs_tokens: bool = True) -> list[str]:
        """The secret settings still at a publicly known default or too short: each one is a
        reason to refuse to start outside dev mode. The worker signs no tokens, so only the
        API (``signs_tokens``) needs the token secret."""
        problems: list[str] = []
        secret = self.secret_key.get_secret_value()
        if signs_tokens and (secret == DEV_SECRET_KEY or len(secret.encode()) < MIN_SECRET_BYTES):
            problems.append(
                f"PETITIONFLOW_SECRET_KEY is the default or shorter than {MIN_SECRET_BYTES} bytes"
            )
        payload_key = self.payload_key.get_secret_value()
        if payload_key == DEV_PAYLOAD_KEY or len(_key_bytes(payload_key)) != PAYLOAD_KEY_BYTES:
            problems.append(
                "PETITIONFLOW_PAYLOAD_KEY is the default or not base64 of "
                f"{PAYLOAD_KEY_BYTES} bytes"
            )
        return problems

    def payload_keys(self) -> tuple[bytes, list[bytes]]:
        """The payload key and the previous ones, decoded; a malformed one is an error."""
        keys = [self.payload_key, *self.payload_old_keys]
        decoded = [_key_bytes(key.get_secret_value()) for key in keys]
        if any(len(key) != PAYLOAD_KEY_BYTES for key in decoded):
            raise ValueError(
                "PETITIONFLOW_PAYLOAD_KEY and PETITIONFLOW_PAYLOAD_OLD_KEYS must each be base64 "
                f"of {PAYLOAD_KEY_BYTES} bytes"
            )
        return decoded[0], decoded[1:]

    def policy_book(self) -> PolicyBook:
        """The book new petitions start with (each keeps its own copy for life). Re-read when
        the file changes, so an edit applies to the next registration without a restart."""
        try:
            book = _load_book(self.policy_file, self.policy_file.stat().st_mtime_ns)
        except (OSError, ValueError) as exc:
            # A broken edit must not stop registrations: keep the last good book, loudly.
            last = _last_good.get(self.policy_file)
            if last is None:
                raise
            log.error(
                "policy book %s is invalid, still using version %s: %s",
                self.policy_file,
                last.version,
                exc,
            )
            return last
        _last_good[self.policy_file] = book
        return book

    def policy(self, unit_id: str | None = None, category: str = "other") -> EscalationPolicy:
        return self.policy_book().policy_for(unit_id or "", category, self.day_seconds)

    def policy_snapshot(self) -> dict[str, Any]:
        """What a registration keeps of the policy for the petition's whole life: the book as
        it is now and this deployment's policy day (the ``policy`` column)."""
        return {"book": self.policy_book().model_dump(mode="json"), "day_seconds": self.day_seconds}

    def upstream_target(self) -> str:
        return self.upstream_url or str(self.data_dir / "upstream")


_last_good: dict[Path, PolicyBook] = {}


def _key_bytes(text: str) -> bytes:
    """The bytes of a base64 key; empty when it is not base64 (reported as the wrong length)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


@lru_cache(maxsize=8)
def _load_book(path: Path, _mtime_ns: int) -> PolicyBook:
    return load_policy_book(path.read_text(encoding="utf-8"))


@lru_cache
def get_settings() -> Settings:
    return Settings()
