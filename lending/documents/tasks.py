"""Background jobs of the documents domain: extracting a document, and sweeping storage.

`documents.sweep_storage` (hourly) removes unfinished uploads and stored files no document
references, once older than the grace period (lending.documents.sweep).

`documents.extract` (one job per upload, attachment or type correction; jobs of one document run
in order through a procrastinate lock):

1. In one transaction: uploaded → processing, and what the application says about the applicant
   (name, date of birth) is read to compare the document with. A document found already
   `processing` is one whose previous job died mid-way: it is taken up again.
2. Outside any transaction: the file is decrypted (in the worker's memory only) and `analyse`d
   (text, type, typed fields, fraud signals), with the configured language model when there is
   one. Its text is data: nothing in it is acted on.
3. In one transaction, if the document is still this run's (a type correction in between sends
   it back to `uploaded` and queues a new run, and this result is dropped): fields, signals and
   the sealed text replace any earlier ones, and the document moves to extracted | needs_ocr |
   failed, then to needs_review when anything needs a person (low confidence, a signal, no text,
   a failure, a type other than the one declared).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from procrastinate import JobContext, RetryStrategy
from sqlalchemy.ext.asyncio import AsyncSession

from lending import crypto
from lending.applications.profile import borrower_profile_service
from lending.applications.repository import BorrowerRepository
from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.documents.repository import DocumentRepository
from lending.documents.service import (
    EXTRACT_TASK,
    document_service,
    encode_value,
    field_context,
    mask,
    text_context,
)
from lending.documents.storage import blob_store, open_sealed, unwrap_data_key
from lending.jobs import queue
from lending.jobs.recovery import settle, settles
from lending.jobs.runtime import job_sessionmaker, job_settings
from lending.logs import get_logger
from lending.models.applications import Application
from lending.models.documents import (
    DocumentField,
    DocumentSignal,
    DocumentStatus,
    SignalSeverity,
)

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from lending.documents.extraction import Analysis, ApplicantFacts

log = get_logger(__name__)


def extraction_model(settings: Settings) -> BaseChatModel | None:
    """The configured language model for structured-output extraction, or None (deterministic)."""
    if not settings.llm_model:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model_name=settings.llm_model,
        openai_api_base=settings.llm_base_url,
        openai_api_key=settings.llm_api_key,
        request_timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        temperature=0,
    )


SWEEP_TASK = "documents.sweep_storage"


@queue.periodic(cron="41 * * * *", periodic_id="hourly")
@queue.task(name=SWEEP_TASK, queue="maintenance")
async def sweep_storage(timestamp: int) -> None:
    from lending.documents.sweep import sweep

    settings = job_settings()
    await sweep(
        job_sessionmaker(settings),
        blob_store(settings),
        grace=timedelta(seconds=settings.documents_sweep_grace_seconds),
    )


# A failure outside the reading (the database or the store away for a moment) is tried again
# after 2, 4, 8 s; after the last attempt the document is settled as failed (`give_up`).
EXTRACT_RETRY = RetryStrategy(max_attempts=3, exponential_wait=2)


@queue.task(name=EXTRACT_TASK, retry=EXTRACT_RETRY, pass_context=True)
async def extract(context: JobContext, document_id: str) -> None:
    settings = job_settings()
    try:
        await run_extraction(
            job_sessionmaker(settings),
            settings,
            uuid.UUID(document_id),
            model=extraction_model(settings),
        )
    except Exception as error:
        assert context.job is not None
        if context.job.attempts >= (EXTRACT_RETRY.max_attempts or 0):
            await settle(
                job_sessionmaker(settings),
                EXTRACT_TASK,
                {"document_id": document_id},
                f"Extraction failed {context.job.attempts + 1} times ({type(error).__name__}).",
            )
        raise


@settles(EXTRACT_TASK)
async def give_up(sessionmaker: SessionMaker, args: dict[str, Any], reason: str) -> None:
    """An extraction that will not run again: its document ends `failed` (then goes to review)
    with the reason, never left `uploaded` or `processing`."""
    from lending.documents.extraction import Analysis

    document_id = uuid.UUID(str(args["document_id"]))
    async with transaction(sessionmaker) as session:
        document = await DocumentRepository.from_session(session).get(document_id, for_update=True)
        if document is None or document.status not in (
            DocumentStatus.UPLOADED,
            DocumentStatus.PROCESSING,
        ):
            return
        if document.status is DocumentStatus.UPLOADED:
            await document_service.move(session, document, DocumentStatus.PROCESSING)
            document.extraction_runs += 1
        run = document.extraction_runs
    await _finish(
        sessionmaker, job_settings(), document_id, run, Analysis(status="failed", error=reason)
    )


async def run_extraction(
    sessionmaker: SessionMaker,
    settings: Settings,
    document_id: uuid.UUID,
    *,
    model: BaseChatModel | None = None,
    today: date | None = None,
) -> DocumentStatus | None:
    """Extract one document (the job's body); returns the status it ends in, or None when
    there was nothing to do (gone, not waiting, or superseded by a newer run)."""
    from lending.documents.extraction import analyse
    from lending.documents.extraction.limits import ReadLimits

    started = await _start(sessionmaker, settings, document_id)
    if started is None:
        return None
    run, applicant, data, media_type, declared = started
    try:
        analysis = await analyse(
            data,
            media_type,
            declared_type=declared,
            applicant=applicant,
            today=today or datetime.now(UTC).date(),
            model=model,
            tesseract_cmd=settings.documents_tesseract_cmd,
            limits=ReadLimits.from_settings(settings),
        )
    except Exception as error:  # a bug or a hostile file: the document fails, the job does not
        log.exception("extraction failed", document_id=str(document_id))
        from lending.documents.extraction import Analysis

        analysis = Analysis(
            status="failed", error=f"The file could not be read ({type(error).__name__})."
        )
    finally:
        del data
    return await _finish(sessionmaker, settings, document_id, run, analysis)


async def _start(
    sessionmaker: SessionMaker, settings: Settings, document_id: uuid.UUID
) -> tuple[int, ApplicantFacts, bytes, str, Any] | None:
    from lending.documents.extraction import ApplicantFacts

    async with transaction(sessionmaker) as session:
        repository = DocumentRepository.from_session(session)
        document = await repository.get(document_id, for_update=True)
        if document is None or document.application_id is None:
            return None
        if document.status is DocumentStatus.UPLOADED:
            await document_service.move(session, document, DocumentStatus.PROCESSING)
            document.extraction_runs += 1
        elif document.status is not DocumentStatus.PROCESSING:
            log.info("document not waiting for extraction", status=document.status.value)
            return None
        run = document.extraction_runs
        applicant = ApplicantFacts(
            full_name=await _applicant_name(session, document.application_id),
            date_of_birth=await _applicant_birth_date(session, settings, document.application_id),
        )
        data_key = unwrap_data_key(settings, document.id, document.wrapped_key)
        storage_key, size, chunk = document.storage_key, document.size_bytes, document.chunk_bytes
        media_type, declared = document.media_type, document.declared_type
    parts = [
        piece
        async for piece in open_sealed(
            blob_store(settings).read(storage_key),
            data_key,
            document_id,
            size_bytes=size,
            chunk_bytes=chunk,
        )
    ]
    return run, applicant, b"".join(parts), media_type, declared


async def _applicant_name(session: AsyncSession, application_id: uuid.UUID) -> str | None:
    application = await session.get(Application, application_id)
    if application is None:
        return None
    repository = BorrowerRepository.from_session(session)
    profile = await repository.get_profile(application.borrower_user_id)
    if profile is not None and profile.legal_first_name and profile.legal_last_name:
        return f"{profile.legal_first_name} {profile.legal_last_name}"
    user = await repository.get_user(application.borrower_user_id)
    return user.full_name if user is not None else None


async def _applicant_birth_date(
    session: AsyncSession, settings: Settings, application_id: uuid.UUID
) -> date | None:
    application = await session.get(Application, application_id)
    if application is None:
        return None
    return await borrower_profile_service.reveal_date_of_birth(
        session, user_id=application.borrower_user_id, settings=settings
    )


def review_reasons(analysis: Analysis, threshold: float, declared: Any) -> list[str]:
    """Why a person must look at this document (empty: a routine check will do)."""
    reasons: list[str] = []
    if analysis.status == "needs_ocr":
        reasons.append("needs_ocr: no text could be read without OCR")
    if analysis.status == "failed":
        reasons.append(f"failed: {analysis.error or 'the file could not be read'}")
    reasons += [f"signal: {signal.code} ({signal.severity})" for signal in analysis.signals]
    if analysis.status == "extracted":
        if analysis.type_confidence < threshold:
            reasons.append(f"low_confidence: type ({analysis.type_confidence:.2f})")
        if declared is not None and analysis.suggested_type != declared:
            reasons.append(
                f"type_mismatch: declared {declared.value}, reads as {analysis.suggested_type.value}"
            )
        reasons += [
            f"low_confidence: {name} ({found.confidence:.2f})"
            for name, found in sorted(analysis.fields.items())
            if found.value is not None and found.confidence < threshold
        ]
        if not any(found.value is not None for found in analysis.fields.values()):
            reasons.append("no_fields: nothing could be extracted")
    return reasons


async def _finish(
    sessionmaker: SessionMaker,
    settings: Settings,
    document_id: uuid.UUID,
    run: int,
    analysis: Analysis,
) -> DocumentStatus | None:
    async with transaction(sessionmaker) as session:
        repository = DocumentRepository.from_session(session)
        document = await repository.get(document_id, for_update=True)
        if (
            document is None
            or document.status is not DocumentStatus.PROCESSING
            or document.extraction_runs != run
        ):
            log.info("extraction result superseded", document_id=str(document_id))
            return None
        sealer = crypto.encryptor(settings)
        await repository.replace_results(
            document.id,
            [
                _field_row(sealer, document.id, name, found)
                for name, found in analysis.fields.items()
            ],
            [
                DocumentSignal(
                    document_id=document.id,
                    code=signal.code[:64],
                    field=signal.field,
                    expected=signal.expected,
                    actual=signal.actual,
                    severity=SignalSeverity(signal.severity),
                    description=signal.description,
                )
                for signal in analysis.signals
            ],
        )
        document.text_encrypted = (
            sealer.encrypt(analysis.text.encode(), text_context(document.id))
            if analysis.text
            else None
        )
        document.page_count = analysis.pages or None
        document.suggested_type = analysis.suggested_type
        document.type_confidence = Decimal(str(round(analysis.type_confidence, 3)))
        if document.declared_type is None:
            document.document_type = analysis.suggested_type
        document.extracted_at = datetime.now(UTC)
        outcome = DocumentStatus(analysis.status)
        document.status_reason = analysis.error
        await document_service.move(
            session,
            document,
            outcome,
            reason=analysis.error,
            details={"pages": analysis.pages, "signals": len(analysis.signals)},
        )
        reasons = review_reasons(
            analysis, settings.documents_review_confidence, document.declared_type
        )
        document.review_reasons = reasons
        if reasons:
            await document_service.move(
                session, document, DocumentStatus.NEEDS_REVIEW, reason="; ".join(reasons)[:2000]
            )
        return document.status


def _field_row(
    sealer: crypto.Encryptor, document_id: uuid.UUID, name: str, found: Any
) -> DocumentField:
    kind, text = encode_value(found.value)
    sealed = None
    if found.sensitive and text is not None:
        sealed = sealer.encrypt(text.encode(), field_context(document_id, name))
        text = mask(text)
    span = found.span
    return DocumentField(
        document_id=document_id,
        name=name[:64],
        value_kind=kind,
        value=text,
        value_encrypted=sealed,
        sensitive=bool(found.sensitive),
        confidence=Decimal(str(round(found.confidence, 3))),
        span_start=span[0] if span else None,
        span_end=span[1] if span else None,
    )
