"""Settings: prefix, .env, production secrets required, development keys generated once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from lending.config import Settings, _read_or_create_secret


def test_environment_variables_use_the_omnifin_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIFIN_PORT", "9123")
    monkeypatch.setenv("OMNIFIN_CORS_ALLOW_ORIGINS", '["https://a.example"]')
    settings = Settings()
    assert settings.port == 9123
    assert settings.cors_allow_origins == ["https://a.example"]


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("OMNIFIN_LOG_LEVEL=DEBUG\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().log_level == "DEBUG"


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(environment="production")
    message = str(raised.value)
    for name in ("OMNIFIN_SECRET_KEY", "OMNIFIN_ENCRYPTION_KEY", "OMNIFIN_DATABASE_URL"):
        assert name in message


def test_secrets_are_never_printed() -> None:
    settings = Settings(secret_key="s3cr3t-value")  # type: ignore[arg-type]
    assert "s3cr3t-value" not in repr(settings)
    assert settings.secret("secret_key").get_secret_value() == "s3cr3t-value"


def test_development_key_is_generated_once_and_reused(tmp_path: Path) -> None:
    first = Settings(state_dir=tmp_path).secret("encryption_key").get_secret_value()
    second = Settings(state_dir=tmp_path).secret("encryption_key").get_secret_value()
    assert first == second
    assert len(first) >= 32
    _read_or_create_secret.cache_clear()  # another process reads the key from its file
    assert Settings(state_dir=tmp_path).secret("encryption_key").get_secret_value() == first
    key_file = tmp_path / "secrets" / "encryption_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    other = Settings(state_dir=tmp_path).secret("secret_key").get_secret_value()
    assert other != first  # one key per purpose
