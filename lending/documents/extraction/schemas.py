"""What extraction returns: the analysis of one file, its typed fields, and its fraud signals.

The per-type field models (`PayStubFields`, ...) are what a language model is asked to fill
through structured output and what the deterministic extractors fill too; `Analysis.fields`
flattens either into `ExtractedField`s that carry a confidence and the span of text each value
came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lending.documents.types import DocumentType

FieldValue = str | int | Decimal | date | None
FieldKind = Literal["text", "integer", "money", "date"]
Severity = Literal["low", "medium", "high"]
Status = Literal["extracted", "needs_ocr", "failed"]


@dataclass(frozen=True)
class ApplicantFacts:
    """What the application says about the applicant, to compare the document with."""

    full_name: str | None
    date_of_birth: date | None = None


def _kind_of(value: FieldValue) -> FieldKind:
    if isinstance(value, bool):
        raise TypeError("a field value is never a boolean")
    if isinstance(value, int):
        return "integer"
    if isinstance(value, Decimal):
        return "money"
    if isinstance(value, date):
        return "date"
    return "text"


class ExtractedField(BaseModel):
    """One value read from the document.

    `span` is the (start, end) character range in `Analysis.text` the value was read from, or
    None when the value could not be located there (a model's answer that the text does not
    contain gets a low confidence). `kind` makes a JSON round trip lossless: a stored
    `{"value": "3200.00", "kind": "money"}` validates back to `Decimal("3200.00")`.
    """

    model_config = ConfigDict(frozen=True)

    value: FieldValue
    confidence: float = Field(ge=0.0, le=1.0)
    span: tuple[int, int] | None
    sensitive: bool = False
    kind: FieldKind = "text"

    @model_validator(mode="before")
    @classmethod
    def _typed_value(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        value = data.get("value")
        kind = data.get("kind")
        if kind is None:
            return {**data, "kind": "text" if value is None else _kind_of(value)}
        if value is None or not isinstance(value, str | int | float):
            return data
        if kind == "money" and not isinstance(value, Decimal):
            return {**data, "value": Decimal(str(value))}
        if kind == "date" and isinstance(value, str):
            return {**data, "value": date.fromisoformat(value)}
        if kind == "integer" and isinstance(value, str):
            return {**data, "value": int(value)}
        return data


class FraudSignal(BaseModel):
    """A reason to look harder at a document: stored as data, shown to the reviewer."""

    model_config = ConfigDict(frozen=True)

    code: str
    field: str | None
    expected: str | None
    actual: str | None
    severity: Severity
    description: str


class Transaction(BaseModel):
    """One row of a bank statement: a signed amount (credits positive) and, when printed, the
    balance after it."""

    model_config = ConfigDict(frozen=True)

    posted_on: date
    description: str
    amount: Decimal
    balance: Decimal | None = None
    span: tuple[int, int] | None = None


class PdfMetadata(BaseModel):
    """The PDF's document information dictionary, as far as it is present."""

    model_config = ConfigDict(frozen=True)

    producer: str | None = None
    creator: str | None = None
    created_at: str | None = None  # ISO 8601 when parseable, the raw value otherwise
    modified_at: str | None = None


class Analysis(BaseModel):
    """Everything extraction learned about one file.

    `status` is "extracted" when text was read (even if few fields were found), "needs_ocr" when
    the file's text is only in images and OCR is not available, "failed" when the file could
    not be read at all (`error` says why, in a sentence for the uploader).
    """

    status: Status
    text: str = ""
    pages: int = 0
    suggested_type: DocumentType = DocumentType.OTHER
    type_confidence: float = 0.0
    fields: dict[str, ExtractedField] = Field(default_factory=dict)
    signals: list[FraudSignal] = Field(default_factory=list)
    error: str | None = None
    # Beyond the agreed interface, for the reviewer and the signals:
    extracted_as: DocumentType | None = None
    extractor: Literal["deterministic", "model"] | None = None
    ocr: bool = False
    currency: str | None = None
    transactions: list[Transaction] = Field(default_factory=list)
    metadata: PdfMetadata | None = None
    notes: list[str] = Field(default_factory=list)


# --- the typed fields per document type ---------------------------------------------------
# Descriptions double as the instructions a language model gets for each field.


class PayStubFields(BaseModel):
    """Fields of an employee's pay stub (earnings statement)."""

    employer: str | None = Field(None, description="The employer's name as printed.")
    employee_name: str | None = Field(None, description="The employee's full name as printed.")
    pay_period_start: date | None = Field(None, description="First day of the pay period.")
    pay_period_end: date | None = Field(None, description="Last day of the pay period.")
    pay_date: date | None = Field(None, description="The date the pay was issued.")
    gross_pay: Decimal | None = Field(None, description="Gross pay for this period.")
    net_pay: Decimal | None = Field(None, description="Net (take-home) pay for this period.")
    ytd_gross: Decimal | None = Field(None, description="Year-to-date gross pay.")
    deductions: Decimal | None = Field(
        None, description="Total deductions for this period (taxes, benefits, ...)."
    )


class BankStatementFields(BaseModel):
    """Fields of a bank account statement."""

    bank: str | None = Field(None, description="The bank's name.")
    account_holder: str | None = Field(None, description="The account holder's name.")
    account_last4: str | None = Field(
        None, description="The last four digits of the account number, digits only."
    )
    period_start: date | None = Field(None, description="First day of the statement period.")
    period_end: date | None = Field(None, description="Last day of the statement period.")
    opening_balance: Decimal | None = Field(None, description="Balance at the period's start.")
    closing_balance: Decimal | None = Field(None, description="Balance at the period's end.")
    total_deposits: Decimal | None = Field(None, description="Total deposits and credits.")
    nsf_count: int | None = Field(
        None, description="Number of NSF (returned) items and overdrafts in the period."
    )


class W2Fields(BaseModel):
    """Fields of a Form W-2 (wage and tax statement)."""

    employer: str | None = Field(None, description="Employer's name (box c).")
    ein: str | None = Field(None, description="Employer identification number, as NN-NNNNNNN.")
    employee_name: str | None = Field(None, description="Employee's full name (box e).")
    wages: Decimal | None = Field(None, description="Wages, tips, other compensation (box 1).")
    tax_year: int | None = Field(None, description="The tax year of the form.")


class IdentificationFields(BaseModel):
    """Fields of a government photo ID (driver licence, state ID, passport)."""

    full_name: str | None = Field(None, description="The holder's full name, given names first.")
    date_of_birth: date | None = Field(None, description="The holder's date of birth.")
    document_number: str | None = Field(None, description="The ID or licence number.")
    expiry_date: date | None = Field(None, description="The date the document expires.")


FIELD_MODELS: dict[DocumentType, type[BaseModel]] = {
    DocumentType.PAY_STUB: PayStubFields,
    DocumentType.BANK_STATEMENT: BankStatementFields,
    DocumentType.W2: W2Fields,
    DocumentType.IDENTIFICATION: IdentificationFields,
}

SENSITIVE_FIELDS: frozenset[tuple[DocumentType, str]] = frozenset(
    {(DocumentType.IDENTIFICATION, "document_number")}
)
