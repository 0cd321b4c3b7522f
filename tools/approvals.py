"""Approvals as objects: the question put to a person before an irreversible tool call runs, and
their answer. Chat, `/v1`, voice, the web app's buttons and evals all ask and answer through here.

An approval names exactly one call (tool, sha256 of its canonical arguments, the call's
idempotency key), the person who alone may answer it, and an expiry. It is answered by id; the
approved call then runs under its own idempotency key, so it runs once, and a call with other
arguments is never covered by it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.requirements import requirements
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import Conflict, NotFound
from lending.identity.actor import Actor
from lending.models.applications import ProductType
from lending.models.tools import ApprovalStatus, ToolApproval

Language = Literal["en", "zh"]


class Decision(StrEnum):
    """Where a call that needs approval stands."""

    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"


@dataclass(frozen=True)
class Confirmation:
    """What a person is asked before an irreversible call: what will happen, to whom, the amounts
    and what cannot be undone, in their words (never a tool name or an internal id).

    Attributes:
        en: The question in English.
        zh: The question in Chinese.
        details: The facts behind it for a card or a voice prompt (names, amounts as text).
    """

    en: str
    zh: str
    details: dict[str, Any] = field(default_factory=dict)

    def text(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


def money(amount: Decimal | str | None, language: str = "en") -> str:
    """US dollars as people read them: "$25,000.00" / "25,000.00 美元"."""
    value = Decimal(str(amount if amount is not None else 0))
    return f"{value:,.2f} 美元" if language == "zh" else f"${value:,.2f}"


# How each product is named to a person (the catalog's labels, and their Chinese names).
_PRODUCT_NAMES_ZH = {
    "personal": "个人贷款",
    "debt_consolidation": "债务整合贷款",
    "auto": "汽车贷款",
    "mortgage": "房屋抵押贷款",
    "home_equity": "房屋净值贷款",
    "business": "商业贷款",
    "student_refinance": "学生贷款再融资",
}


def product_names(product_type: str) -> tuple[str, str]:
    """The product's name in English (lower case, to sit inside a sentence) and Chinese."""
    rules = requirements().product_types.get(ProductType(product_type))
    english = rules.label.lower() if rules is not None else product_type.replace("_", " ")
    return english, _PRODUCT_NAMES_ZH.get(product_type, product_type)


