"""The HTTP adapter: a lender's JSON API called over httpx, signed, retried, deduplicated and guarded.

The lender API it speaks (the lender simulator in `simulators/lender` serves the same):

- `POST {base_url}/applications` with `Idempotency-Key` and `Omnifin-Signature` headers and the
  `ApplicationPayload` fields plus `callback_url` → 202 `{external_id, status, received_at}`; the
  same key again → 200, the first submission, and `Idempotent-Replayed: true`; the same key with a
  different body → 409.
- `GET {base_url}/decisions/{external_id}` (signed, empty body) → 200 with a decision:
  `{external_id, application_reference, status, offers: [...], reasons: [...], decided_at}`.
- Webhooks: `POST {callback_url}` signed with the webhook secret, body
  `{event_id, event_type: "decision.updated", occurred_at, decision: {...}}`; a lender re-delivers
  an event (same `event_id`, fresh signature) until it gets a 2xx.

Signatures are described in `signing`. Retries: at most `max_attempts` attempts per call, on
timeouts, connection errors, 5xx and 429, waiting with exponential backoff and full jitter
(uniform between 0 and min(cap, base·2^(attempt-1))), or exactly the lender's Retry-After when it
sends one. Retrying a POST whose answer was lost is safe because every attempt carries the same
idempotency key. Every attempt's outcome feeds the lender's circuit breaker (a 429 counts as an
answer: the lender is up, only busy), and an open circuit ends the call at once.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx
import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from lending.config import Settings
from lending.lenders.integration.circuit_breaker import CircuitBreaker, CircuitState
from lending.lenders.integration.errors import (
    DuplicateWebhook,
    InvalidWebhook,
    LenderCircuitOpen,
    LenderProtocolError,
    LenderRequestRejected,
    LenderUnavailable,
    WebhookRejected,
)
from lending.lenders.integration.protocol import (
    ApplicationPayload,
    LenderDecision,
    LenderWebhookEvent,
    SubmissionReceipt,
)
from lending.lenders.integration.replay import WebhookReplayGuard
from lending.lenders.integration.secrets import RequestSecrets
from lending.lenders.integration.signing import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    signature_header,
    verify,
)
from lending.logs import get_logger

log = get_logger(__name__)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


class LenderEndpoint(BaseModel):
    """One lender's API, where it sends webhooks, and the secrets shared with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lender_code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    base_url: str = Field(description="Prefix of the lender's API, e.g. https://api.lender/v1.")
    callback_url: str = Field(description="Our webhook route for this lender, as it reaches us.")
    request_secret: SecretStr = Field(description="Signs our requests to the lender.")
    previous_request_secret: SecretStr | None = Field(
        default=None,
        description="A rotation's previous request secret: until `previous_request_secret_until` "
        "requests carry a signature with it too, so the lender may switch at any moment then.",
    )
    previous_request_secret_until: AwareDatetime | None = None
    webhook_secret: SecretStr = Field(description="Signs the lender's webhooks to us.")
    previous_webhook_secrets: tuple[SecretStr, ...] = Field(
        default=(),
        description="Secrets a rotation replaced that still verify webhooks (a grace period).",
    )

    _check_urls = field_validator("base_url", "callback_url")(_http_url)


