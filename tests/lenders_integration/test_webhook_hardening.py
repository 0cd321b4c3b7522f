"""Forged webhooks (issue 14): each lender's own secret, required outside the simulator; the
signature is checked before any adapter is made; the route is rate-limited per address."""

from __future__ import annotations

import time

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from api.app import create_app
from api.routes.lender_webhooks import lender_adapters
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import Store
from lending.lenders.integration.registry import callback_url, lender_endpoint
from lending.lenders.integration.secrets import DEV_WEBHOOK_SECRET
from lending.lenders.integration.signing import SIGNATURE_HEADER, signature_header
from tests.identity.factories import api_clients

ALPHA, BETA = SecretStr("alpha-secret-0123456789"), SecretStr("beta-secret-9876543210")
UNREACHABLE = "http://127.0.0.1:9"  # nothing is sent in these tests


def _lenders(settings: Settings, **changes: object) -> Settings:
    values: dict[str, object] = {
        "lender_api_base_url": UNREACHABLE,
        "lender_request_secrets": {
            code: SecretStr(f"request-secret-{code}") for code in ("alpha", "beta", "harbor-bank")
        },
        "lender_webhook_secret": None,
        "lender_webhook_secrets": {},
        "lender_simulator": False,
    }
    return settings.model_copy(update=values | changes)


def _signed(
    settings: Settings, code: str, secret: SecretStr, body: bytes = b"{}"
) -> dict[str, str]:
    path = httpx.URL(callback_url(settings, code)).raw_path.decode()
    return {
        SIGNATURE_HEADER: signature_header(secret, int(time.time()), "POST", path, body),
        "content-type": "application/json",
    }


async def _post(client: httpx.AsyncClient, code: str, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"/api/v1/lenders/webhooks/{code}", content=b"{}", headers=headers)


async def test_outside_the_simulator_a_lender_without_its_own_secret_is_refused(
    settings: Settings, sessionmaker: SessionMaker, store: Store
) -> None:
    configured = _lenders(settings)  # a URL, no secret for "harbor-bank", not the simulator
    async with api_clients(configured, sessionmaker, store, "127.0.0.1") as c:
        public = await _post(
            c["127.0.0.1"], "harbor-bank", _signed(configured, "harbor-bank", DEV_WEBHOOK_SECRET)
        )

    assert public.status_code == 401
    assert public.json()["error"] == "WebhookRejected"
    endpoint, reason = lender_endpoint(configured, "harbor-bank")
    assert endpoint is None  # and nothing is submitted to it either
    assert "OMNIFIN_LENDER_WEBHOOK_SECRETS" in reason


async def test_one_lenders_secret_does_not_sign_anothers(
    settings: Settings, sessionmaker: SessionMaker, store: Store
) -> None:
    configured = _lenders(settings, lender_webhook_secrets={"alpha": ALPHA, "beta": BETA})
    async with api_clients(configured, sessionmaker, store, "127.0.0.1") as c:
        client = c["127.0.0.1"]
        forged = await _post(client, "beta", _signed(configured, "beta", ALPHA))
        genuine = await _post(client, "beta", _signed(configured, "beta", BETA))

    assert forged.status_code == 401
    # Signed by beta: verified, then refused for its (empty) body, not for its signature.
    assert genuine.status_code == 422, genuine.text
    assert genuine.json()["error"] == "InvalidWebhook"


async def test_no_adapter_is_made_before_the_signature_is_checked(
    settings: Settings, sessionmaker: SessionMaker, store: Store
) -> None:
    configured = _lenders(settings, lender_webhook_secrets={"alpha": ALPHA})
    app = create_app(configured, sessionmaker=sessionmaker, store=store)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        refused = [
            await _post(client, "alpha", {}),
            await _post(client, "alpha", _signed(configured, "alpha", BETA)),
            await _post(client, "unknown-lender", _signed(configured, "unknown-lender", ALPHA)),
            await _post(client, "Not_A-Slug!", {}),
        ]
        made_before = lender_adapters(app.state.omnifin).count()
        accepted = await _post(client, "alpha", _signed(configured, "alpha", ALPHA))
        made_after = lender_adapters(app.state.omnifin).count()

    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    assert made_before == 0
    assert accepted.status_code == 422  # verified; the empty body is not an event
    assert made_after == 1


async def test_the_webhook_route_is_rate_limited_per_address(
    settings: Settings, sessionmaker: SessionMaker, store: Store
) -> None:
    limited = _lenders(
        settings, rate_limits={**settings.rate_limits, "lender_webhooks": {"anonymous": 3}}
    )
    async with api_clients(limited, sessionmaker, store, "203.0.113.5", "198.51.100.6") as c:
        flood = [(await _post(c["203.0.113.5"], "alpha", {})).status_code for _ in range(4)]
        last = await _post(c["203.0.113.5"], "alpha", {})
        elsewhere = await _post(c["198.51.100.6"], "alpha", {})

    assert flood == [401, 401, 401, 429]
    assert last.json()["error"] == "RateLimited"
    assert int(last.headers["retry-after"]) >= 1
    assert elsewhere.status_code == 401


def test_production_refuses_the_simulators_shared_secrets(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="OMNIFIN_LENDER_SIMULATOR"):
        Settings(
            environment="production",
            secret_key=SecretStr("k" * 40),
            encryption_key=SecretStr("e" * 44),
            database_url=SecretStr("postgresql://x@localhost/x"),
            lender_simulator=True,
        )
