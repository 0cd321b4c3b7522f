"""The LangChain adapter: only the actor's tools, the call id as idempotency key, errors the
model reads as the tool message, the output model as the artifact."""

from __future__ import annotations

import json

from langchain_core.messages import ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.schemas import ApplicationRead
from lending.config import Settings
from lending.db import SessionMaker
from lending.models.applications import Application
from lending.models.identity import Role
from tests.identity.factories import create_user
from tests.lending.factories import create_borrower
from tests.tools.support import context_for
from tools.langchain import langchain_tools


def _call(name: str, args: dict[str, object], call_id: str) -> dict[str, object]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


async def test_only_the_actors_tools_are_offered(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    prompts = await create_user(session, role=Role.PROMPT_ENGINEER)
    offered = langchain_tools(context_for(prompts, sessionmaker, settings))
    assert [item.name for item in offered] == [
        "compute_payment",
        "search_knowledge",
        "get_my_data_copy",
        "request_my_erasure",
    ]
    schema = convert_to_openai_tool(offered[0])
    assert {"amount", "term_months"} <= set(schema["function"]["parameters"]["properties"])
    assert "actor" not in json.dumps(schema)


async def test_a_tool_call_runs_once_per_call_id(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    tools = {
        item.name: item for item in langchain_tools(context_for(borrower, sessionmaker, settings))
    }
    call = _call("start_application", {"product_type": "personal", "amount": "8000"}, "call_7")

    message = await tools["start_application"].ainvoke(call)
    replayed = await tools["start_application"].ainvoke(call)  # a resumed run re-executes

    assert isinstance(message, ToolMessage)
    assert message.tool_call_id == "call_7"
    assert message.status == "success"
    assert isinstance(message.artifact, ApplicationRead)
    assert json.loads(message.content)["reference"] == message.artifact.reference  # type: ignore[arg-type]
    assert replayed.content == message.content
    count = await session.scalar(
        select(func.count()).where(Application.borrower_user_id == borrower.id)
    )
    assert count == 1


async def test_errors_come_back_as_an_error_message_the_model_reads(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    tools = {
        item.name: item for item in langchain_tools(context_for(borrower, sessionmaker, settings))
    }
    message = await tools["compute_payment"].ainvoke(
        _call(
            "compute_payment", {"amount": "1000.001", "annual_rate": "5", "term_months": 12}, "c1"
        )
    )
    assert isinstance(message, ToolMessage)
    assert message.status == "error"
    body = json.loads(message.content)  # type: ignore[arg-type]
    assert body["error"] == "InvalidInput"
    assert body["detail"][0]["loc"] == ["amount"]

    answer = await tools["compute_payment"].ainvoke(
        _call("compute_payment", {"amount": "1000", "annual_rate": "0", "term_months": 4}, "c2")
    )
    assert json.loads(answer.content)["monthly_payment"] == "250.00"
