"""A stored conversation turned into a scenario file to edit (`omnifin evals capture THREAD_ID`).

What a prompt engineer gets: the person's messages as scripted turns, button answers to approval
questions as `answer` turns, the questions asked as expected approvals, the tools that ran as a
`subset` trajectory, and the mode the conversation ran in. What it never carries: the person's
name or e-mail, or any personal value. Transcripts are stored redacted ("[redacted]" where a
value was); the text is read through the detector once more on the way out. The starting state
(profile, drafts, documents) is not captured: the header says to add the fixtures it needs.

Reading another person's conversation is staff access: it needs `evals:run` and is audited.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evals.schema import Scenario
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.chat import ChatMessage, ChatRun, ChatThread
from lending.models.identity import Organization, OrganizationKind, Role, User
from lending.pii import mask_pii

_ROLES = {
    Role.BORROWER: "borrower",
    Role.BROKER: "broker",
    Role.BROKER_MANAGER: "broker_manager",
}
_NAMES = {"borrower": "Captured Borrower", "broker": "Captured Broker"}
_ANSWERS = {"approved": "approve", "rejected": "reject"}
_HEADER = """\
# Captured from conversation {thread} on {day} by `omnifin evals capture`: edit before committing.
# - Personal values were stored redacted ("[redacted]"): where the scenario needs one, write a
#   synthetic value (SSN 123-45-6789, born 1988-04-02). Names typed in messages are not detected:
#   read every turn and replace real ones.
# - The starting state is not captured: add fixtures (profile, consent, applications, people).
# - The trajectory lists the tools that ran (mode subset); tighten it, add final_state checks,
#   and set critical: true once it guards a behaviour.
"""


@dataclass(frozen=True, slots=True)
class Captured:
    scenario_id: str
    text: str  # the YAML file, header included
    turns: int


async def capture(
    session: AsyncSession,
    actor: Actor,
    thread_id: uuid.UUID,
    *,
    scenario_id: str | None = None,
    origin: Origin | None = None,
) -> Captured:
    """The conversation `thread_id` as a scenario file (validated against the schema)."""
    actor.require(Scope.EVALS_RUN)
    thread = await session.get(ChatThread, thread_id)
    if thread is None:
        raise NotFound("No such conversation.")
    owner = await session.get(User, thread.user_id)
    assert owner is not None  # chat_thread.user_id references user_account
    role = _ROLES.get(owner.role)
    if role is None:
        raise InvalidInput(
            f"Only borrower and broker conversations become scenarios (this one is a "
            f"{owner.role.value}'s)."
        )
    organization = await session.get(Organization, owner.organization_id)
    in_firm = organization is not None and organization.kind is OrganizationKind.BROKER_FIRM
    messages = list(
        await session.scalars(
            select(ChatMessage).where(ChatMessage.thread_id == thread_id).order_by(ChatMessage.id)
        )
    )
    modes = set(await session.scalars(select(ChatRun.mode).where(ChatRun.thread_id == thread_id)))
    turns, approvals, calls = _read(messages)
    if not turns:
        raise InvalidInput("The conversation has no message from the person to replay.")
    identifier = scenario_id or f"captured-{str(thread_id)[:8]}"
    data: dict[str, Any] = {
        "id": identifier,
        "title": f"Captured conversation {str(thread_id)[:8]} (edit: say what it checks)",
        "suite": "captured",
        "tags": ["captured"],
        "critical": False,
        "modes": ["llm"] if modes - {"guided"} else ["guided"],
        "actor": {"role": role, "name": _NAMES.get(role, "Captured Broker"), "in_firm": in_firm},
        "fixtures": {"firm": {"name": "Harbor Brokers", "slug": "harbor"}} if in_firm else {},
        "user": {"turns": turns, "max_turns": max(20, len(turns) + 5)},
        "approvals": approvals,
        "trajectory": {"mode": "subset", "calls": calls},
    }
    Scenario.model_validate(data)  # what is written always loads
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    header = _HEADER.format(thread=thread_id, day=datetime.now(UTC).date().isoformat())
    await audit_service.record(
        session,
        actor,
        action="evals.conversation_captured",
        origin=origin,
        organization_id=thread.organization_id,
        subject_type="chat_thread",
        subject_id=thread.id,
        details={"scenario_id": identifier, "turns": len(turns)},
    )
    return Captured(identifier, header + body, len(turns))


def _read(
    messages: list[ChatMessage],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    turns: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for message in messages:
        tool = message.tool or {}
        if message.role == "user" and message.content.strip():
            turns.append({"say": _clean(message.content)})
        elif message.role == "approval":
            approvals.append({"tool": str(tool.get("tool", ""))})
            answer = _ANSWERS.get(message.content)
            # A typed or spoken answer is already a `say` turn; a button or API press is not.
            if answer is not None and tool.get("channel") in ("button", "api"):
                turns.append({"answer": answer, "channel": tool["channel"]})
        elif message.role == "tool" and tool.get("tool"):
            call: dict[str, Any] = {"tool": str(tool["tool"])}
            if isinstance(tool.get("ok"), bool):
                call["ok"] = tool["ok"]
            calls.append(call)
    return turns, approvals, calls


_SPACES = re.compile(r"[ \t]+")


def _clean(text: str) -> str:
    """A stored message as a turn: whatever the detector still finds masked, and the API's
    attachment lines (document ids of another database) left out."""
    kept = text.split("\n\n[Attached documents:", 1)[0]
    return _SPACES.sub(" ", mask_pii(kept)).strip()