def joined(names: list[str], language: str) -> str:
    """ "A", "A and B", "A, B and C" (or 、 and 和 in Chinese)."""
    if language == "zh":
        return names[0] if len(names) == 1 else "、".join(names[:-1]) + "和" + names[-1]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def quoted(text: str, limit: int = 60) -> str:
    """Text someone else chose (a file name) as it may appear in a question: one line, no
    control characters or brackets, cut to `limit` characters, in quotes."""
    cleaned = "".join(" " if not ch.isprintable() or ch in '[]<>{}`"' else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    return f'"{cleaned[:limit]}{"…" if len(cleaned) > limit else ""}"'


@dataclass(frozen=True)
class Resolution:
    """The outcome of answering an approval: approved, rejected, or refused as expired."""

    approval: ToolApproval
    outcome: Literal["approved", "rejected", "expired"]


def _now() -> datetime:
    return datetime.now(UTC)


class ApprovalService:
    """Asks, finds and answers approvals. Never commits: the caller owns the transaction."""

    async def decide(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        thread_id: uuid.UUID | None,
        tool_name: str,
        call_key: str,
        arguments_sha256: str,
        arguments: dict[str, Any],
        confirmation: Confirmation,
        language: str,
        channel: str,
        ttl: timedelta,
    ) -> tuple[Decision, ToolApproval]:
        """Where this call stands, asking a new question when none is open for it.

        An answered approval decides only the call it was asked for: another argument hash under
        the same key is refused. An unanswered question past its expiry is closed as expired and
        a new one asked (the caller has just rehearsed the call again).
        """
        approval = await session.scalar(
            select(ToolApproval)
            .where(
                ToolApproval.actor_user_id == actor.user_id,
                ToolApproval.call_key == call_key,
                ToolApproval.status.in_(
                    [ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.REJECTED]
                ),
            )
            .order_by(ToolApproval.created_at.desc(), ToolApproval.id.desc())
            .limit(1)
            .with_for_update()
        )
        if approval is not None and approval.arguments_sha256 != arguments_sha256:
            # A call reusing another call's key with other arguments: never covered.
            return Decision.REJECTED, approval
        if approval is not None and approval.status == ApprovalStatus.APPROVED:
            return Decision.APPROVED, approval
        if approval is not None and approval.status == ApprovalStatus.REJECTED:
            return Decision.REJECTED, approval
        if approval is not None and approval.expires_at > _now():
            return Decision.PENDING, approval
        if approval is not None:
            approval.status = ApprovalStatus.EXPIRED
            await session.flush()
        return Decision.PENDING, await self._ask(
            session,
            actor,
            thread_id=thread_id,
            tool_name=tool_name,
            call_key=call_key,
            arguments_sha256=arguments_sha256,
            arguments=arguments,
            confirmation=confirmation,
            language=language,
            channel=channel,
            ttl=ttl,
        )

    async def ask(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        tool_name: str,
        arguments_sha256: str,
        arguments: dict[str, Any],
        confirmation: Confirmation,
        language: str,
        channel: str,
        ttl: timedelta,
    ) -> ToolApproval:
        """A new question outside any conversation (a web page's approval card); its call runs
        under a key of its own."""
        return await self._ask(
            session,
            actor,
            thread_id=None,
            tool_name=tool_name,
            call_key=f"approval:{uuid.uuid4()}",
            arguments_sha256=arguments_sha256,
            arguments=arguments,
            confirmation=confirmation,
            language=language,
            channel=channel,
            ttl=ttl,
        )

    async def _ask(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        thread_id: uuid.UUID | None,
        tool_name: str,
        call_key: str,
        arguments_sha256: str,
        arguments: dict[str, Any],
        confirmation: Confirmation,
        language: str,
        channel: str,
        ttl: timedelta,
    ) -> ToolApproval:
        now = _now()
        approval = ToolApproval(
            id=uuid.uuid4(),
            actor_user_id=actor.user_id,
            thread_id=thread_id,
            tool_name=tool_name,
            call_key=call_key,
            arguments_sha256=arguments_sha256,
            arguments=arguments,
            question=confirmation.text(language),
            details=confirmation.details,
            language=language,
            channel=channel,
            status=ApprovalStatus.PENDING,
            created_at=now,
            expires_at=now + ttl,
        )
        session.add(approval)
        await session.flush()
        return approval

    async def pending(
        self, session: AsyncSession, actor: Actor, *, thread_id: uuid.UUID
    ) -> list[ToolApproval]:
        """The conversation's unanswered questions, oldest first (the first is the one asked)."""
        rows = await session.scalars(
            select(ToolApproval)
            .where(
                ToolApproval.thread_id == thread_id,
                ToolApproval.actor_user_id == actor.user_id,
                ToolApproval.status == ApprovalStatus.PENDING,
            )
            .order_by(ToolApproval.created_at, ToolApproval.id)
        )
        return list(rows)

    async def get(
        self,
        session: AsyncSession,
        actor: Actor,
        approval_id: uuid.UUID,
        *,
        thread_id: uuid.UUID | None = None,
    ) -> ToolApproval:
        """One of the actor's own approvals; another person's is "not found"."""
        statement = select(ToolApproval).where(
            ToolApproval.id == approval_id, ToolApproval.actor_user_id == actor.user_id
        )
        if thread_id is not None:
            statement = statement.where(ToolApproval.thread_id == thread_id)
        approval = await session.scalar(statement.with_for_update())
        if approval is None:
            raise NotFound("No such approval is waiting for you.")
        return approval

    async def resolve(
        self,
        session: AsyncSession,
        actor: Actor,
        approval_id: uuid.UUID,
        *,
        approved: bool,
        channel: str,
        thread_id: uuid.UUID | None = None,
        origin: Origin | None = None,
    ) -> Resolution:
        """Answer one approval, by id, as the person it was asked of.

        Raises:
            NotFound: no such approval of the actor's (in this conversation, when given).
            Conflict: it was answered already.
        """
        approval = await self.get(session, actor, approval_id, thread_id=thread_id)
        if approval.status != ApprovalStatus.PENDING:
            raise Conflict(f"This approval was already answered ({approval.status}).")
        now = _now()
        outcome: Literal["approved", "rejected", "expired"]
        if approval.expires_at <= now:
            approval.status, outcome = ApprovalStatus.EXPIRED, "expired"
        elif approved:
            approval.status, outcome = ApprovalStatus.APPROVED, "approved"
        else:
            approval.status, outcome = ApprovalStatus.REJECTED, "rejected"
        approval.answered_at, approval.answered_channel = now, channel
        await session.flush()
        await audit_service.record(
            session,
            actor,
            action=f"approval.{outcome}",
            origin=origin,
            subject_type="tool_approval",
            subject_id=approval.id,
            details={
                "tool": approval.tool_name,
                "channel": channel,
                "thread_id": str(approval.thread_id) if approval.thread_id else None,
                "arguments_sha256": approval.arguments_sha256,
            },
        )
        return Resolution(approval, outcome)

    async def mark_executed(self, session: AsyncSession, actor: Actor, *, call_key: str) -> None:
        """The approved call ran: its approval is spent."""
        await session.execute(
            update(ToolApproval)
            .where(
                ToolApproval.actor_user_id == actor.user_id,
                ToolApproval.call_key == call_key,
                ToolApproval.status == ApprovalStatus.APPROVED,
            )
            .values(status=ApprovalStatus.EXECUTED, executed_at=_now())
        )


approval_service = ApprovalService()


class ApprovalPending(Exception):  # noqa: N818 - a state the caller handles, not an error
    """The call waits for a person's answer; the question has been asked. Raised by the registry
    outside its error mapping, so the caller (the agent's tools node) can gather every question
    of a turn and pause once."""

    def __init__(
        self, tool_name: str, call_key: str | None, approval: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{tool_name} waits for approval")
        self.tool_name = tool_name
        self.call_key = call_key
        self.approval = approval
