"""Questions asked in the middle of an intake, answered from the knowledge base through the
registry's `search_knowledge` tool (the same scope checks as the model's call), and the other
things a person can say at any point: talk to a person, go back, what is still needed, why."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from agents.guided.texts import Lang, say_text
from knowledge.language import cjk_bigrams
from tools.base import ToolError

if TYPE_CHECKING:
    from agents.core.context import AgentContext

_QUESTION = re.compile(
    r"\?\s*$|？|^\s*(what|what'?s|whats|how|why|when|where|which|who|can|could|do|does|did|is|"
    r"are|will|would|should|may|am i|is there|tell me|explain|i'?d like to know|i wonder)\b|"
    r"吗|什么|怎么|如何|为什么|多久|能不能|可不可以|是否|哪些|哪个|多少钱",
    re.IGNORECASE,
)
_HANDOFF = re.compile(
    r"\b(talk|speak|chat)\s+(to|with)\s+(a |an |some |your )?(real |actual |live )?"
    r"(human|person|people|someone|somebody|agent|representative|rep|advisor|adviser|broker|"
    r"loan officer|staff)|\b(human|real person|live agent|representative|operator)\s*(please|now)?\s*[.!]*$|"
    r"\bget me (a|an) (human|person|agent)|人工|真人|客服|转人工|找人|经纪人",
    re.IGNORECASE,
)
_GO_BACK = re.compile(
    r"\b(go back|back up|previous question|last question|undo( that)?|step back)\b|返回|上一步|"
    r"上一个问题|回到上一|退回",
    re.IGNORECASE,
)
_STILL_NEED = re.compile(
    r"\bwhat (else )?(do you |would you )?(still )?need\b|\bwhat('?s| is) (left|missing|remaining)|"
    r"\bhow (many|much) more\b|\banything else (you need|left)|\bwhat remains\b|还需要什么|还差什么|"
    r"还缺什么|还要什么|还剩什么",
    re.IGNORECASE,
)
_WHY = re.compile(
    r"^\s*why\b|\bwhy (do|does|would|should) (you|omnifin|the lenders?|i)\b|\bwhat('?s| is) (this|that|it) for\b|"
    r"为什么|为啥|干什么用|有什么用",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it my of on or the to what when "
    "where which who why will with you your me we our this that there any without".split()
)


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(text))


def wants_person(text: str) -> bool:
    return bool(_HANDOFF.search(text))


def wants_back(text: str) -> bool:
    return bool(_GO_BACK.search(text))


def wants_remaining(text: str) -> bool:
    return bool(_STILL_NEED.search(text))


def asks_why(text: str) -> bool:
    return bool(_WHY.search(text)) and not re.search(r"\b(apr|rate|fee|credit|score)\b", text, re.I)


def _terms(text: str) -> set[str]:
    lowered = cjk_bigrams(text.lower())
    return {
        t for t in re.findall(r"[a-z0-9]+|[\u3400-\u9fff]{1,2}", lowered) if t not in _STOPWORDS
    }


def _sentences(passage: str, lang: Lang) -> list[str]:
    text = re.sub(r"\s+", " ", passage).strip()
    parts = re.split(r"(?<=[.!?])\s+|(?<=[。！？])", text)
    return [p.strip() for p in parts if len(p.strip()) > 3]


def best_sentences(question: str, passage: str, lang: Lang, limit: int = 2) -> str:
    """The one or two sentences of the passage that share most words with the question, in
    their original order."""
    sentences = _sentences(passage, lang)
    wanted = _terms(question)
    scored = sorted(range(len(sentences)), key=lambda i: (-len(_terms(sentences[i]) & wanted), i))[
        :limit
    ]
    return (
        " ".join(sentences[i] for i in sorted(scored))
        if lang != "zh"
        else "".join(sentences[i] for i in sorted(scored))
    )


async def answer_from_knowledge(
    query: str, lang: Lang, context: AgentContext, *, shown_question: str | None = None
) -> str | None:
    """The best passage's answer with its citation, or None when the knowledge base has none.

    A passage counts as an answer only if the full-text search matched it too (some of the
    question's words are in it): the vector half of the hybrid search always returns the
    nearest passages, even for "what's the weather in Paris".
    """
    try:
        output = await context.registry.execute(
            "search_knowledge", {"query": query[:1000], "k": 5, "language": lang}, context.tools
        )
    except ToolError:
        return None
    result: dict[str, Any] = output.model_dump(mode="json")
    passages = [p for p in result.get("passages", []) if p.get("text_rank") is not None]
    if not passages:
        return None
    best = passages[0]
    answer = best_sentences(shown_question or query, str(best["text"]), lang)
    if not answer:
        return None
    return say_text("kb_answer", lang, answer=answer, citation=best["citation"])
