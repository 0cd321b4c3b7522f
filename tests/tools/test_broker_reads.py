"""The broker read tools reach exactly what the actor's scopes allow: a broker their own
clients, a broker manager their firm's, a platform administrator everyone; the same refusal
for an address that does not exist and for one outside the actor's reach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.models.identity import Role, User
from lending.models.offers import Offer
from lending.offers.service import offer_service
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)
from tests.tools.support import context_for
from tools.base import ToolError
from tools.registry import registry


async def _world(session: AsyncSession, settings: Settings) -> dict[str, User]:
    await create_catalog(session)
    firm, other_firm = await create_organization(session), await create_organization(session)
    people = {
        "broker": await create_user(session, role=Role.BROKER, organization=firm),
        "colleague": await create_user(session, role=Role.BROKER, organization=firm),
        "manager": await create_user(session, role=Role.BROKER_MANAGER, organization=firm),
        "other_broker": await create_user(session, role=Role.BROKER, organization=other_firm),
        "admin": await create_user(session, role=Role.PLATFORM_ADMIN),
    }
    people["mine"] = await create_borrower(
        session, settings, organization=firm, referred_by=people["broker"]
    )
    people["colleagues"] = await create_borrower(
        session, settings, organization=firm, referred_by=people["colleague"]
    )
    people["theirs"] = await create_borrower(
        session, settings, organization=other_firm, referred_by=people["other_broker"]
    )
    return people


@pytest.mark.parametrize(
    ("who", "found"),
    [
        ("broker", {"mine"}),
        ("manager", {"mine", "colleagues"}),
        ("admin", {"mine", "colleagues", "theirs"}),
    ],
)
async def test_find_client_reaches_only_the_actors_clients(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, who: str, found: set[str]
) -> None:
    people = await _world(session, settings)
    await session.commit()
    context = context_for(people[who], sessionmaker, settings)
    for name in ("mine", "colleagues", "theirs"):
        borrower = people[name]
        if name in found:
            client = await registry.execute("find_client", {"email": borrower.email}, context)
            assert client.model_dump()["id"] == borrower.id
            continue
        with pytest.raises(ToolError) as refused:
            await registry.execute("find_client", {"email": borrower.email}, context)
        with pytest.raises(ToolError) as unknown:
            await registry.execute("find_client", {"email": "no-one@example.com"}, context)
        assert refused.value.to_text() == unknown.value.to_text()
        assert refused.value.status == 404


async def test_find_client_refuses_a_malformed_address(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await _world(session, settings)
    await session.commit()
    with pytest.raises(ToolError) as error:
        await registry.execute(
            "find_client",
            {"email": "not an address"},
            context_for(people["broker"], sessionmaker, settings),
        )
    assert error.value.status == 422


async def test_expiring_offers_are_scoped_like_get_offers(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await _world(session, settings)
    applications = {}
    for name in ("mine", "colleagues", "theirs"):
        await give_consent(session, people[name])
        started = await create_application(session, people[name])
        await offer_service.get_offers(session, actor_of(people[name]), application_id=started.id)
        applications[started.id] = name
    now = datetime.now(UTC)
    await session.execute(update(Offer).values(expires_at=now + timedelta(days=5)))
    await session.commit()

    async def seen(who: str, within_days: int) -> set[str]:
        result = await registry.execute(
            "list_expiring_offers",
            {"within_days": within_days},
            context_for(people[who], sessionmaker, settings),
        )
        items = result.model_dump()["items"]
        assert [item["expires_at"] for item in items] == sorted(i["expires_at"] for i in items)
        return {applications[item["application_id"]] for item in items}

    assert await seen("broker", 7) == {"mine"}
    assert await seen("manager", 7) == {"mine", "colleagues"}
    assert await seen("admin", 7) == {"mine", "colleagues", "theirs"}
    assert await seen("admin", 4) == set()  # they expire in 5 days
    with pytest.raises(ToolError) as error:
        await seen("broker", 0)
    assert error.value.status == 422
