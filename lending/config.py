"""Settings for every Omnifin process: one pydantic-settings class, `OMNIFIN_` prefix, `.env` support."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Secrets that production must be given explicitly; development generates each once into the
# state folder (never committed) and reuses it, so tokens and encrypted data survive restarts.
_GENERATED_SECRETS = ("secret_key", "encryption_key")


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
    trust_proxy_headers: bool = False

    # Logs
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
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

    @model_validator(mode="after")
    def _secrets_present_in_production(self) -> Settings:
        if self.environment == "production":
            missing = [name for name in _GENERATED_SECRETS if getattr(self, name) is None]
            if self.database_url is None:
                missing.append("database_url")
            if missing:
                names = ", ".join(f"OMNIFIN_{name.upper()}" for name in missing)
                raise ValueError(f"production needs these settings: {names}")
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
    path = state_dir / "secrets" / name
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
