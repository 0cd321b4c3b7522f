"""Application and borrower-profile schemas, shared by the REST routes and the assistant's tools.

Request models forbid unknown fields (a stray `status` or `borrower_user_id` is refused, not
ignored); money is Decimal with at most two decimal places.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from lending.applications.hmda import DenialReason
from lending.applications.ratios import Ratio
from lending.applications.requirements import MissingField, is_us_state
from lending.lenders.schemas import SubmissionRead
from lending.models.applications import (
    ApplicationStatus,
    ConsentKind,
    EmploymentStatus,
    ProductType,
)
from lending.models.lenders import CreditBand

MAX_LOAN_AMOUNT = Decimal("100000000")
MAX_TERM_MONTHS = 480

LoanAmount = Annotated[
    Decimal,
    Field(
        gt=0,
        le=MAX_LOAN_AMOUNT,
        decimal_places=2,
        allow_inf_nan=False,
        description="In US dollars, at most 2 decimal places, e.g. 25000 or 25000.00.",
    ),
]
MoneyOrZero = Annotated[
    Decimal, Field(ge=0, le=Decimal("1e11"), decimal_places=2, allow_inf_nan=False)
]
TermMonths = Annotated[int, Field(ge=1, le=MAX_TERM_MONTHS, description="Months to repay.")]
Purpose = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,48}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Version = Annotated[
    int,
    Field(
        ge=1,
        description="The version you last read; if the application changed since, the call is "
        "refused with 409 and nothing is written.",
    ),
]


def _us_state(value: str) -> str:
    code = value.strip().upper()
    if not is_us_state(code):
        raise ValueError("must be a two-letter US state code such as CA")
    return code


def _ssn(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(r"\d{9}", digits):
        raise ValueError("must be 9 digits, such as 123-45-6789")
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    # Never-issued numbers (SSA rules): area 000, 666 or 900-999, group 00, serial 0000.
    if area in {"000", "666"} or area >= "900" or group == "00" or serial == "0000":
        raise ValueError("is not a valid Social Security number")
    return digits


def _adult_birth_date(value: date) -> date:
    today = date.today()
    years = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if years < 18:
        raise ValueError("the borrower must be at least 18 years old")
    if years > 120:
        raise ValueError("is not a plausible date of birth")
    return value


UsState = Annotated[str, AfterValidator(_us_state)]
Ssn = Annotated[str, AfterValidator(_ssn)]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}(-\d{4})?$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ().-]{7,20}$")]
BirthDate = Annotated[date, AfterValidator(_adult_birth_date)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Borrower profile


class BorrowerProfileUpdate(_Request):
    """Fields to set on the borrower's profile; fields left out stay as they are."""

    legal_first_name: Name | None = None
    legal_last_name: Name | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    phone: Phone | None = None
    address_line1: Line | None = None
    address_line2: Line | None = None
    city: Name | None = None
    state: UsState | None = None
    postal_code: PostalCode | None = None
    date_of_birth: BirthDate | None = None
    ssn: Ssn | None = Field(
        default=None, description="Encrypted at rest; only the last four are shown."
    )
    employment_status: EmploymentStatus | None = None
    employer_name: Line | None = None
    job_title: Name | None = None
    employment_start_date: date | None = None
    annual_income: MoneyOrZero | None = Field(default=None, description="Gross, before tax.")
    monthly_debt_payments: MoneyOrZero | None = Field(
        default=None, description="Card, car, student and other loan payments; not housing."
    )
    monthly_housing_payment: MoneyOrZero | None = Field(
        default=None, description="Rent or mortgage payment."
    )
    estimated_credit_score: int | None = Field(default=None, ge=300, le=850)


class ConsentRead(_Response):
    kind: ConsentKind
    granted: bool
    text_version: str
    channel: str
    recorded_at: datetime
    recorded_by_user_id: uuid.UUID | None


class ConsentCreate(_Request):
    kind: ConsentKind = ConsentKind.CREDIT_CHECK
    granted: bool = True
    text_version: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="The version of the text shown; defaults to the current one."
    )


class ConsentTextRead(BaseModel):
    kind: ConsentKind
    version: str
    text: str


class BorrowerProfileRead(BaseModel):
    user_id: uuid.UUID
    legal_first_name: str | None
    legal_last_name: str | None
    email: str | None
    phone: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    date_of_birth_on_file: bool
    ssn_last4: str | None = Field(description="Only the last four digits are ever shown.")
    employment_status: EmploymentStatus | None
    employer_name: str | None
    job_title: str | None
    employment_start_date: date | None
    annual_income: Decimal | None
    monthly_debt_payments: Decimal | None
    monthly_housing_payment: Decimal | None
    estimated_credit_score: int | None
    credit_band: CreditBand | None
    debt_to_income: Ratio | None = Field(description="Before any new loan.")
    consents: list[ConsentRead] = Field(description="The latest record of each kind.")
    consent_texts: list[ConsentTextRead] = Field(
        description="The current text of each consent: show it before recording consent."
    )
    updated_at: datetime | None


