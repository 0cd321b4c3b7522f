"""The prompt registry over HTTP, as a prompt engineer uses it: create, label, diff, preview, A/B."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.identity import Role
from tests.identity.factories import bearer, create_user, issue_token


async def _headers(session: AsyncSession, settings: Settings, role: Role) -> dict[str, str]:
    user = await create_user(session, role=role)
    return bearer(await issue_token(session, user, settings=settings))


@pytest.fixture
async def engineer(session: AsyncSession, settings: Settings) -> dict[str, str]:
    return await _headers(session, settings, Role.PROMPT_ENGINEER)


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, text: str, *variables: str
) -> httpx.Response:
    body = {"name": name, "category": "greeting", "text": text, "variables": list(variables)}
    return await client.post("/api/v1/prompts", json=body, headers=headers)


async def test_a_prompt_engineer_versions_deploys_and_previews_a_prompt(
    client: httpx.AsyncClient, engineer: dict[str, str]
) -> None:
    created = await _create(
        client, engineer, "test.api_greeting", "Hello {user_name}.", "user_name"
    )
    version = await client.post(
        "/api/v1/prompts/test.api_greeting/versions",
        json={
            "text": "Hi {user_name}!\nWelcome.",
            "variables": ["user_name"],
            "change_note": "Warmer",
        },
        headers=engineer,
    )
    moved = await client.put(
        "/api/v1/prompts/test.api_greeting/labels/production", json={"version": 2}, headers=engineer
    )
    preview = await client.post(
        "/api/v1/prompts/test.api_greeting/preview",
        json={"variables": {"user_name": "Ana"}},
        headers=engineer,
    )
    old = await client.post(
        "/api/v1/prompts/test.api_greeting/preview",
        json={"variables": {"user_name": "Ana"}, "version": 1},
        headers=engineer,
    )
    diff = await client.get(
        "/api/v1/prompts/test.api_greeting/diff", params={"from": 1, "to": 2}, headers=engineer
    )
    listing = await client.get("/api/v1/prompts", headers=engineer)

    assert created.status_code == 201, created.text
    assert version.status_code == 201
    assert version.json()["number"] == 2
    assert moved.status_code == 200
    assert (moved.json()["version"], moved.json()["previous_version"]) == (2, None)
    assert preview.json()["text"] == "Hi Ana!\nWelcome."
    assert (preview.json()["version"], preview.json()["variant"]) == (2, None)
    assert old.json()["text"] == "Hello Ana."
    assert "-Hello {user_name}.\n+Hi {user_name}!\n+Welcome.\n" in diff.json()["diff"]
    summary = next(p for p in listing.json() if p["name"] == "test.api_greeting")
    assert summary["labels"] == {"production": 2}
    assert summary["latest_version"] == 2


async def test_template_problems_come_back_per_field(
    client: httpx.AsyncClient, engineer: dict[str, str]
) -> None:
    response = await _create(
        client,
        engineer,
        "test.api_bad",
        "You are {assistant_name}. Today: {today:%Y}",
        "assistant_name",
        "mode",
    )

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert body["detail"] == [
        {
            "loc": ["text"],
            "msg": "'{today:%Y}' at line 1, column 34 has a format spec or conversion; "
            "placeholders are plain {name}: format the value before rendering",
            "type": "value_error",
        },
        {
            "loc": ["variables", 1],
            "msg": "'mode' is declared but the text never uses {mode}",
            "type": "value_error",
        },
    ]


async def test_preview_names_missing_variables(
    client: httpx.AsyncClient, engineer: dict[str, str]
) -> None:
    await _create(client, engineer, "test.api_vars", "Bye {user_name}", "user_name")

    response = await client.post(
        "/api/v1/prompts/test.api_vars/preview", json={"version": 1}, headers=engineer
    )

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["variables", "user_name"],
            "msg": "is required by version 1 of test.api_vars",
            "type": "missing",
        }
    ]


async def test_an_experiment_over_http(client: httpx.AsyncClient, engineer: dict[str, str]) -> None:
    await _create(client, engineer, "test.api_ab", "A {user_name}", "user_name")
    await client.post(
        "/api/v1/prompts/test.api_ab/versions",
        json={"text": "B {user_name}", "variables": ["user_name"]},
        headers=engineer,
    )
    bad = await client.post(
        "/api/v1/prompts/test.api_ab/experiments",
        json={"name": "AB", "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 40}]},
        headers=engineer,
    )
    created = await client.post(
        "/api/v1/prompts/test.api_ab/experiments",
        json={"name": "AB", "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}]},
        headers=engineer,
    )
    experiment_id = created.json()["id"]
    started = await client.post(
        f"/api/v1/prompts/test.api_ab/experiments/{experiment_id}/start", headers=engineer
    )
    user_id = str(uuid.uuid4())
    previews = [
        await client.post(
            "/api/v1/prompts/test.api_ab/preview",
            json={"variables": {"user_name": "Ana"}, "user_id": user_id},
            headers=engineer,
        )
        for _ in range(3)
    ]
    stopped = await client.post(
        f"/api/v1/prompts/test.api_ab/experiments/{experiment_id}/stop", headers=engineer
    )
    again = await client.post(
        f"/api/v1/prompts/test.api_ab/experiments/{experiment_id}/stop", headers=engineer
    )

    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "arms"]
    assert "weights must sum to 100; they sum to 90" in bad.json()["detail"][0]["msg"]
    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    assert started.json()["status"] == "running"
    assert len({p.json()["variant"] for p in previews}) == 1
    assert previews[0].json()["variant"] in {"v1", "v2"}
    assert previews[0].json()["experiment_id"] == experiment_id
    assert stopped.json()["status"] == "stopped"
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        (Role.BORROWER, 403, 403),
        (Role.BROKER, 403, 403),
        (Role.BROKER_MANAGER, 403, 403),
        (Role.PLATFORM_ADMIN, 200, 403),
        (Role.PROMPT_ENGINEER, 200, 201),
    ],
)
async def test_who_may_read_and_change_prompts(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    role: Role,
    read: int,
    write: int,
) -> None:
    headers = await _headers(session, settings, role)

    listed = await client.get("/api/v1/prompts", headers=headers)
    created = await _create(client, headers, f"test.api_{role.value}", "Hi")

    assert (listed.status_code, created.status_code) == (read, write)
