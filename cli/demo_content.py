"""The demo's documents and conversations: the steps of `omnifin seed demo` that run after the
demo world is committed, because they need what `lending` may not hold or do in one transaction.

Documents: synthetic files (`evals.synthetic_documents`, which `lending` may not import) are
uploaded by the borrowers through `document_service.upload` (the HTTP upload's path: stored
encrypted, registered, extraction queued), extracted by `run_extraction` (the extraction job's
body, inline and deterministic: no language model), and the clean ones verified by a platform
admin through `document_service.verify`. The tampered ones stay in the review queue with the
signals extraction found.

Conversations: guided-mode turns run through the assistant's `TurnRunner` (what the chat API
streams), then thumbs up or down through `threads.feedback` (what the feedback route calls).

Both converge rather than insert: each step looks for what an earlier run left (a document by
its file name on the application, a conversation by its external id) and does only what is
missing, so a second run changes nothing and a run cut short is finished by the next.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

from agents.assistant import open_assistant
from agents.runner import TurnRequest, TurnRunner
from agents.threads import thread_service
from evals.synthetic_documents import Variant, generate
from lending.applications.service import application_service
from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.demo_world import ADMIN_EMAIL, BROKER_EMAIL
from lending.documents.service import document_service
from lending.documents.tasks import run_extraction
from lending.documents.types import DocumentType
from lending.documents.upload import FileData, FileEnd, FileStart, FormField, FormPart
from lending.identity.actor import Actor
from lending.identity.repository import UserRepository
from lending.models.documents import DocumentStatus
from lending.models.identity import User


@dataclass(frozen=True)
class DemoDocument:
    """One file a client uploads; `verify` when a reviewer confirms it (the clean ones)."""

    email: str
    document_type: DocumentType
    variant: Variant
    seed: int

    @property
    def verify(self) -> bool:
        return self.variant is Variant.CLEAN

    @property
    def filename(self) -> str:
        return f"{self.document_type.value}-{self.variant.value}.pdf"


DOCUMENTS = (
    # Verified: what the funded and approved clients' lenders were shown.
    DemoDocument("luis.garcia@harbor.demo", DocumentType.PAY_STUB, Variant.CLEAN, 1),
    DemoDocument("luis.garcia@harbor.demo", DocumentType.W2, Variant.CLEAN, 2),
    DemoDocument("maya.patel@harbor.demo", DocumentType.PAY_STUB, Variant.CLEAN, 3),
    DemoDocument("maya.patel@harbor.demo", DocumentType.BANK_STATEMENT, Variant.CLEAN, 4),
    # Flagged for review, each by a different signal.
    DemoDocument("jordan.chen@harbor.demo", DocumentType.PAY_STUB, Variant.EDITED_METADATA, 5),
    DemoDocument(
        "jordan.chen@harbor.demo", DocumentType.BANK_STATEMENT, Variant.BALANCE_MISMATCH, 6
    ),
    DemoDocument("ana.kowalski@harbor.demo", DocumentType.PAY_STUB, Variant.WRONG_NAME, 7),
    DemoDocument("sam.rivera@harbor.demo", DocumentType.PAY_STUB, Variant.INJECTION, 8),
)


@dataclass(frozen=True)
class DemoFeedback:
    rating: int  # 1 thumbs up, -1 thumbs down
    comment: str | None = None


@dataclass(frozen=True)
class DemoConversation:
    """A person's guided-mode turns; `feedback` is given on the last reply."""

    key: str
    email: str
    turns: tuple[str, ...]
    feedback: DemoFeedback

    @property
    def external_id(self) -> str:
        return f"demo:{self.key}"


CONVERSATIONS = (
    DemoConversation(
        "borrower-greeting",
        "sam.rivera@harbor.demo",
        ("hi", "anything new on my application?"),
        DemoFeedback(1, "Quick and clear."),
    ),
    DemoConversation(
        "borrower-confused",
        "jordan.chen@harbor.demo",
        ("hello", "why is my pay stub flagged?"),
        DemoFeedback(-1, "It did not explain why my pay stub needs another look."),
    ),
    DemoConversation(
        "borrower-chinese",
        "maya.patel@harbor.demo",
        ("你好",),
        DemoFeedback(1),
    ),
    DemoConversation(
        "broker-pipeline",
        BROKER_EMAIL,
        ("hi", "which of my clients are waiting on documents?"),
        DemoFeedback(-1, "It listed every application, not the ones waiting on documents."),
    ),
)


async def seed_demo_content(
    sessionmaker: SessionMaker, settings: Settings, database_url: str
) -> list[str]:
    """Both steps, on a committed demo world; their summary lines."""
    notes = [await seed_demo_documents(sessionmaker, settings)]
    # Guided mode whatever model is configured: the demo costs no tokens and says the same on
    # every install.
    guided = settings.model_copy(update={"llm_model": None})
    async with open_assistant(
        guided, database_url=database_url, sessionmaker=sessionmaker
    ) as runner:
        notes.append(await seed_demo_conversations(sessionmaker, guided, runner))
    return notes


def _actor(user: User) -> Actor:
    return Actor.for_user(user.id, user.role, user.organization_id)


async def _users(sessionmaker: SessionMaker, emails: set[str]) -> dict[str, User]:
    async with sessionmaker() as session:
        repository = UserRepository.from_session(session)
        found = {email: await repository.get_by_email(email) for email in sorted(emails)}
    return {email: user for email, user in found.items() if user is not None}


