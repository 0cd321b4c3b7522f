"""Classification: a suggested type with a confidence, from the content alone."""

from __future__ import annotations

import pytest

from evals.synthetic_documents import generate
from lending.documents.extraction.classify import classify
from lending.documents.types import DocumentType
from tests.documents.support import analyse_fixture


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "document_type",
    [
        DocumentType.PAY_STUB,
        DocumentType.BANK_STATEMENT,
        DocumentType.W2,
        DocumentType.IDENTIFICATION,
    ],
)
async def test_generated_documents_are_recognised(document_type: DocumentType, seed: int) -> None:
    analysis = await analyse_fixture(generate(document_type, seed=seed), declared=False)

    assert analysis.suggested_type == document_type
    assert analysis.type_confidence >= 0.6
    assert analysis.extracted_as == document_type


TEXTS = {
    DocumentType.TAX_RETURN: """Form 1040 U.S. Individual Income Tax Return 2025
        Filing Status: Married filing jointly
        11 Adjusted gross income 84,200.00
        12 Standard deduction 29,200.00
        15 Taxable income 55,000.00
        35a Amount of line 34 you want refunded to you 1,240.00""",
    DocumentType.PROOF_OF_ADDRESS: """Springfield Electric Utility
        Service Address: 4410 Example Avenue, Springfield NC 27000
        Billing Period: 05/01/2026 - 05/31/2026
        Usage 612 kWh
        Amount Due: $94.18   Due Date: 06/20/2026""",
    DocumentType.BUSINESS_LICENCE: """City of Springfield
        BUSINESS LICENSE
        Licensee: Pinecrest Manufacturing Co   DBA: Pinecrest Tools
        License Number: BL-2026-004411
        This permit must be displayed at the place of business.""",
    DocumentType.OTHER: """Dear neighbour, the community garden meets on Saturday at ten.
        Bring gloves and a trowel; tea will be served afterwards.""",
}


@pytest.mark.parametrize(("expected", "text"), TEXTS.items())
def test_other_types_from_their_words(expected: DocumentType, text: str) -> None:
    suggested, confidence = classify(text)

    assert suggested == expected
    assert 0.5 <= confidence <= 1.0


def test_a_mixed_document_is_less_certain() -> None:
    pure, pure_confidence = classify(TEXTS[DocumentType.TAX_RETURN])
    mixed, mixed_confidence = classify(
        TEXTS[DocumentType.TAX_RETURN] + "\nForm W-2 Wage and Tax Statement attached"
    )

    assert pure == DocumentType.TAX_RETURN
    assert mixed_confidence < pure_confidence


async def test_types_without_an_extractor_get_no_fields() -> None:
    """A declared tax return is read and checked, but no typed fields are invented for it."""
    stub = generate(DocumentType.PAY_STUB, seed=1)
    as_tax_return = stub.__class__(**{**stub.__dict__, "document_type": DocumentType.TAX_RETURN})

    analysis = await analyse_fixture(as_tax_return)

    assert analysis.status == "extracted"
    assert analysis.fields == {}
    assert analysis.extractor is None
    assert [s.code for s in analysis.signals] == ["type_mismatch"]
