"""The circuit breaker on a fake clock: no test waits for a cool-down."""

from __future__ import annotations

import pytest

from lending.lenders.integration.circuit_breaker import CircuitBreaker, CircuitState
from tests.lenders_integration.conftest import FakeClock, circuit_state

Transitions = list[tuple[CircuitState, CircuitState]]


def _breaker(clock: FakeClock, changes: Transitions) -> CircuitBreaker:
    return CircuitBreaker(
        failure_threshold=3,
        reset_timeout_seconds=30,
        clock=clock,
        on_state_change=lambda old, new: changes.append((old, new)),
    )


def test_opens_after_consecutive_failures_only() -> None:
    clock, changes = FakeClock(), Transitions()
    breaker = _breaker(clock, changes)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success in between: the count starts again
    breaker.record_failure()
    breaker.record_failure()
    assert circuit_state(breaker) == CircuitState.CLOSED
    assert breaker.allow()

    breaker.record_failure()
    assert circuit_state(breaker) == CircuitState.OPEN
    assert not breaker.allow()
    assert breaker.seconds_until_probe() == 30
    assert changes == [(CircuitState.CLOSED, CircuitState.OPEN)]


def test_half_opens_after_cool_down_and_lets_one_probe_through() -> None:
    clock, changes = FakeClock(), Transitions()
    breaker = _breaker(clock, changes)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(29.9)
    assert circuit_state(breaker) == CircuitState.OPEN
    assert breaker.seconds_until_probe() == pytest.approx(0.1)
    assert not breaker.allow()

    clock.advance(0.1)
    assert circuit_state(breaker) == CircuitState.HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # everyone else waits for its outcome
    breaker.record_success()
    assert circuit_state(breaker) == CircuitState.CLOSED
    assert breaker.allow()
    assert changes == [
        (CircuitState.CLOSED, CircuitState.OPEN),
        (CircuitState.OPEN, CircuitState.HALF_OPEN),
        (CircuitState.HALF_OPEN, CircuitState.CLOSED),
    ]


def test_a_failed_probe_reopens_for_a_full_cool_down() -> None:
    clock, changes = FakeClock(), Transitions()
    breaker = _breaker(clock, changes)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(30)
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough in half-open
    assert circuit_state(breaker) == CircuitState.OPEN
    assert breaker.seconds_until_probe() == 30
    clock.advance(29)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()
    assert changes[-2:] == [
        (CircuitState.HALF_OPEN, CircuitState.OPEN),
        (CircuitState.OPEN, CircuitState.HALF_OPEN),
    ]


def test_a_probe_that_never_reports_back_is_replaced_after_the_timeout() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, [])
    for _ in range(3):
        breaker.record_failure()
    clock.advance(30)
    assert breaker.allow()  # this probe's caller is cancelled and never records an outcome
    clock.advance(29)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()


def test_a_threshold_of_one_opens_on_the_first_failure() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_seconds=5, clock=FakeClock())
    breaker.record_failure()
    assert circuit_state(breaker) == CircuitState.OPEN


@pytest.mark.parametrize(
    ("threshold", "reset"), [(0, 30.0), (3, 0.0)], ids=["no-threshold", "no-cool-down"]
)
def test_refuses_settings_that_cannot_work(threshold: int, reset: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker(failure_threshold=threshold, reset_timeout_seconds=reset)
