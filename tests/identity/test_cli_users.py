"""`omnifin users create` as an operator runs it, against a committed database of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from devtools.databases import recreate_database
from lending import migrations
from tests.conftest import TEST_STATE_DIR

OMNIFIN = str(Path(sys.executable).parent / "omnifin")


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_users_cli")
    migrations.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO organization (id, name, slug, kind) "
            "VALUES (gen_random_uuid(), 'Harbor Brokers', 'harbor', 'broker_firm')"
        )
    return url


def _omnifin(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=url, OMNIFIN_STATE_DIR=str(TEST_STATE_DIR), OMNIFIN_ENVIRONMENT="test"
    )
    return subprocess.run(
        [OMNIFIN, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_an_operator_creates_a_broker_manager_in_a_firm(url: str) -> None:
    result = _omnifin(
        "users", "create",
        "--email", "Owner@Harbor.example",
        "--password", "plum-orbit-velvet-42",
        "--role", "broker_manager",
        "--org", "harbor",
        "--full-name", "Olive Owner",
        url=url,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    user_id = result.stdout.strip()
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT u.email, u.role, u.full_name, o.slug, u.password_hash FROM user_account u "
            "JOIN organization o ON o.id = u.organization_id WHERE u.id = %s",
            (user_id,),
        ).fetchone()
        event = conn.execute(
            "SELECT details->>'operator' FROM audit_event WHERE subject_id = %s", (user_id,)
        ).fetchone()
    assert row is not None
    assert row[:4] == ("Owner@Harbor.example", "broker_manager", "Olive Owner", "harbor")
    assert row[4].startswith("$argon2id$")
    assert event == ("cli:users create",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "wizard"], "Unknown role 'wizard'"),
        (["--role", "platform_admin", "--org", "harbor"], "belongs to the platform organization"),
        (["--role", "borrower", "--password", "password123"], "Use at least 12 characters."),
    ],
)
def test_mistakes_get_one_sentence_and_exit_2(url: str, args: list[str], message: str) -> None:
    base = ["--email", "someone@example.com", "--password", "plum-orbit-velvet-42"]

    result = _omnifin("users", "create", *base, *args, url=url)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_existing_email_is_refused_whatever_its_case(url: str) -> None:
    common = ["--password", "plum-orbit-velvet-42", "--role", "borrower"]
    first = _omnifin("users", "create", "--email", "twice@example.com", *common, url=url)
    second = _omnifin("users", "create", "--email", "TWICE@example.com", *common, url=url)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 2
    assert "already exists" in second.stderr