async def seed_demo_documents(
    sessionmaker: SessionMaker, settings: Settings, *, today: date | None = None
) -> str:
    """Upload, extract and review the demo documents that are missing; a summary line."""
    if settings.environment == "production":
        return "No demo documents in production."
    users = await _users(sessionmaker, {item.email for item in DOCUMENTS} | {ADMIN_EMAIL})
    reviewer = users.get(ADMIN_EMAIL)
    day = today or date.today()
    statuses: list[DocumentStatus] = []
    for item in DOCUMENTS:
        borrower = users.get(item.email)
        if borrower is None or reviewer is None:
            continue  # the demo world was left out (--bare) or is incomplete
        status = await _document(sessionmaker, settings, item, _actor(borrower), day)
        if status is not None and item.verify and status is not DocumentStatus.VERIFIED:
            status = await _verify(sessionmaker, item, _actor(borrower), _actor(reviewer))
        if status is not None:
            statuses.append(status)
    if not statuses:
        return "No demo documents: the demo world is missing."
    verified = sum(1 for status in statuses if status is DocumentStatus.VERIFIED)
    flagged = sum(1 for status in statuses if status is DocumentStatus.NEEDS_REVIEW)
    return (
        f"Demo documents: {verified} verified by {ADMIN_EMAIL}, {flagged} waiting in the "
        "review queue (edited metadata, a balance that does not add up, another person's "
        "name, instructions to an AI)."
    )


async def _document(
    sessionmaker: SessionMaker, settings: Settings, item: DemoDocument, owner: Actor, day: date
) -> DocumentStatus | None:
    """The document's status once uploaded and extracted (each only if not done before)."""
    async with sessionmaker() as session:
        listed = await application_service.list_applications(session, owner, limit=1)
        if not listed.items:
            return None
        application_id = listed.items[0].id
        documents = await document_service.application_documents(
            session, owner, application_id=application_id
        )
    existing = next((d for d in documents.documents if d.filename == item.filename), None)
    if existing is None:
        borrower_name = listed.items[0].borrower_name
        synthetic = generate(
            item.document_type,
            seed=item.seed,
            variant=item.variant,
            today=day,
            applicant_name=borrower_name,
        )
        uploaded = await document_service.upload(
            sessionmaker,
            owner,
            _form(application_id, item, synthetic.data),
            settings=settings,
        )
        document_id, status = uploaded.id, uploaded.status
    else:
        document_id, status = existing.id, existing.status
    if status in (DocumentStatus.UPLOADED, DocumentStatus.PROCESSING):
        # The extraction job's body; the queued job later finds nothing left to do.
        ended = await run_extraction(sessionmaker, settings, document_id, today=day)
        status = ended or status
    return status


async def _form(
    application_id: uuid.UUID, item: DemoDocument, data: bytes
) -> AsyncIterator[FormPart]:
    """The multipart form the web app sends, as the upload route hands it to the service."""
    yield FormField("application_id", str(application_id))
    yield FormField("document_type", item.document_type.value)
    yield FileStart("file", item.filename)
    yield FileData(data)
    yield FileEnd()


async def _verify(
    sessionmaker: SessionMaker, item: DemoDocument, owner: Actor, reviewer: Actor
) -> DocumentStatus | None:
    async with transaction(sessionmaker) as session:
        listed = await application_service.list_applications(session, owner, limit=1)
        documents = await document_service.application_documents(
            session, owner, application_id=listed.items[0].id
        )
        found = next(d for d in documents.documents if d.filename == item.filename)
        if found.status not in (DocumentStatus.EXTRACTED, DocumentStatus.NEEDS_REVIEW):
            return found.status  # extraction failed or did not run: left as it is
        verified = await document_service.verify(session, reviewer, document_id=found.id)
    return verified.status


async def seed_demo_conversations(
    sessionmaker: SessionMaker, settings: Settings, runner: TurnRunner
) -> str:
    """Hold the demo conversations that are missing, in guided mode, and rate their replies."""
    if settings.environment == "production":
        return "No demo conversations in production."
    users = await _users(sessionmaker, {item.email for item in CONVERSATIONS})
    rated = {1: 0, -1: 0}
    for item in CONVERSATIONS:
        user = users.get(item.email)
        if user is None:
            continue
        if await _converse(sessionmaker, runner, item, _actor(user)):
            rated[item.feedback.rating] += 1
    if not any(rated.values()):
        return "No demo conversations: the demo world is missing."
    return (
        f"Demo conversations: {sum(rated.values())} in guided mode, {rated[1]} rated thumbs up "
        f"and {rated[-1]} thumbs down (the back office's Conversations page)."
    )


async def _converse(
    sessionmaker: SessionMaker, runner: TurnRunner, item: DemoConversation, actor: Actor
) -> bool:
    """The turns not yet held, then the feedback on the last reply; whether it was rated."""
    async with transaction(sessionmaker) as session:
        thread = await thread_service.by_external_id(session, actor, item.external_id)
        if thread is None:
            thread = await thread_service.create(
                session, actor, channel="web", title=None, external_id=item.external_id
            )
        held = [
            m for m in await thread_service.history(session, actor, thread.id) if m.role == "user"
        ]
    thread_id = thread.id
    for text in item.turns[len(held) :]:
        async for _event in runner.run(TurnRequest(thread_id=thread_id, actor=actor, message=text)):
            pass  # the runner records the turn; nobody is listening
    async with transaction(sessionmaker) as session:
        replies = [
            m
            for m in await thread_service.history(session, actor, thread_id)
            if m.role == "assistant" and m.run_id is not None
        ]
        if not replies:
            return False
        last_run = replies[-1].run_id
        assert last_run is not None
        await thread_service.feedback(
            session,
            actor,
            thread_id=thread_id,
            run_id=last_run,
            rating=item.feedback.rating,
            comment=item.feedback.comment,
        )
    return True
