"""Speakable text: what the voice reads aloud from a reply written for the screen.

The written transcript keeps the exact text and figures; only the spoken copy changes:

- markdown goes (emphasis, code marks, headings, links keep their words, tables and rules go);
- a list of up to three items is read in full, a longer one is summarised ("There are five
  items. The first three are: …; the full list is in the chat.");
- money ($1,234.50), percentages (6.49%), ISO dates (2026-12-08) and references (OMF-2026-000123)
  are read naturally, in English or Chinese.

`SpeakableStream` does the same to a reply arriving token by token: it hands out whole sentences
as soon as they are complete, and holds a list until it ends, so a summary can count its items.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from knowledge.language import Language, detect_language

__all__ = ["SpeakableStream", "speakable"]

_LIST_ITEM = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+(.*)$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}.*$")
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BARE_URL = re.compile(r"https?://\S+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`+)(?=\S)(.+?)(?<=\S)\1")
_STRAY_MARKS = re.compile(r"[*`#>|]+")
_SPACES = re.compile(r"[ \t]+")

_MONEY = re.compile(r"(-)?(?:US)?\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?!\d)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# Loan and application references (OMF-2026-000123, OMF-001123450): read character by character.
_REFERENCE = re.compile(r"\b([A-Z]{2,5})-((?:\d{2,}-?)+\d*[A-Za-z0-9]*)\b")
_PER_ANNUM = re.compile(r"\bp\.\s?a\.", re.IGNORECASE)

_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])[\s]+|(?<=[。！？])")

_ZH_DIGITS = "零一二三四五六七八九"


# How a written question says how to answer ("(yes or no)", "(number)", "（请回答编号）"): in speech
# the question itself asks, and an approval is followed by its own spoken "Please say yes or no."
_ANSWER_HINT = re.compile(
    r"\s*\((yes or no|number|yes/no)\)|（(是或否|请回答[^）]{0,20})）", re.IGNORECASE
)


def speakable(text: str, language: Language | None = None) -> str:
    """The reply as it should be spoken: one paragraph of plain sentences."""
    language = language or detect_language(text)
    text = _ANSWER_HINT.sub("", text)
    pieces: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if _LIST_ITEM.match(line):
            items: list[str] = []
            while index < len(lines) and (
                _LIST_ITEM.match(lines[index])
                or (lines[index].startswith("  ") and lines[index].strip() and items)
            ):
                match = _LIST_ITEM.match(lines[index])
                if match:
                    items.append(_inline(match.group(1), language))
                else:  # a continuation line of the last item
                    items[-1] = f"{items[-1]} {_inline(lines[index], language)}".strip()
                index += 1
            pieces.append(_list(items, language))
            continue
        index += 1
        if _TABLE_RULE.match(line) or _RULE.match(line):
            continue
        if line.count("|") >= 2:  # a table row: its cells, read as a phrase
            cells = [_inline(cell, language) for cell in line.strip().strip("|").split("|")]
            line = ", ".join(cell for cell in cells if cell)
            if line:
                pieces.append(_end(line, language))
            continue
        spoken = _inline(_HEADING.sub("", line), language)
        if spoken:
            pieces.append(_end(spoken, language) if _HEADING.match(line) else spoken)
    joiner = "" if language == "zh" else " "
    return _SPACES.sub(" ", joiner.join(pieces)).strip()


def _inline(text: str, language: Language) -> str:
    text = _LINK.sub(r"\1", text)
    text = _BARE_URL.sub("the link in the chat" if language == "en" else "聊天中的链接", text)
    for _ in range(2):  # nested emphasis (**`code`**)
        text = _EMPHASIS.sub(r"\2", text)
    text = _figures(text, language)
    text = _STRAY_MARKS.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _figures(text: str, language: Language) -> str:
    text = _ISO_DATE.sub(lambda m: _date(m, language), text)
    text = _REFERENCE.sub(lambda m: _reference(m, language), text)
    text = _MONEY.sub(lambda m: _money(m, language), text)
    text = _PERCENT.sub(lambda m: _percent(m, language), text)
    return _PER_ANNUM.sub("per year" if language == "en" else "每年", text)


def _money(match: re.Match[str], language: Language) -> str:
    negative, whole, cents = match.group(1), match.group(2), match.group(3)
    cents_value = int((cents or "0").ljust(2, "0"))
    if language == "zh":
        spoken = f"{whole}美元" if not cents_value else f"{whole}.{cents.ljust(2, '0')}美元"
        return f"负{spoken}" if negative else spoken
    dollars = "dollar" if whole == "1" else "dollars"
    spoken = f"{whole} {dollars}"
    if cents_value:
        spoken += f" and {cents_value} {'cent' if cents_value == 1 else 'cents'}"
    return f"minus {spoken}" if negative else spoken


def _percent(match: re.Match[str], language: Language) -> str:
    number = match.group(1)
    try:
        Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
        return match.group(0)
    if language == "zh":
        return f"百分之{number}"
    return f"{number} percent"


def _date(match: re.Match[str], language: Language) -> str:
    year, month, day = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    if language == "zh":
        return f"{year}年{month}月{day}日"
    return f"{day} {calendar.month_name[month]} {year}"


def _reference(match: re.Match[str], language: Language) -> str:
    """Letters spelled, digits one by one, groups apart: what a person reads back on the phone."""
    groups = [match.group(1), *[g for g in match.group(2).split("-") if g]]
    if language == "zh":
        return "，".join(
            " ".join(_ZH_DIGITS[int(c)] if c.isdigit() else c for c in g) for g in groups
        )
    return ", ".join(" ".join(g.upper()) for g in groups)


def _list(items: list[str], language: Language) -> str:
    items = [item.rstrip(".;。；") for item in items if item]
    if not items:
        return ""
    if language == "zh":
        if len(items) <= 3:
            return "；".join(items) + "。"
        return f"共有{len(items)}项。前三项是：{'；'.join(items[:3])}。完整列表在聊天记录中。"
    if len(items) == 1:
        return f"{items[0]}."
    if len(items) == 2:
        return f"{items[0]} and {items[1]}."
    if len(items) == 3:
        return f"{items[0]}; {items[1]}; and {items[2]}."
    return (
        f"There are {_count(len(items))} items. The first three are: "
        f"{'; '.join(items[:3])}. The full list is in the chat."
    )


def _count(number: int) -> str:
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    return words[number] if number < len(words) else str(number)


def _end(text: str, language: Language) -> str:
    if text[-1] in ".!?。！？:：":
        return text
    return text + ("。" if language == "zh" else ".")


class SpeakableStream:
    """Turns a reply arriving in pieces into speakable sentences as soon as each is complete.

    A list is held until the line after it (or the end of the reply), so that it is summarised
    as a whole; anything else goes out sentence by sentence.
    """

    def __init__(self, language: Language | None = None) -> None:
        self.language = language
        self._buffer = ""

    def push(self, text: str) -> Iterator[str]:
        self._buffer += text
        while True:
            cut = self._ready()
            if cut is None:
                return
            head, self._buffer = self._buffer[:cut], self._buffer[cut:]
            spoken = speakable(head, self._language(head))
            if spoken:
                yield spoken

    def flush(self) -> Iterator[str]:
        head, self._buffer = self._buffer, ""
        spoken = speakable(head, self._language(head)) if head.strip() else ""
        if spoken:
            yield spoken

    def _language(self, text: str) -> Language:
        return self.language or detect_language(text)

    def _ready(self) -> int | None:
        """Where the buffer can be cut: after a complete paragraph or list, or a sentence."""
        buffer = self._buffer
        lines = buffer.split("\n")
        if len(lines) > 1:
            # A list (or a table) ends at the first complete line that is not part of it.
            offset = 0
            in_block = False
            for line in lines[:-1]:
                block_line = bool(
                    _LIST_ITEM.match(line)
                    or line.count("|") >= 2
                    or (in_block and line.startswith("  "))
                )
                if in_block and not block_line:
                    return offset
                if not in_block and block_line:
                    if offset:
                        return offset  # speak what came before the list first
                    in_block = True
                offset += len(line) + 1
                if not in_block:
                    return offset  # a complete ordinary line
            if in_block:
                return None
        if _LIST_ITEM.match(lines[-1]) or lines[-1].count("|") >= 2 or lines[-1].startswith("#"):
            return None
        # Inside a line: the end of a sentence, unless a figure may go on ("6." of "6.49%").
        for match in _SENTENCE_END.finditer(buffer):
            if match.end() > match.start() or buffer[-1] in "。！？":
                return match.end()
        return None
