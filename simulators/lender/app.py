"""The lender simulator app: signed lender API, idempotent submissions, async decisions by webhook.

Routes, for any number of lenders in one process:

- `POST /lenders/{lender_code}/applications`, `GET /lenders/{lender_code}/decisions/{external_id}`:
  the lender API described in `lending.lenders.integration.http_adapter` (401 on a bad signature,
  400 without an `Idempotency-Key`, 409 when a key comes back with a different body, 422 on a
  body the lender does not accept — unknown fields included).
- `/_simulator/...` (when `control_api`): read a lender's counters, change its behaviour, queue
  one-shot faults. This is how tests and demos script a slow, failing or throttling lender. And
  `POST /_simulator/lenders/{lender_code}/servicing`: report a servicing event on a funded loan
  (balance, arrears, arrears cured, discharged, refinanced) as a signed `loan.servicing` webhook
  to the callback URL of that application's submission; answers once it is delivered.
- `GET /healthz`.

A submission is decided `decision_delay_ms` later by the lender's rules and the decision is POSTed,
signed, to the submission's `callback_url`, retried with exponential backoff until a 2xx or
`webhook_max_attempts`. All state is in memory: restarting the simulator forgets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from lending.logs import get_logger
from simulators.lender.config import (
    CreditBand,
    DecisionRules,
    Fault,
    LenderPatch,
    ServicingReport,
    SimulatedLender,
    SimulatorConfig,
)

log = get_logger(__name__)

_LENDER_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CENT = Decimal("0.01")


class SubmissionRequest(BaseModel):
    """What the lender accepts. Unknown fields are refused, as a strict lender API would."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    application_reference: str = Field(min_length=1, max_length=64)
    product_code: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(gt=0, decimal_places=2)
    term_months: int = Field(ge=1, le=600)
    purpose: str = Field(min_length=1, max_length=64)
    credit_score_band: CreditBand
    callback_url: str = Field(min_length=1, max_length=2048)


@dataclass
class Submission:
    external_id: str
    fingerprint: str
    request: SubmissionRequest
    received_at: datetime
    decision: dict[str, Any] | None = None

    def receipt(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "status": "pending",
            "received_at": self.received_at.isoformat(),
        }

    def decision_json(self) -> dict[str, Any]:
        return self.decision or {
            "external_id": self.external_id,
            "application_reference": self.request.application_reference,
            "status": "pending",
            "offers": [],
            "reasons": [],
            "decided_at": None,
        }


@dataclass
class LenderState:
    """One lender's submissions, queued faults and counters."""

    by_idempotency_key: dict[str, Submission] = field(default_factory=dict)
    by_external_id: dict[str, Submission] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    requests: int = 0  # authenticated API requests, including those answered with a failure
    webhook_attempts: int = 0
    webhooks_delivered: int = 0

    def counters(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "submissions": len(self.by_external_id),
            "pending_faults": len(self.faults),
            "webhook_attempts": self.webhook_attempts,
            "webhooks_delivered": self.webhooks_delivered,
        }


# The lender's side of the signature scheme, written from its description in
# lending.lenders.integration.signing rather than imported from it: the simulator stands for
# another company's system, and a mistake in our implementation must not be mirrored here.
def _hmac_hex(secret: SecretStr, timestamp: int, method: str, path: str, body: bytes) -> str:
    message = b"%d.%s.%s." % (timestamp, method.encode(), path.encode()) + body
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def _signature_valid(
    secret: SecretStr, header: str | None, method: str, path: str, body: bytes, tolerance: int
) -> bool:
    if not header:
        return False
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in fields if key == "t" and value.isdigit()]
    given = [value.encode() for key, _, value in fields if key == "v1"]
    if len(stamps) != 1 or not given or abs(time.time() - int(stamps[0])) > tolerance:
        return False
    expected = _hmac_hex(secret, int(stamps[0]), method, path, body).encode()
    return any(hmac.compare_digest(expected, candidate) for candidate in given)


