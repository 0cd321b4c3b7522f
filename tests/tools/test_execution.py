"""Executing tools: scope refusal, typed errors for bad input (no partial write), approvals,
idempotent retries that act once, audit rows for side effects, one transaction per call."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.scopes import Scope
from lending.lenders.repository import LenderRepository
from lending.models.applications import Application, ApplicationStatus
from lending.models.audit import AuditEvent
from lending.models.identity import Role, User
from tests.identity.factories import create_user
from tests.lending.factories import create_borrower, create_catalog, give_consent
from tests.tools.support import context_for
from tools.approvals import Decision
from tools.base import ToolCall, ToolError, tool
from tools.context import ApprovalRequest
from tools.registry import ToolRegistry, registry


async def _count(session: AsyncSession, model: type[Any], *where: Any) -> int:
    statement = select(func.count()).select_from(model).where(*where)
    return int(await session.scalar(statement) or 0)


async def _applications_of(session: AsyncSession, user: User) -> int:
    return await _count(session, Application, Application.borrower_user_id == user.id)


async def test_a_tool_is_refused_at_execution_when_the_actor_lacks_its_scope(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    prompts = await create_user(session, role=Role.PROMPT_ENGINEER)
    with pytest.raises(ToolError) as raised:
        await registry.execute(
            "get_application",
            {"application_id": str(uuid.uuid4())},
            context_for(prompts, sessionmaker, settings),
        )
    assert raised.value.kind == "PermissionDenied"
    assert raised.value.status == 403


async def test_bad_input_is_a_typed_error_and_writes_nothing(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    context = context_for(borrower, sessionmaker, settings)
    for arguments, loc in (
        ({"product_type": "personal", "amount": "2500.125"}, "amount"),
        ({"product_type": "spaceship"}, "product_type"),
        ({"product_type": "personal", "term_months": 0}, "term_months"),
        ({"product_type": "personal", "role": "platform_admin"}, "role"),
    ):
        with pytest.raises(ToolError) as raised:
            await registry.execute("start_application", arguments, context, idempotency_key="k")
        assert raised.value.kind == "InvalidInput"
        assert [problem["loc"] for problem in raised.value.detail] == [[loc]]
        assert loc in raised.value.to_text()
    # A service-level refusal (a slot the product does not have) is field-level too.
    with pytest.raises(ToolError) as refused:
        await registry.execute(
            "start_application",
            {"product_type": "personal", "slots": {"vehicle_year": 2020}},
            context,
        )
    assert refused.value.kind == "InvalidInput"
    assert refused.value.detail[0]["loc"] == ["slots", "vehicle_year"]
    assert await _applications_of(session, borrower) == 0


async def test_an_unknown_product_and_a_term_outside_the_product(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    lenders = await create_catalog(session)
    product = await LenderRepository.from_session(session).get_product_by_code(
        lenders["summit-credit-union"].id, "summit-personal"
    )
    assert product is not None
    borrower = await create_borrower(session, settings)
    context = context_for(borrower, sessionmaker, settings)
    with pytest.raises(ToolError) as outside:
        await registry.execute(
            "compute_payment",
            {"amount": "5000", "term_months": 120, "product_id": str(product.id)},
            context,
        )
    assert outside.value.detail[0]["loc"] == ["term_months"]
    assert "12 and 60 months" in outside.value.detail[0]["msg"]
    with pytest.raises(ToolError) as unknown:
        await registry.execute(
            "compute_payment",
            {"amount": "5000", "term_months": 36, "product_id": str(uuid.uuid4())},
            context,
        )
    assert unknown.value.detail[0]["loc"] == ["product_id"]
    answer = await registry.execute(
        "compute_payment",
        {"amount": "5000", "term_months": 36, "product_id": str(product.id)},
        context,
    )
    assert answer.model_dump()["annual_rate"] == Decimal(product.rate_table["excellent"])


async def test_a_stale_version_is_a_conflict_the_model_can_read(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    context = context_for(borrower, sessionmaker, settings)
    started = await registry.execute("start_application", {"product_type": "personal"}, context)
    application_id = str(started.model_dump()["id"])
    await registry.execute(
        "update_application", {"application_id": application_id, "amount": "9000"}, context
    )
    with pytest.raises(ToolError) as raised:
        await registry.execute(
            "update_application",
            {"application_id": application_id, "version": 1, "amount": "9999"},
            context,
        )
    assert (raised.value.kind, raised.value.status) == ("StaleVersion", 409)
    assert raised.value.detail["current_version"] == 2


async def test_an_idempotent_retry_does_not_act_twice(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    context = context_for(borrower, sessionmaker, settings)
    arguments = {"product_type": "personal", "amount": "12000.00", "term_months": 24}

    first = await registry.execute(
        "start_application", arguments, context, idempotency_key="call-1"
    )
    retried = await registry.execute(
        "start_application", arguments, context, idempotency_key="call-1"
    )

    assert retried.model_dump() == first.model_dump()
    assert await _applications_of(session, borrower) == 1
    audited = await _count(
        session,
        AuditEvent,
        AuditEvent.action == "tool.start_application",
        AuditEvent.actor_user_id == borrower.id,
    )
    assert audited == 1
    with pytest.raises(ToolError) as reused:
        await registry.execute(
            "start_application",
            {**arguments, "amount": "13000.00"},
            context,
            idempotency_key="call-1",
        )
    assert reused.value.kind == "IdempotencyKeyReused"
    # Another key (or none) is another call.
    await registry.execute("start_application", arguments, context, idempotency_key="call-2")
    assert await _applications_of(session, borrower) == 2


async def test_side_effects_are_audited_without_their_values(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    context = context_for(borrower, sessionmaker, settings)
    before = await session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
    await registry.execute(
        "update_borrower_profile",
        {"ssn": "219-09-9999", "phone": "+1 212 555 0100"},
        context,
        approved=True,  # replacing the SSN on file is asked first (tested below)
    )
    await registry.execute("get_borrower_profile", {}, context)
    events = (
        (
            await session.execute(
                select(AuditEvent)
                .where(AuditEvent.actor_user_id == borrower.id, AuditEvent.id > before)
                .order_by(AuditEvent.id)
            )
        )
        .scalars()
        .all()
    )
    # Two facts, no read: the change to the profile (recorded by the service, as over REST) and
    # the assistant's call of the tool that made it (its channel, thread and idempotency key).
    assert [event.action for event in events] == [
        "profile.updated",
        "tool.update_borrower_profile",
    ]
    for event in events:
        assert event.details["fields"] == ["phone", "ssn"]
        assert "219099999" not in str(event.details)
        assert "219-09-9999" not in str(event.details)


async def test_replacing_an_ssn_or_email_on_file_is_asked_first_filling_one_in_is_not(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)  # has an SSN and an e-mail on file
    asked: list[ApprovalRequest] = []

    async def no(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.REJECTED

    context = context_for(borrower, sessionmaker, settings, approver=no)
    before = await registry.execute("get_borrower_profile", {}, context)
    # A phone number is filled in without a question.
    await registry.execute("update_borrower_profile", {"phone": "+1 212 555 0100"}, context)
    assert asked == []
    for change in ({"ssn": "219-09-9999"}, {"email": "someone.else@example.com"}):
        with pytest.raises(ToolError) as refused:
            await registry.execute("update_borrower_profile", change, context)
        assert refused.value.kind == "NotApproved"
    assert [request.tool for request in asked] == ["update_borrower_profile"] * 2
    assert "Social Security number" in asked[0].summary
    assert "219-09-9999" not in asked[0].summary  # the question never repeats the value
    assert "someone.else@example.com" in asked[1].summary
    after = await registry.execute("get_borrower_profile", {}, context)
    assert after.ssn_last4 == before.ssn_last4  # type: ignore[attr-defined]
    assert after.email == before.email  # type: ignore[attr-defined]


async def test_an_irreversible_tool_waits_for_approval(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    asked: list[ApprovalRequest] = []
    answer = {"approve": False}

    async def approver(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.APPROVED if answer["approve"] else Decision.REJECTED

    context = context_for(borrower, sessionmaker, settings, approver=approver)
    started = await registry.execute(
        "start_application",
        {
            "product_type": "personal",
            "purpose": "home_improvement",
            "amount": "15000",
            "term_months": 36,
        },
        context,
    )
    application_id = str(started.model_dump()["id"])
    offers = await registry.execute("get_offers", {"application_id": application_id}, context)
    lender_id = str(offers.model_dump()["offers"][0]["lender_id"])
    submit = {"application_id": application_id, "lender_ids": [lender_id]}

    without_approver = context_for(borrower, sessionmaker, settings)
    with pytest.raises(ToolError) as required:
        await registry.execute("submit_application", submit, without_approver)
    assert required.value.kind == "ApprovalRequired"
    with pytest.raises(ToolError) as declined:
        await registry.execute("submit_application", submit, context, idempotency_key="s-1")
    assert declined.value.kind == "NotApproved"
    assert asked[-1].tool == "submit_application"
    assert asked[-1].arguments["lender_ids"] == [lender_id]
    still = await registry.execute("get_application", {"application_id": application_id}, context)
    assert still.model_dump()["status"] is ApplicationStatus.DRAFT

    answer["approve"] = True
    done = await registry.execute("submit_application", submit, context, idempotency_key="s-1")
    assert done.model_dump()["status"] is ApplicationStatus.SUBMITTED
    # Resumed after the fact: the stored result comes back and nobody is asked again.
    asked_before = len(asked)
    again = await registry.execute("submit_application", submit, context, idempotency_key="s-1")
    assert again.model_dump() == done.model_dump()
    assert len(asked) == asked_before


class _Nothing(BaseModel):
    pass


@tool(scopes=[Scope.CHAT_USE], side_effect=True)
async def explode(call: ToolCall, data: _Nothing) -> _Nothing:
    """Writes, then fails unexpectedly."""
    call.session.add(AuditEvent(action="never", details={}, prev_hash="x" * 64, hash="y" * 64))
    raise RuntimeError("boom")


async def test_an_unexpected_failure_is_a_generic_error_and_rolls_back(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_user(session)
    with pytest.raises(ToolError) as raised:
        await ToolRegistry([explode]).execute(
            "explode", {}, context_for(borrower, sessionmaker, settings)
        )
    assert raised.value.kind == "InternalError"
    assert "boom" not in raised.value.message
    assert await _count(session, AuditEvent, AuditEvent.action == "never") == 0
