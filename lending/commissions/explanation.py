"""The steps of a commission explanation as keys and values: each figure is formatted once, here,
from the ledger's Decimals, and every language says the same figures (the English text is
rendered from STEP_TEXTS; guided mode has the Chinese of each key)."""

from __future__ import annotations

from pydantic import BaseModel

# One English template per step key; `{name}` is a value the step carries, already formatted.
STEP_TEXTS: dict[str, str] = {
    "loan": "Loan {reference} ({borrower}), funded {funded_on} for {amount} {currency}.",
    "rule": (
        "Rule '{name}' ({scope} scope, {jurisdiction}) version {version}, effective from "
        "{effective_from}: the most specific rule active on the event's date."
    ),
    "upfront": "Upfront: {percent}% of the {basis_kind} {basis} = {part} (half up to the cent).",
    "upfront_flat": (
        "Upfront: {percent}% of the {basis_kind} {basis} = {part} (half up to the cent), plus a "
        "flat {flat} = {before}."
    ),
    "upfront_bonus": (
        "Upfront: {percent}% of the {basis_kind} {basis} = {part} (half up to the cent), plus a "
        "volume bonus {bonus} (loan {loan_in_month} of the broker's month) = {before}."
    ),
    "upfront_flat_bonus": (
        "Upfront: {percent}% of the {basis_kind} {basis} = {part} (half up to the cent), plus a "
        "flat {flat}, plus a volume bonus {bonus} (loan {loan_in_month} of the broker's month) "
        "= {before}."
    ),
    "cap_floor": "Cap {cap} / floor {floor} applied: {total}.",
    "trail": (
        "Trail for {month}: {percent}% a year of the outstanding balance {basis} ÷ 12 (half up "
        "to the cent) = {total}."
    ),
    "trail_net": (
        "Trail for {month}: {percent}% a year of the outstanding balance net of offset {basis} "
        "÷ 12 (half up to the cent) = {total}."
    ),
    "split": (
        "Split: {party} ({payee}) gets {percent}% of {total} = {amount} (largest-remainder rule)."
    ),
    "split_remainder": (
        "Split: {party} ({payee}) gets {percent}% of {total} = {amount} (including a remainder "
        "cent, largest-remainder rule)."
    ),
    "clawback": (
        "Clawback: the loan was {reason} in loan month {loan_month}; the rule's schedule gives "
        "back {percent}% of upfront entry #{entry} ({accrued}) = {amount}."
    ),
    "payout": (
        "Paid to {payee} in batch {batch} (reference {payment_reference}), settling {entries} "
        "entries."
    ),
    "adjustment": "Adjustment for {payee}: {reason}.",
    "reversal": "Reversal for {payee}: {reason}.",
    "tax": "Tax {rate}%: {tax}; total {total} {currency}.",
    "tax_unrated": "Tax: {tax}; total {total} {currency}.",
    "total": "Total {total} {currency}.",
}


class ExplanationStep(BaseModel):
    """One step: its key in STEP_TEXTS and the values (figures formatted once) it says."""

    key: str
    values: dict[str, str]

    def english(self) -> str:
        return STEP_TEXTS[self.key].format(**self.values)


def step(key: str, **values: object) -> ExplanationStep:
    return ExplanationStep(key=key, values={name: str(value) for name, value in values.items()})
