"""A borrower touching every kind of personal data the platform holds (profile, consent,
application with its prequalification and offers, a lender submission, document with extracted
fields and signals, conversation with its runs, feedback, tool results and approvals, sessions,
recovery codes, the invitation they used, mail and notifications, an earlier erasure request,
funded loan with servicing events, statement line and ledger entries, audit events), and a
broker's conversation about them; for the backup, export and erasure tests, with the distinctive
values to look for afterwards."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.profile import borrower_profile_service
from lending.applications.schemas import BorrowerProfileUpdate
from lending.commissions import ledger
from lending.config import Settings
from lending.models.chat import ChatFeedback, ChatMessage, ChatRun, ChatThread
from lending.models.commissions import (
    FundedLoan,
    LenderStatement,
    LenderStatementLine,
    LineStatus,
    LoanServicingEvent,
    ServicingEventKind,
)
from lending.models.documents import DocumentField, DocumentSignal, SignalSeverity
from lending.models.identity import Invitation, MfaRecoveryCode, Organization, Role, User
from lending.models.lenders import LenderSubmission
from lending.models.mail import MailMessage
from lending.models.notifications import Notification
from lending.models.privacy import ErasureRequest, ErasureStatus
from lending.models.tools import ToolApproval, ToolCallRecord
from lending.offers.service import offer_service
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.documents.factories import create_document
from tests.documents.files import pdf_bytes
from tests.identity.factories import (
    actor_of,
    create_organization,
    create_user,
    issue_token,
    platform_organization,
)
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)


@dataclass
class World:
    borrower: User
    admin: User
    application_id: uuid.UUID
    document_id: uuid.UUID
    document_bytes: bytes
    thread_id: uuid.UUID
    loan_id: uuid.UUID
    # Values that identify the person and must not survive an erasure anywhere.
    personal_values: list[str]
    # A broker's conversation about the person (tool results, an approval, a checkpoint), and
    # one of the broker's messages about nobody in particular, which an erasure leaves alone.
    broker_thread_id: uuid.UUID
    broker_unrelated_text: str


async def build_world(session: AsyncSession, settings: Settings) -> World:
    marker = uuid.uuid4().hex[:8]
    first, last = f"Quillon{marker}", f"Vantreese{marker}"
    email = f"quillon.{marker}@example.com"
    phone = f"+1 415 555 {int(marker, 16) % 10_000:04d}"
    street = f"{int(marker, 16) % 900 + 100} Zephyrine Lane {marker}"
    lenders = await create_catalog(session)
    borrower = await create_borrower(session, settings)
    borrower.email = email
    borrower.full_name = f"{first} {last}"
    await session.flush()
    await borrower_profile_service.update(
        session,
        actor_of(borrower),
        settings=settings,
        data=BorrowerProfileUpdate(
            legal_first_name=first,
            legal_last_name=last,
            phone=phone,
            address_line1=street,
            employer_name=f"Glimmerforge {marker}",
        ),
    )
    await give_consent(session, borrower)
    application = await create_application(session, borrower)
    document_bytes = pdf_bytes(f"Pay stub of {first} {last} {marker}")
    document_id = await create_document(
        session, settings, borrower, application.id, content=document_bytes
    )
    said = f"My name is {first} and I live at {street}"
    thread = ChatThread(
        user_id=borrower.id,
        organization_id=borrower.organization_id,
        graph="borrower",
        title=f"Loan for {first}",
        last_message_at=datetime.now(UTC),
    )
    session.add(thread)
    await session.flush()
    session.add_all(
        [
            ChatMessage(thread_id=thread.id, role="user", content=said),
            ChatMessage(thread_id=thread.id, role="assistant", content="Thanks, noted."),
        ]
    )
    admin = await create_admin(session)
    firm = await create_organization(session)
    await create_rule(session, admin)
    loan: FundedLoan = await create_loan(session, firm, borrower_name=f"{first} {last}")
    loan.borrower_user_id = borrower.id
    await session.flush()
    platform = await platform_organization(session)
    await ledger.accrue_upfront(session, platform_id=platform.id, loan_ids=[loan.id])
    await session.flush()
    await _more_of_the_person(session, settings, borrower, application.id, document_id, thread)
    await _servicing(session, loan, admin, lender_id=next(iter(lenders.values())).id)
    await offer_service.get_offers(session, actor_of(borrower), application_id=application.id)
    session.add(
        LenderSubmission(application_id=application.id, lender_id=next(iter(lenders.values())).id)
    )
    unrelated = f"Your October commission is $1,200 ({marker})"
    broker_thread = await _broker_conversation(
        session,
        firm_id=firm.id,
        application_id=application.id,
        reference=application.reference,
        name=f"{first} {last}",
        email=email,
        unrelated=unrelated,
    )
    await session.flush()
    return World(
        borrower=borrower,
        admin=admin,
        application_id=application.id,
        document_id=document_id,
        document_bytes=document_bytes,
        thread_id=thread.id,
        loan_id=loan.id,
        personal_values=[first, last, email, street, phone, f"Glimmerforge {marker}", said],
        broker_thread_id=broker_thread,
        broker_unrelated_text=unrelated,
    )


async def _more_of_the_person(
    session: AsyncSession,
    settings: Settings,
    borrower: User,
    application_id: uuid.UUID,
    document_id: uuid.UUID,
    thread: ChatThread,
) -> None:
    """The person's rows of the smaller tables, as the code that writes each would leave them."""
    await issue_token(session, borrower, settings=settings)
    session.add(MfaRecoveryCode(user_id=borrower.id, code_hash=secrets.token_bytes(32)))
    session.add(
        Invitation(
            organization_id=borrower.organization_id,
            role=Role.BORROWER,
            email=borrower.email,
            code_hash=secrets.token_bytes(32),
            expires_at=datetime.now(UTC) + timedelta(days=7),
            used_at=datetime.now(UTC),
            used_by_user_id=borrower.id,
        )
    )
    employer = borrower.full_name.split()[0]
    session.add_all(
        [
            DocumentField(
                document_id=document_id,
                name="employer_name",
                value_kind="text",
                value=f"{employer} Ltd",
                confidence=Decimal("0.910"),
            ),
            DocumentSignal(
                document_id=document_id,
                code="name_mismatch",
                severity=SignalSeverity.LOW,
                description="The name on the pay stub differs in spelling.",
            ),
        ]
    )
    run = ChatRun(thread_id=thread.id, status="completed", mode="guided")
    session.add(run)
    await session.flush()
    session.add(ChatFeedback(run_id=run.id, user_id=borrower.id, rating=1))
    session.add(
        ToolCallRecord(
            actor_user_id=borrower.id,
            tool_name="update_borrower_profile",
            idempotency_key=uuid.uuid4().hex,
            arguments_sha256=hashlib.sha256(b"{}").hexdigest(),
            output={"updated": ["phone"]},
        )
    )
    session.add(
        ToolApproval(
            actor_user_id=borrower.id,
            thread_id=thread.id,
            tool_name="submit_application",
            call_key=uuid.uuid4().hex,
            arguments_sha256=hashlib.sha256(b"{}").hexdigest(),
            arguments={"application_id": str(application_id)},
            question="Send your application to the lender?",
            details={},
            language="en",
            channel="web",
            status="rejected",
            expires_at=datetime.now(UTC) + timedelta(minutes=30),
        )
    )
    session.add(
        MailMessage(
            user_id=borrower.id,
            to_address=borrower.email,
            kind="verify_email",
            language="en",
            content_sealed=b"sealed",
        )
    )
    session.add(
        Notification(
            user_id=borrower.id,
            kind="application_status",
            application_id=application_id,
            data={"status": "submitted"},
        )
    )
    admin = await create_admin(session)
    session.add(
        ErasureRequest(
            subject_user_id=borrower.id,
            requested_by_user_id=borrower.id,
            reason="asked once, then changed their mind",
            status=ErasureStatus.REJECTED.value,
            reviewed_by_user_id=admin.id,
            reviewed_at=datetime.now(UTC),
        )
    )


