"""Guided mode's vocabulary (agents/guided/vocabulary.json): option labels in English and Chinese,
the everyday words that mean each option, field questions in Chinese and the fields asked together."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PATH = Path(__file__).with_name("vocabulary.json")


@dataclass(frozen=True)
class Option:
    code: str
    en: str
    zh: str
    words: tuple[re.Pattern[str], ...]
    # Phrases that settle the choice whatever else the message says: what secures the loan or
    # what it buys ("borrow against her home", "buy a house") outweighs a purpose said beside it
    # ("… to redo the kitchen") and another option's label inside it ("second mortgage").
    decisive: tuple[re.Pattern[str], ...] = ()

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Vocabulary:
    products: dict[str, Option]
    options: dict[str, Option]
    groups: tuple[tuple[str, ...], ...]
    fields: dict[str, dict[str, str]]

    def option(self, code: str) -> Option:
        """The option with this code; one without words here gets its code as its label."""
        known = self.options.get(code) or self.products.get(code)
        if known is not None:
            return known
        plain = code.replace("_", " ")
        return Option(code, plain, plain, ())

    def group_of(self, field: str) -> tuple[str, ...]:
        for group in self.groups:
            if field in group:
                return group
        return (field,)


def _options(raw: dict[str, Any]) -> dict[str, Option]:
    return {
        code: Option(
            code,
            item["en"],
            item["zh"],
            tuple(re.compile(word, re.IGNORECASE) for word in item.get("words", [])),
            tuple(re.compile(word, re.IGNORECASE) for word in item.get("decisive", [])),
        )
        for code, item in raw.items()
    }


@functools.cache
def vocabulary() -> Vocabulary:
    raw = json.loads(_PATH.read_text(encoding="utf-8"))
    return Vocabulary(
        products=_options(raw["products"]),
        options=_options(raw["options"]),
        groups=tuple(tuple(group) for group in raw["groups"]),
        fields=raw["fields"],
    )
