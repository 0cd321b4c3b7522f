"""`omnifin loan-math apr|schedule`: JSON on stdin, JSON on stdout, one-line errors with exit 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import orjson
import typer

app = typer.Typer(help="Exact loan math (Decimal): APR and amortization.", no_args_is_help=True)


def _run(compute: Callable[[str], dict[str, Any]]) -> None:
    from lending.offers.math import LoanMathError

    try:
        result = compute(sys.stdin.read())
    except LoanMathError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


@app.command()
def apr() -> None:
    """APR by Regulation Z Appendix J from {"advances": [...], "payments": [...], "unit_period"?}."""
    from lending.offers.math_io import run_apr

    _run(run_apr)


@app.command()
def schedule() -> None:
    """Level-payment amortization from {"principal", "annual_rate", "term_months", "rounding"?}."""
    from lending.offers.math_io import run_schedule

    _run(run_schedule)
