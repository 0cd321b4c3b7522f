"""Extraction of every synthetic fixture type and format yields the values printed on it."""

from __future__ import annotations

import asyncio
import io
import shutil
from datetime import date

import pytest
from PIL import Image

from evals.synthetic_documents import Format, Variant, generate
from lending.documents.extraction import ApplicantFacts, analyse
from lending.documents.types import DocumentType
from tests.documents.support import analyse_fixture, wrong_fields

EXTRACTED_TYPES = [
    DocumentType.PAY_STUB,
    DocumentType.BANK_STATEMENT,
    DocumentType.W2,
    DocumentType.IDENTIFICATION,
]
needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract-ocr is not installed"
)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("document_type", EXTRACTED_TYPES)
async def test_text_pdf_fields_match_what_is_printed(
    document_type: DocumentType, seed: int
) -> None:
    document = generate(document_type, seed=seed)

    analysis = await analyse_fixture(document)

    assert analysis.status == "extracted", analysis.error
    assert analysis.ocr is False
    assert analysis.extractor == "deterministic"
    assert wrong_fields(analysis, document.expected) == {}
    assert analysis.signals == []
    for name, found in analysis.fields.items():
        assert found.span is not None, name
        start, end = found.span
        assert start < end <= len(analysis.text)
        assert found.confidence >= 0.6, name


async def test_each_value_s_span_is_where_it_is_printed() -> None:
    document = generate(DocumentType.PAY_STUB, seed=5, style=0)

    analysis = await analyse_fixture(document)

    text = analysis.text
    gross = analysis.fields["gross_pay"]
    assert gross.span is not None
    assert text[gross.span[0] : gross.span[1]] == f"{document.expected['gross_pay']:,.2f}"
    employee = analysis.fields["employee_name"]
    assert employee.span is not None
    assert text[employee.span[0] : employee.span[1]] == document.expected["employee_name"]
    pay_date = analysis.fields["pay_date"]
    assert pay_date.span is not None
    assert text[pay_date.span[0] : pay_date.span[1]] == document.expected["pay_date"].strftime(  # type: ignore[union-attr]
        "%m/%d/%Y"
    )


async def test_bank_statement_transactions_are_read_across_pages() -> None:
    document = generate(DocumentType.BANK_STATEMENT, seed=4, pages=3)

    analysis = await analyse_fixture(document)

    assert analysis.pages == 3
    assert wrong_fields(analysis, document.expected) == {}
    assert [(t.posted_on, t.description, t.amount, t.balance) for t in analysis.transactions] == (
        document.transactions
    )
    assert analysis.signals == []


async def test_id_number_is_sensitive_and_nothing_else_is() -> None:
    analysis = await analyse_fixture(generate(DocumentType.IDENTIFICATION, seed=1))

    assert {name for name, f in analysis.fields.items() if f.sensitive} == {"document_number"}


async def test_word_document_is_read_through_unstructured() -> None:
    document = generate(DocumentType.PAY_STUB, seed=3, fmt=Format.DOCX)

    analysis = await analyse_fixture(document, declared=False)

    assert analysis.status == "extracted", analysis.error
    assert analysis.suggested_type == DocumentType.PAY_STUB
    assert wrong_fields(analysis, document.expected) == {}


# --- OCR --------------------------------------------------------------------------------------

OCR_CASES = [
    # (type, format, seed): odd seeds use the second layout of each type.
    (DocumentType.PAY_STUB, Format.PNG, 1),
    (DocumentType.PAY_STUB, Format.JPEG, 0),
    (DocumentType.BANK_STATEMENT, Format.JPEG, 1),
    (DocumentType.BANK_STATEMENT, Format.PNG, 0),
    (DocumentType.W2, Format.TIFF, 1),
    (DocumentType.W2, Format.PNG, 0),
    (DocumentType.IDENTIFICATION, Format.PNG, 1),
    (DocumentType.IDENTIFICATION, Format.JPEG, 0),
    (DocumentType.PAY_STUB, Format.SCANNED_PDF, 1),
    (DocumentType.PAY_STUB, Format.HEIC, 0),
    (DocumentType.IDENTIFICATION, Format.HEIC, 1),
]


