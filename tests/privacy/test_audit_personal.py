"""The audit log's IP addresses live beside the chain: read back as before, hashed only as a
salted digest, and gone (with the chain intact) once erased."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import AuditEventRead, Origin
from lending.audit.service import audit_service, chain_hash, verify_chain
from lending.models.audit import AuditEventPersonal
from tests.commissions.factories import create_admin
from tests.identity.factories import actor_of

IP = "192.0.2.44"


async def test_the_ip_reads_back_is_hashed_as_a_digest_and_erasing_it_keeps_the_chain(
    session: AsyncSession,
) -> None:
    admin = actor_of(await create_admin(session))
    event = await audit_service.record(session, admin, action="test.personal", origin=Origin(ip=IP))
    assert event.stored_ip is None
    assert event.personal is not None
    assert event.ip_digest == hashlib.sha256(event.personal.salt + IP.encode()).hexdigest()
    (listed,) = await audit_service.list_events(session, admin, action="test.personal", limit=1)
    assert AuditEventRead.model_validate(listed).ip == IP
    # The hash covers the digest: changing it would break the link.
    event.ip_digest = "0" * 64
    assert chain_hash(event.prev_hash, event) != event.hash
    await session.refresh(event)

    await session.execute(delete(AuditEventPersonal).where(AuditEventPersonal.event_id == event.id))
    session.expire_all()
    report = await verify_chain(session)
    assert report.intact
    (after,) = await audit_service.list_events(session, admin, action="test.personal", limit=1)
    assert after.ip is None