class LenderHttpPolicy(BaseModel):
    """Timeouts, retries, circuit breaker and webhook checks; `from_settings` gives the defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect_timeout_seconds: float = Field(gt=0)
    request_timeout_seconds: float = Field(gt=0)
    max_attempts: int = Field(ge=1)
    backoff_base_seconds: float = Field(ge=0)
    backoff_max_seconds: float = Field(ge=0)
    max_retry_after_seconds: float = Field(ge=0)
    circuit_failure_threshold: int = Field(ge=1)
    circuit_reset_seconds: float = Field(gt=0)
    signature_tolerance_seconds: int = Field(ge=1)
    webhook_replay_ttl_seconds: int = Field(ge=1)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> LenderHttpPolicy:
        """The `OMNIFIN_LENDER_*` settings, with `overrides` (field names of this model) on top."""
        values = {name: getattr(settings, f"lender_{name}") for name in cls.model_fields}
        return cls.model_validate({**values, **overrides})


class HttpLenderAdapter:
    """The adapter for a lender with the JSON API described above.

    Keep one per lender for the life of the process (see the package docstring): the circuit
    breaker only protects the lender if it sees every call.

    Args:
        endpoint: the lender's URLs and secrets.
        policy: timeouts, retries and thresholds (`LenderHttpPolicy.from_settings(settings)`).
        replay_guard: where webhook event ids are remembered (shared by all API instances).
        client: an httpx client to share between adapters; one of its own when None.
        breaker: a breaker to use instead of one built from the policy.
        wall_clock: seconds since the epoch, for signature timestamps; tests may shift it.
        sleep: waits between attempts; tests pass one that records instead of waiting.
        jitter: a uniform draw from [0, 1) for backoff; tests pass a fixed one.
    """

    def __init__(
        self,
        endpoint: LenderEndpoint,
        policy: LenderHttpPolicy,
        *,
        replay_guard: WebhookReplayGuard,
        client: httpx.AsyncClient | None = None,
        breaker: CircuitBreaker | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.endpoint = endpoint
        self.policy = policy
        self.breaker = breaker or CircuitBreaker(
            failure_threshold=policy.circuit_failure_threshold,
            reset_timeout_seconds=policy.circuit_reset_seconds,
            on_state_change=self._log_transition,
        )
        self._replay_guard = replay_guard
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._jitter = jitter
        self._base_url = endpoint.base_url.rstrip("/")
        self._callback_path = httpx.URL(endpoint.callback_url).raw_path.decode("ascii")
        self._timeout = httpx.Timeout(
            policy.request_timeout_seconds, connect=policy.connect_timeout_seconds
        )

    @property
    def lender_code(self) -> str:
        return self.endpoint.lender_code

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def submit(
        self, application_payload: ApplicationPayload, *, idempotency_key: str | None = None
    ) -> SubmissionReceipt:
        """Send an application to the lender and return its receipt.

        Args:
            application_payload: what the lender may know about the application.
            idempotency_key: identifies this submission to the lender across every attempt; pass
                a stable one (the submission row's id) so that a re-run job does not submit
                twice. A fresh one is made when None, which still covers this call's retries.

        Raises:
            LenderUnavailable: no answer after the retries (LenderCircuitOpen: not even tried).
            LenderRequestRejected: the lender refused the request (e.g. 401, 409, 422).
            LenderProtocolError: the lender's answer is not a receipt.
        """
        key = idempotency_key or uuid.uuid4().hex
        body = orjson.dumps(
            {
                **application_payload.model_dump(mode="json"),
                "callback_url": self.endpoint.callback_url,
            }
        )
        response = await self._call("POST", "/applications", body=body, idempotency_key=key)
        if response.status_code not in (200, 201, 202):
            raise LenderRequestRejected(self.lender_code, response.status_code)
        data = self._json_object(response)
        try:
            receipt = SubmissionReceipt.model_validate(
                {
                    **data,
                    "lender_code": self.lender_code,
                    "idempotency_key": key,
                    "replayed": response.headers.get(REPLAYED_HEADER, "").lower() == "true",
                }
            )
        except ValidationError as exc:
            raise self._protocol_error("submission receipt", exc) from None
        log.info(
            "lender_submission_received",
            lender_code=self.lender_code,
            application_reference=application_payload.application_reference,
            external_id=receipt.external_id,
            replayed=receipt.replayed,
        )
        return receipt

    async def fetch_decision(self, external_id: str) -> LenderDecision:
        """The lender's current decision on a submission.

        Raises:
            LenderUnavailable: no answer after the retries (LenderCircuitOpen: not even tried).
            LenderRequestRejected: the lender refused the request (404: it does not know the id).
            LenderProtocolError: the lender's answer is not a decision.
        """
        response = await self._call("GET", f"/decisions/{quote(external_id, safe='')}", body=b"")
        if response.status_code != 200:
            raise LenderRequestRejected(self.lender_code, response.status_code)
        try:
            return LenderDecision.model_validate(
                self._with_lender_code(self._json_object(response))
            )
        except ValidationError as exc:
            raise self._protocol_error("decision", exc) from None

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> LenderWebhookEvent:
        """Authenticate one webhook delivery, parse it and claim its event id.

        Args:
            headers: the request's headers (any mapping; looked up case-insensitively).
            body: the raw request body, exactly as received.

        Raises:
            WebhookRejected: no signature, a wrong one (tampered body, wrong secret) or a
                timestamp outside the tolerance. Answer 401.
            InvalidWebhook: signed correctly but not an event we understand. Answer 422.
            DuplicateWebhook: this event id was already received. Answer 200, do nothing.
        """
        header = next(
            (v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None
        )
        now = self._wall_clock()
        problem: SignatureError | None = None
        for secret in (self.endpoint.webhook_secret, *self.endpoint.previous_webhook_secrets):
            try:
                verify(
                    secret,
                    header,
                    "POST",
                    self._callback_path,
                    body,
                    now=now,
                    tolerance_seconds=self.policy.signature_tolerance_seconds,
                )
            except SignatureError as exc:
                problem = problem or exc
            else:
                problem = None
                break
        if problem is not None:
            log.warning(
                "lender_webhook_rejected", lender_code=self.lender_code, reason=str(problem)
            )
            raise WebhookRejected(self.lender_code, str(problem)) from None
        try:
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            fields = {**data, "lender_code": self.lender_code}
            if "decision" in data:
                fields["decision"] = self._with_lender_code(data["decision"])
            event = LenderWebhookEvent.model_validate(fields)
        except ValueError as exc:  # JSONDecodeError and ValidationError are ValueErrors
            log.warning(
                "lender_webhook_invalid", lender_code=self.lender_code, error=type(exc).__name__
            )
            raise InvalidWebhook() from None
        if not await self._replay_guard.claim(
            self._replay_key(event), self.policy.webhook_replay_ttl_seconds
        ):
            log.info(
                "lender_webhook_duplicate", lender_code=self.lender_code, event_id=event.event_id
            )
            raise DuplicateWebhook(event)
        log.info(
            "lender_webhook_verified",
            lender_code=self.lender_code,
            event_id=event.event_id,
            event_type=event.event_type,
            subject=event.subject,
        )
        return event

    async def release_webhook(self, event: LenderWebhookEvent) -> None:
        """Forget `event`'s id, so that the lender's next delivery of it is processed."""
        await self._replay_guard.release(self._replay_key(event))

    async def _call(
        self, method: str, path: str, *, body: bytes, idempotency_key: str | None = None
    ) -> httpx.Response:
        """One logical call: attempts until an answer that is not worth retrying, or give up."""
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        attempt, problem, retry_after = 0, "", None
        while attempt < self.policy.max_attempts:
            if not self.breaker.allow():
                raise LenderCircuitOpen(
                    self.lender_code,
                    f"Calls to lender {self.lender_code} are paused after repeated failures.",
                    retry_after_seconds=self.breaker.seconds_until_probe(),
                )
            attempt += 1
            request = self._client.build_request(
                method,
                self._base_url + path,
                content=body or None,
                headers=headers,
                timeout=self._timeout,
            )
            # Signed at every attempt: a retry after a long wait must not carry a stale time.
            request.headers[SIGNATURE_HEADER] = signature_header(
                self.endpoint.request_secret,
                int(self._wall_clock()),
                method,
                request.url.raw_path.decode("ascii"),
                body,
                also=self._previous_request_secrets(),
            )
            try:
                response = await self._client.send(request)
            except httpx.TimeoutException:
                self.breaker.record_failure()
                problem, retry_after = "did not answer in time", None
            except (httpx.NetworkError, httpx.RemoteProtocolError):
                self.breaker.record_failure()
                problem, retry_after = "could not be reached", None
            else:
                if response.status_code != 429 and response.status_code < 500:
                    self.breaker.record_success()
                    return response
                if response.status_code == 429:
                    self.breaker.record_success()  # up, only busy: not a reason to stop calling
                    problem = "is rate limiting us"
                else:
                    self.breaker.record_failure()
                    problem = f"failed (HTTP {response.status_code})"
                retry_after = self._retry_after(response)
            if (
                attempt == self.policy.max_attempts
                or self.breaker.state == CircuitState.OPEN
                or (retry_after is not None and retry_after > self.policy.max_retry_after_seconds)
            ):
                break
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            log.info(
                "lender_call_retry",
                lender_code=self.lender_code,
                method=method,
                attempt=attempt,
                problem=problem,
                delay_seconds=round(delay, 3),
            )
            await self._sleep(delay)
        log.warning(
            "lender_call_failed",
            lender_code=self.lender_code,
            method=method,
            attempts=attempt,
            problem=problem,
            circuit=self.breaker.state.value,
        )
        if self.breaker.state == CircuitState.OPEN:
            retry_after = max(retry_after or 0.0, self.breaker.seconds_until_probe())
        raise LenderUnavailable(
            self.lender_code,
            f"Lender {self.lender_code} {problem} ({attempt} attempt{'s' if attempt > 1 else ''}).",
            retry_after_seconds=retry_after,
        )

    def _previous_request_secrets(self) -> tuple[SecretStr, ...]:
        """The rotation's previous secret while its overlap window lasts (read at each signing:
        an adapter lives as long as the process)."""
        secrets = RequestSecrets(
            self.endpoint.request_secret,
            self.endpoint.previous_request_secret,
            self.endpoint.previous_request_secret_until,
        )
        return secrets.signing(datetime.fromtimestamp(self._wall_clock(), UTC))[1:]

    def _backoff(self, attempt: int) -> float:
        ceiling = min(
            self.policy.backoff_max_seconds, self.policy.backoff_base_seconds * 2.0 ** (attempt - 1)
        )
        return self._jitter() * ceiling

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Retry-After in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - self._wall_clock())

    def _json_object(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise LenderProtocolError(
                self.lender_code, f"Lender {self.lender_code} answered with something not JSON."
            )
        return data

    def _with_lender_code(self, data: object) -> object:
        """A lender's JSON object with our code for the lender: which lender sent it is known from
        the secret that verified it, never taken from the body. Anything else is left for pydantic
        to refuse."""
        return {**data, "lender_code": self.lender_code} if isinstance(data, dict) else data

    def _protocol_error(self, what: str, exc: ValidationError) -> LenderProtocolError:
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        log.warning("lender_answer_invalid", lender_code=self.lender_code, what=what, fields=fields)
        return LenderProtocolError(
            self.lender_code, f"Lender {self.lender_code} sent an invalid {what}."
        )

    def _replay_key(self, event: LenderWebhookEvent) -> str:
        return f"{self.lender_code}:{event.event_id}"

    def _log_transition(self, old: CircuitState, new: CircuitState) -> None:
        log.warning(
            "lender_circuit_changed",
            lender_code=self.lender_code,
            old=old.value,
            new=new.value,
        )
