"""The lived-in demo: the broker's clients stand at every stage, built through the services, with
offers (one expiring within days), a funded loan with its commission entries, notifications in
the bells of the borrowers and the broker; a second run adds nothing."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.threads import staff_threads
from cli.demo_content import CONVERSATIONS, DOCUMENTS, seed_demo_content
from lending.config import Settings
from lending.db import SessionMaker
from lending.demo import seed_demo
from lending.demo_world import ADMIN_EMAIL, ALL_CLIENTS, BROKER_EMAIL, CLIENTS, PIPELINE
from lending.documents.service import document_service
from lending.identity.actor import Actor
from lending.models.applications import Application, ApplicationStatus, ProductType
from lending.models.chat import ChatFeedback, ChatMessage, ChatRun, ChatThread
from lending.models.commissions import BatchStatus, CommissionEntry, FundedLoan, PayoutBatch
from lending.models.documents import Document, DocumentEvent, DocumentSignal, DocumentStatus
from lending.models.identity import User
from lending.models.notifications import Notification
from lending.models.offers import Offer, OfferKind
from tests.identity.factories import bearer, issue_token


async def _count(session: AsyncSession, model: type[object]) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_the_demo_world_has_every_stage_and_a_second_run_adds_nothing(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient
) -> None:
    summary = await seed_demo(session, settings)
    assert any(note.startswith("Demo world: 5 clients") for note in summary.notes), summary.notes
    emails = [c.email for c in CLIENTS]
    borrowers = {
        user.email: user
        for user in (await session.execute(select(User).where(User.email.in_(emails)))).scalars()
    }
    assert set(borrowers) == set(emails)
    broker = (await session.execute(select(User).where(User.email == BROKER_EMAIL))).scalar_one()
    assert all(user.referred_by_user_id == broker.id for user in borrowers.values())

    applications = (
        (
            await session.execute(
                select(Application).where(
                    Application.borrower_user_id.in_([u.id for u in borrowers.values()])
                )
            )
        )
        .scalars()
        .all()
    )
    by_borrower = {a.borrower_user_id: a for a in applications}
    statuses = {email: by_borrower[user.id].status for email, user in borrowers.items()}
    assert statuses == {
        "sam.rivera@harbor.demo": ApplicationStatus.DRAFT,
        "jordan.chen@harbor.demo": ApplicationStatus.SUBMITTED,
        "maya.patel@harbor.demo": ApplicationStatus.APPROVED,
        "luis.garcia@harbor.demo": ApplicationStatus.FUNDED,
        "ana.kowalski@harbor.demo": ApplicationStatus.DECLINED,
    }
    assert all(a.broker_user_id == broker.id for a in applications)

    maya = by_borrower[borrowers["maya.patel@harbor.demo"].id]
    firm_offers = (
        (
            await session.execute(
                select(Offer).where(Offer.application_id == maya.id, Offer.kind == OfferKind.FIRM)
            )
        )
        .scalars()
        .all()
    )
    assert len(firm_offers) == 2
    soon = datetime.now(UTC) + timedelta(days=4)
    assert sum(1 for offer in firm_offers if offer.expires_at < soon) == 1

    luis = by_borrower[borrowers["luis.garcia@harbor.demo"].id]
    loan = (
        await session.execute(select(FundedLoan).where(FundedLoan.application_id == luis.id))
    ).scalar_one()
    entries = (
        (await session.execute(select(CommissionEntry).where(CommissionEntry.loan_id == loan.id)))
        .scalars()
        .all()
    )
    parties = Counter(entry.party.value for entry in entries)
    assert {"broker", "firm", "platform"} <= set(parties)
    # 0.65% of the funded amount, split 70/10/20: exact Decimal sums.
    assert sum(entry.amount for entry in entries) == (loan.funded_amount * 65 / 10000).quantize(
        entries[0].amount
    )

    # The bells: the lender's decisions reached the borrowers and the broker.
    maya_bell = await client.get(
        "/api/v1/notifications",
        headers=bearer(
            await issue_token(session, borrowers["maya.patel@harbor.demo"], settings=settings)
        ),
    )
    assert maya_bell.json()["unread_count"] >= 2
    assert "approved" in " ".join(item["message"] for item in maya_bell.json()["items"])
    broker_unread = (
        await session.execute(
            select(func.count()).select_from(Notification).where(Notification.user_id == broker.id)
        )
    ).scalar_one()
    assert broker_unread >= 4

    counts = [
        await _count(session, model)
        for model in (User, Application, Offer, CommissionEntry, Notification, PayoutBatch)
    ]
    again = await seed_demo(session, settings)
    assert again.render() == summary.render()
    assert [
        await _count(session, model)
        for model in (User, Application, Offer, CommissionEntry, Notification, PayoutBatch)
    ] == counts


async def test_the_pipeline_covers_every_status_and_product_with_a_paid_and_a_draft_batch(
    session: AsyncSession, settings: Settings
) -> None:
    await seed_demo(session, settings)
    broker = (await session.execute(select(User).where(User.email == BROKER_EMAIL))).scalar_one()
    applications = (
        (await session.execute(select(Application).where(Application.broker_user_id == broker.id)))
        .scalars()
        .all()
    )
    assert len(applications) == len(ALL_CLIENTS) == 30
    statuses = Counter(a.status for a in applications)
    assert set(statuses) == set(ApplicationStatus), statuses
    # Each pipeline client stands at the stage written for them; the named five, as above.
    wanted = Counter(ApplicationStatus(c.stage) for c in ALL_CLIENTS)
    assert statuses == wanted
    assert {a.product_type for a in applications} == set(ProductType)
    assert Counter(a.product_type for a in applications) == Counter(c.product for c in ALL_CLIENTS)
    assert len(PIPELINE) == 25
    # Offers expiring this week: one of each approved-or-later client's two firm offers.
    week = datetime.now(UTC) + timedelta(days=7)
    expiring = (
        await session.execute(
            select(func.count())
            .select_from(Offer)
            .where(Offer.kind == OfferKind.FIRM, Offer.expires_at < week)
        )
    ).scalar_one()
    assert expiring >= 5

    batches = (await session.execute(select(PayoutBatch))).scalars().all()
    by_status = Counter(b.status for b in batches)
    assert by_status == {BatchStatus.PAID: 1, BatchStatus.DRAFT: 1}
    paid = next(b for b in batches if b.status is BatchStatus.PAID)
    assert paid.approved_by_user_id is not None
    assert paid.approved_by_user_id != paid.created_by_user_id
    # Every funded (or since closed) loan has its commission entries.
    loans = (await session.execute(select(FundedLoan))).scalars().all()
    funded = sum(1 for c in ALL_CLIENTS if c.stage in ("funded", "closed"))
    assert len(loans) >= funded


async def test_bare_leaves_the_world_out(session: AsyncSession, settings: Settings) -> None:
    await seed_demo(session, settings, world=False)
    found = await session.execute(select(User).where(User.email == CLIENTS[0].email))
    assert found.scalar_one_or_none() is None


async def test_the_demo_has_documents_to_review_and_conversations_with_feedback(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    """`seed demo`'s step after the commit: documents uploaded, extracted by the job's code and
    reviewed (clean ones verified by an admin, tampered ones flagged with their signals), and
    guided conversations rated up and down; a second run of the whole seed adds nothing."""
    settings = settings.model_copy(update={"documents_dir": tmp_path / "documents"})
    await seed_demo(session, settings)
    await session.commit()
    notes = await seed_demo_content(sessionmaker, settings, database_url)
    assert notes[0].startswith("Demo documents: 4 verified"), notes
    assert notes[1].startswith("Demo conversations: 4 in guided mode"), notes

    documents = (await session.execute(select(Document))).scalars().all()
    assert len(documents) == len(DOCUMENTS)
    by_name = {(d.uploaded_by_user_id, d.filename): d for d in documents}
    users = {
        u.email: u
        for u in (await session.execute(select(User).where(User.email.like("%.demo")))).scalars()
    }
    admin = users[ADMIN_EMAIL]
    for item in DOCUMENTS:
        document = by_name[(users[item.email].id, item.filename)]
        if item.verify:
            assert document.status is DocumentStatus.VERIFIED, (item, document.review_reasons)
            assert document.reviewed_by_user_id == admin.id
        else:
            # Flagged by what extraction read, not by the seed: a signal sends it to review.
            assert document.status is DocumentStatus.NEEDS_REVIEW, item
            assert any(reason.startswith("signal: ") for reason in document.review_reasons), (
                item,
                document.review_reasons,
            )
        assert document.extracted_at is not None
    signals = {
        row.code
        for row in (await session.execute(select(DocumentSignal))).scalars()
        if row.document_id in {d.id for d in documents}
    }
    assert len(signals) >= 3, signals
    # The back office's review queue shows the flagged ones.
    admin_actor = Actor.for_user(admin.id, admin.role, admin.organization_id)
    queue = await document_service.review_queue(session, admin_actor)
    assert {d.id for d in queue.items} >= {
        d.id for d in documents if d.status is DocumentStatus.NEEDS_REVIEW
    }

    runs = (await session.execute(select(ChatRun))).scalars().all()
    assert runs
    assert {run.mode for run in runs} == {"guided"}
    assert all(run.status == "completed" for run in runs), [r.error for r in runs]
    feedback = (await session.execute(select(ChatFeedback))).scalars().all()
    assert sorted(f.rating for f in feedback) == [-1, -1, 1, 1]
    assert all(f.comment for f in feedback if f.rating == -1)
    # The back office's Conversations page, filtered by thumbs down: a borrower's and the
    # broker's.
    down = await staff_threads.page(session, admin_actor, thumbs_down=True)
    assert sorted(row.owner_role.value for row in down.items) == ["borrower", "broker"]
    replies = (
        (await session.execute(select(ChatMessage).where(ChatMessage.role == "assistant")))
        .scalars()
        .all()
    )
    assert len(replies) >= sum(len(c.turns) for c in CONVERSATIONS)
    assert any(re.search(r"[\u4e00-\u9fff]", reply.content) for reply in replies)

    counted = (User, Application, Document, DocumentEvent, ChatThread, ChatRun, ChatFeedback)
    counts = [await _count(session, model) for model in counted]
    await seed_demo(session, settings)
    await session.commit()
    assert await seed_demo_content(sessionmaker, settings, database_url) == notes
    assert [await _count(session, model) for model in counted] == counts
