"""E-mail verification (issue 19): a single-use link mailed at registration.

Registration (lending.identity.accounts.AccountService.register) calls `start`: the account is
unverified and a link (lending.identity.links, hash only, `email_verification_ttl_seconds`) is
mailed in its language through the outbox, in the registration's transaction. `confirm` claims
the link and marks the address verified. An unverified account can sign in and talk to the
assistant; `require_verified` (called by the application submit service) refuses to submit.
Accounts made any other way (an administrator, the CLI, the demo seed, and every account that
existed before this) count as verified: the column's default.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import Conflict, InvalidInput, NotFound
from lending.identity import throttle
from lending.identity.actor import Actor
from lending.identity.errors import EmailNotVerified
from lending.identity.links import EmailLinkRepository, app_link
from lending.identity.repository import UserRepository
from lending.kv import Store
from lending.mail.service import mail_service
from lending.models.identity import EmailLinkPurpose, User

VERIFY_PATH = "/verify-email"
SENT_ANSWER = "A link to confirm your e-mail address is on its way."
_INVALID_LINK = "This confirmation link is not valid, has expired or was already used."
BORROWER_NOT_VERIFIED = (
    "The borrower has not confirmed their e-mail address yet; the application can be submitted "
    "once they have."
)


class EmailVerificationService:
    async def start(self, session: AsyncSession, user: User, *, settings: Settings) -> None:
        """Mark the account unverified and mail it a confirmation link (registration)."""
        user.email_verified_at = None
        link = await EmailLinkRepository.from_session(session).issue(
            user.id,
            EmailLinkPurpose.EMAIL_VERIFICATION,
            ttl_seconds=settings.email_verification_ttl_seconds,
        )
        await mail_service.queue(
            session,
            settings=settings,
            to_address=user.email,
            kind="email_verification",
            language=user.language,
            context={
                "name": user.full_name,
                "link": app_link(settings, f"{VERIFY_PATH}?token={link.token}"),
                "hours": settings.email_verification_ttl_seconds // 3600,
            },
            user_id=user.id,
        )

    async def resend(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        settings: Settings,
        origin: Origin | None = None,
    ) -> str:
        """Mail the signed-in person a new confirmation link (earlier ones stop working).

        Raises:
            Conflict: the address is confirmed already.
            TooManyMailRequests: too many links asked for.
        """
        user = await UserRepository.from_session(session).get(actor.user_id)
        if user is None:
            raise NotFound("No such user.")
        if user.email_verified_at is not None:
            raise Conflict("Your e-mail address is already confirmed.")
        await throttle.count_mail_request(
            store,
            settings,
            kind="email_verification",
            email=user.email,
            ip=origin.ip if origin else None,
        )
        await self.start(session, user, settings=settings)
        return SENT_ANSWER

    async def confirm(
        self, session: AsyncSession, *, token: str, origin: Origin | None = None
    ) -> None:
        """Confirm an address with its link's token (no sign-in needed: the link is the proof).

        Raises:
            InvalidInput: the link is not valid, expired or used.
        """
        links = EmailLinkRepository.from_session(session)
        found = await links.find_live(token.strip(), EmailLinkPurpose.EMAIL_VERIFICATION)
        if found is None or not await links.claim(found[0].id):
            raise InvalidInput(_INVALID_LINK)
        link, user = found
        user.email_verified_at = datetime.now(UTC)
        await audit_service.record(
            session,
            Actor.for_user(user.id, user.role, user.organization_id),
            action="user.email_verified",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={"link_id": link.id},
        )

    async def require_verified(
        self, session: AsyncSession, *, actor_user_id: uuid.UUID | None, borrower_id: uuid.UUID
    ) -> None:
        """Refuse an application's submission while the person submitting, or the borrower it
        belongs to, has not confirmed their address.

        Raises:
            EmailNotVerified: with words for whoever has not.
        """
        ids = {borrower_id} | ({actor_user_id} if actor_user_id is not None else set())
        rows = await session.execute(
            select(User.id).where(User.id.in_(ids), User.email_verified_at.is_(None))
        )
        unverified = set(rows.scalars().all())
        if actor_user_id in unverified:
            raise EmailNotVerified()
        if borrower_id in unverified:
            raise EmailNotVerified(BORROWER_NOT_VERIFIED)


email_verification_service = EmailVerificationService()
