"""A whole guided intake over HTTP on a committed database of its own, then the database dump
(checkpoint blobs decoded) and every log line searched for what the borrower typed: SSNs,
dates of birth, card and account numbers in many forms. None is there in clear."""

from __future__ import annotations

import io
import logging
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pgserver
import pytest

from api.app import create_app
from devtools.databases import drop_database, recreate_database
from lending import migrations
from lending.config import Settings
from lending.db import (
    create_engine,
    create_sessionmaker,
    libpq_url,
    resolve_database_url,
    transaction,
)
from lending.kv import MemoryStore
from lending.logs import configure_logging
from lending.models.identity import Role
from tests.agents.sse import reply_text, send
from tests.conftest import TEST_STATE_DIR
from tests.identity.factories import bearer, create_user, issue_token
from tests.lending.factories import create_catalog

DATABASE = "omnifin_pii_committed"
PG_DUMP = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"

# Every value the borrower types below, as typed, and the canonical forms the vault keeps.
TYPED = (
    "123 45 6789",
    "123-45-6789",
    "123456789",
    "１２３４５６７８９",
    "4111 1111 1111 1111",
    "4111111111111111",
    "000123456789",
    "15.03.1990",
    "March 15, 1990",
    "1990年3月15日",
    "1990-03-15",
    "03/15/1990",
)


@pytest.fixture
def committed_settings(server_url: str) -> Iterator[Settings]:
    url = recreate_database(server_url, DATABASE)
    migrations.upgrade(url)
    yield Settings(
        environment="test",
        state_dir=TEST_STATE_DIR,
        database_url=url,  # type: ignore[arg-type]
        log_json=True,
    )
    drop_database(server_url, DATABASE)


@pytest.fixture
def log_buffer(committed_settings: Settings) -> Iterator[io.StringIO]:
    """Every log line of the test, at DEBUG, through the production pipeline."""
    configure_logging(
        level="DEBUG", json=True, redacted_fields=committed_settings.log_redacted_fields
    )
    buffer = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)
    logging.getLogger().setLevel(logging.INFO)


@pytest.fixture
async def http(committed_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app on its own engine: every transaction commits, as in production."""
    app = create_app(committed_settings, store=MemoryStore())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        yield client


def _dump(settings: Settings) -> str:
    """pg_dump of the database, with every bytea value (checkpoint blobs, writes) decoded."""
    url = libpq_url(resolve_database_url(settings))
    dumped = subprocess.run(
        [str(PG_DUMP), "--no-owner", "--dbname", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    blobs = [
        bytes.fromhex(hexa).decode("utf-8", errors="replace")
        for hexa in re.findall(r"\\\\x([0-9a-f]+)", dumped)
    ]
    return "\n".join([dumped, *blobs])


async def _seed(settings: Settings) -> str:
    engine = create_engine(settings, resolve_database_url(settings))
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await create_catalog(session)
            borrower = await create_user(session, role=Role.BORROWER, full_name="Jane Doe")
            token = await issue_token(session, borrower, settings=settings)
    finally:
        await engine.dispose()
    return token


async def test_nothing_typed_is_kept_in_clear_after_a_whole_intake(
    committed_settings: Settings, log_buffer: io.StringIO, http: httpx.AsyncClient
) -> None:
    before = _dump(committed_settings)
    assert not [typed for typed in TYPED if typed in before]  # the test's own precondition

    token = await _seed(committed_settings)
    created = await http.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert created.status_code == 201, created.text
    thread_id = created.json()["id"]
    await send(http, token, thread_id, "hi")
    events = await send(http, token, thread_id, "a personal loan of $15,000 over 36 months")

    # Question → what the borrower types, in order: values guided mode cannot use for that
    # question are asked again, and still have to be kept out of every record.
    answers = {
        "full legal name": ["Jane Doe"],
        "date of birth": ["March 15, 1990"],
        "home address": ["I was born 15.03.1990", "12 Main St, Springfield, IL 62704-1234"],
        "phone": ["出生日期 1990年3月15日", "(415) 555-0134"],
        "Social Security": ["my card is 4111 1111 1111 1111", "123 45 6789"],
        "employed": ["ssn 123-45-6789 again", "employed full time"],
        "annual income": ["123456789", "$85,000 a year"],
        "rent or your mortgage": ["account number 000123456789", "1500"],
        "debts such as": ["社会安全号１２３４５６７８９", "400"],
        "credit score": ["dob 03/15/1990", "about 720"],
        "What is the loan for": ["medical"],
        "Do you agree": ["yes"],
    }
    # Typing Chinese switches the conversation to Chinese (guided mode follows the person):
    # the same answers go to the same questions asked in Chinese.
    for english, chinese in (
        ("phone", "电话号码"),
        ("Social Security", "社会安全号码"),
        ("employed", "受雇"),
        ("annual income", "年收入"),
        ("rent or your mortgage", "房租或房贷"),
        ("debts such as", "债务上还"),
        ("credit score", "信用分"),
        ("What is the loan for", "用来做什么"),
        ("Do you agree", "您同意吗"),
    ):
        answers[chinese] = answers[english]
    asked: list[str] = []
    for _ in range(40):
        question = reply_text(events)
        if "Here are your offers" in question:
            break
        key = next((key for key in answers if key in question and answers[key]), None)
        if key is None:
            break  # checked below, after what was typed so far is searched for
        asked.append(question)
        events = await send(http, token, thread_id, answers[key].pop(0))

    history = await http.get(f"/api/v1/chat/threads/{thread_id}", headers=bearer(token))
    assert history.status_code == 200
    profile = await http.get("/api/v1/profile", headers=bearer(token))
    assert profile.status_code == 200, profile.text
    assert profile.json()["ssn_last4"] == "6789"

    after = _dump(committed_settings)
    logs = log_buffer.getvalue()
    for typed in TYPED:
        assert typed not in after, f"{typed!r} is in the database dump"
        assert typed not in logs, f"{typed!r} is in the logs"
        assert typed not in history.text, f"{typed!r} is in the thread's history"
        assert typed not in profile.text, f"{typed!r} is in the profile"
    # The places searched hold the conversation: the tokens in the checkpoint blobs, the
    # redacted transcript, the profile's last four, the request log lines.
    assert "[SSN-1]" in after
    assert "[DOB-1]" in after
    assert "[ACCOUNT-1]" in after
    assert "my card is [redacted]" in after
    assert "Springfield" in after
    assert '"route":"/api/v1/chat/threads/{thread_id}/runs"' in logs
    # ... and the intake went through: every message was sent, the offers were shown.
    assert "Here are your offers" in reply_text(events) or "报价" in reply_text(events), asked
    assert not any(answers.values()), answers
    failures = [data for kind, data in events if kind == "tool.finished" and not data["ok"]]
    assert not failures, failures
