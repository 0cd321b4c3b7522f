"""The message keys of the errors a tool call can show a person, with their English and Chinese
text (tools/error_messages.json).

Services raise their errors in English, and that text stays what the API, the logs and a model
read. Each text is an instance of one English template of the catalogue, so the key and the
values in it are recovered from the text itself ("A submitted application cannot be changed; …"
→ `application.not_changeable`, status "submitted"); the Chinese template of the same key says
it in Chinese. tests/tools/test_error_messages.py reads every raise site the tools reach and fails
when one has no key, or when the English and Chinese keys or placeholders differ.
"""

from __future__ import annotations

import functools
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path

CATALOGUE = Path(__file__).with_name("error_messages.json")
LANGUAGES = ("en", "zh")
# A message no template matches still gets a key: its kind's (the error class name's).
_KIND_KEYS = {
    "NotFound": "error.not_found",
    "InvalidInput": "error.invalid",
    "PermissionDenied": "error.permission",
    "Conflict": "error.conflict",
    "NotAuthenticated": "error.not_authenticated",
    "PayloadTooLarge": "error.too_large",
    "UnsupportedMediaType": "error.media_type",
    "RateLimited": "error.rate_limited",
    "ServiceUnavailable": "error.unavailable",
}


@dataclass(frozen=True, slots=True)
class Identified:
    key: str
    params: dict[str, str]


@functools.cache
def catalogue() -> dict[str, dict[str, str]]:
    """{"en": {key: template}, "zh": {key: template}}."""
    data: dict[str, dict[str, str]] = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return data


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@functools.cache
def _matchers() -> list[tuple[re.Pattern[str], str]]:
    matchers: list[tuple[re.Pattern[str], str]] = []
    for key, template in catalogue()["en"].items():
        pattern = ""
        for literal, name, _, _ in string.Formatter().parse(template):
            pattern += re.escape(literal)
            if name:
                pattern += f"(?P<{name}>.+?)"
        matchers.append((re.compile(pattern, re.DOTALL), key))
    # The most literal template first: "The query is empty." before "{…}"-heavy ones.
    matchers.sort(key=lambda item: -len(re.sub(r"\(\?P<\w+>\.\+\?\)", "", item[0].pattern)))
    return matchers


def identify(message: str) -> Identified | None:
    """The key of the English template `message` is an instance of, with its values."""
    for pattern, key in _matchers():
        found = pattern.fullmatch(message.strip())
        if found:
            return Identified(key, {k: v for k, v in found.groupdict().items() if v is not None})
    return None


def key_of(kind: str, message: str) -> str:
    """The message key of an error: its template's, else its kind's."""
    found = identify(message)
    if found is not None:
        return found.key
    return _KIND_KEYS.get(kind, "error.internal")


def render(key: str, params: dict[str, str], lang: str) -> str:
    """The key's text in `lang` ("en" or "zh"), with `params` put in."""
    texts = catalogue()["zh" if lang == "zh" else "en"]
    template = texts.get(key) or texts["error.internal"]
    return template.format_map(_Defaulted(params))


class _Defaulted(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return "—"