@needs_tesseract
@pytest.mark.parametrize(("document_type", "fmt", "seed"), OCR_CASES)
async def test_images_and_scans_are_read_with_ocr(
    document_type: DocumentType, fmt: Format, seed: int
) -> None:
    document = generate(document_type, seed=seed, fmt=fmt)

    analysis = await analyse_fixture(document, declared=False)

    assert analysis.status == "extracted", analysis.error
    assert analysis.ocr is True
    assert analysis.suggested_type == document_type
    assert wrong_fields(analysis, document.expected) == {}
    assert [s.code for s in analysis.signals] == []
    # OCR confidence lowers the fields' confidence below a text layer's.
    assert all(f.confidence < 0.95 for f in analysis.fields.values() if f.span is not None)


@needs_tesseract
async def test_bank_statement_image_keeps_transactions_balanced() -> None:
    """A debit's minus sign is easily lost to OCR; the running balance restores it, so a clean
    statement does not raise a balance signal."""
    document = generate(DocumentType.BANK_STATEMENT, seed=1, fmt=Format.JPEG)

    analysis = await analyse_fixture(document)

    assert [t.amount for t in analysis.transactions] == [t[2] for t in document.transactions]


@pytest.mark.parametrize("fmt", [Format.PNG, Format.SCANNED_PDF])
async def test_without_ocr_images_and_scans_need_ocr(fmt: Format) -> None:
    document = generate(DocumentType.PAY_STUB, seed=1, fmt=fmt)

    analysis = await analyse_fixture(document, tesseract_cmd="/nonexistent/tesseract")

    assert analysis.status == "needs_ocr"
    assert analysis.error is not None
    assert "OCR is not available" in analysis.error
    assert analysis.fields == {}
    assert analysis.text == ""


async def test_ocr_switched_off_still_reads_text_pdfs() -> None:
    document = generate(DocumentType.W2, seed=1)

    analysis = await analyse_fixture(document, tesseract_cmd=None)

    assert analysis.status == "extracted"
    assert wrong_fields(analysis, document.expected) == {}


async def test_scan_that_needs_ocr_still_reports_its_pdf_metadata() -> None:
    document = generate(
        DocumentType.PAY_STUB, variant=Variant.EDITED_METADATA, fmt=Format.SCANNED_PDF
    )

    analysis = await analyse_fixture(document, tesseract_cmd=None)

    assert analysis.status == "needs_ocr"
    assert analysis.metadata is not None
    assert analysis.metadata.creator == document.creator
    assert "editing_software" in {s.code for s in analysis.signals}


# --- failures ---------------------------------------------------------------------------------

APPLICANT = ApplicantFacts(full_name="Avery Lee Okafor", date_of_birth=None)


async def _analyse_bytes(data: bytes, media_type: str) -> object:
    return await analyse(
        data, media_type, declared_type=None, applicant=APPLICANT, today=date(2026, 6, 30)
    )


async def test_damaged_heic_fails_honestly() -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64

    analysis = await analyse(
        heic, "image/heic", declared_type=None, applicant=APPLICANT, today=date(2026, 6, 30)
    )

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "HEIC" in analysis.error


@pytest.mark.parametrize(
    ("data", "media_type", "message"),
    [
        (b"%PDF-1.4\n garbage that is not a PDF", "application/pdf", "PDF could not be read"),
        (
            b"PK\x03\x04 not a zip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Word",
        ),
        (b"\x89PNG\r\n\x1a\n broken", "image/png", "image could not be decoded"),
        (b"", "application/pdf", "empty"),
    ],
)
async def test_damaged_files_fail_with_a_reason(data: bytes, media_type: str, message: str) -> None:
    analysis = await analyse(
        data, media_type, declared_type=None, applicant=APPLICANT, today=date(2026, 6, 30)
    )

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert message in analysis.error


@needs_tesseract
async def test_blank_image_fails_with_no_text() -> None:
    buffer = io.BytesIO()
    Image.new("L", (800, 600), 255).save(buffer, format="PNG")

    analysis = await analyse(
        buffer.getvalue(),
        "image/png",
        declared_type=None,
        applicant=APPLICANT,
        today=date(2026, 6, 30),
    )

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "No text" in analysis.error


