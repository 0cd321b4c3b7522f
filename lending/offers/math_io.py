"""The JSON contract of `omnifin loan-math apr|schedule`: parse, validate, compute, format."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, NoReturn, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from lending.offers.math import (
    MAX_AMOUNT,
    MAX_ANNUAL_RATE_PERCENT,
    MAX_TERM_MONTHS,
    LoanMathError,
    RoundingMode,
    UnitPeriod,
    amortization_schedule,
    annual_percentage_rate,
)

Model = TypeVar("Model", bound=BaseModel)


def _iso_date_text(value: object) -> object:
    # Without this, pydantic would read a JSON number as seconds since 1970.
    if not isinstance(value, str):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


Money = Annotated[Decimal, Field(gt=0, lt=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CashFlowInput(_Input):
    """An advance or a payment: an amount of money on a date."""

    amount: Money
    date: IsoDate


class AprInput(_Input):
    """`omnifin loan-math apr` input; `unit_period` is inferred when omitted."""

    advances: Annotated[list[CashFlowInput], Field(min_length=1)]
    payments: Annotated[list[CashFlowInput], Field(min_length=1)]
    unit_period: UnitPeriod | None = None


class ScheduleInput(_Input):
    """`omnifin loan-math schedule` input: a level-payment loan."""

    principal: Money
    annual_rate: Annotated[Decimal, Field(ge=0, le=MAX_ANNUAL_RATE_PERCENT, allow_inf_nan=False)]
    term_months: Annotated[int, Field(ge=1, le=MAX_TERM_MONTHS)]
    rounding: RoundingMode = RoundingMode.half_up


def run_apr(text: str) -> dict[str, Any]:
    """Compute the APR of the JSON cash flows in `text`.

    Args:
        text: `{"advances": [{"amount": "5000.00", "date": "1978-01-10"}], "payments": [...],
            "unit_period": "month"}`; amounts as decimal strings (or JSON numbers).

    Returns:
        `{"apr": "9.69", "apr_exact": "9.6857080623", "unit_period": "month", "regular": true}`.

    Raises:
        LoanMathError: One line naming the offending field, for any bad input.
    """
    given = _parse(text, AprInput)
    result = annual_percentage_rate(
        [(flow.amount, flow.date) for flow in given.advances],
        [(flow.amount, flow.date) for flow in given.payments],
        given.unit_period,
    )
    return {
        "apr": str(result.apr),
        "apr_exact": str(result.apr_exact),
        "unit_period": result.unit_period.value,
        "regular": result.regular,
    }


def run_schedule(text: str) -> dict[str, Any]:
    """Amortize the JSON level-payment loan in `text`.

    Args:
        text: `{"principal": "162000.00", "annual_rate": "3.875", "term_months": 360,
            "rounding": "half_up"}`; `rounding` defaults to half_up.

    Returns:
        `{"payment", "schedule": [{"number", "payment", "interest", "principal", "balance"}],
        "total_interest", "total_of_payments"}`, every amount a string with 2 decimals.

    Raises:
        LoanMathError: One line naming the offending field, for any bad input.
    """
    given = _parse(text, ScheduleInput)
    schedule = amortization_schedule(
        given.principal, given.annual_rate, given.term_months, given.rounding
    )
    return {
        "payment": _money(schedule.payment),
        "schedule": [
            {
                "number": row.number,
                "payment": _money(row.payment),
                "interest": _money(row.interest),
                "principal": _money(row.principal),
                "balance": _money(row.balance),
            }
            for row in schedule.rows
        ],
        "total_interest": _money(schedule.total_interest),
        "total_of_payments": _money(schedule.total_of_payments),
    }


def _parse(text: str, model: type[Model]) -> Model:
    try:
        # Decimal straight from the JSON text: a float would already have lost the cents.
        raw = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise LoanMathError(
            f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise LoanMathError(_one_line(error.errors(include_url=False))) from None


def _refuse_constant(name: str) -> NoReturn:
    raise LoanMathError(f"invalid JSON: {name} is not an amount")


def _one_line(errors: Sequence[ErrorDetails]) -> str:
    """The first validation error as `field.path: what is wrong`, counting the rest."""
    first = errors[0]
    where = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
    ).lstrip(".")
    line = f"{where or 'input'}: {_problem(first)}"
    if len(errors) > 1:
        others = len(errors) - 1
        line += f" (and {others} more problem{'s' if others > 1 else ''})"
    return line


def _problem(error: ErrorDetails) -> str:
    context = error.get("ctx", {})
    match error["type"]:
        case "missing":
            return "is required"
        case "extra_forbidden":
            return "is not a known field"
        case "model_type":
            return "must be a JSON object"
        case "too_short":
            return "must not be empty"
        case "greater_than":
            return f"must be greater than {context['gt']}"
        case "greater_than_equal":
            return f"must be at least {context['ge']}"
        case "less_than":
            return f"must be less than {context['lt']}"
        case "less_than_equal":
            return f"must be at most {context['le']}"
        case "decimal_max_places":
            return f"must have at most {context['decimal_places']} decimal places"
        case "enum":
            return f"must be one of {context['expected']}"
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))
