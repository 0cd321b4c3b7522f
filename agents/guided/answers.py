"""Turn a borrower's answer to one intake question into the value its field needs, or None.

Field names, types and choices come from lending/applications/requirements.json, so a new field
of a known type needs no code here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from agents.guided.parser import (
    parse_amount,
    parse_count,
    parse_date,
    parse_income,
    parse_menu_choice,
    parse_phone,
    parse_ssn,
    parse_term_months,
)
from lending.applications.requirements import requirements
from lending.us_states import US_STATES

_TOKEN = re.compile(r"\[(SSN|DOB|ACCOUNT)-\d+\]")
_NONE = re.compile(r"^\s*(none|nothing|zero|no|n/a|0|\$0(\.00)?|没有|无)\s*\.?\s*$", re.I)
_PLAIN_NUMBER = re.compile(r"^\s*\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?\s*$")
_STATE = r"(?P<state>[A-Za-z]{2})"
_ZIP = r"(?P<postal_code>\d{5}(?:-\d{4})?)"
_STREET_SUFFIX = (
    r"(?:St|Street|Rd|Road|Ave|Avenue|Blvd|Boulevard|Dr|Drive|Ln|Lane|Ct|Court|Way|Pl|Place|"
    r"Ter|Terrace|Pkwy|Parkway|Hwy|Highway|Cir|Circle|Sq|Square|Trl|Trail|Loop)\.?"
)
# The street number starts a word: never the digits of a vault token ("[DOB-1]") or of a date.
_START = r"(?<![\w\[\]/.-])"
# The ways people write a US address, most explicit first:
# "9 Pine Rd, Apt 2, Seattle, WA 98101", "9 Pine Rd, Seattle WA 98101", "9 Pine Rd Seattle WA 98101"
# (the last only when a street type such as "Rd" says where the street ends).
_ADDRESS_FORMS = tuple(
    re.compile(_START + form, re.I)
    for form in (
        r"(?P<line1>\d+[^,\n\]]*?),\s*(?:(?P<line2>[^,\n]+?),\s*)?(?P<city>[^,\n]+?),\s*"
        + _STATE
        + r"\s*,?\s*"
        + _ZIP,
        r"(?P<line1>\d+[^,\n\]]*?),\s*(?:(?P<line2>[^,\n]+?),\s*)?"
        r"(?P<city>[A-Za-z][A-Za-z .'-]*?)\s+" + _STATE + r"\s*,?\s*" + _ZIP,
        r"(?P<line1>\d+\s+[^,\n\]]*?\b"
        + _STREET_SUFFIX
        + r")\s+(?P<city>[A-Za-z][A-Za-z .'-]*?)\s*,?\s+"
        + _STATE
        + r"\s*,?\s*"
        + _ZIP,
    )
)
_EMPLOYMENT = (
    (
        "self_employed",
        re.compile(r"self[- ]?employed|own (a|my) business|freelanc|contractor", re.I),
    ),
    ("unemployed", re.compile(r"unemployed|not working|between jobs|失业", re.I)),
    ("retired", re.compile(r"retired|pension|退休", re.I)),
    ("student", re.compile(r"student|学生", re.I)),
    (
        "employed",
        re.compile(r"employed|full[- ]time|part[- ]time|work(ing)? (at|for)|job|在职|上班", re.I),
    ),
    ("other", re.compile(r"\bother\b|其他", re.I)),
)


def money(text: str, *, allow_zero: bool) -> Decimal | None:
    if allow_zero and _NONE.match(text):
        return Decimal("0.00")
    amount = parse_amount(text)
    if amount is None:
        plain = _PLAIN_NUMBER.match(text)
        if plain:
            amount = Decimal((plain.group(1) + (plain.group(2) or "")).replace(",", ""))
    if amount is None or (amount == 0 and not allow_zero):
        return None
    return amount.quantize(Decimal("0.01"))


def find_address(text: str) -> tuple[tuple[int, int], dict[str, str]] | None:
    """The first US address in `text` and where it is, in its parts (line1, line2, city, state,
    postal_code); a two-letter code that is not a US state is not a state."""
    for form in _ADDRESS_FORMS:
        for match in form.finditer(text):
            parts = {key: value.strip() for key, value in match.groupdict().items() if value}
            parts["state"] = parts["state"].upper()
            if parts["state"] in US_STATES:
                return match.span(), parts
    return None


def address(text: str) -> dict[str, str] | None:
    """A message that is only an address."""
    found = find_address(text.strip())
    if found is None:
        return None
    (start, end), parts = found
    return parts if (start, end) == (0, len(text.strip())) else None


def choices_for(field: str, product_purposes: tuple[str, ...]) -> tuple[str, ...]:
    if field == "purpose":
        return product_purposes
    if field == "employment_status":
        return ("employed", "self_employed", "retired", "unemployed", "student", "other")
    spec = requirements().fields.get(field)
    return spec.choices if spec is not None else ()


def choice(text: str, options: tuple[str, ...]) -> str | None:
    readable = [option.replace("_", " ") for option in options]
    index = parse_menu_choice(text, readable)
    if index is None:
        lowered = text.lower().replace("-", " ").replace("_", " ")
        hits = [i for i, option in enumerate(readable) if option in lowered]
        index = hits[0] if len(hits) == 1 else None
    return options[index] if index is not None else None


def answer(field: str, text: str, product_purposes: tuple[str, ...]) -> dict[str, Any] | None:
    """The tool arguments that set `field` from `text` (profile or application fields, or a
    product slot), or None when the text holds no usable value."""
    value: Any
    match field:
        case "full_name":
            words = text.strip().split()
            if len(words) < 2 or any(char.isdigit() for char in text):
                return None
            return {"legal_first_name": words[0], "legal_last_name": " ".join(words[1:])}
        case "date_of_birth":
            token = _TOKEN.search(text)
            if token and token.group(1) == "DOB":
                return {"date_of_birth": token.group(0)}
            day = parse_date(text)
            return {"date_of_birth": day.isoformat()} if day else None
        case "ssn":
            token = _TOKEN.search(text)
            if token and token.group(1) == "SSN":
                return {"ssn": token.group(0)}
            ssn = parse_ssn(text)
            return {"ssn": ssn} if ssn else None
        case "phone":
            phone = parse_phone(text)
            return {"phone": phone} if phone else None
        case "home_address":
            parts = address(text)
            if parts is None:
                return None
            result = {
                "address_line1": parts["line1"],
                "city": parts["city"],
                "state": parts["state"],
                "postal_code": parts["postal_code"],
            }
            if "line2" in parts:
                result["address_line2"] = parts["line2"]
            return result
        case "employment_status":
            for status, pattern in _EMPLOYMENT:
                if pattern.search(text):
                    return {"employment_status": status}
            return None
        case "annual_income":
            income = parse_income(text)
            if income is None:
                amount = money(text, allow_zero=False)
                return {"annual_income": str(amount)} if amount is not None else None
            annual = income.amount * 12 if income.period.value == "monthly" else income.amount
            return {"annual_income": str(annual.quantize(Decimal("0.01")))}
        case "monthly_debt_payments" | "monthly_housing_payment":
            amount = money(text, allow_zero=True)
            return {field: str(amount)} if amount is not None else None
        case "estimated_credit_score":
            numbers = [int(n) for n in re.findall(r"\b\d{3}\b", text)]
            scores = [n for n in numbers if 300 <= n <= 850]
            return {"estimated_credit_score": scores[0]} if scores else None
        case "amount":
            amount = money(text, allow_zero=False)
            return {"amount": str(amount)} if amount is not None else None
        case "term_months":
            months = parse_term_months(text)
            if months is None and re.fullmatch(r"\s*\d{1,3}\s*", text):
                months = int(text)
            return {"term_months": months} if months else None
        case "purpose":
            picked = choice(text, product_purposes)
            return {"purpose": picked} if picked else None
    spec = requirements().fields.get(field)
    if spec is None or spec.source != "slot":
        return None
    match spec.type:
        case "money" | "money_or_zero":
            value = money(text, allow_zero=spec.type == "money_or_zero")
            value = str(value) if value is not None else None
        case "integer":
            value = parse_count(field, text)
        case "choice":
            value = choice(text, spec.choices)
        case "address":
            parts = address(text)
            value = (
                {
                    k: v
                    for k, v in parts.items()
                    if k in {"line1", "line2", "city", "state", "postal_code"}
                }
                if parts
                else None
            )
        case _:
            value = text.strip() or None
    return {"slots": {field: value}} if value is not None else None
