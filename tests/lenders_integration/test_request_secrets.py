"""Our requests to each lender are signed with that lender's own secret: another lender's secret
is refused by the (real, separate-process) simulator, a missing secret is a configuration error
naming the setting (never a fallback to a shared one), and a rotation's overlap window sends both
signatures so the lender may switch at any moment in it, and only the new one after."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from lending.config import PreviousSecret, Settings
from lending.lenders.integration.errors import LenderRequestRejected
from lending.lenders.integration.http_adapter import HttpLenderAdapter
from lending.lenders.integration.registry import lender_endpoint
from lending.lenders.integration.secrets import (
    DEV_REQUEST_SECRET,
    LenderSecretMissing,
    SettingsLenderSecrets,
)
from tests.lenders_integration.conftest import (
    RunningSimulator,
    WebhookReceiver,
    _start_simulator,
    _stop,
    endpoint,
    payload,
)

ALPHA = SecretStr("alpha-request-secret-0001")
BETA = SecretStr("beta-request-secret-0002")
OLD, NEW = SecretStr("rotated-out-secret-0003"), SecretStr("rotated-in-secret-0004")
UNREACHABLE = "http://127.0.0.1:9"
_KEYS = itertools.count()


@pytest.fixture(scope="module")
def lenders_with_own_secrets(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningSimulator]:
    """`omnifin lender-sim` whose lenders each verify with their own request secret:
    `switched` already holds the rotation's new secret, `not-switched` still the old one,
    `overlapping` accepts both (the lender's side of an overlap window)."""
    lenders = {
        "alpha": {"request_secret": ALPHA.get_secret_value()},
        "beta": {"request_secret": BETA.get_secret_value()},
        "switched": {"request_secret": NEW.get_secret_value()},
        "not-switched": {"request_secret": OLD.get_secret_value()},
        "overlapping": {
            "request_secret": NEW.get_secret_value(),
            "previous_request_secret": OLD.get_secret_value(),
        },
    }
    log_path: Path = tmp_path_factory.mktemp("lender-sim-secrets") / "log"
    process, running = _start_simulator(
        log_path, env_extra={"OMNIFIN_LENDER_SIM_LENDERS": json.dumps(lenders)}
    )
    yield running
    _stop(process, log_path)


async def _accepted(adapter: HttpLenderAdapter) -> bool:
    """The lender took the submission (False: it refused the signature, 401)."""
    status = 201
    try:
        await adapter.submit(payload(), idempotency_key=f"key-{next(_KEYS)}-{time.time_ns()}")
    except LenderRequestRejected as refused:
        status = refused.lender_status
    assert status in (201, 401)
    return status == 201


async def test_each_lender_accepts_only_its_own_secret(
    lenders_with_own_secrets: RunningSimulator,
    receiver: WebhookReceiver,
    make_adapter: Callable[..., HttpLenderAdapter],
) -> None:
    simulator = lenders_with_own_secrets
    own = make_adapter(endpoint(simulator, receiver, "alpha", request_secret=ALPHA))
    others = make_adapter(endpoint(simulator, receiver, "alpha", request_secret=BETA))
    shared = make_adapter(
        endpoint(simulator, receiver, "alpha", request_secret=simulator.request_secret)
    )
    assert await _accepted(own)
    assert not await _accepted(others)  # beta's secret cannot sign for alpha
    assert not await _accepted(shared)  # nor can the simulator's shared one, once alpha has its own


async def test_a_rotation_sends_both_signatures_until_its_window_ends(
    lenders_with_own_secrets: RunningSimulator,
    receiver: WebhookReceiver,
    make_adapter: Callable[..., HttpLenderAdapter],
) -> None:
    simulator = lenders_with_own_secrets
    now = time.time()
    until = datetime.fromtimestamp(now + 60, UTC)
    clock = [now]

    def rotated(code: str) -> HttpLenderAdapter:
        adapter = make_adapter(
            endpoint(simulator, receiver, code, request_secret=NEW).model_copy(
                update={"previous_request_secret": OLD, "previous_request_secret_until": until}
            )
        )
        adapter._wall_clock = lambda: clock[0]
        return adapter

    switched, not_switched = rotated("switched"), rotated("not-switched")
    assert await _accepted(switched)
    assert await _accepted(not_switched)  # the lender may switch at any moment in the window
    # The window ends while the adapters live (two minutes on: within the lender's tolerance
    # for a signature's time, so only the secrets decide).
    clock[0] = now + 120
    assert await _accepted(switched)
    assert not await _accepted(not_switched)  # after the window only the new secret is sent


async def test_the_lenders_side_of_an_overlap_accepts_either_secret(
    lenders_with_own_secrets: RunningSimulator,
    receiver: WebhookReceiver,
    make_adapter: Callable[..., HttpLenderAdapter],
) -> None:
    simulator = lenders_with_own_secrets
    for secret, accepted in ((OLD, True), (NEW, True), (ALPHA, False)):
        adapter = make_adapter(endpoint(simulator, receiver, "overlapping", request_secret=secret))
        assert await _accepted(adapter) is accepted


def _settings(**changes: object) -> Settings:
    values: dict[str, object] = {
        "lender_api_base_url": UNREACHABLE,
        "lender_webhook_secrets": {"alpha": SecretStr("alpha-webhook"), "beta": SecretStr("b")},
        "lender_simulator": False,
    }
    return Settings(environment="test").model_copy(update=values | changes)


def test_each_lenders_requests_are_signed_with_its_own_secret() -> None:
    settings = _settings(lender_request_secrets={"alpha": ALPHA, "beta": BETA})
    alpha, _ = lender_endpoint(settings, "alpha")
    beta, _ = lender_endpoint(settings, "beta")
    assert alpha is not None
    assert beta is not None
    assert alpha.request_secret == ALPHA
    assert beta.request_secret == BETA


def test_a_missing_request_secret_is_a_configuration_error_not_a_fallback() -> None:
    # A shared secret set the old way is never used for a real lender.
    settings = _settings(
        lender_request_secrets={"beta": BETA}, lender_request_secret=SecretStr("shared-0005")
    )
    with pytest.raises(LenderSecretMissing, match="OMNIFIN_LENDER_REQUEST_SECRETS") as missing:
        SettingsLenderSecrets(settings).request_secrets_for("alpha")
    assert "alpha" in str(missing.value)
    assert "shared-0005" not in str(missing.value)
    found, reason = lender_endpoint(settings, "alpha")
    assert found is None
    assert "alpha" in reason
    assert "OMNIFIN_LENDER_REQUEST_SECRETS" in reason


def test_the_shared_request_secret_outside_the_simulator_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMNIFIN_LENDER_REQUEST_SECRET", "shared-0006")
    monkeypatch.delenv("OMNIFIN_LENDER_SIMULATOR", raising=False)
    with pytest.raises(ValidationError, match="OMNIFIN_LENDER_REQUEST_SECRETS"):
        Settings(environment="development")
    monkeypatch.setenv("OMNIFIN_LENDER_SIMULATOR", "true")
    assert Settings(environment="development").lender_request_secret is not None


def test_only_the_simulators_environment_shares_a_request_secret() -> None:
    simulated = _settings(lender_simulator=True)
    assert SettingsLenderSecrets(simulated).request_secrets_for("any").current == (
        DEV_REQUEST_SECRET
    )
    shared = SecretStr("simulator-shared-0007")
    with_shared = _settings(lender_simulator=True, lender_request_secret=shared)
    assert SettingsLenderSecrets(with_shared).request_secrets_for("any").current == shared


def test_a_rotation_signs_with_both_secrets_only_inside_its_window() -> None:
    until = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    settings = _settings(
        lender_request_secrets={"alpha": NEW},
        lender_previous_request_secrets={"alpha": PreviousSecret(secret=OLD, until=until)},
    )
    secrets = SettingsLenderSecrets(settings).request_secrets_for("alpha")
    assert secrets.signing(until - timedelta(seconds=1)) == (NEW, OLD)
    assert secrets.signing(until) == (NEW,)


def test_a_previous_secret_without_a_current_one_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "OMNIFIN_LENDER_PREVIOUS_REQUEST_SECRETS",
        json.dumps({"alpha": {"secret": "old", "until": "2026-12-08T12:00:00Z"}}),
    )
    with pytest.raises(ValidationError, match="alpha"):
        Settings(environment="development")
