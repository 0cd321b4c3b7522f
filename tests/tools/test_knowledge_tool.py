"""search_knowledge: every role may use it, and it returns cited passages."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.ingest import knowledge_ingest_service
from knowledge.ingestion import SourceFile
from knowledge.schemas import IngestOptions, SearchResult
from lending.config import Settings
from lending.db import SessionMaker
from lending.models.identity import Role
from tests.identity.factories import actor_of, create_user
from tests.tools.support import context_for
from tools.base import ToolError
from tools.registry import registry

FEES = b"# Harbor fees\n\n## Late payment\n\nA late payment fee of $29 applies after 15 days.\n"


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_searches_the_knowledge_base(
    role: Role, session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    fake = settings.model_copy(update={"knowledge_embedder": "fake"})
    await knowledge_ingest_service.ingest(
        session,
        None,
        source=SourceFile("harbor-fees.md", FEES),
        options=IngestOptions(publish=True),
        settings=fake,
    )
    user = await create_user(session, role=role)
    await session.commit()
    assert "search_knowledge" in [tool.name for tool in registry.for_actor(actor_of(user))]

    result = await registry.execute(
        "search_knowledge",
        {"query": "late payment fee", "k": 3},
        context_for(user, sessionmaker, fake),
    )

    assert isinstance(result, SearchResult)
    assert result.passages[0].citation == "Harbor fees › Late payment (v1)"
    assert "$29" in result.passages[0].text


async def test_an_over_long_query_is_a_readable_error(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    user = await create_user(session, role=Role.BORROWER)
    await session.commit()
    with pytest.raises(ToolError) as raised:
        await registry.execute(
            "search_knowledge", {"query": "x" * 10_000}, context_for(user, sessionmaker, settings)
        )
    assert raised.value.kind == "InvalidInput"
    assert "query" in raised.value.message
