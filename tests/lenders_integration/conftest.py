"""Real processes on loopback: the lender simulator as `omnifin lender-sim`, and a webhook receiver
(uvicorn in a thread) standing in for our webhook route until it exists."""

from __future__ import annotations

import asyncio
import itertools
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr

from lending.config import Settings
from lending.kv import MemoryStore, Store
from lending.lenders.integration.circuit_breaker import CircuitBreaker, CircuitState
from lending.lenders.integration.http_adapter import (
    HttpLenderAdapter,
    LenderEndpoint,
    LenderHttpPolicy,
)
from lending.lenders.integration.protocol import ApplicationPayload, CreditScoreBand
from lending.lenders.integration.replay import StoreReplayGuard

OMNIFIN = str(Path(sys.executable).parent / "omnifin")
WAIT_SECONDS = 15.0

# Quick enough for tests, and still the adapter's real retry, backoff and breaker code.
TEST_POLICY = {
    "connect_timeout_seconds": 2.0,
    "request_timeout_seconds": 5.0,
    "max_attempts": 3,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "max_retry_after_seconds": 5.0,
    "circuit_failure_threshold": 3,
    "circuit_reset_seconds": 30.0,
}

_codes = itertools.count(1)


def lender_code() -> str:
    """A lender code of the test's own: the simulator serves any code, each with fresh state."""
    return f"t{os.getpid()}-{next(_codes)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def payload(**changes: Any) -> ApplicationPayload:
    values: dict[str, Any] = {
        "application_reference": "OMF-2026-000042",
        "product_code": "PL-36",
        "amount": "10000.00",
        "term_months": 36,
        "purpose": "debt_consolidation",
        "credit_score_band": CreditScoreBand.GOOD,
    }
    return ApplicationPayload.model_validate({**values, **changes})


class FakeClock:
    """Monotonic time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def circuit_state(breaker: CircuitBreaker) -> CircuitState:
    """The breaker's state, read through a call: mypy would narrow the property across asserts."""
    return breaker.state


class RecordingSleep:
    """Records the adapter's waits instead of waiting them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@dataclass
class RunningSimulator:
    url: str
    request_secret: SecretStr
    webhook_secret: SecretStr

    async def counters(self, code: str) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{self.url}/_simulator/lenders/{code}")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def queue_faults(self, code: str, *faults: dict[str, Any]) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{self.url}/_simulator/lenders/{code}/faults", json=faults)
        response.raise_for_status()

    async def change(self, code: str, **change: Any) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.patch(f"{self.url}/_simulator/lenders/{code}", json=change)
        response.raise_for_status()

    async def wait_for(self, code: str, counter: str, value: int) -> dict[str, Any]:
        """Poll the counters until `counter` reaches `value` (requests in flight land late)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            counters = await self.counters(code)
            if counters[counter] >= value or time.monotonic() > deadline:
                return counters
            await asyncio.sleep(0.05)


def _start_simulator(
    log_path: Path, *args: str, env_extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], RunningSimulator]:
    port = free_port()
    simulator = RunningSimulator(
        url=f"http://127.0.0.1:{port}",
        request_secret=SecretStr(secrets.token_hex(16)),
        webhook_secret=SecretStr(secrets.token_hex(16)),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env |= {
        "OMNIFIN_LENDER_SIM_REQUEST_SECRET": simulator.request_secret.get_secret_value(),
        "OMNIFIN_LENDER_SIM_WEBHOOK_SECRET": simulator.webhook_secret.get_secret_value(),
        "OMNIFIN_LENDER_SIM_DECISION_DELAY_MS": "10",
        "OMNIFIN_LENDER_SIM_WEBHOOK_RETRY_BASE_MS": "20",
    }
    env |= env_extra or {}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [OMNIFIN, "lender-sim", "--port", str(port), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"lender-sim exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{simulator.url}/healthz", timeout=1).status_code == 200:
                return process, simulator
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"lender-sim did not come up:\n{log_path.read_text()}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes], log_path: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise AssertionError(f"lender-sim did not stop:\n{log_path.read_text()}") from None
    log = log_path.read_text()
    assert process.returncode == 0, log
    assert "Traceback" not in log, log


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """`omnifin lender-sim` with no added latency or failures."""
    log_path = tmp_path_factory.mktemp("lender-sim") / "log"
    process, running = _start_simulator(log_path)
    yield running
    _stop(process, log_path)


@pytest.fixture(scope="session")
def slow_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """`omnifin lender-sim --latency-ms 1500`: slower than the adapter's timeout in these tests."""
    log_path = tmp_path_factory.mktemp("lender-sim-slow") / "log"
    process, running = _start_simulator(log_path, "--latency-ms", "1500")
    yield running
    _stop(process, log_path)


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int


class WebhookReceiver:
    """A real HTTP server on loopback that records every webhook delivery, per lender code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: defaultdict[str, queue.Queue[Delivery]] = defaultdict(queue.Queue)
        self._failures: defaultdict[str, int] = defaultdict(int)
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        app = FastAPI()

        @app.post("/webhooks/{code}")
        async def receive(code: str, request: Request) -> Response:
            body = await request.body()
            with self._lock:
                failing = self._failures[code] > 0
                if failing:
                    self._failures[code] -= 1
            status = 503 if failing else 200
            self._queue(code).put(Delivery(dict(request.headers), body, status))
            return Response(status_code=status)

        config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def callback_url(self, code: str) -> str:
        return f"{self.url}/webhooks/{code}"

    def fail_next(self, code: str, count: int) -> None:
        """Answer the next `count` deliveries for `code` with 503."""
        with self._lock:
            self._failures[code] += count

    async def delivery(self, code: str) -> Delivery:
        try:
            return await asyncio.to_thread(self._queue(code).get, True, WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError(f"no webhook for {code} within {WAIT_SECONDS} s") from None

    def _queue(self, code: str) -> queue.Queue[Delivery]:
        with self._lock:
            return self._deliveries[code]

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError("the webhook receiver did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


def endpoint(
    simulator: RunningSimulator,
    receiver: WebhookReceiver,
    code: str,
    *,
    request_secret: SecretStr | None = None,
) -> LenderEndpoint:
    return LenderEndpoint(
        lender_code=code,
        base_url=f"{simulator.url}/lenders/{code}",
        callback_url=receiver.callback_url(code),
        request_secret=request_secret or simulator.request_secret,
        webhook_secret=simulator.webhook_secret,
    )


@pytest.fixture
async def make_adapter() -> AsyncIterator[Callable[..., HttpLenderAdapter]]:
    """A factory of adapters, each closed at the end of the test."""
    adapters: list[HttpLenderAdapter] = []

    def make(
        lender_endpoint: LenderEndpoint,
        *,
        store: Store | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: RecordingSleep | None = None,
        **policy: Any,
    ) -> HttpLenderAdapter:
        adapter = HttpLenderAdapter(
            lender_endpoint,
            LenderHttpPolicy.from_settings(
                Settings(environment="test"), **{**TEST_POLICY, **policy}
            ),
            replay_guard=StoreReplayGuard(store or MemoryStore()),
            breaker=breaker,
            sleep=sleep or RecordingSleep(),
        )
        adapters.append(adapter)
        return adapter

    yield make
    for adapter in adapters:
        await adapter.aclose()
