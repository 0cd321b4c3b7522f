"""Single-use, expiring secrets sent by e-mail in a link (password reset, e-mail verification).

The link carries 256 random bits; only their SHA-256 is stored (lending.identity.tokens.digest),
so the table, a backup or a log never holds a usable link. Claiming one is a single conditional
UPDATE, so two uses of the same link racing each other cannot both succeed.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.identity.tokens import digest
from lending.models.identity import EmailLinkPurpose, EmailLinkToken, User

# The longest value a link's token can be; anything longer is not one of ours.
MAX_LINK_TOKEN_LENGTH = 128


def app_link(settings: Settings, path_and_query: str) -> str:
    """A link into the web app as mail carries it: the public URL, then `path_and_query`."""
    return f"{settings.public_url.rstrip('/')}{path_and_query}"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    token: str  # goes into the mail, never stored
    record: EmailLinkToken


class EmailLinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> EmailLinkRepository:
        return cls(session)

    async def issue(
        self, user_id: uuid.UUID, purpose: EmailLinkPurpose, *, ttl_seconds: int
    ) -> IssuedLink:
        """A new link for the user; their earlier unused links of this purpose stop working."""
        now = datetime.now(UTC)
        await self.retire(user_id, purpose, now)
        token = secrets.token_urlsafe(32)
        record = EmailLinkToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=digest(token),
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        self.session.add(record)
        await self.session.flush()
        return IssuedLink(token, record)

    async def find_live(
        self, token: str, purpose: EmailLinkPurpose
    ) -> tuple[EmailLinkToken, User] | None:
        """The unused, unexpired link with this token and its (active) user, else None."""
        if not token or len(token) > MAX_LINK_TOKEN_LENGTH:
            return None
        statement = (
            select(EmailLinkToken, User)
            .join(User, User.id == EmailLinkToken.user_id)
            .where(
                EmailLinkToken.token_hash == digest(token),
                EmailLinkToken.purpose == purpose.value,
                EmailLinkToken.used_at.is_(None),
                EmailLinkToken.expires_at > datetime.now(UTC),
                User.is_active.is_(True),
            )
        )
        row = (await self.session.execute(statement)).one_or_none()
        return (row[0], row[1]) if row is not None else None

    async def claim(self, link_id: uuid.UUID) -> bool:
        """Mark the link used; False when it was used (or expired) meanwhile."""
        now = datetime.now(UTC)
        result = await self.session.execute(
            update(EmailLinkToken)
            .where(
                EmailLinkToken.id == link_id,
                EmailLinkToken.used_at.is_(None),
                EmailLinkToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(EmailLinkToken.id)
        )
        return result.scalar_one_or_none() is not None

    async def retire(self, user_id: uuid.UUID, purpose: EmailLinkPurpose, now: datetime) -> None:
        """Every unused link of this purpose of the user stops working."""
        await self.session.execute(
            update(EmailLinkToken)
            .where(
                EmailLinkToken.user_id == user_id,
                EmailLinkToken.purpose == purpose.value,
                EmailLinkToken.used_at.is_(None),
            )
            .values(used_at=now)
        )
