"""Time the loan math on a 30-year mortgage: the Appendix J APR solve and the amortization.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_loan_math`. Results go to
benchmarks/results/loan_math.json and to stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

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
    advances = [(PRINCIPAL - PREPAID_FEES, CLOSING)]
    payments = [(row.payment, _months_after(CLOSING, row.number)) for row in schedule.rows]
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
        },
    }

    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed, so a reader never sees half a file.
    partial = RESULTS_PATH.with_name(RESULTS_PATH.name + ".tmp")
    partial.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    partial.replace(RESULTS_PATH)
    print(json.dumps(results, indent=2))


def _months_after(day: dt.date, months: int) -> dt.date:
    # Only for CLOSING, whose day-of-month (the 15th) every month has.
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return day.replace(year=year, month=month + 1)


if __name__ == "__main__":
    main()
