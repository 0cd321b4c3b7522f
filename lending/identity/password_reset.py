"""Password reset by e-mail (issue 19).

`request`: the same answer whether or not an account uses the address (the caller says "if an
account uses this address, a link is on its way"), and the same work: it is throttled per typed
address and per client address like sign-in (lending.identity.throttle.count_mail_request) and
enqueues one `identity.password_reset` job in the request's transaction, carrying the normalised
address and the request's origin sealed (lending.crypto.seal_text: job arguments are kept and
logged). Nothing looks the address up while the person waits, so the response time does not tell
whether it has an account. The job (`send_requested_link`, run by lending.identity.tasks) looks
the account up and, for an active one, issues a single-use link (lending.identity.links, hash
only, `password_reset_ttl_seconds`), mails it in the account's language through the outbox and
audits `auth.password_reset_requested` with the request's origin, in one transaction.

`confirm`: the link's token and a new password (the password policy applies; a refused password
leaves the link usable). The link is claimed once, the password set, every session and token of
the account revoked, and the address counts as verified (the mail reached its owner). Audited.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.crypto import open_text, seal_text
from lending.errors import InvalidInput
from lending.identity import passwords, throttle
from lending.identity.actor import Actor
from lending.identity.links import EmailLinkRepository, app_link
from lending.identity.repository import UserRepository
from lending.identity.sessions import token_service
from lending.jobs import PRIORITY_PERSON_WAITING, enqueue
from lending.kv import Store
from lending.mail.service import mail_service
from lending.models.identity import EmailLinkPurpose

RESET_PATH = "/reset-password"
REQUEST_TASK = "identity.password_reset"
# Binds a sealed request to its place: a value sealed for anything else does not open here.
_SEALED_FOR = b"job:identity.password_reset"
REQUEST_ANSWER = (
    "If an account uses this address, a link to reset its password is on its way; "
    "it works once and expires soon."
)
_INVALID_LINK = "This reset link is not valid, has expired or was already used."


class PasswordResetService:
    async def request(
        self,
        session: AsyncSession,
        *,
        store: Store,
        settings: Settings,
        email: str,
        origin: Origin | None = None,
    ) -> str:
        """Ask for a reset link to be mailed if an active account uses `email`; the answer and
        the statements run are the same either way (the job does the rest).

        Raises:
            TooManyMailRequests: too many requests for this address or from this client.
        """
        origin = origin or Origin()
        await throttle.count_mail_request(
            store, settings, kind="password_reset", email=email, ip=origin.ip
        )
        sealed = seal_text(
            settings,
            orjson.dumps(
                {"email": email.strip().lower(), "origin": dataclasses.asdict(origin)}
            ).decode(),
            _SEALED_FOR,
        )
        await enqueue(
            session,
            REQUEST_TASK,
            args={"request": sealed},
            queue_name="mail",
            priority=PRIORITY_PERSON_WAITING,
        )
        return REQUEST_ANSWER

    async def send_requested_link(
        self, session: AsyncSession, *, settings: Settings, request: str
    ) -> bool:
        """The job of one request: mail a link when an active account uses the address, and
        audit it with the request's origin. True when a link was mailed.

        Raises:
            DecryptionError: `request` was not sealed by `request` with a configured key.
        """
        opened = orjson.loads(open_text(settings, request, _SEALED_FOR))
        origin = Origin(**opened["origin"])
        user = await UserRepository.from_session(session).get_by_email(opened["email"])
        if user is None or not user.is_active:
            return False
        link = await EmailLinkRepository.from_session(session).issue(
            user.id,
            EmailLinkPurpose.PASSWORD_RESET,
            ttl_seconds=settings.password_reset_ttl_seconds,
        )
        await mail_service.queue(
            session,
            settings=settings,
            to_address=user.email,
            kind="password_reset",
            language=user.language,
            context={
                "name": user.full_name,
                "link": app_link(settings, f"{RESET_PATH}?token={link.token}"),
                "minutes": settings.password_reset_ttl_seconds // 60,
            },
            user_id=user.id,
        )
        await audit_service.record(
            session,
            Actor.for_user(user.id, user.role, user.organization_id),
            action="auth.password_reset_requested",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={"link_id": link.record.id},
        )
        return True

    async def confirm(
        self,
        session: AsyncSession,
        *,
        store: Store,
        settings: Settings,
        token: str,
        new_password: str,
        origin: Origin | None = None,
    ) -> None:
        """Set a new password with a reset link's token; every session of the account ends.

        Raises:
            InvalidInput: the link is not valid, expired or used; or the password breaks the
                policy (then the link still works).
        """
        links = EmailLinkRepository.from_session(session)
        found = await links.find_live(token.strip(), EmailLinkPurpose.PASSWORD_RESET)
        if found is None:
            raise InvalidInput(_INVALID_LINK)
        link, user = found
        passwords.check_policy(
            new_password, settings, field="new_password", email=user.email, full_name=user.full_name
        )
        if not await links.claim(link.id):
            raise InvalidInput(_INVALID_LINK)
        now = datetime.now(UTC)
        user.password_hash = await passwords.hash_password(settings, new_password)
        user.password_changed_at = now
        if user.email_verified_at is None:
            user.email_verified_at = now
        revoked = await token_service.revoke_user(session, store=store, user_id=user.id)
        await audit_service.record(
            session,
            Actor.for_user(user.id, user.role, user.organization_id),
            action="auth.password_reset",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={"link_id": link.id, "tokens_revoked": revoked},
        )


password_reset_service = PasswordResetService()
