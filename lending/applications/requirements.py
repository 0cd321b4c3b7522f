"""What each product type needs, read from requirements.json: fields, slot rules, bands, consents."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lending.errors import InvalidInput
from lending.models.applications import Application, BorrowerProfile, ConsentKind, ProductType
from lending.models.lenders import CreditBand
from lending.us_states import US_STATES

DATA_PATH = Path(__file__).with_name("requirements.json")

# Slot money is stored in JSONB as a decimal string, never a JSON number, to keep the cents.
MAX_MONEY = Decimal("1000000000000")
CENT = Decimal("0.01")
_POSTAL_CODE = re.compile(r"^\d{5}(-\d{4})?$")

FieldSource = Literal["profile", "application", "slot"]
SlotType = Literal["money", "money_or_zero", "integer", "text", "choice", "address"]


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    source: FieldSource
    label: str
    question: str
    type: SlotType | None = None
    choices: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    max_length: int | None = None


class ProductRules(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    label: str
    purposes: tuple[str, ...] = Field(min_length=1)
    collateral: Literal["property", "vehicle"] | None
    required: tuple[str, ...]
    prequalification: tuple[str, ...]
    trid_application: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


class CreditBandRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    band: CreditBand
    min_score: int


class ConsentText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    text: str


class Requirements(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    credit_bands: tuple[CreditBandRule, ...]
    consent_texts: dict[ConsentKind, ConsentText]
    us_states: frozenset[str]
    fields: dict[str, FieldSpec]
    product_types: dict[ProductType, ProductRules]

    @model_validator(mode="before")
    @classmethod
    def _name_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("fields"), dict):
            data["fields"] = {
                name: {**spec, "name": name} if isinstance(spec, dict) else spec
                for name, spec in data["fields"].items()
            }
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Requirements:
        for name, spec in self.fields.items():
            if spec.source == "slot" and spec.type is None:
                raise ValueError(f"fields.{name}: a slot needs a type")
        if self.us_states != US_STATES:
            raise ValueError("us_states: must list exactly lending.us_states.US_STATES")
        missing_types = set(ProductType) - set(self.product_types)
        if missing_types:
            raise ValueError(f"product_types: missing {sorted(missing_types)}")
        for product_type, rules in self.product_types.items():
            for name in (
                *rules.required,
                *rules.prequalification,
                *rules.trid_application,
                *rules.optional,
            ):
                if name not in self.fields:
                    raise ValueError(f"product_types.{product_type}: unknown field {name!r}")
        if set(self.consent_texts) != set(ConsentKind):
            raise ValueError("consent_texts: one text per consent kind is needed")
        scores = [rule.min_score for rule in self.credit_bands]
        if scores != sorted(scores, reverse=True):
            raise ValueError("credit_bands: list from the highest band down")
        return self

    def rules(self, product_type: ProductType) -> ProductRules:
        return self.product_types[product_type]

    def slot_names(self, product_type: ProductType) -> list[str]:
        """The slots an application of this type may hold, in asking order."""
        rules = self.product_types[product_type]
        names = dict.fromkeys((*rules.required, *rules.prequalification, *rules.optional))
        return [name for name in names if self.fields[name].source == "slot"]


@cache
def requirements() -> Requirements:
    """The requirements data, read and checked once per process."""
    return Requirements.model_validate_json(DATA_PATH.read_bytes())


def credit_band_for(score: int) -> CreditBand:
    """The marketplace band of a score (Excellent ≥720, Good 680–719, ... as the data says)."""
    for rule in requirements().credit_bands:
        if score >= rule.min_score:
            return rule.band
    return requirements().credit_bands[-1].band


def is_us_state(code: str) -> bool:
    return code in US_STATES


def field_error(loc: list[str | int], msg: str, kind: str = "value_error") -> dict[str, Any]:
    """One field-level problem, shaped like a request validation error."""
    return {"loc": loc, "msg": msg, "type": kind}


def validate_slots(product_type: ProductType, values: Mapping[str, Any]) -> dict[str, Any]:
    """The slot values checked and normalised for JSONB; None means "clear this slot".

    Raises:
        InvalidInput: every problem at once, each with its `loc` (["slots", name, ...]).
    """
    clean, errors = check_slots(product_type, values)
    if errors:
        raise InvalidInput(errors)
    return clean


def check_slots(
    product_type: ProductType, values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The normalised slot values and the field-level problems found (see validate_slots)."""
    data = requirements()
    allowed = data.slot_names(product_type)
    errors: list[dict[str, Any]] = []
    clean: dict[str, Any] = {}
    for name, value in values.items():
        loc: list[str | int] = ["slots", name]
        if name not in allowed:
            errors.append(
                field_error(
                    loc,
                    f"not a field of a {product_type.value} application; known: "
                    f"{', '.join(allowed) or 'none'}",
                    "unknown_slot",
                )
            )
            continue
        if value is None:
            clean[name] = None
            continue
        try:
            clean[name] = _slot_value(data.fields[name], value, loc)
        except _SlotError as error:
            errors.append(field_error(error.loc, error.msg))
    return clean, errors


