"""Guided mode's reading of two requests about notifications, in English and Chinese:
"anything new on my application?" (a borrower, or anyone) and a broker's "remind Riley to upload
her pay stub". A request said in the negative ("don't remind Riley", "不用提醒她") is recognised as
such and never acted on; anything unclear is not a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agents.guided.texts import Lang, say_text

_NEWS = re.compile(
    r"\b(anything new|any(thing)? news|what'?s new|any updates?|news on|"
    r"new notifications?|did (the )?lenders? (answer|reply|respond|decide|get back)|"
    r"heard back|hear back)\b|"
    r"有什么新|有没有新|有新(的)?(消息|通知|进展|动态)|最新(消息|通知|动态)|新通知|有消息吗|"
    r"有进展吗|有回复吗|回复了吗|答复了吗|有动静吗",
    re.I,
)
_NOT_NEWS = re.compile(
    r"\b(don'?t|do not|no need to|never|stop)\b.{0,30}\b(news|updates?|notif\w*|tell)\b|"
    r"(不用|不要|别|无需|不必).{0,6}(告诉|通知|提醒|消息|更新)",
    re.I,
)
_REMIND = re.compile(r"\b(remind|nudge|chase|ping)\b|提醒|催(?:一下|促)?|督促", re.I)
_NOT_REMIND = re.compile(
    r"\b(don'?t|do not|no need to|never|stop|not)\b.{0,12}\b(remind|nudge|chase|ping)|"
    r"(不要|别|不用|无需|不必|先别|暂时不|不需要)\s*(再)?(提醒|催|督促)",
    re.I,
)
# "remind Riley", "remind my client Riley Park", "nudge jane"; never a pronoun.
_WHO = re.compile(
    r"\b(?:remind|nudge|chase|ping)\s+(?:my\s+client\s+|client\s+)?"
    r"([A-Za-z][a-z]+(?:\s+(?-i:[A-Z][a-z]+))?)",
    re.I,
)
_WHO_ZH = re.compile(
    r"(?:提醒|催(?:一下|促)?|督促)\s*(?:一下)?\s*(?:客户)?\s*"
    r"([A-Za-z]+(?:\s+[A-Z][a-z]+)?|[\u4e00-\u9fff]{2,4}?)"
    r"\s*(?:上传|交|提交|补交|补|把|尽快|赶紧|快|去|的|，|,|$)"
)
_NOT_NAMES = frozenset(
    {
        "her", "him", "them", "me", "us", "my", "the", "a", "client", "clients", "everyone",
        "all", "to", "about", "again", "borrower", "this", "that", "she", "he", "they",
    }
)  # fmt: skip
_NOT_NAMES_ZH = re.compile(r"^(他|她|他们|她们|客户|一下|大家|所有人|我|我们)")
_DOCUMENTS = (
    ("pay_stub", r"pay ?stubs?|pay ?slips?|payslips?|工资单|工资条|薪资单"),
    ("w2", r"\bw-?2s?\b"),
    ("bank_statement", r"bank statements?|银行(对账单|流水)|流水"),
    (
        "identification",
        r"\b(id|identification|passport|driver'?s licen[cs]e)\b|身份证|证件|护照|驾照",
    ),
    ("tax_return", r"tax returns?|报税表|税单|纳税申报"),
    ("proof_of_address", r"proof of address|utility bill|lease|地址证明|水电费"),
    ("business_licence", r"business licen[cs]e|营业执照"),
)


@dataclass(frozen=True, slots=True)
class Reminder:
    name: str | None  # the client as written; None: not said
    document: str | None  # a document type; None: whatever is missing


def asks_for_news(text: str) -> bool:
    return bool(_NEWS.search(text)) and not _NOT_NEWS.search(text)


def declines_reminder(text: str) -> bool:
    """A request not to remind anyone ("don't remind Riley"): nothing is sent."""
    return bool(_NOT_REMIND.search(text))


def reminder(text: str) -> Reminder | None:
    """The reminder a broker asks for, or None when the text asks for none (or refuses one)."""
    if not _REMIND.search(text) or declines_reminder(text):
        return None
    name: str | None = None
    found = _WHO.search(text)
    if found and found.group(1).split()[0].lower() not in _NOT_NAMES:
        name = found.group(1)
        if name.split()[-1].lower() in _NOT_NAMES:
            name = name.split()[0]
    else:
        found_zh = _WHO_ZH.search(text)
        if found_zh and not _NOT_NAMES_ZH.match(found_zh.group(1)):
            name = found_zh.group(1).strip()
    document = None
    for code, pattern in _DOCUMENTS:
        if re.search(pattern, text, re.I):
            document = code
            break
    return Reminder(name=name, document=document)


def news_reply(data: dict[str, Any], lang: Lang) -> str:
    """What `check_my_notifications` found, as a reply: each message on its own line."""
    items = data.get("items") or []
    if not items:
        return say_text("news_none", lang)
    return say_text("news_some", lang) + "\n" + "\n".join(f"- {item['message']}" for item in items)
