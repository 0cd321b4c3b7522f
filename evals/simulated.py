"""A simulated user played by a model: persona and goal in, the person's next message out (or
None when they are done). Used with `--user-model`; guided and scripted CI runs script the user."""

from __future__ import annotations

from evals.schema import SimulatedUser
from lending.config import Settings

DONE = "[DONE]"
_INSTRUCTIONS = (
    "You play a person talking to a lending assistant. Stay in character: {persona}. "
    "Your goal: {goal}. Reply with the person's next message only, in their own words, short. "
    "When the goal is reached or cannot be reached, reply exactly " + DONE + "."
)


class SimulatedUserModel:
    """An OpenAI-compatible model (OMNIFIN_LLM_* settings) speaking as the person."""

    def __init__(self, settings: Settings, model: str) -> None:
        from langchain_openai import ChatOpenAI

        self._chat = ChatOpenAI(
            model_name=model,
            openai_api_base=settings.llm_base_url,
            openai_api_key=settings.llm_api_key,
            request_timeout=settings.llm_timeout_seconds,
            temperature=0.7,
        )

    async def next_message(
        self, user: SimulatedUser, transcript: list[dict[str, str]]
    ) -> str | None:
        # The roles swap: the assistant's words are what the person reads.
        messages: list[tuple[str, str]] = [
            ("system", _INSTRUCTIONS.format(persona=user.persona, goal=user.goal))
        ]
        for item in transcript:
            if item["role"] == "user":
                messages.append(("assistant", item["content"]))
            elif item["role"] in ("assistant", "approval"):
                messages.append(("user", item["content"]))
        reply = await self._chat.ainvoke(messages)
        text = str(reply.content).strip()
        return None if not text or DONE in text else text
