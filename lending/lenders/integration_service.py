"""A lender's integration settings (which adapter, its URL) and its webhook secrets (issue 17).

For catalog managers (`lenders:manage`): `integration.set_integration` and `integration.rotate_webhook_secret`, both
audited in the caller's transaction. A rotation makes a new random secret, stores it encrypted
(lending.crypto, bound to the row's id) and returns it this once; the previous secret keeps
verifying for `PREVIOUS_SECRET_GRACE` so the lender can switch without losing webhooks.

For the system (no actor: the webhook route, the submission job): `webhook_secrets_for` and
`webhook_secret_for` give a lender's secrets in clear, `integration_for` the whole setting in
the form the adapter registry takes (`lending.lenders.integration.registry.LenderIntegration`).
A lender without a secret of its own is verified with the settings' shared secret, as before.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from lending import crypto
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.lenders.integration.registry import LenderIntegration
from lending.lenders.repository import LenderRepository
from lending.lenders.schemas import (
    IntegrationRead,
    IntegrationUpdate,
    RotatedWebhookSecret,
    WebhookSecretStatus,
)
from lending.models.lenders import IntegrationAdapter, Lender, LenderWebhookSecret

# How long a replaced webhook secret still verifies after a rotation.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)
_HINT_CHARACTERS = 4


def _associated_data(secret_id: uuid.UUID) -> bytes:
    # Binds the ciphertext to its row: copied onto another lender's row it does not decrypt.
    return b"lender-webhook-secret:" + secret_id.bytes


class IntegrationService:
    async def describe(self, session: AsyncSession, lender: Lender) -> IntegrationRead:
        """The lender's integration settings and the hints of the secrets that verify now."""
        rows = await LenderRepository.from_session(session).webhook_secrets(
            lender.id, now=datetime.now(UTC)
        )
        return IntegrationRead(
            adapter=lender.integration_adapter,
            base_url=lender.integration_base_url,
            webhook_secrets=[
                WebhookSecretStatus(
                    hint=row.hint, created_at=row.created_at, expires_at=row.expires_at
                )
                for row in rows
            ],
        )

    async def set_integration(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        lender_id: uuid.UUID,
        data: IntegrationUpdate,
        origin: Origin | None = None,
    ) -> IntegrationRead:
        """Choose how the lender is reached. The same settings again change nothing.

        Raises:
            NotFound: no such lender.
        """
        actor.require(Scope.LENDERS_MANAGE)
        lender = await _lender(session, lender_id)
        if (lender.integration_adapter, lender.integration_base_url) != (
            data.adapter,
            data.base_url,
        ):
            changed = [
                name
                for name, old, new in (
                    ("adapter", lender.integration_adapter, data.adapter),
                    ("base_url", lender.integration_base_url, data.base_url),
                )
                if old != new
            ]
            lender.integration_adapter = data.adapter
            lender.integration_base_url = data.base_url
            await session.flush()
            await audit_service.record(
                session,
                actor,
                action="lender.integration_changed",
                origin=origin,
                subject_type="lender",
                subject_id=lender.id,
                # The URL is the lender's public API, not a secret: it is worth having in the log.
                details={
                    "fields": changed,
                    "adapter": data.adapter.value,
                    "base_url": data.base_url,
                },
            )
        return await self.describe(session, lender)

    async def rotate_webhook_secret(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        settings: Settings,
        lender_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> RotatedWebhookSecret:
        """A new webhook secret for the lender, returned this once (never readable again).

        Raises:
            NotFound: no such lender.
        """
        actor.require(Scope.LENDERS_MANAGE)
        lender = await _lender(session, lender_id)
        repository = LenderRepository.from_session(session)
        now = datetime.now(UTC)
        previous_expires_at = None
        for row in await repository.webhook_secrets(lender.id, now=now):
            # The current one gets its grace period; older ones in theirs keep their end.
            if row.expires_at is None:
                row.expires_at = now + PREVIOUS_SECRET_GRACE
                previous_expires_at = row.expires_at
        secret = secrets.token_urlsafe(32)
        row = LenderWebhookSecret(
            id=uuid.uuid4(),
            lender_id=lender.id,
            hint=secret[-_HINT_CHARACTERS:],
            created_by_user_id=actor.user_id,
            created_at=now,
        )
        row.secret_encrypted = crypto.encryptor(settings).encrypt(
            secret.encode(), _associated_data(row.id)
        )
        await repository.add(row)
        await audit_service.record(
            session,
            actor,
            action="lender.webhook_secret_rotated",
            origin=origin,
            subject_type="lender",
            subject_id=lender.id,
            details={
                "hint": row.hint,
                "previous_expires_at": previous_expires_at.isoformat()
                if previous_expires_at
                else None,
            },
        )
        return RotatedWebhookSecret(
            lender_id=lender.id,
            secret=secret,
            hint=row.hint,
            created_at=now,
            previous_expires_at=previous_expires_at,
        )

    async def webhook_secrets_for(
        self, session: AsyncSession, *, settings: Settings, lender_code: str
    ) -> tuple[SecretStr, ...]:
        """The lender's own webhook secrets that verify now, current first (system path).

        Empty when the lender is unknown or has none (then the settings' shared secret applies).
        """
        repository = LenderRepository.from_session(session)
        lender = await repository.get_lender_by_slug(lender_code)
        if lender is None:
            return ()
        encryptor = crypto.encryptor(settings)
        return tuple(
            SecretStr(encryptor.decrypt(row.secret_encrypted, _associated_data(row.id)).decode())
            for row in await repository.webhook_secrets(lender.id, now=datetime.now(UTC))
        )

    async def webhook_secret_for(
        self, session: AsyncSession, *, settings: Settings, lender_code: str
    ) -> SecretStr | None:
        """The lender's current webhook secret (system path); None: it has none of its own."""
        found = await self.webhook_secrets_for(session, settings=settings, lender_code=lender_code)
        return found[0] if found else None

    async def integration_for(
        self, session: AsyncSession, *, settings: Settings | None, lender_code: str
    ) -> LenderIntegration | None:
        """The lender's integration as the adapter registry takes it (with its webhook secrets
        when `settings` are given to decrypt them); None for an unknown code."""
        lender = await LenderRepository.from_session(session).get_lender_by_slug(lender_code)
        if lender is None:
            return None
        secrets_ = (
            await self.webhook_secrets_for(session, settings=settings, lender_code=lender_code)
            if settings is not None
            else ()
        )
        return LenderIntegration(
            adapter=IntegrationAdapter(lender.integration_adapter),
            base_url=lender.integration_base_url,
            webhook_secrets=secrets_,
        )


async def _lender(session: AsyncSession, lender_id: uuid.UUID) -> Lender:
    lender = await LenderRepository.from_session(session).lock_lender(lender_id)
    if lender is None:
        raise NotFound("No such lender.")
    return lender


integration_service = IntegrationService()
