"""Each fraud/quality signal fires on its tampered fixture and not on the clean one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from evals.synthetic_documents import Variant, generate
from lending.documents.extraction import ApplicantFacts, ExtractedField, PdfMetadata, Transaction
from lending.documents.extraction.parsing import names_match
from lending.documents.extraction.signals import (
    detect,
    months_before,
    pay_periods,
    periods_paid,
)
from lending.documents.types import DocumentType
from tests.documents.support import analyse_fixture

TAMPERED = [
    (DocumentType.PAY_STUB, Variant.EDITED_METADATA, "editing_software"),
    (DocumentType.PAY_STUB, Variant.MODIFIED_AFTER_CREATION, "modified_after_creation"),
    (DocumentType.PAY_STUB, Variant.WRONG_NAME, "name_mismatch"),
    (DocumentType.PAY_STUB, Variant.INCONSISTENT_YTD, "ytd_inconsistent"),
    (DocumentType.PAY_STUB, Variant.STALE, "stale_document"),
    (DocumentType.PAY_STUB, Variant.INJECTION, "embedded_instructions"),
    (DocumentType.BANK_STATEMENT, Variant.EDITED_METADATA, "editing_software"),
    (DocumentType.BANK_STATEMENT, Variant.MODIFIED_AFTER_CREATION, "modified_after_creation"),
    (DocumentType.BANK_STATEMENT, Variant.WRONG_NAME, "name_mismatch"),
    (DocumentType.BANK_STATEMENT, Variant.STALE, "stale_document"),
    (DocumentType.BANK_STATEMENT, Variant.BALANCE_MISMATCH, "balance_mismatch"),
    (DocumentType.W2, Variant.WRONG_NAME, "name_mismatch"),
    (DocumentType.W2, Variant.EDITED_METADATA, "editing_software"),
    (DocumentType.IDENTIFICATION, Variant.WRONG_NAME, "name_mismatch"),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("document_type", "variant", "code"), TAMPERED)
async def test_signal_fires_on_its_tampered_variant_only(
    document_type: DocumentType, variant: Variant, code: str, seed: int
) -> None:
    clean = await analyse_fixture(generate(document_type, seed=seed))
    tampered = await analyse_fixture(generate(document_type, seed=seed, variant=variant))

    assert code not in {s.code for s in clean.signals}
    assert clean.signals == []
    fired = [s for s in tampered.signals if s.code == code]
    assert len(fired) >= 1
    assert all(s.description for s in fired)


async def test_signals_carry_expected_and_actual() -> None:
    stub = generate(DocumentType.PAY_STUB, seed=4, variant=Variant.WRONG_NAME)
    ytd = generate(DocumentType.PAY_STUB, seed=4, variant=Variant.INCONSISTENT_YTD)
    balance = generate(DocumentType.BANK_STATEMENT, seed=4, variant=Variant.BALANCE_MISMATCH)
    edited = generate(DocumentType.W2, seed=4, variant=Variant.MODIFIED_AFTER_CREATION)

    (name,) = (await analyse_fixture(stub)).signals
    (inconsistent,) = (await analyse_fixture(ytd)).signals
    balance_signals = (await analyse_fixture(balance)).signals
    (modified,) = (await analyse_fixture(edited)).signals

    assert (name.field, name.expected, name.actual, name.severity) == (
        "employee_name",
        stub.applicant.full_name,
        stub.expected["employee_name"],
        "high",
    )
    gross = ytd.expected["gross_pay"]
    assert isinstance(gross, Decimal)
    assert inconsistent.field == "ytd_gross"
    assert inconsistent.actual == str(ytd.expected["ytd_gross"])
    assert Decimal(inconsistent.expected or "0") % gross == 0  # gross x whole periods
    (mismatch,) = [s for s in balance_signals if s.code == "balance_mismatch"]
    assert Decimal(mismatch.actual or "0") - Decimal(mismatch.expected or "0") == Decimal("1500.00")
    assert [s.code for s in balance_signals] == ["balance_mismatch"]
    assert modified.field == "metadata.modified_at"
    assert modified.expected is not None
    assert modified.actual is not None
    assert modified.actual > modified.expected


async def test_editing_software_names_the_tool_and_grades_it() -> None:
    document = generate(DocumentType.PAY_STUB, seed=1, variant=Variant.EDITED_METADATA)

    signals = (await analyse_fixture(document)).signals

    assert {(s.field, s.severity) for s in signals} == {
        ("metadata.creator", "high"),
        ("metadata.producer", "high"),
    }
    assert all("Photoshop" in (s.actual or "") for s in signals)


@pytest.mark.parametrize(
    ("producer", "severity"),
    [
        ("PDFescape Online PDF Editor", "medium"),
        ("Sejda PDF Desktop 7.6", "medium"),
        ("Microsoft® Word for Microsoft 365", "low"),
        ("GPL Ghostscript 10.01", None),
        ("Adobe PDF Library 17.0", None),
    ],
)
def test_editor_severity(producer: str, severity: str | None) -> None:
    signals = detect(
        document_type=None,
        fields={},
        transactions=[],
        text="",
        metadata=PdfMetadata(producer=producer),
        applicant=ApplicantFacts(None),
        today=date(2026, 6, 30),
    )

    assert [s.severity for s in signals] == ([severity] if severity else [])


def test_modification_within_minutes_of_creation_is_not_an_edit() -> None:
    def signals(modified: str) -> list[str]:
        found = detect(
            document_type=None,
            fields={},
            transactions=[],
            text="",
            metadata=PdfMetadata(created_at="2026-05-01T09:00:00+00:00", modified_at=modified),
            applicant=ApplicantFacts(None),
            today=date(2026, 6, 30),
        )
        return [s.code for s in found]

    assert signals("2026-05-01T09:00:07+00:00") == []
    assert signals("2026-05-01T11:00:00+02:00") == []  # same instant, another zone
    assert signals("2026-05-01T10:30:00+00:00") == ["modified_after_creation"]


async def test_expired_id_and_future_dated_pay_stub() -> None:
    licence = generate(DocumentType.IDENTIFICATION, seed=2)
    stub = generate(DocumentType.PAY_STUB, seed=2)
    expiry, pay_date = licence.expected["expiry_date"], stub.expected["pay_date"]
    assert isinstance(expiry, date)
    assert isinstance(pay_date, date)

    later = await analyse_fixture(licence, today=expiry + timedelta(days=1))
    earlier = await analyse_fixture(stub, today=pay_date - timedelta(days=1))
    on_time = await analyse_fixture(stub, today=pay_date)

    assert [s.code for s in later.signals] == ["id_expired"]
    assert [s.code for s in earlier.signals] == ["future_dated"]
    assert on_time.signals == []


async def test_id_date_of_birth_must_match_the_application() -> None:
    licence = generate(DocumentType.IDENTIFICATION, seed=3)
    other_birthday = ApplicantFacts(
        full_name=licence.applicant.full_name, date_of_birth=date(1970, 1, 1)
    )

    analysis = await analyse_fixture(licence, applicant=other_birthday)

    assert [s.code for s in analysis.signals] == ["date_of_birth_mismatch"]


async def test_declared_type_contradicted_by_the_content() -> None:
    stub = generate(DocumentType.PAY_STUB, seed=3)

    analysis = await analyse_fixture(stub, declared=False)
    as_w2 = await analyse_fixture(
        stub.__class__(**{**stub.__dict__, "document_type": DocumentType.W2})
    )

    assert analysis.signals == []
    assert analysis.extracted_as == DocumentType.PAY_STUB
    assert as_w2.extracted_as == DocumentType.W2
    assert "type_mismatch" in {s.code for s in as_w2.signals}


def test_stale_boundary_is_four_calendar_months() -> None:
    assert months_before(date(2026, 6, 30), 4) == date(2026, 2, 28)
    assert months_before(date(2026, 3, 15), 4) == date(2025, 11, 15)

    def stale(pay_date: date) -> bool:
        fields = {"pay_date": ExtractedField(value=pay_date, confidence=0.9, span=None)}
        found = detect(
            document_type=DocumentType.PAY_STUB,
            fields=fields,
            transactions=[],
            metadata=None,
            applicant=ApplicantFacts(None),
            today=date(2026, 6, 30),
            text="",
        )
        return "stale_document" in {s.code for s in found}

    assert not stale(date(2026, 2, 28))
    assert stale(date(2026, 2, 27))


@pytest.mark.parametrize(
    ("start", "end", "pay_date", "schedule", "periods"),
    [
        (date(2026, 6, 1), date(2026, 6, 15), date(2026, 6, 15), ("semimonthly", 15), 11),
        (date(2026, 2, 16), date(2026, 2, 28), date(2026, 3, 2), ("semimonthly", 13), 5),
        (date(2026, 5, 1), date(2026, 5, 31), date(2026, 5, 31), ("monthly", 31), 5),
        (date(2026, 6, 1), date(2026, 6, 7), date(2026, 6, 12), ("weekly", 7), 24),
        (date(2026, 1, 1), date(2026, 1, 14), date(2026, 1, 16), ("biweekly", 14), 2),
    ],
)
def test_pay_schedules(
    start: date, end: date, pay_date: date, schedule: tuple[str, int], periods: int
) -> None:
    assert pay_periods(start, end) == schedule
    assert periods_paid(*schedule, pay_date) == periods


def _pay_stub_signals(
    gross: str, ytd: str, net: str | None = None, deductions: str | None = None
) -> list[str]:
    values: dict[str, object] = {
        "pay_period_start": date(2026, 6, 1),
        "pay_period_end": date(2026, 6, 15),
        "pay_date": date(2026, 6, 15),
        "gross_pay": Decimal(gross),
        "ytd_gross": Decimal(ytd),
    }
    if net is not None and deductions is not None:
        values |= {"net_pay": Decimal(net), "deductions": Decimal(deductions)}
    fields = {k: ExtractedField(value=v, confidence=0.9, span=None) for k, v in values.items()}  # type: ignore[arg-type]
    found = detect(
        document_type=DocumentType.PAY_STUB,
        fields=fields,
        transactions=[],
        metadata=None,
        applicant=ApplicantFacts(None),
        today=date(2026, 6, 30),
        text="",
    )
    return [s.code for s in found]


def test_ytd_tolerates_overtime_and_bonuses_but_not_the_impossible() -> None:
    # Semimonthly, paid 15 June: 11 periods; 2,000 x 11 = 22,000.
    assert _pay_stub_signals("2000.00", "22000.00") == []
    assert _pay_stub_signals("2000.00", "30000.00") == []  # bonuses: within 150 %
    assert _pay_stub_signals("2000.00", "34000.00") == ["ytd_inconsistent"]
    assert _pay_stub_signals("2000.00", "12000.00") == ["ytd_inconsistent"]
    assert _pay_stub_signals("2000.00", "1500.00") == ["ytd_inconsistent"]  # below one period
    assert _pay_stub_signals("2000.00", "22000.00", net="1500.00", deductions="400.00") == [
        "net_pay_inconsistent"
    ]


def test_running_balance_break_is_found_at_its_row() -> None:
    fields = {
        "opening_balance": ExtractedField(value=Decimal("100.00"), confidence=0.9, span=None),
        "closing_balance": ExtractedField(value=Decimal("150.00"), confidence=0.9, span=None),
    }
    transactions = [
        Transaction(
            posted_on=date(2026, 5, 2),
            description="PAYROLL",
            amount=Decimal("100.00"),
            balance=Decimal("200.00"),
        ),
        Transaction(
            posted_on=date(2026, 5, 3),
            description="RENT",
            amount=Decimal("-50.00"),
            balance=Decimal("250.00"),
        ),
        Transaction(
            posted_on=date(2026, 5, 4),
            description="FEE",
            amount=Decimal("-100.00"),
            balance=Decimal("150.00"),
        ),
    ]

    found = detect(
        document_type=DocumentType.BANK_STATEMENT,
        fields=fields,
        transactions=transactions,
        metadata=None,
        applicant=ApplicantFacts(None),
        today=date(2026, 6, 30),
        text="",
    )

    assert [s.code for s in found] == ["balance_mismatch", "running_balance_mismatch"]
    running = found[1]
    assert (running.expected, running.actual) == ("150.00", "250.00")
    assert "RENT" in running.description


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Avery Lee Okafor", "AVERY OKAFOR", True),
        ("Avery Lee Okafor", "Okafor, Avery L.", True),
        ("avery okafor", "Avery Lee Okafor Jr.", True),
        ("Avery Lee Okafor", "Avery Lynn Okafor", False),
        ("Avery Lee Okafor", "Jordan Lee Okafor", False),
        ("Avery Lee Okafor", "Avery Lee Nakamura", False),
        ("Avery Okafor-Reyes", "AVERY OKAFOR-REYES", True),
    ],
)
def test_names_match_tolerates_case_order_and_middle_names(a: str, b: str, same: bool) -> None:
    assert names_match(a, b) is same
    assert names_match(b, a) is same


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("document_type", [DocumentType.PAY_STUB, DocumentType.W2])
async def test_a_document_in_the_applicants_given_name_raises_no_name_mismatch(
    document_type: DocumentType, seed: int
) -> None:
    named = generate(document_type, seed=seed, applicant_name="Jules Journey")
    wrong = generate(
        document_type, seed=seed, variant=Variant.WRONG_NAME, applicant_name="Jules Journey"
    )

    assert (await analyse_fixture(named)).signals == []
    assert "name_mismatch" in {s.code for s in (await analyse_fixture(wrong)).signals}