async def test_concurrent_analyses_do_not_mix_results() -> None:
    documents = [generate(t, seed=7) for t in EXTRACTED_TYPES]

    analyses = await asyncio.gather(*(analyse_fixture(d) for d in documents))

    for document, analysis in zip(documents, analyses, strict=True):
        assert wrong_fields(analysis, document.expected) == {}


@needs_tesseract
async def test_long_scans_are_read_up_to_the_ocr_page_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("lending.documents.extraction.reading.MAX_OCR_PAGES", 1)
    document = generate(DocumentType.BANK_STATEMENT, seed=2, pages=2, fmt=Format.TIFF)

    # Read in this process: the patched limit would not reach a reading child.
    analysis = await analyse_fixture(document, isolated=False)

    assert analysis.status == "extracted"
    assert analysis.pages == 2
    assert analysis.notes == [
        "Only the first 1 of 2 pages were read by OCR; the rest were skipped."
    ]
    assert analysis.fields["closing_balance"].value == document.expected["closing_balance"]
    assert 0 < len(analysis.transactions) < len(document.transactions)
    # Unread pages hold transactions: the balance checks are not run on half a statement.
    assert analysis.signals == []


async def test_password_protected_pdf_fails_with_a_reason() -> None:
    from reportlab.lib import pdfencrypt  # type: ignore[import-untyped]
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt=pdfencrypt.StandardEncryption("open-sesame"))
    pdf.drawString(72, 700, "Gross Pay 1,000.00")
    pdf.showPage()
    pdf.save()

    analysis = await analyse(
        buffer.getvalue(),
        "application/pdf",
        declared_type=None,
        applicant=APPLICANT,
        today=date(2026, 6, 30),
    )

    assert analysis.status == "failed"
    assert analysis.error == "The PDF is password-protected; upload a copy without a password."


@pytest.mark.parametrize("document_type", EXTRACTED_TYPES)
async def test_analysis_survives_a_json_round_trip(document_type: DocumentType) -> None:
    """What the job stores (JSON) reads back with the same types: money stays Decimal."""
    analysis = await analyse_fixture(generate(document_type, seed=1))

    stored = analysis.model_dump(mode="json")
    restored = type(analysis).model_validate(stored)

    assert restored == analysis
    assert {n: type(f.value) for n, f in restored.fields.items()} == {
        n: type(f.value) for n, f in analysis.fields.items()
    }


@pytest.mark.parametrize("seed", [0, 1])
async def test_word_bank_statement_tables_give_transactions(seed: int) -> None:
    document = generate(DocumentType.BANK_STATEMENT, seed=seed, fmt=Format.DOCX, pages=2)

    analysis = await analyse_fixture(document, declared=False)

    assert analysis.suggested_type == DocumentType.BANK_STATEMENT
    assert analysis.pages == 2
    assert wrong_fields(analysis, document.expected) == {}
    assert [(t.posted_on, t.amount, t.balance) for t in analysis.transactions] == [
        (t[0], t[2], t[3]) for t in document.transactions
    ]
    assert analysis.signals == []


async def test_pdf_rows_do_not_depend_on_drawing_order() -> None:
    """Producers write text in any order (values before labels, bottom to top); rows are
    rebuilt from positions, so the same page reads the same."""
    from reportlab.pdfgen import canvas

    document = generate(DocumentType.PAY_STUB, seed=2, style=0)
    assert document.layout is not None
    (page,) = document.layout.pages
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(612, 792))
    y_of = {index: 792 - 60 - 15 * index for index in range(len(page))}
    for index in reversed(range(len(page))):
        for cell in reversed(page[index]):
            pdf.setFont("Helvetica", cell.size)
            pdf.drawString(cell.x, y_of[index], cell.text)
    pdf.showPage()
    pdf.save()

    reordered = await analyse(
        buffer.getvalue(),
        "application/pdf",
        declared_type=None,
        applicant=document.applicant,
        today=document.today,
    )
    original = await analyse_fixture(document, declared=False)

    assert reordered.text == original.text
    assert wrong_fields(reordered, document.expected) == {}
