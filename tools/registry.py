"""The tool registry: lists tools, filters them by the actor's scopes, exports JSON schemas, and
executes one call in its own short transaction (scope check, approval, idempotency, audit)."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.service import audit_service
from lending.config import Settings
from lending.db import transaction
from lending.errors import OmnifinError
from lending.identity.actor import Actor
from lending.logs import get_logger
from tools.approvals import ApprovalPending, Confirmation, Decision, approval_service
from tools.base import Tool, ToolCall, ToolError
from tools.context import ApprovalRequest, ToolContext
from tools.repository import ToolCallRepository

log = get_logger(__name__)

MAX_IDEMPOTENCY_KEY_LENGTH = 200
# Subjects for the audit log: the first of these the input carries names what the call was about.
_SUBJECT_FIELDS = (
    ("application_id", "loan_application"),
    ("offer_id", "offer"),
    ("borrower_user_id", "user_account"),
    ("document_id", "document"),
    ("batch_id", "payout_batch"),
    ("lender_id", "lender"),
)


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool[Any, Any]]) -> None:
        self._tools: dict[str, Tool[Any, Any]] = {}
        for item in tools:
            if item.name in self._tools:
                raise ValueError(f"two tools are named {item.name}")
            self._tools[item.name] = item

    def all(self) -> list[Tool[Any, Any]]:
        return list(self._tools.values())

    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> Tool[Any, Any]:
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError("UnknownTool", f"There is no tool named {name}.") from None

    def for_actor(self, actor: Actor) -> list[Tool[Any, Any]]:
        """The tools `actor` may use: the others are not even offered to the model."""
        return [item for item in self._tools.values() if item.allowed(actor)]

    def json_schemas(self, actor: Actor | None = None) -> list[dict[str, Any]]:
        """OpenAI function schemas of every tool, or of those `actor` may use."""
        tools = self.all() if actor is None else self.for_actor(actor)
        return [item.openai_schema() for item in tools]

    async def execute(
        self,
        name: str,
        arguments: Mapping[str, Any],
        context: ToolContext,
        *,
        idempotency_key: str | None = None,
        idempotency_scope: str | None = None,
        approved: bool = False,
    ) -> BaseModel:
        """Run one tool call for `context.actor` and return its output model.

        The scope is checked again here (a model may name a tool it was not offered). A
        side-effecting call with an idempotency key that already succeeded returns the stored
        first result and acts no more; otherwise it runs in its own transaction, which also
        stores its result and writes its audit event, and commits when the call succeeds.

        `idempotency_scope` instead of a key (the assistant's turn: thread and the person's
        message) keys the call by its content: the scope, the tool and the keyed digest of the
        canonical arguments. The same call made again in that scope (a model step re-run after
        a crash issues new call ids) returns the stored result instead of acting twice.

        Raises:
            ToolError: for anything the model should read: bad arguments (field by field), a
                refusal, a missing approval, a service error; an unexpected failure becomes a
                generic InternalError (logged) rather than a crash.
        """
        item = self.get(name)
        actor = context.actor
        if not item.allowed(actor):
            raise ToolError(
                "PermissionDenied",
                f"The {name} tool is not available to a {actor.role.value}.",
                status=403,
            )
        try:
            data = item.input_model.model_validate(dict(arguments))
        except ValidationError as error:
            raise ToolError.from_validation(error) from None
        fingerprint = _fingerprint(data, context.settings)
        if idempotency_scope is not None:
            idempotency_key = f"{idempotency_scope}:{item.name}:{fingerprint}"
        key = _key(idempotency_key) if item.side_effect else None
        if key is not None:
            async with transaction(context.sessionmaker) as session:
                stored = await self._recall(session, item, actor, key, fingerprint)
            if stored is not None:
                return stored
        spends_approval = False
        if item.requires_approval and not approved:
            # Nobody is asked to approve what would fail anyway (another person's offer, a
            # state that does not allow it): rehearse the call, then roll it back. The
            # rehearsal also words the question (or says this call needs none).
            confirmation = await self._rehearse(item, data, context)
            if confirmation is not None:
                # Outside the error mapping below: an approver may pause the run by raising
                # (LangGraph's interrupt()), and that must reach the graph untouched.
                await self._approve(item, data, context, key, fingerprint, confirmation)
                spends_approval = key is not None
        try:
            async with transaction(context.sessionmaker) as session:
                if key is not None:
                    repository = ToolCallRepository.from_session(session)
                    # Two racing retries: the second waits here, then finds the first's result.
                    await repository.lock(actor.user_id, item.name, key)
                    stored = await self._recall(session, item, actor, key, fingerprint)
                    if stored is not None:
                        return stored
                output: BaseModel = await item.function(ToolCall(context, session), data)
                if item.side_effect:
                    if key is not None:
                        await ToolCallRepository.from_session(session).store(
                            actor_user_id=actor.user_id,
                            tool_name=item.name,
                            idempotency_key=key,
                            arguments_sha256=fingerprint,
                            output=output.model_dump(mode="json"),
                        )
                    await self._audit(session, item, data, output, context, key)
                if spends_approval:
                    assert key is not None
                    await approval_service.mark_executed(session, actor, call_key=key)
                return output
        except ToolError:
            raise
        except OmnifinError as error:
            raise ToolError.from_service(error) from None
        except ValidationError as error:
            raise ToolError.from_validation(error) from None
        except Exception:
            log.exception("tool failed", tool=name, channel=context.channel)
            raise ToolError(
                "InternalError",
                "Something went wrong on our side; nothing was changed. Try again later.",
                status=500,
            ) from None

    async def _rehearse(
        self, item: Tool[Any, Any], data: BaseModel, context: ToolContext
    ) -> Confirmation | None:
        """Run the call in a transaction that is always rolled back; its refusal is the tool's.
        Returns the question to put to the person (worded from the state before the call), or
        None when this call needs no approval.

        Jobs it would enqueue and rows it would write go with the rollback; a tool body never
        calls out to another system itself (deliveries are jobs), so a rehearsal has no effect.
        """
        try:
            async with context.sessionmaker() as session:
                transaction = await session.begin()
                try:
                    call = ToolCall(context, session)
                    confirmation = await item.confirm(call, data) if item.confirm else None
                    await item.function(call, data)
                    return confirmation
                finally:
                    await transaction.rollback()
        except ToolError:
            raise
        except OmnifinError as error:
            raise ToolError.from_service(error) from None
        except ValidationError as error:
            raise ToolError.from_validation(error) from None

    async def _recall(
        self,
        session: AsyncSession,
        item: Tool[Any, Any],
        actor: Actor,
        key: str,
        fingerprint: str,
    ) -> BaseModel | None:
        record = await ToolCallRepository.from_session(session).get(actor.user_id, item.name, key)
        if record is None:
            return None
        if record.arguments_sha256 != fingerprint:
            raise ToolError(
                "IdempotencyKeyReused",
                "This idempotency key was already used for a call with other arguments.",
                status=409,
            )
        result: BaseModel = item.output_model.model_validate(record.output)
        return result

    async def _approve(
        self,
        item: Tool[Any, Any],
        data: BaseModel,
        context: ToolContext,
        key: str | None,
        fingerprint: str,
        confirmation: Confirmation,
    ) -> None:
        if context.approver is None:
            raise ToolError(
                "ApprovalRequired",
                f"{item.name} cannot be undone, so the person must approve it first.",
                status=409,
            )
        request = ApprovalRequest(
            tool=item.name,
            confirmation=confirmation,
            arguments=data.model_dump(mode="json"),
            arguments_sha256=fingerprint,
            idempotency_key=key,
            language=context.language,
        )
        decision = await context.approver(request)
        if decision is Decision.REJECTED:
            raise ToolError(
                "NotApproved", f"The person did not approve {item.name}; nothing was done."
            )
        if decision is Decision.PENDING:
            raise ApprovalPending(item.name, key)

    async def _audit(
        self,
        session: AsyncSession,
        item: Tool[Any, Any],
        data: BaseModel,
        output: BaseModel,
        context: ToolContext,
        key: str | None,
    ) -> None:
        subject_type, subject_id = _subject(data, output)
        await audit_service.record(
            session,
            context.actor,
            action=f"tool.{item.name}",
            origin=context.origin,
            subject_type=subject_type,
            subject_id=subject_id,
            # Argument names only: values can be PII (an SSN), and the log is append-only.
            details={
                "channel": context.channel,
                "thread_id": context.thread_id,
                "idempotency_key": key,
                "fields": sorted(data.model_fields_set),
            },
        )


def _key(idempotency_key: str | None) -> str | None:
    if idempotency_key is None or not idempotency_key.strip():
        return None
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        # Long keys (a thread id and a tool-call id) are kept unique by their digest.
        return "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()
    return idempotency_key


def fingerprint(tool: Tool[Any, Any], arguments: Mapping[str, Any], settings: Settings) -> str:
    """The keyed digest of a call's canonical (validated) arguments: what an approval covers."""
    return _fingerprint(tool.input_model.model_validate(dict(arguments)), settings)