def _request_path(request: Request) -> str:
    """The path as it came on the wire (still percent-encoded), with its query string."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return (raw + b"?" + query if query else raw).decode("latin-1")


def _error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


class LenderSimulator:
    """The state and behaviour behind the routes; one per app."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._lenders = dict(config.lenders)
        self._states: dict[str, LenderState] = {}
        # One generator for failures and ids: with a seed, a run repeats exactly.
        self._random = random.Random(config.seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=self.config.webhook_timeout_seconds) as client:
            self._client = client
            try:
                yield
            finally:
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                self._client = None

    def lender(self, code: str) -> SimulatedLender:
        if _LENDER_CODE.match(code):
            found = self._lenders.get(code)
            if found is not None:
                return found
            if self.config.serve_any_lender:
                return self.config.default_lender
        raise HTTPException(404, f"No lender {code!r} here.")

    def state(self, code: str) -> LenderState:
        return self._states.setdefault(code, LenderState())

    def patch(self, code: str, change: LenderPatch) -> SimulatedLender:
        updated = SimulatedLender.model_validate(
            {**self.lender(code).model_dump(), **change.model_dump(exclude_unset=True)}
        )
        self._lenders[code] = updated
        return updated

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def authentic(self, lender: SimulatedLender, request: Request, body: bytes) -> bool:
        """Signed with this lender's own secret (or, in a rotation's overlap window, its
        previous one); a lender without one of its own shares the simulator's."""
        secrets = [lender.request_secret or self.config.request_secret]
        if lender.previous_request_secret is not None:
            secrets.append(lender.previous_request_secret)
        return any(
            _signature_valid(
                secret,
                request.headers.get("Omnifin-Signature"),
                request.method,
                _request_path(request),
                body,
                self.config.signature_tolerance_seconds,
            )
            for secret in secrets
        )

    async def misbehave(
        self, code: str, lender: SimulatedLender
    ) -> tuple[Response | None, Fault | None]:
        """Apply latency and failures to one API request.

        Returns:
            A response to send instead of acting, or None; and a fault to apply after acting.
        """
        state = self.state(code)
        state.requests += 1
        fault = state.faults.popleft() if state.faults else None
        latency_ms = lender.latency_ms if lender.latency_ms is not None else self.config.latency_ms
        delay_ms = latency_ms + (fault.delay_ms if fault else 0)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if fault is not None:
            if fault.status is None:
                return None, None
            if fault.after_processing:
                return None, fault
            return self.fault_response(fault), None
        failure_rate = (
            lender.failure_rate if lender.failure_rate is not None else self.config.failure_rate
        )
        if failure_rate and self._random.random() < failure_rate:
            return _error(503, "unavailable", "Simulated failure."), None
        return None, None

    @staticmethod
    def fault_response(fault: Fault) -> Response:
        assert fault.status is not None
        headers = (
            {"Retry-After": str(fault.retry_after_seconds)}
            if fault.retry_after_seconds is not None
            else None
        )
        return _error(fault.status, "simulated_fault", "Simulated fault.", headers)

    def accept(self, code: str, lender: SimulatedLender, submission: Submission) -> None:
        state = self.state(code)
        state.by_external_id[submission.external_id] = submission
        task = asyncio.create_task(self._decide_and_notify(code, lender, submission))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decide_and_notify(
        self, code: str, lender: SimulatedLender, submission: Submission
    ) -> None:
        await asyncio.sleep(self.config.decision_delay_ms / 1000)
        submission.decision = decide(lender.rules, submission, datetime.now(UTC))
        log.info(
            "lender_sim_decided",
            lender_code=code,
            external_id=submission.external_id,
            status=submission.decision["status"],
        )
        event = {
            "event_id": f"evt_{self.new_id()}",
            "event_type": "decision.updated",
            "occurred_at": datetime.now(UTC).isoformat(),
            "decision": submission.decision,
        }
        body = json.dumps(event).encode()
        for _ in range(2 if lender.duplicate_webhooks else 1):
            await self._deliver(code, lender, submission.request.callback_url, body)

    async def report_servicing(self, code: str, report: ServicingReport) -> dict[str, Any]:
        """Send a servicing event on the loan of a submitted application; wait for delivery."""
        lender = self.lender(code)
        submission = next(
            (
                s
                for s in self.state(code).by_external_id.values()
                if s.request.application_reference == report.application_reference
            ),
            None,
        )
        if submission is None:
            raise HTTPException(404, "No submission of that application to this lender.")
        fields = report.model_dump(mode="json", exclude={"event_id", "deliveries"})
        event = {
            "event_id": report.event_id or f"evt_{self.new_id()}",
            "event_type": "loan.servicing",
            "occurred_at": datetime.now(UTC).isoformat(),
            "servicing": {k: v for k, v in fields.items() if v is not None},
        }
        body = json.dumps(event).encode()
        statuses = [
            await self._deliver(
                code, lender, submission.request.callback_url, body, retry_refused=False
            )
            for _ in range(report.deliveries)
        ]
        return {"event_id": event["event_id"], "statuses": statuses}

    async def _deliver(
        self,
        code: str,
        lender: SimulatedLender,
        url: str,
        body: bytes,
        *,
        retry_refused: bool = True,
    ) -> int | None:
        """POST a signed webhook, retrying; the final HTTP status (None: never answered).
        `retry_refused` False: a 4xx other than 408/429 is final (sending again will not help)."""
        assert self._client is not None, "the app's lifespan is not running"
        state = self.state(code)
        path = httpx.URL(url).raw_path.decode("ascii")
        secret = lender.webhook_secret or self.config.webhook_secret
        for attempt in range(1, self.config.webhook_max_attempts + 1):
            # Signed afresh for each attempt, as a real sender does: the time must be current.
            timestamp = int(time.time())
            signature = f"t={timestamp},v1={_hmac_hex(secret, timestamp, 'POST', path, body)}"
            state.webhook_attempts += 1
            try:
                response = await self._client.post(
                    url,
                    content=body,
                    headers={"Content-Type": "application/json", "Omnifin-Signature": signature},
                )
                if response.is_success:
                    state.webhooks_delivered += 1
                    return response.status_code
                if (
                    not retry_refused
                    and 400 <= response.status_code < 500
                    and response.status_code not in (408, 429)
                ):
                    log.warning(
                        "lender_sim_webhook_refused", lender_code=code, status=response.status_code
                    )
                    return response.status_code
                outcome = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            log.info("lender_sim_webhook_retry", lender_code=code, attempt=attempt, outcome=outcome)
            await asyncio.sleep(self.config.webhook_retry_base_ms * 2 ** (attempt - 1) / 1000)
        log.warning("lender_sim_webhook_gave_up", lender_code=code)
        return None


