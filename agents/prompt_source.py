"""The system prompt of a run, from the prompt registry (production label, A/B arm by user)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agents.prompts.service import prompt_service
from agents.runner import SystemPrompt
from lending.identity.actor import Actor

ASSISTANT_NAME = "Omni"


async def registry_system_prompt(session: Any, graph: str, actor: Actor, mode: str) -> SystemPrompt:
    rendered = await prompt_service.render(
        session,
        name=f"{graph}.system",
        variables={
            "assistant_name": ASSISTANT_NAME,
            "today": datetime.now(UTC).date().isoformat(),
            "mode": mode,
        },
        user_id=actor.user_id,
    )
    return SystemPrompt(
        text=rendered.text,
        versions={rendered.prompt_name: rendered.version},
        variant=rendered.variant,
    )
