"""A circuit breaker: stop calling a lender that keeps failing, then probe it once in a while."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are refused until the cool-down has passed
    HALF_OPEN = "half_open"  # one probe call goes through; its outcome closes or reopens


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failures → half-open after
    `reset_timeout_seconds`, letting one probe through: a success closes the circuit, a failure
    opens it for another cool-down.

    Not thread-safe; it is meant for one event loop, where no call interleaves with another
    between `allow()` and its own bookkeeping. The state is read lazily from the clock, so
    `state` is always current (for metrics) without a timer.

    Args:
        failure_threshold: consecutive failures that open the circuit.
        reset_timeout_seconds: how long it stays open before a probe is let through; also how
            long a probe may stay unanswered before another is allowed (a probe whose caller was
            cancelled never reports back).
        clock: monotonic seconds; tests pass a fake one.
        on_state_change: called with (old, new) on every transition, e.g. to log or count them.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_state_change: Callable[[CircuitState, CircuitState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout_seconds <= 0:
            raise ValueError("reset_timeout_seconds must be positive")
        self.failure_threshold = failure_threshold
        self.reset_timeout_seconds = reset_timeout_seconds
        self._clock = clock
        self._on_state_change = on_state_change
        self._state = CircuitState.CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._probe_started_at: float | None = None

    @property
    def state(self) -> CircuitState:
        self._refresh()
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    def seconds_until_probe(self) -> float:
        """How long until a call may go through again (0 unless open)."""
        if self.state != CircuitState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.reset_timeout_seconds - self._clock())

    def allow(self) -> bool:
        """Whether a call may go to the lender now. In half-open, True for the probe only."""
        state = self.state
        if state == CircuitState.CLOSED:
            return True
        if state == CircuitState.OPEN:
            return False
        now = self._clock()
        if (
            self._probe_started_at is not None
            and now - self._probe_started_at < self.reset_timeout_seconds
        ):
            return False
        self._probe_started_at = now
        return True

    def record_success(self) -> None:
        """The lender answered: whatever the state, it is up."""
        self._consecutive_failures = 0
        self._probe_started_at = None
        self._transition(CircuitState.CLOSED)

    def record_failure(self) -> None:
        """The lender failed (timeout, connection error, 5xx)."""
        self._consecutive_failures += 1
        state = self.state
        if state == CircuitState.HALF_OPEN or (
            state == CircuitState.CLOSED and self._consecutive_failures >= self.failure_threshold
        ):
            self._probe_started_at = None
            self._opened_at = self._clock()
            self._transition(CircuitState.OPEN)

    def _refresh(self) -> None:
        if (
            self._state == CircuitState.OPEN
            and self._clock() >= self._opened_at + self.reset_timeout_seconds
        ):
            self._transition(CircuitState.HALF_OPEN)

    def _transition(self, new: CircuitState) -> None:
        old, self._state = self._state, new
        if old != new and self._on_state_change is not None:
            self._on_state_change(old, new)