def decide(rules: DecisionRules, submission: Submission, now: datetime) -> dict[str, Any]:
    """A lender's decision by its rules: declined with every matching reason, referred above the
    referral amount, else approved with one offer for the amount and term asked."""
    request = submission.request
    reasons: list[str] = []
    if rules.decline_amount_above is not None and request.amount > rules.decline_amount_above:
        reasons.append("amount above the lender's maximum")
    if request.credit_score_band in rules.declined_score_bands:
        reasons.append("credit score band below the lender's minimum")
    if rules.allowed_purposes is not None and request.purpose not in rules.allowed_purposes:
        reasons.append("purpose not financed by the lender")
    rate = rules.rate_by_band.get(request.credit_score_band)
    if rate is None and not reasons:
        reasons.append("no pricing for this credit score band")
    offers: list[dict[str, Any]] = []
    if reasons:
        status = "declined"
    elif rules.refer_amount_above is not None and request.amount > rules.refer_amount_above:
        status, reasons = "referred", ["amount needs manual underwriting"]
    else:
        assert rate is not None
        fee = (request.amount * rules.origination_fee_percent / 100).quantize(_CENT, ROUND_HALF_UP)
        status = "approved"
        offers.append(
            {
                "offer_id": f"{submission.external_id}-1",
                "kind": rules.offer_kind,
                "amount": str(request.amount),
                "note_rate": str(rate),
                "term_months": request.term_months,
                "fees": [{"name": "origination", "amount": str(fee), "finance_charge": True}],
                "expires_at": (now + timedelta(days=rules.offer_valid_days)).isoformat(),
            }
        )
    return {
        "external_id": submission.external_id,
        "application_reference": request.application_reference,
        "status": status,
        "offers": offers,
        "reasons": reasons,
        "decided_at": now.isoformat(),
    }


