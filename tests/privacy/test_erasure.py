"""Erasure: asked by one person, approved by another; afterwards no personal value of the person
is left in a dump of the database or in the document store, what the law keeps is kept under a
pseudonym, and the audit chain still verifies."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service, verify_chain
from lending.backups.archive import pg_program
from lending.config import Settings
from lending.db import SessionMaker, create_engine, create_sessionmaker, libpq_url, transaction
from lending.errors import Conflict, PermissionDenied
from lending.kv import MemoryStore
from lending.models.applications import Application
from lending.models.chat import ChatMessage
from lending.models.commissions import CommissionEntry, FundedLoan
from lending.models.identity import Role, User
from lending.models.tools import ToolApproval
from lending.privacy.erasure import ERASED_NOTE
from lending.privacy.schemas import ErasureRequestCreate, ErasureReview
from lending.privacy.service import privacy_service
from tests.commissions.factories import create_admin
from tests.identity.factories import actor_of, create_user
from tests.privacy.conftest import live_url
from tests.privacy.world import World, build_world

IP = "203.0.113.77"


def _dump(url: str) -> str:
    done = subprocess.run(
        [pg_program("pg_dump"), "--format=plain", "--data-only", f"--dbname={libpq_url(url)}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _stored_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


async def test_erasure_leaves_no_personal_value_and_the_chain_verifies(live: Settings) -> None:
    engine = create_engine(live, live_url(live))
    sessionmaker = create_sessionmaker(engine)
    try:
        async with transaction(sessionmaker) as session:
            world = await build_world(session, live)
            await audit_service.record(
                session,
                actor_of(world.borrower),
                action="test.signed_in",
                origin=Origin(ip=IP),
                subject_type="user",
                subject_id=world.borrower.id,
            )
            # The legal record: the application reached a decision.
            application = await session.get(Application, world.application_id)
            assert application is not None
            application.status = "declined"  # type: ignore[assignment]
            application.slots = {"vehicle_note": world.personal_values[3]}
            reviewer = await create_admin(session)
            request = await privacy_service.request_erasure(
                session,
                actor_of(world.admin),
                data=ErasureRequestCreate(user_id=world.borrower.id, reason="borrower asked"),
            )
        before = _dump(live_url(live))
        assert live.documents_dir is not None
        for value in world.personal_values + [IP]:
            assert value in before, "the dump shows the values before the erasure"
        ledger_before = await _ledger(sessionmaker)

        async with transaction(sessionmaker) as session:
            with pytest.raises(PermissionDenied, match="maker-checker"):
                await privacy_service.review(
                    session,
                    actor_of(world.admin),
                    request_id=request.id,
                    data=ErasureReview(approve=True),
                    settings=live,
                    store=MemoryStore(),
                )
        async with transaction(sessionmaker) as session:
            done = await privacy_service.review(
                session,
                actor_of(reviewer),
                request_id=request.id,
                data=ErasureReview(approve=True, note="no legal hold beyond the decision"),
                settings=live,
                store=MemoryStore(),
            )
        assert done.status == "completed"
        assert done.report["kept"]["loan_application"]["rows"] == 1
        assert "audit_event" in done.report["kept"]
        assert done.report["document_files_destroyed"] == 1

        after = await asyncio.to_thread(_dump, live_url(live))
        left = [value for value in world.personal_values + [IP] if value in after]
        assert left == [], f"personal values left in the database: {left}"
        assert _stored_bytes(live.documents_dir) == b"", "the document file is destroyed"
        async with sessionmaker() as session:
            assert (await verify_chain(session)).intact
            user = await session.get(User, world.borrower.id)
            assert user is not None
            assert user.full_name == done.pseudonym
            assert not user.is_active
            loan = await session.get(FundedLoan, world.loan_id)
            assert loan is not None
            assert loan.borrower_name == done.pseudonym
            kept = await session.get(Application, world.application_id)
            assert kept is not None
            assert kept.status == "declined"
            assert kept.slots == {}
        assert await _ledger(sessionmaker) == ledger_before
        await _broker_records_are_anonymised(sessionmaker, world.broker_thread_id, world)
        assert done.report["anonymised"]["others_chat_message"] == 2
        assert done.report["anonymised"]["others_chat_run"] == 1
        assert done.report["removed"]["others_tool_call"] == 1
        assert done.report["removed"]["others_tool_approval"] == 1
        assert done.report["removed"]["others_checkpoints"] == 1
    finally:
        await engine.dispose()


async def _broker_records_are_anonymised(
    sessionmaker: SessionMaker, thread_id: uuid.UUID, world: World
) -> None:
    """The broker's conversation stays; what it held about the person does not (the dump check
    above covers the values; this shows what the broker now sees)."""
    async with sessionmaker() as session:
        contents = list(
            await session.scalars(
                select(ChatMessage.content)
                .where(ChatMessage.thread_id == thread_id)
                .order_by(ChatMessage.id)
            )
        )
        assert contents == [ERASED_NOTE, ERASED_NOTE, world.broker_unrelated_text]
        checkpoints = await session.scalar(
            text("SELECT count(*) FROM checkpoint_blobs WHERE thread_id = :t"),
            {"t": str(thread_id)},
        )
        assert checkpoints == 0
        approvals = await session.scalar(
            select(func.count())
            .select_from(ToolApproval)
            .where(ToolApproval.thread_id == thread_id)
        )
        assert approvals == 0


async def _ledger(sessionmaker: SessionMaker) -> list[tuple[object, ...]]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(CommissionEntry).order_by(CommissionEntry.id))
        return [(e.id, e.party, e.amount) for e in rows]


async def test_requests_and_reviews_follow_the_rules(
    session: AsyncSession, doc_settings: Settings
) -> None:
    world = await build_world(session, doc_settings)
    borrower = actor_of(world.borrower)
    request = await privacy_service.request_erasure(
        session, borrower, data=ErasureRequestCreate(reason="please forget me")
    )
    assert request.subject_user_id == world.borrower.id
    with pytest.raises(Conflict):
        await privacy_service.request_erasure(
            session, borrower, data=ErasureRequestCreate(reason="again")
        )
    other = await create_user(session, role=Role.BORROWER)
    with pytest.raises(PermissionDenied):
        await privacy_service.request_erasure(
            session,
            actor_of(other),
            data=ErasureRequestCreate(user_id=world.borrower.id, reason="not mine"),
        )
    with pytest.raises(PermissionDenied):
        await privacy_service.review(
            session,
            borrower,
            request_id=request.id,
            data=ErasureReview(approve=True),
            settings=doc_settings,
            store=MemoryStore(),
        )
    rejected = await privacy_service.review(
        session,
        actor_of(world.admin),
        request_id=request.id,
        data=ErasureReview(approve=False, note="open loan dispute"),
        settings=doc_settings,
        store=MemoryStore(),
    )
    assert rejected.status == "rejected"
    still = await session.get(User, world.borrower.id)
    assert still is not None
    assert still.email.endswith("@example.com")
    with pytest.raises(Conflict):
        await privacy_service.review(
            session,
            actor_of(world.admin),
            request_id=request.id,
            data=ErasureReview(approve=True),
            settings=doc_settings,
            store=MemoryStore(),
        )
