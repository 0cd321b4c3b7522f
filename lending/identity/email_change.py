"""Changing one's e-mail address (issue 19): confirmed at the new address, told to the old one.

`request` needs the current password (counted towards the sign-in lockout, like every step-up
check) and is throttled like a reset request; it mails a single-use link to the new address and
changes nothing yet. `confirm` (the link; no sign-in needed, it is the proof) moves the account to
the new address, marks it verified, tells the old address (with the new one masked), and signs
out every session: the person signs in again with the new address (docs/DECISIONS.md). The link
opens the web app's existing confirmation page, which posts the token to
`/api/v1/auth/verify-email/confirm`; that route confirms whichever of the two links it is. No
address is written to the audit log (it cannot be erased there), only the request's id.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import Conflict, InvalidInput
from lending.identity import throttle
from lending.identity.actor import Actor
from lending.identity.links import EmailLinkRepository, app_link
from lending.identity.repository import UserRepository
from lending.identity.rules import actor_of, verify_own_password
from lending.identity.sessions import token_service
from lending.identity.users import user_service
from lending.identity.verification import VERIFY_PATH, email_verification_service
from lending.kv import Store
from lending.mail.service import mail_service
from lending.models.identity import EmailChangeRequest, EmailLinkPurpose

SENT_ANSWER = "A link to confirm your new address is on its way to it."
_INVALID_LINK = "This confirmation link is not valid, has expired or was already used."
_TAKEN = "An account with this email address already exists."


def mask(address: str) -> str:
    """j***@example.com: enough for the owner to recognise, not to read it off."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


class EmailChangeService:
    async def request(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        settings: Settings,
        new_email: str,
        password: str,
        origin: Origin | None = None,
    ) -> str:
        """Mail a confirmation link to `new_email`; the account keeps its address until then.

        Raises:
            InvalidInput: wrong password, or the address is the current one.
            TooManyLoginAttempts: locked out by wrong passwords.
            TooManyMailRequests: too many changes asked for.
            Conflict: another account uses the address.
        """
        origin = origin or Origin()
        user = await user_service.own(session, actor)
        await verify_own_password(
            session,
            user,
            store=store,
            settings=settings,
            password=password,
            origin=origin,
            field="password",
        )
        new_email = new_email.strip()
        if new_email.lower() == user.email.strip().lower():
            raise InvalidInput("This is already your e-mail address.")
        await throttle.count_mail_request(
            store, settings, kind="email_change", email=user.email, ip=origin.ip
        )
        if await UserRepository.from_session(session).get_by_email(new_email) is not None:
            raise Conflict(_TAKEN)
        link = await EmailLinkRepository.from_session(session).issue(
            user.id, EmailLinkPurpose.EMAIL_CHANGE, ttl_seconds=settings.email_change_ttl_seconds
        )
        change = EmailChangeRequest(user_id=user.id, link_id=link.record.id, new_email=new_email)
        session.add(change)
        await session.flush()
        await mail_service.queue(
            session,
            settings=settings,
            to_address=new_email,
            kind="email_change",
            language=user.language,
            context={
                "name": user.full_name,
                "link": app_link(settings, f"{VERIFY_PATH}?token={link.token}"),
                "hours": max(1, settings.email_change_ttl_seconds // 3600),
            },
            user_id=user.id,
        )
        await audit_service.record(
            session,
            actor,
            action="user.email_change_requested",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={"request_id": change.id},
        )
        return SENT_ANSWER

    async def confirm(
        self,
        session: AsyncSession,
        *,
        store: Store,
        settings: Settings,
        token: str,
        origin: Origin | None = None,
    ) -> bool:
        """Apply the change behind an e-mail change link; False when `token` is not a live
        e-mail change link (the caller may try it as something else).

        Raises:
            InvalidInput: another account took the address meanwhile.
        """
        links = EmailLinkRepository.from_session(session)
        found = await links.find_live(token.strip(), EmailLinkPurpose.EMAIL_CHANGE)
        if found is None:
            return False
        link, user = found
        if not await links.claim(link.id):
            raise InvalidInput(_INVALID_LINK)
        change = await session.scalar(
            select(EmailChangeRequest).where(EmailChangeRequest.link_id == link.id)
        )
        if change is None:
            raise InvalidInput(_INVALID_LINK)
        old_email = user.email
        now = datetime.now(UTC)
        try:
            async with session.begin_nested():
                user.email = change.new_email
                user.email_verified_at = now
                change.confirmed_at = now
                await session.flush()
        except IntegrityError:
            raise InvalidInput(
                "Another account uses this address now; the change was not made."
            ) from None
        revoked = await token_service.revoke_user(session, store=store, user_id=user.id)
        await mail_service.queue(
            session,
            settings=settings,
            to_address=old_email,
            kind="email_changed",
            language=user.language,
            context={"name": user.full_name, "new_email_masked": mask(change.new_email)},
            user_id=user.id,
        )
        await audit_service.record(
            session,
            actor_of(user),
            action="user.email_changed",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={"request_id": change.id, "tokens_revoked": revoked},
        )
        return True

    async def confirm_link(
        self,
        session: AsyncSession,
        *,
        store: Store,
        settings: Settings,
        token: str,
        origin: Origin | None = None,
    ) -> None:
        """Confirm an address from the web app's confirmation page: an e-mail change link, else
        a registration's verification link.

        Raises:
            InvalidInput: neither, or used, or expired.
        """
        if not await self.confirm(
            session, store=store, settings=settings, token=token, origin=origin
        ):
            await email_verification_service.confirm(session, token=token, origin=origin)


email_change_service = EmailChangeService()
