"""The registry service on a real database: versions, labels, rendering, defaults, audit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from agents.prompts import service as service_module
from agents.prompts.cache import PromptCache
from agents.prompts.defaults import DEFAULT_PROMPTS
from agents.prompts.errors import PromptNotFound, PromptRenderError
from agents.prompts.schemas import PromptCreate, VersionCreate
from agents.prompts.service import PromptService, seed_default_prompts
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.identity.actor import Actor
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from lending.models.prompts import PromptCategory, PromptLabelName, PromptVersion
from tests.agents.prompts.factories import GREETING, create_prompt
from tests.identity.factories import actor_of, create_user

PRODUCTION = PromptLabelName.PRODUCTION
VALUES = {"user_name": "Ana", "assistant_name": "Omni"}


@pytest.fixture
def service() -> PromptService:
    """A service with a cache of its own, so no test sees another's entries."""
    return PromptService(PromptCache())


@pytest.fixture
async def engineer(session: AsyncSession) -> Actor:
    return actor_of(await create_user(session, role=Role.PROMPT_ENGINEER))


async def _audit(session: AsyncSession, action: str) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list((await session.execute(statement)).scalars().all())


class _Recorder:
    def __init__(self) -> None:
        self.warnings: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.warnings.append((event, fields))


async def test_a_new_prompt_starts_at_version_1_without_a_label(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    data = PromptCreate(
        name="test.welcome",
        category=PromptCategory.GREETING,
        text=GREETING[0],
        variables=list(GREETING[1]),
        change_note="First cut.",
    )

    detail = await service.create_prompt(session, engineer, data=data)

    assert detail.latest_version == 1
    assert detail.labels == {}
    assert detail.versions[0].author_user_id == engineer.user_id
    assert detail.versions[0].change_note == "First cut."
    with pytest.raises(Conflict, match="already exists"):
        await service.create_prompt(session, engineer, data=data)


async def test_an_edit_is_a_new_version_and_leaves_the_old_text_alone(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    prompt = await create_prompt(session)

    created = await service.create_version(
        session,
        engineer,
        name=prompt.name,
        data=VersionCreate(text="Hi {user_name}.", variables=["user_name"], change_note="Shorter"),
    )

    assert created.number == 2
    first = await service.get_version(session, engineer, name=prompt.name, number=1)
    assert first.text == GREETING[0]
    assert first.labels == [PRODUCTION]


async def test_the_database_refuses_to_change_a_stored_version(
    session: AsyncSession, engineer: Actor
) -> None:
    prompt = await create_prompt(session)
    await session.commit()  # a savepoint of the test's transaction

    changes: list[dict[str, Any]] = [{"text": "Rewritten {user_name}"}, {"variables": []}]
    for change in changes:
        with pytest.raises(DBAPIError, match="prompt versions are immutable"):
            async with session.begin_nested():
                await session.execute(
                    update(PromptVersion).where(PromptVersion.prompt_id == prompt.id).values(change)
                )
    # Losing the author (their account deleted) is not a change of content.
    await session.execute(
        text("UPDATE prompt_version SET author_user_id = NULL WHERE prompt_id = :id"),
        {"id": prompt.id},
    )


async def test_variable_problems_are_field_level_and_nothing_is_saved(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    prompt = await create_prompt(session)
    data = VersionCreate(text="Hi {user_name}, today is {today", variables=["user_name", "city"])

    with pytest.raises(InvalidInput) as raised:
        await service.create_version(session, engineer, name=prompt.name, data=data)

    assert raised.value.detail == [
        {
            "loc": ["text"],
            "msg": "'{' at line 1, column 26 is never closed; write '{{' for a literal brace",
            "type": "value_error",
        },
        {
            "loc": ["variables", 1],
            "msg": "'city' is declared but the text never uses {city}",
            "type": "value_error",
        },
    ]
    assert (await service.get(session, engineer, name=prompt.name)).latest_version == 1


async def test_moving_a_label_is_audited_and_reports_where_it_was(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    prompt = await create_prompt(session, versions=[GREETING, GREETING])

    moved = await service.move_label(
        session, engineer, name=prompt.name, label=PRODUCTION, version=2, store=None
    )
    staged = await service.move_label(
        session, engineer, name=prompt.name, label=PromptLabelName.STAGING, version=1, store=None
    )
    again = await service.move_label(
        session, engineer, name=prompt.name, label=PRODUCTION, version=2, store=None
    )

    assert (moved.previous_version, moved.version) == (1, 2)
    assert (staged.previous_version, staged.version) == (None, 1)
    assert again.previous_version == 2  # unchanged: no event
    detail = await service.get(session, engineer, name=prompt.name)
    assert detail.labels == {PRODUCTION: 2, PromptLabelName.STAGING: 1}
    events = [
        e for e in await _audit(session, "prompt.label_moved") if e.subject_id == str(prompt.id)
    ]
    assert [
        (e.details["label"], e.details["previous_version"], e.details["version"]) for e in events
    ] == [
        ("production", 1, 2),
        ("staging", None, 1),
    ]
    assert all(e.actor_user_id == engineer.user_id for e in events)
    with pytest.raises(NotFound, match="has no version 9"):
        await service.move_label(
            session, engineer, name=prompt.name, label=PRODUCTION, version=9, store=None
        )


async def test_creating_a_version_is_audited(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    prompt = await create_prompt(session)

    await service.create_version(
        session,
        engineer,
        name=prompt.name,
        data=VersionCreate(text="Hey {user_name}", variables=["user_name"], change_note="Casual"),
    )

    events = [
        e for e in await _audit(session, "prompt.version_created") if e.subject_id == str(prompt.id)
    ]
    assert len(events) == 1
    assert events[0].details == {"name": prompt.name, "version": 2, "change_note": "Casual"}
    assert events[0].actor_role == "prompt_engineer"


async def test_only_prompt_engineers_change_prompts(
    session: AsyncSession, service: PromptService
) -> None:
    prompt = await create_prompt(session)
    admin = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    borrower = actor_of(await create_user(session, role=Role.BORROWER))

    assert (await service.get(session, admin, name=prompt.name)).name == prompt.name
    with pytest.raises(PermissionDenied):
        await service.move_label(
            session, admin, name=prompt.name, label=PRODUCTION, version=1, store=None
        )
    with pytest.raises(PermissionDenied):
        await service.get(session, borrower, name=prompt.name)


async def test_diff_is_a_unified_diff_of_the_two_texts(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    prompt = await create_prompt(
        session,
        versions=[
            ("Line one\nHello {user_name}\n", ["user_name"]),
            ("Line one\nHi {name}\n", ["name"]),
        ],
    )

    diff = await service.diff(session, engineer, name=prompt.name, from_version=1, to_version=2)

    assert diff.diff == (
        f"--- {prompt.name} v1\n+++ {prompt.name} v2\n@@ -1,2 +1,2 @@\n Line one\n"
        "-Hello {user_name}\n+Hi {name}\n"
    )
    assert (diff.variables_added, diff.variables_removed) == (["name"], ["user_name"])


async def test_render_fills_the_production_version(
    session: AsyncSession, service: PromptService
) -> None:
    prompt = await create_prompt(session)

    rendered = await service.render(
        session, name=prompt.name, variables={**VALUES, "extra": "ignored"}, user_id=uuid.uuid4()
    )

    assert rendered.text == "Hello Ana, I am Omni."
    assert (rendered.prompt_name, rendered.version, rendered.variant) == (prompt.name, 1, None)
    assert rendered.source == "registry"


async def test_render_names_every_missing_variable(
    session: AsyncSession, service: PromptService
) -> None:
    prompt = await create_prompt(session)

    with pytest.raises(PromptRenderError) as raised:
        await service.render(
            session, name=prompt.name, variables={"user_name": None}, user_id=uuid.uuid4()
        )

    assert raised.value.detail == [
        {
            "loc": ["variables", "user_name"],
            "msg": f"is required by version 1 of {prompt.name}",
            "type": "missing",
        },
        {
            "loc": ["variables", "assistant_name"],
            "msg": f"is required by version 1 of {prompt.name}",
            "type": "missing",
        },
    ]


async def test_render_of_an_unknown_prompt_or_an_unset_label_is_not_found(
    session: AsyncSession, service: PromptService
) -> None:
    prompt = await create_prompt(session)

    with pytest.raises(PromptNotFound, match="no staging version"):
        await service.render(
            session,
            name=prompt.name,
            variables=VALUES,
            user_id=uuid.uuid4(),
            label=PromptLabelName.STAGING,
        )
    with pytest.raises(PromptNotFound):
        await service.render(session, name="test.nothing_here", variables={}, user_id=uuid.uuid4())


async def test_without_a_production_version_render_uses_the_default_and_says_so(
    session: AsyncSession, service: PromptService, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(service_module, "log", recorder)
    # The prompt exists but only a draft was labelled: production is still unset.
    await create_prompt(session, name="borrower.greeting", labels={PromptLabelName.DRAFT: 1})

    rendered = await service.render(
        session, name="borrower.greeting", variables=VALUES, user_id=uuid.uuid4()
    )

    default = next(d for d in DEFAULT_PROMPTS if d.name == "borrower.greeting")
    assert rendered.source == "default"
    assert rendered.version == 0
    assert rendered.text == default.text.format(**VALUES)
    assert recorder.warnings == [
        (
            "prompt registry has no production version; using the built-in default text",
            {"prompt": "borrower.greeting", "source": "agents/prompts/defaults.py"},
        )
    ]


async def test_seeding_defaults_is_idempotent_and_keeps_later_edits(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    created = await seed_default_prompts(session)
    await service.create_version(
        session,
        engineer,
        name="borrower.closing",
        data=VersionCreate(text="Wrap up politely."),
    )
    await service.move_label(
        session, engineer, name="borrower.closing", label=PRODUCTION, version=2, store=None
    )

    again = await seed_default_prompts(session)

    assert sorted(created) == sorted(d.name for d in DEFAULT_PROMPTS)
    assert again == []
    rendered = await service.render(
        session,
        name="borrower.system",
        variables={"assistant_name": "Omni", "today": "2026-11-28", "mode": "llm"},
        user_id=uuid.uuid4(),
    )
    assert (rendered.version, rendered.source) == (1, "registry")
    assert rendered.text.startswith("You are Omni, the loan assistant of Omnifin")
    assert "2026-11-28" in rendered.text
    assert "{" not in rendered.text
    closing = await service.render(
        session, name="borrower.closing", variables={}, user_id=uuid.uuid4()
    )
    assert (closing.version, closing.text) == (2, "Wrap up politely.")
    seeded = await _audit(session, "prompt.seeded")
    assert seeded[-1].details["names"] == created
