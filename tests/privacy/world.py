"""A borrower touching every kind of personal data the platform holds (profile, consent,
application, document, conversation, funded loan with ledger entries, audit events), for the
backup, export and erasure tests; and the distinctive values to look for afterwards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.profile import borrower_profile
from lending.applications.schemas import BorrowerProfileUpdate
from lending.commissions import ledger
from lending.config import Settings
from lending.models.chat import ChatMessage, ChatThread
from lending.models.commissions import FundedLoan
from lending.models.identity import User
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.documents.factories import create_document
from tests.documents.files import pdf_bytes
from tests.identity.factories import actor_of, create_organization, platform_organization
from tests.lending.factories import create_application, create_borrower, give_consent


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


async def build_world(session: AsyncSession, settings: Settings) -> World:
    marker = uuid.uuid4().hex[:8]
    first, last = f"Quillon{marker}", f"Vantreese{marker}"
    email = f"quillon.{marker}@example.com"
    phone = f"+1 415 555 {int(marker, 16) % 10_000:04d}"
    street = f"{int(marker, 16) % 900 + 100} Zephyrine Lane {marker}"
    borrower = await create_borrower(session, settings)
    borrower.email = email
    borrower.full_name = f"{first} {last}"
    await session.flush()
    await borrower_profile.update(
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
    return World(
        borrower=borrower,
        admin=admin,
        application_id=application.id,
        document_id=document_id,
        document_bytes=document_bytes,
        thread_id=thread.id,
        loan_id=loan.id,
        personal_values=[first, last, email, street, phone, f"Glimmerforge {marker}", said],
    )
