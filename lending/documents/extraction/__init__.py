"""Document extraction: text (pdfminer, `unstructured`, tesseract OCR), a suggested type, typed
fields with confidence and source spans, and fraud/quality signals. See `analyse`."""

from lending.documents.extraction.schemas import (
    FIELD_MODELS,
    Analysis,
    ApplicantFacts,
    BankStatementFields,
    ExtractedField,
    FraudSignal,
    IdentificationFields,
    PayStubFields,
    PdfMetadata,
    Transaction,
    W2Fields,
)
from lending.documents.extraction.service import analyse

__all__ = [
    "FIELD_MODELS",
    "Analysis",
    "ApplicantFacts",
    "BankStatementFields",
    "ExtractedField",
    "FraudSignal",
    "IdentificationFields",
    "PayStubFields",
    "PdfMetadata",
    "Transaction",
    "W2Fields",
    "analyse",
]
