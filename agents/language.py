"""Which language a person writes in (English or Chinese), so replies and questions follow them."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "zh"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def detect_language(text: str | None, default: Language = "en") -> Language:
    """ "zh" when the text is written in Chinese characters, "en" when it has Latin letters and
    no Chinese, else `default` (digits, emoji and "ok" say nothing about a language)."""
    if not text:
        return default
    if _HAN.search(text):
        return "zh"
    if re.search(r"[A-Za-z]{2,}", text):
        return "en"
    return default