class _SlotError(Exception):
    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc, self.msg = loc, msg


def _slot_value(spec: FieldSpec, value: Any, loc: list[str | int]) -> Any:
    match spec.type:
        case "money" | "money_or_zero":
            return str(parse_money(value, loc, allow_zero=spec.type == "money_or_zero"))
        case "integer":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise _SlotError(loc, "must be a whole number")
            try:
                number = int(value)
            except ValueError:
                raise _SlotError(loc, "must be a whole number") from None
            if spec.min is not None and number < spec.min:
                raise _SlotError(loc, f"must be at least {spec.min}")
            if spec.max is not None and number > spec.max:
                raise _SlotError(loc, f"must be at most {spec.max}")
            return number
        case "text":
            if not isinstance(value, str) or not value.strip():
                raise _SlotError(loc, "must be non-empty text")
            text = value.strip()
            if spec.max_length is not None and len(text) > spec.max_length:
                raise _SlotError(loc, f"must be at most {spec.max_length} characters")
            return text
        case "choice":
            if value not in spec.choices:
                raise _SlotError(loc, f"must be one of {', '.join(spec.choices)}")
            return value
        case "address":
            return _address(value, loc)
    raise _SlotError(loc, "has no known type")  # pragma: no cover - the data is checked on load


def parse_money(value: Any, loc: list[str | int], *, allow_zero: bool = False) -> Decimal:
    """An amount of money as Decimal with at most 2 decimal places."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _SlotError(loc, "must be an amount of money such as 2500.00")
    try:
        # str() first: a float goes through its shortest repr, not its binary expansion.
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise _SlotError(loc, "must be an amount of money such as 2500.00") from None
    if not amount.is_finite():
        raise _SlotError(loc, "must be an amount of money such as 2500.00")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise _SlotError(loc, "must be at least 0" if allow_zero else "must be greater than 0")
    if amount >= MAX_MONEY:
        raise _SlotError(loc, f"must be less than {MAX_MONEY}")
    if amount != amount.quantize(CENT):
        raise _SlotError(loc, "must have at most 2 decimal places")
    return amount.quantize(CENT)


def _address(value: Any, loc: list[str | int]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _SlotError(loc, "must be an object with line1, city, state and postal_code")
    known = {"line1", "line2", "city", "state", "postal_code"}
    unknown = set(value) - known
    if unknown:
        raise _SlotError([*loc, sorted(unknown)[0]], "is not a known address field")
    address: dict[str, str] = {}
    for part in ("line1", "city", "state", "postal_code"):
        text = value.get(part)
        if not isinstance(text, str) or not text.strip():
            raise _SlotError([*loc, part], "is required")
        address[part] = text.strip()
    if isinstance(value.get("line2"), str) and value["line2"].strip():
        address["line2"] = value["line2"].strip()
    address["state"] = address["state"].upper()
    if not is_us_state(address["state"]):
        raise _SlotError([*loc, "state"], "must be a two-letter US state code")
    if not _POSTAL_CODE.match(address["postal_code"]):
        raise _SlotError([*loc, "postal_code"], "must be a ZIP code such as 78701")
    return address


def slot_money(application: Application, name: str) -> Decimal | None:
    value = application.slots.get(name)
    return None if value is None else Decimal(str(value))


class MissingField(BaseModel):
    """A field still needed, with where it goes and the question that collects it."""

    name: str
    source: FieldSource
    label: str
    question: str


def missing_fields(
    application: Application,
    profile: BorrowerProfile | None,
    *,
    which: Literal["required", "prequalification", "trid_application"] = "required",
) -> list[MissingField]:
    """The fields of the product type's `which` list that are not known yet, in asking order."""
    data = requirements()
    names = getattr(data.rules(application.product_type), which)
    return [
        MissingField(name=spec.name, source=spec.source, label=spec.label, question=spec.question)
        for name in names
        if not _present(spec := data.fields[name], application, profile)
    ]


def _present(spec: FieldSpec, application: Application, profile: BorrowerProfile | None) -> bool:
    if spec.source == "slot":
        return application.slots.get(spec.name) is not None
    if spec.source == "application":
        return getattr(application, spec.name) is not None
    if profile is None:
        return False
    match spec.name:
        case "full_name":
            return bool(profile.legal_first_name and profile.legal_last_name)
        case "date_of_birth":
            return profile.date_of_birth_encrypted is not None
        case "ssn":
            return profile.ssn_encrypted is not None
        case "home_address":
            return bool(
                profile.address_line1 and profile.city and profile.state and profile.postal_code
            )
    return getattr(profile, spec.name) is not None
