"""`analyse`: one uploaded file in, its text, suggested type, typed fields and signals out.

Reading runs in a child process within `ReadLimits` (`isolation`; in-process with
`isolated=False`), the deterministic extractors in a worker thread; the model
call, when a model is given, is awaited. Nothing here touches the database or storage: the
caller (the extraction job) stores the `Analysis`.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

from langchain_core.language_models import BaseChatModel

from lending.documents.extraction import classify as classification
from lending.documents.extraction import fields as deterministic
from lending.documents.extraction import llm, signals
from lending.documents.extraction.isolation import NeedsOcrWithMetadata, read_isolated
from lending.documents.extraction.limits import LimitExceeded, ReadLimits
from lending.documents.extraction.parsing import locate
from lending.documents.extraction.reading import (
    PDF,
    DocumentText,
    NeedsOcr,
    Unreadable,
    pdf_metadata,
    read_document,
    resolve_tesseract,
)
from lending.documents.extraction.schemas import (
    FIELD_MODELS,
    SENSITIVE_FIELDS,
    Analysis,
    ApplicantFacts,
    ExtractedField,
    FraudSignal,
    PdfMetadata,
)
from lending.documents.types import DocumentType
from lending.logs import get_logger

log = get_logger(__name__)

# Below this, a suggested type is not used to pick the extractor (the uploader's type is).
MIN_TYPE_CONFIDENCE = 0.35
# A declared type the text contradicts this strongly is worth a reviewer's look.
TYPE_MISMATCH_CONFIDENCE = 0.6
# Model answers: agreeing with the deterministic reading, found in the text, or not found.
MODEL_AGREES = 0.97
MODEL_LOCATED = 0.8
MODEL_UNLOCATED = 0.3
DEFAULT_TESSERACT = "tesseract"


async def analyse(
    data: bytes,
    media_type: str,
    *,
    declared_type: DocumentType | None,
    applicant: ApplicantFacts,
    today: date,
    model: BaseChatModel | None = None,
    tesseract_cmd: str | None = DEFAULT_TESSERACT,
    limits: ReadLimits | None = None,
    isolated: bool = True,
) -> Analysis:
    """Read, classify, extract and check one file.

    Args:
        data: the file's bytes (decrypted).
        media_type: the sniffed media type (PDF, PNG, JPEG, HEIC/HEIF, TIFF or DOCX).
        declared_type: the type the uploader chose, if any; fields are extracted for it, else
            for the suggested type.
        applicant: what the application says about the applicant (for the name check).
        today: the date documents are checked against (staleness, expiry).
        model: a chat model for structured-output extraction; deterministic without one.
        tesseract_cmd: the tesseract executable (name or path); None, or one that is not
            installed, means no OCR: images and scanned PDFs come back "needs_ocr".
        limits: pages, inflated bytes, compression ratio, pixels, CPU time, memory and wall
            time of the reading (defaults: `ReadLimits()`); a file over one is "failed".
        isolated: read in a child process (the limits on CPU, memory and time need one);
            False reads in a thread of this process (trusted files: fixtures, benchmarks).
    """
    tesseract = resolve_tesseract(tesseract_cmd)
    limits = limits or ReadLimits()
    reader = read_isolated if isolated else read_document
    try:
        document = await asyncio.to_thread(
            reader, data, media_type, tesseract=tesseract, limits=limits
        )
    except NeedsOcr as exc:
        metadata = (
            exc.metadata
            if isinstance(exc, NeedsOcrWithMetadata)
            else await asyncio.to_thread(_metadata_only, data, media_type)
        )
        return Analysis(
            status="needs_ocr",
            error=str(exc),
            metadata=metadata,
            signals=signals.detect(
                document_type=None,
                fields={},
                transactions=[],
                metadata=metadata,
                applicant=applicant,
                today=today,
                text="",
            ),
        )
    except (Unreadable, LimitExceeded) as exc:
        return Analysis(status="failed", error=str(exc))
    except Exception as exc:
        log.exception("document_read_failed", media_type=media_type)
        return Analysis(
            status="failed", error=f"The file could not be read ({type(exc).__name__})."
        )
    return await _analyse_text(
        document, declared_type=declared_type, applicant=applicant, today=today, model=model
    )


async def _analyse_text(
    document: DocumentText,
    *,
    declared_type: DocumentType | None,
    applicant: ApplicantFacts,
    today: date,
    model: BaseChatModel | None,
) -> Analysis:
    suggested, confidence = classification.classify(document.text)
    target = declared_type
    if target is None and suggested != DocumentType.OTHER and confidence >= MIN_TYPE_CONFIDENCE:
        target = suggested
    found, transactions = await asyncio.to_thread(
        deterministic.extract, target or DocumentType.OTHER, document.text, ocr=document.ocr
    )
    fields = {
        name: _field(target, name, f.value, f.span, f.confidence, document)
        for name, f in found.items()
    }
    notes: list[str] = list(document.notes)
    extractor: str | None = "deterministic" if target in FIELD_MODELS else None
    if model is not None and target in FIELD_MODELS:
        try:
            answers = await llm.extract_with_model(
                model, FIELD_MODELS[target], target, document.text, today
            )
        except Exception as exc:
            log.warning("document_model_extraction_failed", error=type(exc).__name__)
            notes.append(
                f"The language model failed ({type(exc).__name__}); the deterministic "
                "extractor's fields are used."
            )
        else:
            fields = _merge(target, answers, fields, document, notes)
            extractor = "model"
    found_signals: list[FraudSignal] = signals.detect(
        document_type=target,
        fields=fields,
        transactions=transactions,
        metadata=document.metadata,
        applicant=applicant,
        today=today,
        text=document.text,
        complete=document.complete,
    )
    if document.ocr:
        found_signals = [_read_by_ocr(signal) for signal in found_signals]
    if (
        declared_type is not None
        and suggested not in (declared_type, DocumentType.OTHER)
        and confidence >= TYPE_MISMATCH_CONFIDENCE
    ):
        found_signals.append(
            FraudSignal(
                code="type_mismatch",
                field=None,
                expected=str(declared_type),
                actual=str(suggested),
                severity="low",
                description=f"Uploaded as {declared_type.replace('_', ' ')}, but the content reads "
                f"like a {suggested.replace('_', ' ')} ({confidence:.0%} sure).",
            )
        )
    has_money = any(isinstance(f.value, Decimal) for f in fields.values())
    return Analysis(
        status="extracted",
        text=document.text,
        pages=document.pages,
        suggested_type=suggested,
        type_confidence=confidence,
        fields=fields,
        signals=found_signals,
        extracted_as=target,
        extractor=extractor,  # type: ignore[arg-type]
        ocr=document.ocr,
        currency="USD" if has_money else None,
        transactions=transactions,
        metadata=document.metadata,
        notes=notes,
    )


_ARITHMETIC_SIGNALS = frozenset(
    {
        "balance_mismatch",
        "running_balance_mismatch",
        "deposits_mismatch",
        "net_pay_inconsistent",
        "ytd_inconsistent",
    }
)


def _read_by_ocr(signal: FraudSignal) -> FraudSignal:
    """Figures read by OCR can be misread; the reviewer is told to check them on the image."""
    if signal.code not in _ARITHMETIC_SIGNALS:
        return signal
    return signal.model_copy(
        update={
            "description": signal.description + " The figures were read by OCR: check "
            "them against the image before drawing conclusions."
        }
    )


def _field(
    target: DocumentType | None,
    name: str,
    value: Any,
    span: tuple[int, int] | None,
    confidence: float,
    document: DocumentText,
) -> ExtractedField:
    # For OCR text, scaled by tesseract's confidence in the span's words (1.0 otherwise).
    scaled = confidence * document.ocr_confidence(span)
    return ExtractedField(
        value=value,
        confidence=round(max(0.0, min(1.0, scaled)), 3),
        span=span,
        sensitive=(target, name) in SENSITIVE_FIELDS,
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.lower().split()) == " ".join(b.lower().split())
    return bool(a == b)


def _merge(
    target: DocumentType,
    answers: dict[str, Any],
    fields: dict[str, ExtractedField],
    document: DocumentText,
    notes: list[str],
) -> dict[str, ExtractedField]:
    """The model's values, each checked against the text and the deterministic reading."""
    merged: dict[str, ExtractedField] = {}
    for name, value in answers.items():
        known = fields.get(name)
        if value is None:
            if known is not None:
                merged[name] = known
            continue
        if known is not None and _same(known.value, value):
            merged[name] = _field(
                target, name, value, known.span, max(MODEL_AGREES, known.confidence), document
            )
            continue
        span = locate(document.text, value)
        if span is None:
            notes.append(f"The model's {name} was not found in the document's text.")
        merged[name] = _field(
            target, name, value, span, MODEL_LOCATED if span else MODEL_UNLOCATED, document
        )
    return merged


def _metadata_only(data: bytes, media_type: str) -> PdfMetadata | None:
    if media_type != PDF:
        return None
    try:
        return pdf_metadata(data)
    except Exception:
        return None
