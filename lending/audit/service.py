"""Writing to and checking the audit log.

Each event's hash is sha256(previous hash + canonical JSON of the event's content), so altering,
removing or inserting an event anywhere breaks every link after it. Deleting the newest events
leaves a shorter valid chain: keep the head hash `omnifin audit verify` prints somewhere else
(a ticket, a log shipper) to detect that too.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.repository import AuditRepository
from lending.audit.schemas import ChainReport, Origin
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.audit import GENESIS_HASH, AuditEvent, AuditEventPersonal


def canonical_content(event: AuditEvent) -> bytes:
    """The event's content as the bytes that are hashed: sorted keys, UTC times, no whitespace."""
    content = {
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": event.action,
        "actor_user_id": str(event.actor_user_id) if event.actor_user_id else None,
        "actor_role": event.actor_role,
        "organization_id": str(event.organization_id) if event.organization_id else None,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "ip": event.stored_ip,
        "request_id": event.request_id,
        "details": event.details,
    }
    # Added by migration 0015, and only when set, so that older events hash as they always did.
    if event.ip_digest is not None:
        content["ip_digest"] = event.ip_digest
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_content(event)).hexdigest()


class AuditService:
    async def record(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        action: str,
        origin: Origin | None = None,
        organization_id: uuid.UUID | None = None,
        subject_type: str | None = None,
        subject_id: uuid.UUID | str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Append an event in the session's transaction (it commits or rolls back with it).

        Holds the chain's advisory lock until that transaction ends: call it last in a unit of
        work, so that concurrent writers wait as briefly as possible.
        """
        repository = AuditRepository.from_session(session)
        origin = origin or Origin()
        payload = dict(details or {})
        if actor is None and origin.operator:
            payload.setdefault("operator", origin.operator)
        event = AuditEvent(
            occurred_at=datetime.now(UTC),
            action=action,
            actor_user_id=actor.user_id if actor else None,
            actor_role=actor.role.value if actor else None,
            organization_id=organization_id or (actor.organization_id if actor else None),
            subject_type=subject_type,
            subject_id=str(subject_id) if subject_id is not None else None,
            request_id=origin.request_id,
            # Through JSON once, so the hashed details are exactly what jsonb gives back.
            details=orjson.loads(orjson.dumps(payload, default=str)),
        )
        if origin.ip is not None:
            # The IP goes apart from the chain, which hashes only its salted digest (erasable).
            salt = os.urandom(16)
            event.ip_digest = hashlib.sha256(salt + origin.ip.encode()).hexdigest()
            event.personal = AuditEventPersonal(ip=origin.ip, salt=salt)
        else:
            event.personal = None
        await repository.lock_chain()
        event.prev_hash = await repository.head_hash() or GENESIS_HASH
        event.hash = chain_hash(event.prev_hash, event)
        return await repository.add(event)

    async def record_change(
        self,
        session: AsyncSession,
        actor: Actor,
        action: str,
        *,
        origin: Origin | None,
        subject_type: str | None = None,
        subject_id: uuid.UUID | str | None = None,
        fields: Iterable[str] = (),
    ) -> AuditEvent:
        """Audit a change to a domain object, whichever channel asked for it (REST, a tool, the
        back office, voice): the names of the fields changed, never their values, which can be
        personal data in an append-only log. The channel is the origin's when it names one.
        """
        details: dict[str, Any] = {"fields": sorted(fields)}
        if origin is not None and origin.channel is not None:
            details["channel"] = origin.channel
        return await self.record(
            session,
            actor,
            action=action,
            origin=origin,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
        )

    async def list_events(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        before_id: int | None = None,
        action: str | None = None,
        actor_user_id: uuid.UUID | None = None,
        organization_id: uuid.UUID | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
    ) -> Sequence[AuditEvent]:
        """Events newest first, before `before_id` (the keyset cursor: the last id shown),
        narrowed by actor, action, subject (object) and a time range [since, until)."""
        actor.require(Scope.AUDIT_READ)
        repository = AuditRepository.from_session(session)
        statement = repository.listing(
            before_id=before_id,
            action=action,
            actor_user_id=actor_user_id,
            organization_id=organization_id,
            subject_type=subject_type,
            subject_id=subject_id,
            since=since,
            until=until,
        )
        return await repository.list(statement, limit)

    async def verify(self, session: AsyncSession, actor: Actor) -> ChainReport:
        actor.require(Scope.AUDIT_READ)
        return await verify_chain(session)


async def verify_chain(session: AsyncSession, *, batch_size: int = 1000) -> ChainReport:
    """Walk the whole chain in order; report the first event whose link or content is wrong."""
    repository = AuditRepository.from_session(session)
    prev_hash, checked, last_id = GENESIS_HASH, 0, 0
    while batch := await repository.after(last_id, batch_size):
        for event in batch:
            if event.prev_hash != prev_hash:
                return ChainReport(
                    intact=False,
                    events_checked=checked,
                    head_hash=prev_hash,
                    broken_at_id=event.id,
                    reason="its link to the previous event does not match: an event before it "
                    "was removed, inserted or rewritten",
                )
            if chain_hash(prev_hash, event) != event.hash:
                return ChainReport(
                    intact=False,
                    events_checked=checked,
                    head_hash=prev_hash,
                    broken_at_id=event.id,
                    reason="its content does not match its hash: the event was altered",
                )
            prev_hash, checked, last_id = event.hash, checked + 1, event.id
    return ChainReport(intact=True, events_checked=checked, head_hash=prev_hash)


audit_service = AuditService()
