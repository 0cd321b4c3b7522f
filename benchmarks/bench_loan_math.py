"""Time the loan math on a 30-year mortgage: the Appendix J APR solve and the amortization, and
the 5-year what-if a `compute_payment` tool call prices (25,000 at 7.5%, no fees).

Run from the repository root: `.venv/bin/python -m benchmarks.bench_loan_math`. For a fair
before/after on a shared machine, BENCH_BASELINE=<another checkout> (e.g. a `git worktree` of
main) also times that checkout's lending/offers/math.py, alternating BENCH_ROUNDS (default 3)
rounds of the two, reports both in µs per call ("side_by_side") and checks that both give the
same APR. Results go to benchmarks/results/loan_math.json and to stdout.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import lending.offers.math as current_math
from benchmarks.report import write_results
from lending.offers.math import (
    UnitPeriod,
    amortization_schedule,
    annual_percentage_rate,
    apr_for_level_loan,
)

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "loan_math.json"
PRINCIPAL = Decimal("400000.00")
NOTE_RATE = Decimal("6.25")
TERM_MONTHS = 360
PREPAID_FEES = Decimal("4000.00")
CLOSING = dt.date(2025, 1, 15)
RUNS = 200
WARM_UP = 20
# The compute_payment what-if the chat turn's CPU budget (issue #21) was profiled on.
WHAT_IF_PRINCIPAL = Decimal("25000.00")
WHAT_IF_RATE = Decimal("7.5")
WHAT_IF_MONTHS = 60


def _measure(work: Callable[[], object]) -> dict[str, float]:
    """Wall and CPU milliseconds of `work`, p50 and p95 over RUNS runs after WARM_UP."""
    for _ in range(WARM_UP):
        work()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(RUNS):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        work()
        cpu.append((time.process_time() - cpu_start) * 1000)
        wall.append((time.perf_counter() - wall_start) * 1000)
    return {
        "wall_ms_p50": round(statistics.median(wall), 4),
        "wall_ms_p95": round(statistics.quantiles(wall, n=20)[-1], 4),
        # CPU time is steadier than wall time on a shared machine.
        "cpu_ms_p50": round(statistics.median(cpu), 4),
        "cpu_ms_p95": round(statistics.quantiles(cpu, n=20)[-1], 4),
    }


def main() -> None:
    """Run the measurements, write them as JSON and print them."""
    schedule = amortization_schedule(PRINCIPAL, NOTE_RATE, TERM_MONTHS)
    advances, payments = _MORTGAGE_ADVANCES, _MORTGAGE_PAYMENTS
    apr = annual_percentage_rate(advances, payments, UnitPeriod.month)

    results = {
        "benchmark": "loan_math",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": RUNS,
        "warm_up": WARM_UP,
        "case": {
            "principal": str(PRINCIPAL),
            "annual_rate": str(NOTE_RATE),
            "term_months": TERM_MONTHS,
            "prepaid_finance_charges": str(PREPAID_FEES),
            "payment": str(schedule.payment),
            "apr": str(apr.apr),
            "apr_exact": str(apr.apr_exact),
        },
        "timings": {
            # The solve alone: 360 dated payments in, AprResult out (day counting included).
            "apr_solve_360_payments": _measure(
                lambda: annual_percentage_rate(advances, payments, UnitPeriod.month)
            ),
            # The same with the unit-period inferred from the payment dates, as the CLI does.
            "apr_solve_360_payments_inferred_unit": _measure(
                lambda: annual_percentage_rate(advances, payments)
            ),
            "schedule_360_months": _measure(
                lambda: amortization_schedule(PRINCIPAL, NOTE_RATE, TERM_MONTHS)
            ),
            # What an offer pays: schedule, payment dates and APR together.
            "apr_for_level_loan_360_months": _measure(
                lambda: apr_for_level_loan(
                    PRINCIPAL, NOTE_RATE, TERM_MONTHS, PREPAID_FEES, start_date=CLOSING
                )
            ),
            "apr_for_level_loan_60_months": _measure(lambda: _what_if(current_math)),
        },
    }
    if baseline := os.environ.get("BENCH_BASELINE"):
        results["side_by_side"] = _side_by_side(
            Path(baseline), int(os.environ.get("BENCH_ROUNDS", "3"))
        )

    write_results(RESULTS_PATH, results)


def _what_if(math: ModuleType) -> Any:
    return math.apr_for_level_loan(WHAT_IF_PRINCIPAL, WHAT_IF_RATE, WHAT_IF_MONTHS, Decimal(0))


def _mortgage(math: ModuleType) -> Any:
    return math.apr_for_level_loan(
        PRINCIPAL, NOTE_RATE, TERM_MONTHS, PREPAID_FEES, start_date=CLOSING
    )


def _mortgage_solve(math: ModuleType) -> Any:
    # The APR alone, from dated payments (the schedule built once, outside the timing).
    return math.annual_percentage_rate(_MORTGAGE_ADVANCES, _MORTGAGE_PAYMENTS, "month")


def _side_by_side(baseline: Path, rounds: int) -> dict[str, Any]:
    """CPU µs per call (median of the rounds' p50s) of the baseline's math and this one's.

    The two alternate round by round, so a busy spell on the shared machine falls on both.
    """
    spec = importlib.util.spec_from_file_location(
        "baseline_loan_math", baseline / "lending" / "offers" / "math.py"
    )
    assert spec is not None
    assert spec.loader is not None
    baseline_math = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up while the class is made.
    sys.modules[spec.name] = baseline_math
    spec.loader.exec_module(baseline_math)
    modules = {"baseline": baseline_math, "current": current_math}
    cases = {
        "apr_for_level_loan_60_months": _what_if,
        "apr_for_level_loan_360_months": _mortgage,
        "apr_solve_360_payments": _mortgage_solve,
    }
    same_apr = {
        name: {label: str(work(math).apr_exact) for label, math in modules.items()}
        for name, work in cases.items()
    }
    samples: dict[str, dict[str, list[float]]] = {
        name: {label: [] for label in modules} for name in cases
    }
    for _ in range(rounds):
        for label, math in modules.items():
            for name, work in cases.items():
                timing = _measure(functools.partial(work, math))
                samples[name][label].append(timing["cpu_ms_p50"] * 1000)
    report: dict[str, Any] = {"baseline": str(baseline), "rounds": rounds}
    for name, by_label in samples.items():
        before = statistics.median(by_label["baseline"])
        after = statistics.median(by_label["current"])
        report[name] = {
            "baseline_cpu_us_p50": round(before, 1),
            "current_cpu_us_p50": round(after, 1),
            "speedup": round(before / after, 2),
            "rounds_us": {
                label: [round(us, 1) for us in values] for label, values in by_label.items()
            },
            "apr_exact": same_apr[name],
        }
        if len(set(same_apr[name].values())) != 1:
            raise SystemExit(f"{name}: the baseline and this checkout give different APRs")
    report["load_average"] = os.getloadavg()
    return report


def _months_after(day: dt.date, months: int) -> dt.date:
    # Only for CLOSING, whose day-of-month (the 15th) every month has.
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return day.replace(year=year, month=month + 1)


_MORTGAGE_ADVANCES = [(PRINCIPAL - PREPAID_FEES, CLOSING)]
_MORTGAGE_PAYMENTS = [
    (row.payment, _months_after(CLOSING, row.number))
    for row in amortization_schedule(PRINCIPAL, NOTE_RATE, TERM_MONTHS).rows
]

if __name__ == "__main__":
    main()
