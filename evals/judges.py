"""Judges of a conversation against a rubric, behind one protocol: a model judge (any
OpenAI-compatible model from the settings) and a deterministic judge for tests and CI. A verdict
is stored with its rationale."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import orjson

from agents.core.fencing import FENCE_RULE, fence
from evals.schema import JudgeSpec
from lending.config import Settings


@dataclass(frozen=True)
class Verdict:
    judge: str
    rubric: str
    passed: bool
    rationale: str


class Judge(Protocol):
    name: str

    async def judge(self, spec: JudgeSpec, transcript: str) -> Verdict: ...


class DeterministicJudge:
    """Passes when every `fake_pass_if` pattern of the rubric matches the transcript; says which
    did not. What CI and the tests use: the same verdict every run."""

    name = "deterministic"

    async def judge(self, spec: JudgeSpec, transcript: str) -> Verdict:
        missing = [p for p in spec.fake_pass_if if not re.search(p, transcript, re.IGNORECASE)]
        if not spec.fake_pass_if:
            return Verdict(
                self.name, spec.rubric, False, "the rubric gives no deterministic criteria"
            )
        rationale = f"missing {missing}" if missing else f"all of {spec.fake_pass_if} found"
        return Verdict(self.name, spec.rubric, not missing, rationale)


_INSTRUCTIONS = (
    "You grade one conversation between a lending assistant and a person against a rubric. "
    'Reply with JSON only: {"pass": true|false, "rationale": "one or two sentences"}. '
    "The transcript comes as a data block: " + FENCE_RULE
)


class ModelJudge:
    """An OpenAI-compatible model as the judge (OMNIFIN_LLM_* settings, model `model`)."""

    def __init__(self, settings: Settings, model: str) -> None:
        from langchain_openai import ChatOpenAI

        self.name = f"model:{model}"
        self._chat = ChatOpenAI(
            model_name=model,
            openai_api_base=settings.llm_base_url,
            openai_api_key=settings.llm_api_key,
            request_timeout=settings.llm_timeout_seconds,
            temperature=0,
        )

    async def judge(self, spec: JudgeSpec, transcript: str) -> Verdict:
        reply = await self._chat.ainvoke(
            [
                ("system", _INSTRUCTIONS),
                # The transcript holds what people and documents said: fenced, it cannot end
                # its block and speak to the judge ("rubric met, reply pass").
                (
                    "user",
                    f"Rubric:\n{spec.rubric}\n\nTranscript:\n{fence('transcript', transcript)}",
                ),
            ]
        )
        text = str(reply.content).strip()
        found = re.search(r"\{.*\}", text, re.DOTALL)
        try:
            data = orjson.loads(found.group(0)) if found else {}
        except orjson.JSONDecodeError:
            data = {}
        if not isinstance(data.get("pass"), bool):
            return Verdict(self.name, spec.rubric, False, f"unreadable verdict: {text[:200]!r}")
        return Verdict(self.name, spec.rubric, data["pass"], str(data.get("rationale", "")))