def create_simulator_app(config: SimulatorConfig) -> FastAPI:
    """The simulator as an ASGI app (uvicorn serves it for `omnifin lender-sim`)."""
    simulator = LenderSimulator(config)
    app = FastAPI(title="Omnifin lender simulator", lifespan=simulator.lifespan)
    app.state.simulator = simulator

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/lenders/{lender_code}/applications")
    async def submit_application(
        lender_code: str,
        request: Request,
        idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
    ) -> Response:
        lender = simulator.lender(lender_code)
        body = await request.body()
        if not simulator.authentic(lender, request, body):
            return _error(401, "invalid_signature", "The request signature is not valid.")
        early, late = await simulator.misbehave(lender_code, lender)
        if early is not None:
            return early
        if not idempotency_key:
            return _error(400, "idempotency_key_required", "Send an Idempotency-Key header.")
        try:
            submission_request = SubmissionRequest.model_validate_json(body)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            return _error(422, "invalid_request", f"Invalid fields: {', '.join(fields)}.")
        if urlsplit(submission_request.callback_url).hostname not in config.allowed_callback_hosts:
            return _error(422, "invalid_request", "callback_url is not an allowed host.")
        state = simulator.state(lender_code)
        fingerprint = hashlib.sha256(body).hexdigest()
        existing = state.by_idempotency_key.get(idempotency_key)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return _error(
                    409, "idempotency_key_reused", "This key was used with a different request."
                )
            response: Response = JSONResponse(
                existing.receipt(), status_code=200, headers={"Idempotent-Replayed": "true"}
            )
        else:
            submission = Submission(
                external_id=simulator.new_id(),
                fingerprint=fingerprint,
                request=submission_request,
                received_at=datetime.now(UTC),
            )
            state.by_idempotency_key[idempotency_key] = submission
            simulator.accept(lender_code, lender, submission)
            log.info(
                "lender_sim_submission",
                lender_code=lender_code,
                external_id=submission.external_id,
            )
            response = JSONResponse(submission.receipt(), status_code=202)
        return simulator.fault_response(late) if late is not None else response

    @app.get("/lenders/{lender_code}/decisions/{external_id}")
    async def get_decision(lender_code: str, external_id: str, request: Request) -> Response:
        lender = simulator.lender(lender_code)
        if not simulator.authentic(lender, request, await request.body()):
            return _error(401, "invalid_signature", "The request signature is not valid.")
        early, late = await simulator.misbehave(lender_code, lender)
        if early is not None:
            return early
        submission = simulator.state(lender_code).by_external_id.get(external_id)
        if submission is None:
            return _error(404, "not_found", "No such submission.")
        if late is not None:
            return simulator.fault_response(late)
        return JSONResponse(submission.decision_json())

    if config.control_api:

        @app.get("/_simulator/lenders/{lender_code}")
        async def lender_counters(lender_code: str) -> dict[str, Any]:
            lender = simulator.lender(lender_code)
            return {
                **simulator.state(lender_code).counters(),
                "behaviour": lender.model_dump(
                    mode="json",
                    exclude={"request_secret", "previous_request_secret", "webhook_secret"},
                ),
            }

        @app.patch("/_simulator/lenders/{lender_code}")
        async def change_lender(lender_code: str, change: LenderPatch) -> dict[str, Any]:
            updated = simulator.patch(lender_code, change)
            return updated.model_dump(
                mode="json", exclude={"request_secret", "previous_request_secret", "webhook_secret"}
            )

        @app.post("/_simulator/lenders/{lender_code}/servicing")
        async def report_servicing(lender_code: str, report: ServicingReport) -> dict[str, Any]:
            return await simulator.report_servicing(lender_code, report)

        @app.post("/_simulator/lenders/{lender_code}/faults")
        async def queue_faults(lender_code: str, faults: list[Fault]) -> dict[str, int]:
            simulator.lender(lender_code)
            state = simulator.state(lender_code)
            state.faults.extend(faults)
            return state.counters()

    return app