def _fingerprint(data: BaseModel, settings: Settings) -> str:
    # Keyed (HMAC), not a bare sha256: the arguments can hold a 9-digit SSN, which a plain
    # digest stored beside the call would give away to a brute force of a billion guesses.
    canonical = orjson.dumps(data.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hmac.new(_argument_key(settings), canonical, hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=16)
def _derived_key(secret: str) -> bytes:
    return hashlib.sha256(b"omnifin.tool-arguments\0" + secret.encode()).digest()


def _argument_key(settings: Settings) -> bytes:
    return _derived_key(settings.secret("secret_key").get_secret_value())


def _subject(data: BaseModel, output: BaseModel) -> tuple[str | None, str | None]:
    for field, subject_type in _SUBJECT_FIELDS:
        value = getattr(data, field, None)
        if value is not None:
            return subject_type, str(value)
    # A call that created an application (start_application) is about the application it made.
    if getattr(output, "reference", None) is not None and hasattr(output, "id"):
        return "loan_application", str(output.id)
    return None, None


def _default_registry() -> ToolRegistry:
    from tools.commissions import COMMISSION_TOOLS
    from tools.documents import DOCUMENT_TOOLS
    from tools.knowledge import KNOWLEDGE_TOOLS
    from tools.lending import LENDING_TOOLS
    from tools.notifications import NOTIFICATION_TOOLS
    from tools.privacy import PRIVACY_TOOLS

    return ToolRegistry(
        [
            *LENDING_TOOLS,
            *DOCUMENT_TOOLS,
            *KNOWLEDGE_TOOLS,
            *COMMISSION_TOOLS,
            *PRIVACY_TOOLS,
            *NOTIFICATION_TOOLS,
        ]
    )


registry = _default_registry()
