"""The authorization matrix, extended (issue 14): two brokers of the same firm, list endpoints read
for foreign rows (not only their status), another user's real pending approval, every tool as
every role. The route-by-route matrix is tests/api/test_authz_matrix.py; its world is reused."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.scopes import Scope
from lending.models.chat import ChatThread
from lending.models.identity import AccessToken, Organization, Role, User
from lending.models.tools import ApprovalStatus, ToolApproval
from tests.api.test_authz_matrix import WHO, Who, World, build_world
from tests.identity.factories import actor_of, bearer, create_organization, create_user, issue_token
from tests.lending.factories import create_application
from tests.tools.support import context_for
from tools.approvals import Confirmation, approval_service
from tools.base import ToolError
from tools.registry import fingerprint, registry


@pytest.fixture
async def firm(session: AsyncSession) -> Organization:
    return await create_organization(session, name="Same Firm Brokers")


async def _client_of(session: AsyncSession, broker: User, firm: Organization) -> tuple[User, str]:
    client = await create_user(session, organization=firm, referred_by=broker)
    application = await create_application(session, client, by=broker)
    return client, str(application.id)


async def test_two_brokers_of_one_firm_do_not_see_each_others_clients(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, firm: Organization
) -> None:
    broker_a = await create_user(session, organization=firm, role=Role.BROKER)
    broker_b = await create_user(session, organization=firm, role=Role.BROKER)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    client_a, application_a = await _client_of(session, broker_a, firm)
    client_b, application_b = await _client_of(session, broker_b, firm)
    token_a = await issue_token(session, broker_a, settings=settings)
    manager_token = await issue_token(session, manager, settings=settings)

    listed = await client.get("/api/v1/applications", headers=bearer(token_a))
    own = await client.get(f"/api/v1/applications/{application_a}", headers=bearer(token_a))
    foreign = await client.get(f"/api/v1/applications/{application_b}", headers=bearer(token_a))
    foreign_patch = await client.patch(
        f"/api/v1/applications/{application_b}",
        headers=bearer(token_a),
        json={"version": 1, "purpose": "other"},
    )
    foreign_profile = await client.get(
        f"/api/v1/borrowers/{client_b.id}/profile", headers=bearer(token_a)
    )
    managed = await client.get("/api/v1/applications", headers=bearer(manager_token))

    assert listed.status_code == 200
    assert _ids(listed.json()) == {application_a}
    assert own.status_code == 200
    assert foreign.status_code == 404
    assert foreign_patch.status_code == 404
    assert foreign_profile.status_code == 404
    assert {application_a, application_b} <= _ids(managed.json())  # the manager sees the firm


def _ids(page: Any) -> set[str]:
    rows = page["items"] if isinstance(page, dict) else page
    return {str(row["id"]) for row in rows}


def _rows(page: Any) -> list[dict[str, Any]]:
    rows = page["items"] if isinstance(page, dict) else page
    assert isinstance(rows, list)
    return rows


async def test_list_endpoints_hold_no_foreign_rows(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    world = await build_world(session, settings)
    own_borrower = world.users[("home", "borrower")]
    other_borrower = world.users[("other", "borrower")]
    await create_application(session, own_borrower)
    await create_application(session, other_borrower)
    for owner in (own_borrower, other_borrower, world.users[("home", "broker")]):
        session.add(
            ChatThread(
                id=uuid.uuid4(),
                user_id=owner.id,
                organization_id=owner.organization_id,
                graph="borrower" if owner.role is Role.BORROWER else "broker",
                channel="web",
            )
        )
    await session.flush()
    firm_ids = {str(world.own_firm.id)}
    problems: list[str] = []
    listed = 0
    for who in ("borrower", "broker", "broker_manager", "prompt_engineer"):
        caller = world.user(who)
        headers = bearer(world.tokens[caller.id])
        # Rows without an owner field are checked against the database: each listed id must be
        # one of the caller's own.
        own_threads = await _ids_where(session, ChatThread, ChatThread.user_id == caller.id)
        own_tokens = await _ids_where(session, AccessToken, AccessToken.user_id == caller.id)
        checks: dict[str, Any] = {
            "/api/v1/chat/threads": lambda row, mine=own_threads: str(row["id"]) in mine,
            "/api/v1/tokens": lambda row, mine=own_tokens: str(row["id"]) in mine,
        }
        if who in ("borrower", "broker", "broker_manager"):
            checks["/api/v1/applications"] = lambda row, c=caller, w=who: (
                str(row["borrower_user_id"]) == str(c.id)
                if w == "borrower"
                else str(row["organization_id"]) in firm_ids
            )
        if who == "broker_manager":
            checks["/api/v1/users"] = lambda row: str(row["organization_id"]) in firm_ids
            checks["/api/v1/invitations"] = lambda row: str(row["organization_id"]) in firm_ids
        for path, belongs in checks.items():
            response = await client.get(path, headers=headers)
            if response.status_code != 200:
                problems.append(f"{who} {path}: {response.status_code}")
                continue
            rows = _rows(response.json())
            listed += len(rows)
            problems += [f"{who} {path}: foreign row {row}" for row in rows if not belongs(row)]
    assert not problems, "\n".join(problems)
    assert listed > 0  # the lists were not all empty: there was something to leak


async def _ids_where(session: AsyncSession, model: Any, condition: Any) -> set[str]:
    return {str(row) for row in await session.scalars(select(model.id).where(condition))}


async def _pending_approval(world: World, owner: User, thread: ChatThread) -> ToolApproval:
    arguments = {"application_id": str(uuid.uuid4()), "reason": "changed my mind"}
    approval = (
        await approval_service._ask(  # a question asked in this conversation, as the graph asks
            world.session,
            actor_of(owner),
            thread_id=thread.id,
            tool_name="withdraw_application",
            call_key=f"call:{uuid.uuid4()}",
            arguments_sha256=fingerprint(
                registry.get("withdraw_application"), arguments, world.settings
            ),
            arguments=arguments,
            confirmation=Confirmation(en="Withdraw?", zh="撤回吗？"),
            language="en",
            channel="web",
            ttl=timedelta(minutes=10),
        )
    )
    return approval


async def test_nobody_answers_another_users_real_pending_approval(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    world = await build_world(session, settings)
    owner = world.users[("home", "borrower")]
    thread = ChatThread(
        id=uuid.uuid4(),
        user_id=owner.id,
        organization_id=owner.organization_id,
        graph="borrower",
        channel="web",
    )
    session.add(thread)
    await session.flush()
    approval = await _pending_approval(world, owner, thread)
    answers: dict[str, int] = {}
    for who in WHO:
        if who == "borrower":
            continue
        token = world.token(who)
        headers = bearer(token) if token else {}
        on_theirs = await client.post(
            f"/api/v1/chat/threads/{thread.id}/approvals/{approval.id}",
            headers=headers,
            json={"approved": True},
        )
        answers[f"{who} on the owner's thread"] = on_theirs.status_code
        if who in ("anonymous", "mfa_pending"):
            continue
        caller = world.user(who)
        own_thread = ChatThread(
            id=uuid.uuid4(),
            user_id=caller.id,
            organization_id=caller.organization_id,
            graph="borrower" if caller.role is Role.BORROWER else "broker",
            channel="web",
        )
        session.add(own_thread)
        await session.flush()
        on_own = await client.post(
            f"/api/v1/chat/threads/{own_thread.id}/approvals/{approval.id}",
            headers=headers,
            json={"approved": True},
        )
        answers[f"{who} on their own thread"] = on_own.status_code

    await session.refresh(approval)
    assert approval.status == ApprovalStatus.PENDING
    expected_refusals = {401, 403, 404}
    assert all(status in expected_refusals for status in answers.values()), answers
    assert answers["broker on the owner's thread"] == 404
    assert answers["platform_admin on the owner's thread"] == 404


# Arguments for every tool: real rows of the world where a tool names one, else nothing.
def _arguments(tool_fields: set[str], ids: dict[str, str]) -> dict[str, Any]:
    return {name: value for name, value in ids.items() if name in tool_fields}


async def test_every_tool_as_every_role(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    world = await build_world(session, settings)
    other_application = await create_application(session, world.users[("other", "borrower")])
    ids = {
        "application_id": str(other_application.id),
        "borrower_user_id": str(world.users[("other", "borrower")].id),
        "document_id": str(uuid.uuid4()),
        "offer_id": str(uuid.uuid4()),
        "entry_id": str(uuid.uuid4()),
        "batch_id": str(uuid.uuid4()),
    }
    await session.commit()
    problems: list[str] = []
    roles: tuple[Who, ...] = ("borrower", "broker", "broker_manager", "prompt_engineer")
    for tool in registry.all():
        fields = set(tool.input_model.model_fields)
        for who in (*roles, "platform_admin"):
            user = world.user(who)
            for arguments in ({}, _arguments(fields, ids)):
                try:
                    await registry.execute(
                        tool.name, arguments, context_for(user, sessionmaker, settings)
                    )
                    outcome = "ok"
                except ToolError as error:
                    outcome = error.kind
                allowed = tool.allowed(actor_of(user))
                if outcome == "InternalError":
                    problems.append(f"{tool.name} as {who} {arguments}: InternalError")
                if not allowed and outcome != "PermissionDenied":
                    problems.append(f"{tool.name} as {who}: not allowed, yet {outcome}")
                # A row of another firm: only a caller whose scope reaches every firm gets it.
                names_a_row = bool(set(arguments) & {"application_id", "borrower_user_id"})
                if names_a_row and outcome == "ok" and not _reaches_everyone(tool.scopes, user):
                    problems.append(f"{tool.name} as {who} reached another firm's row")
    assert not problems, "\n".join(problems)


def _reaches_everyone(scopes: frozenset[Scope], user: User) -> bool:
    held = scopes & actor_of(user).scopes
    return any(scope.value.endswith(":all") for scope in held)
