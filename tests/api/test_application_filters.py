"""`GET /api/v1/applications` filters, searches, sorts and pages on the server, within what the
caller may see: a broker their clients', a manager the firm's, an admin all. Searching for a
borrower of another firm finds nothing; bad values are 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.schemas import ApplicationList, ApplicationRead
from lending.applications.service import application_service
from lending.config import Settings
from lending.models.applications import Application, ProductType
from lending.models.identity import Organization, Role, User
from tests.identity.factories import (
    actor_of,
    bearer,
    create_organization,
    create_user,
    issue_token,
)
from tests.lending.factories import create_application, create_borrower, create_catalog
from tests.tools.support import context_for
from tools.registry import registry


async def _borrower(
    session: AsyncSession,
    settings: Settings,
    organization: Organization,
    name: str,
    email: str,
    referred_by: User | None = None,
) -> User:
    user = await create_borrower(
        session, settings, organization=organization, referred_by=referred_by
    )
    user.full_name = name
    user.email = email
    await session.flush()
    return user


class World:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def build(self) -> World:
        s, settings = self.session, self.settings
        await create_catalog(s)
        self.firm = await create_organization(s)
        self.other_firm = await create_organization(s)
        self.broker = await create_user(s, organization=self.firm, role=Role.BROKER)
        self.manager = await create_user(s, organization=self.firm, role=Role.BROKER_MANAGER)
        self.admin = await create_user(s, role=Role.PLATFORM_ADMIN)
        self.stranger_broker = await create_user(s, organization=self.other_firm, role=Role.BROKER)
        self.ada = await _borrower(
            s, settings, self.firm, "Ada Lovelace", "ada@example.test", self.broker
        )
        self.alan = await _borrower(
            s, settings, self.firm, "Alan Turing", "alan@example.test", self.broker
        )
        self.grace = await _borrower(  # the firm's, not the broker's client
            s, settings, self.firm, "Grace Hopper", "grace@example.test"
        )
        self.zed = await _borrower(  # another firm's
            s, settings, self.other_firm, "Zed Zimmerman", "zed_100%@example.test"
        )
        self.ada_personal = await create_application(s, self.ada, amount="15000.00")
        self.ada_auto = await create_application(
            s,
            self.ada,
            product_type=ProductType.AUTO,
            purpose="new_vehicle_purchase",
            amount="30000.00",
        )
        self.alan_personal = await create_application(s, self.alan, amount="5000.00")
        await application_service.withdraw(
            s, actor_of(self.alan), application_id=self.alan_personal.id, reason="not now"
        )
        self.grace_personal = await create_application(s, self.grace, amount="20000.00")
        self.zed_personal = await create_application(s, self.zed, amount="25000.00")
        # Created a day apart, in this order (one transaction would give them one time).
        for days, application in enumerate(
            (
                self.ada_personal,
                self.ada_auto,
                self.alan_personal,
                self.grace_personal,
                self.zed_personal,
            )
        ):
            await s.execute(
                update(Application)
                .where(Application.id == application.id)
                .values(created_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=days))
            )
        await s.commit()
        return self

    async def headers(self, user: User) -> dict[str, str]:
        return bearer(await issue_token(self.session, user, settings=self.settings))


async def _list(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/applications", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def _id(application: ApplicationRead) -> str:
    return str(application.id)


async def test_filters_search_and_order_within_the_callers_reach(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    w = await World(session, settings).build()
    broker = await w.headers(w.broker)
    manager = await w.headers(w.manager)
    admin = await w.headers(w.admin)

    everything = await _list(client, broker)
    assert everything["total"] == 3
    assert set(_ids(everything)) == {
        _id(w.ada_personal),
        _id(w.ada_auto),
        _id(w.alan_personal),
    }

    # Statuses (any of several), product types.
    drafts = await _list(client, broker, status="draft")
    assert set(_ids(drafts)) == {_id(w.ada_personal), _id(w.ada_auto)}
    both = await _list(client, broker, status=["draft", "withdrawn"])
    assert both["total"] == 3
    autos = await _list(client, manager, product_type="auto")
    assert _ids(autos) == [_id(w.ada_auto)]
    personal_drafts = await _list(client, manager, status="draft", product_type="personal")
    assert set(_ids(personal_drafts)) == {_id(w.ada_personal), _id(w.grace_personal)}

    # Search: the borrower's name or email (any case), or the reference.
    assert set(_ids(await _list(client, broker, q="LOVELACE"))) == {
        _id(w.ada_personal),
        _id(w.ada_auto),
    }
    assert _ids(await _list(client, broker, q="alan@example")) == [_id(w.alan_personal)]
    assert _ids(await _list(client, broker, q=w.ada_auto.reference.lower())) == [_id(w.ada_auto)]
    # A manager finds the firm's borrower the broker does not work with; the broker does not.
    assert _ids(await _list(client, manager, q="hopper")) == [_id(w.grace_personal)]
    assert (await _list(client, broker, q="hopper"))["total"] == 0

    # Tenant isolation: another firm's borrower is found by no one in this firm, by name,
    # email or reference; the platform admin finds them.
    for q in ("Zimmerman", "zed_100", w.zed_personal.reference):
        for headers in (broker, manager):
            found = await _list(client, headers, q=q)
            assert (found["total"], found["items"]) == (0, []), q
        assert _ids(await _list(client, admin, q=q)) == [_id(w.zed_personal)]
    stranger = await w.headers(w.stranger_broker)
    assert (await _list(client, stranger, q="lovelace"))["total"] == 0

    # LIKE wildcards in the text are literal: "%" matches only a "%".
    assert (await _list(client, admin, q="%"))["total"] == 1
    assert (await _list(client, admin, q="_"))["total"] == 1  # only zed_100%@...

    # Order.
    by_amount = await _list(client, manager, order="amount_desc")
    assert _ids(by_amount) == [
        _id(w.ada_auto),
        _id(w.grace_personal),
        _id(w.ada_personal),
        _id(w.alan_personal),
    ]
    ascending = await _list(client, manager, order="amount_asc")
    assert _ids(ascending) == list(reversed(_ids(by_amount)))
    newest = _ids(await _list(client, manager))
    assert newest == [
        _id(w.grace_personal),
        _id(w.alan_personal),
        _id(w.ada_auto),
        _id(w.ada_personal),
    ]
    assert _ids(await _list(client, manager, order="oldest")) == list(reversed(newest))
    changed = await _list(client, manager, order="status_changed")
    assert _ids(changed)[0] == _id(w.alan_personal)  # withdrawn last


async def test_pages_cover_every_match_once_with_the_total(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    w = await World(session, settings).build()
    admin = await w.headers(w.admin)
    everything = await _list(client, admin, q="example.test", limit=100)
    assert everything["total"] == 5
    seen: list[str] = []
    for offset in range(0, 6, 2):
        page = await _list(client, admin, q="example.test", limit=2, offset=offset)
        assert page["total"] == 5
        assert (page["limit"], page["offset"]) == (2, offset)
        seen += _ids(page)
    assert seen == _ids(everything)
    beyond = await _list(client, admin, q="example.test", limit=2, offset=10)
    assert (beyond["total"], beyond["items"]) == (5, [])


async def test_bad_filter_values_are_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    w = await World(session, settings).build()
    headers = await w.headers(w.broker)
    for params in (
        {"status": "lost"},
        {"status": ["draft", "nope"]},
        {"product_type": "yacht"},
        {"order": "random"},
        {"q": ""},
        {"q": "x" * 101},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
    ):
        response = await client.get("/api/v1/applications", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"] == "ValidationError", response.text


async def test_the_tool_takes_the_same_filters(
    session: AsyncSession, sessionmaker: Any, settings: Settings
) -> None:
    w = await World(session, settings).build()
    context = context_for(w.manager, sessionmaker, settings)

    async def listed(arguments: dict[str, Any]) -> ApplicationList:
        result = await registry.execute("list_applications", arguments, context)
        assert isinstance(result, ApplicationList)
        return result

    found = await listed({"statuses": ["draft"], "product_types": ["personal"], "search": "hopper"})
    assert [item.id for item in found.items] == [w.grace_personal.id]
    assert found.total == 1
    isolated = await listed({"search": "zimmerman"})
    assert (isolated.total, isolated.items) == (0, [])
    ordered = await listed({"order": "amount_desc", "limit": 1})
    assert [item.id for item in ordered.items] == [w.ada_auto.id]
    assert ordered.total == 4
