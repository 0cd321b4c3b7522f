"""PII over the chat API with a (scripted) model: the model reads tokens only, a token comes back
as the real value only in the arguments a tool declares as PII, and what the person typed is
shown and stored redacted."""

from __future__ import annotations

from datetime import date

from langchain_core.messages import AIMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.scripted import ScriptedChatModel
from lending.applications.profile import borrower_profile_service
from lending.config import Settings
from lending.models.applications import BorrowerProfile
from lending.models.chat import ChatMessage
from tests.agents.sse import Client, borrower_with_token, new_thread, send
from tests.agents.test_chat_llm import call
from tests.identity.factories import bearer

TYPED = ("123 45 6789", "123-45-6789", "123456789", "03/15/1990", "1990-03-15")


async def test_a_model_gets_back_a_value_only_in_a_declared_pii_field(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, token = await borrower_with_token(session, settings)
    model = ScriptedChatModel(
        script=[
            # The model tries to smuggle the SSN into a free-text field and a search query.
            call(
                "update_borrower_profile",
                ssn="[SSN-1]",
                date_of_birth="[DOB-1]",
                employer_name="Acme [SSN-1]",
            ),
            AIMessage(content="Saved."),
            call("search_knowledge", query="fees for [SSN-1] born [DOB-1]"),
            AIMessage(content="Here is what I found."),
        ]
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        await send(http, token, thread_id, "my ssn is 123 45 6789 and I was born 03/15/1990")
        searched = await send(http, token, thread_id, "what fees are there?")
        history = await http.get(f"/api/v1/chat/threads/{thread_id}", headers=bearer(token))

    # The declared fields got the real values.
    profile = await session.scalar(
        select(BorrowerProfile).where(BorrowerProfile.user_id == borrower.id)
    )
    assert profile is not None
    assert profile.ssn_last4 == "6789"
    born = await borrower_profile_service.reveal_date_of_birth(
        session, user_id=borrower.id, settings=settings
    )
    assert born == date(1990, 3, 15)
    # Any other argument kept the token: the free text and the search query.
    assert profile.employer_name == "Acme [SSN-1]"
    finished = next(data for kind, data in searched if kind == "tool.finished")
    assert finished["ok"] is True
    assert finished["result"]["query"] == "fees for [SSN-1] born [DOB-1]"

    # The model never read a typed value, in the person's words or in a tool's result.
    seen = " ".join(str(message.content) for turn in model.seen for message in turn)
    assert "[SSN-1]" in seen
    assert "[DOB-1]" in seen
    for typed in TYPED:
        assert typed not in seen, typed

    # What the person typed is shown and stored redacted.
    assert history.status_code == 200
    for typed in TYPED:
        assert typed not in history.text, typed
    stored = " ".join((await session.scalars(select(ChatMessage.content))).all())
    assert "my ssn is [redacted] and I was born [redacted]" in stored
    for typed in TYPED:
        assert typed not in stored, typed
