"""Drive guided mode's intake through the chat API: answer each question it asks from a table
until the reply asks what the test is waiting for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from tests.agents.sse import reply_text, send

Events = list[tuple[str, dict[str, Any]]]

# Jane Doe's answers to the personal loan's questions, by a phrase of each question. The consent
# text mentions a credit score: its question is matched first.
INTAKE_ANSWERS: dict[str, str] = {
    "Do you agree": "yes",
    "full legal name": "Jane Doe",
    "date of birth": "1990-03-15",
    "home address": "12 Main St, Springfield, IL 62704",
    "phone": "(415) 555-0134",
    "Social Security": "my ssn is 123-45-6789",
    "employed": "employed full time",
    "annual income": "$85,000 a year",
    "rent or your mortgage": "1500",
    "debts such as": "400",
    "credit score": "about 720",
    "What is the loan for": "medical",
}

# What guided mode confirms ("Got it: …", "Changed: …") is not the question it asks next.
_CONFIRMATION = re.compile(r"^(I've started [^.]*\.\s*)?(Got it|Changed): .*?\.(?=\s[A-Z])")


def question_of(events: Events) -> str:
    """The question a guided reply asks, without what it confirms first."""
    return _CONFIRMATION.sub("", reply_text(events))


async def answer_until(
    client: httpx.AsyncClient,
    token: str,
    thread_id: str,
    events: Events,
    marker: str,
    answers: Mapping[str, str] = INTAKE_ANSWERS,
    *,
    turns: int = 20,
) -> Events:
    """Answer the question of `events` (the last reply) and each next one with the first
    answer whose phrase it contains, until a question contains `marker`; returns the events of
    that reply. Fails on a question no answer fits, on a tool call that failed, or when the
    marker is not asked within `turns` answers."""
    for _ in range(turns):
        question = question_of(events)
        if marker in question:
            return events
        matching = [text for key, text in answers.items() if key in question]
        assert matching, f"unexpected question: {question}"
        events = await send(client, token, thread_id, matching[0])
        failures = [data for kind, data in events if kind == "tool.finished" and not data["ok"]]
        assert not failures, failures
    assert marker in question_of(events), f"{marker!r} not asked in {turns} answers"
    return events