# Applications


class ApplicationCreate(_Request):
    product_type: ProductType
    borrower_user_id: uuid.UUID | None = Field(
        default=None,
        description="Staff only: the borrower the application is for (borrowers apply for "
        "themselves).",
    )
    purpose: Purpose | None = None
    amount: LoanAmount | None = None
    term_months: TermMonths | None = None
    requested_product_id: uuid.UUID | None = Field(
        default=None, description="A lender product the borrower asked for by name."
    )
    slots: dict[str, Any] = Field(default_factory=dict)


class ApplicationUpdate(_Request):
    version: Version | None = None
    purpose: Purpose | None = None
    amount: LoanAmount | None = None
    term_months: TermMonths | None = None
    requested_product_id: uuid.UUID | None = None
    slots: dict[str, Any] = Field(
        default_factory=dict, description="Slot values to set; null clears a slot."
    )


class SubmitRequest(_Request):
    lender_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=5)]
    version: Version | None = None


class WithdrawRequest(_Request):
    reason: Reason
    version: Version | None = None


class TransitionRequest(_Request):
    to_status: ApplicationStatus
    reason: Reason
    version: Version | None = None
    denial_reasons: list[DenialReason] = Field(
        default_factory=list, description="HMDA denial reasons (1-9), for a decline."
    )


class AssignBroker(_Request):
    broker_user_id: uuid.UUID
    version: Version | None = None


class EventRead(_Response):
    id: int
    from_status: str | None
    to_status: ApplicationStatus
    actor_user_id: uuid.UUID | None
    actor_role: str | None
    source: str
    lender_id: uuid.UUID | None
    reason: str | None
    hmda_action_taken: int | None
    details: dict[str, Any]
    occurred_at: datetime


class ApplicationSummary(_Response):
    id: uuid.UUID
    reference: str
    status: ApplicationStatus
    version: int
    product_type: ProductType
    purpose: str | None
    amount: Decimal | None
    term_months: int | None
    borrower_user_id: uuid.UUID
    broker_user_id: uuid.UUID | None
    organization_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class ApplicationListItem(ApplicationSummary):
    borrower_name: str | None = Field(
        default=None, description="The borrower's account name (for pipelines and search)."
    )
    started_by: Literal["borrower", "broker", "staff"] | None = Field(
        default=None,
        description=(
            "Who opened the application: the borrower, their broker, or other staff "
            "(null when unknown)."
        ),
    )


class ClientRead(BaseModel):
    """A borrower a broker (or their firm) works with, as found by e-mail address."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The borrower's user id (borrower_user_id for other tools).")
    full_name: str
    email: str


class ApplicationRead(ApplicationSummary):
    requested_product_id: uuid.UUID | None
    slots: dict[str, Any]
    status_changed_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    hmda_action_taken: int | None
    allowed_next_states: list[ApplicationStatus]
    missing_fields: list[MissingField] = Field(description="Needed before it can be submitted.")
    ready_to_submit: bool
    trid_application_complete: bool | None = Field(
        description="Mortgages: whether the six TRID items are known (null for other products)."
    )
    debt_to_income: Ratio | None
    loan_to_value: Ratio | None
    submissions: list[SubmissionRead]
    missing_documents: list[str] = Field(
        default_factory=list,
        description="Document requirements of the product with no document received yet "
        "(details: GET /api/v1/applications/{id}/documents, or list_required_documents).",
    )


class ApplicationOrder(StrEnum):
    """How a list of applications is sorted (ties: by id, so pages never overlap)."""

    NEWEST = "newest"  # created, newest first
    OLDEST = "oldest"
    STATUS_CHANGED = "status_changed"  # most recent status change first
    AMOUNT_DESC = "amount_desc"  # largest amount first, no amount last
    AMOUNT_ASC = "amount_asc"


SEARCH_MAX_LENGTH = 100


class ApplicationFilters(BaseModel):
    """What narrows a list of applications, within what the caller may see anyway."""

    model_config = ConfigDict(frozen=True)

    statuses: tuple[ApplicationStatus, ...] = ()  # any of these; empty: every status
    product_types: tuple[ProductType, ...] = ()
    borrower_user_id: uuid.UUID | None = None
    search: str | None = None  # in the reference, the borrower's name or email (any case)
    order: ApplicationOrder = ApplicationOrder.NEWEST


class ApplicationList(BaseModel):
    items: list[ApplicationListItem]
    limit: int
    offset: int
    total: int = Field(description="How many applications match, over all pages.")