async def _servicing(
    session: AsyncSession, loan: FundedLoan, admin: User, *, lender_id: uuid.UUID
) -> None:
    session.add(
        LoanServicingEvent(
            loan_id=loan.id,
            kind=ServicingEventKind.BALANCE,
            occurred_on=date(2026, 6, 30),
            outstanding_balance=Decimal("480000.00"),
            source="admin",
            recorded_by_user_id=admin.id,
        )
    )
    statement = LenderStatement(
        lender_id=lender_id,
        period_start=date(2026, 6, 1),
        period_end=date(2026, 6, 30),
        currency="USD",
        imported_by_user_id=admin.id,
    )
    session.add(statement)
    await session.flush()
    session.add(
        LenderStatementLine(
            statement_id=statement.id,
            line_number=1,
            loan_reference=loan.reference,
            borrower_name=loan.borrower_name,
            reported_amount=Decimal("1250.00"),
            loan_id=loan.id,
            status=LineStatus.NEEDS_REVIEW,
        )
    )


async def _broker_conversation(
    session: AsyncSession,
    *,
    firm_id: uuid.UUID,
    application_id: uuid.UUID,
    reference: str,
    name: str,
    email: str,
    unrelated: str,
) -> uuid.UUID:
    """What a broker's assistant records while acting for the person: the reply naming them,
    the result of the tool it ran (idempotency record and checkpoint), an approval asked."""
    firm = await session.get(Organization, firm_id)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    thread = ChatThread(user_id=broker.id, organization_id=firm_id, graph="broker")
    session.add(thread)
    await session.flush()
    session.add_all(
        [
            ChatMessage(thread_id=thread.id, role="user", content=f"status of {reference}"),
            ChatMessage(
                thread_id=thread.id,
                role="assistant",
                content=f"{name}'s application {reference} is a draft.",
            ),
            ChatMessage(thread_id=thread.id, role="assistant", content=unrelated),
        ]
    )
    session.add(
        ChatRun(
            thread_id=thread.id,
            status="failed",
            mode="guided",
            error=f"the lender refused the file of {email}",
        )
    )
    result = {"id": str(application_id), "reference": reference, "borrower_email": email}
    session.add(
        ToolCallRecord(
            actor_user_id=broker.id,
            tool_name="start_application",
            idempotency_key=uuid.uuid4().hex,
            arguments_sha256=hashlib.sha256(b"{}").hexdigest(),
            output=result,
        )
    )
    session.add(
        ToolApproval(
            actor_user_id=broker.id,
            thread_id=thread.id,
            tool_name="submit_application",
            call_key=uuid.uuid4().hex,
            arguments_sha256=hashlib.sha256(b"{}").hexdigest(),
            arguments={"application_id": str(application_id)},
            question=f"Send {name}'s application to the lender?",
            details={"borrower": name},
            language="en",
            channel="web",
            status="executed",
            expires_at=datetime.now(UTC) + timedelta(minutes=30),
        )
    )
    kind, blob = JsonPlusSerializer().dumps_typed(
        [ToolMessage(orjson.dumps({**result, "full_name": name}).decode(), tool_call_id="c1")]
    )
    await session.execute(
        text(
            "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)"
            " VALUES (:thread, '', 'messages', '1', :kind, :blob)"
        ),
        {"thread": str(thread.id), "kind": kind, "blob": blob},
    )
    return thread.id
