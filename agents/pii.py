"""PII never reaches a language model: values are swapped for tokens in the text it reads and
restored only inside tools. The token → value vault lives in the conversation state, encrypted.

What counts as PII here: US Social Security numbers, card and long account numbers, and dates
written next to "born" / "date of birth" / "DOB". Redaction in events and transcripts reuses the
log scrubber, so what a browser or a reviewer sees follows the same rules as the logs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from lending.config import Settings
from lending.crypto import encryptor
from lending.logs import PiiScrubber

# Each pattern's first group is the value to swap; the rest of the match is context.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("SSN", re.compile(r"(?<!\d)(\d{3}-\d{2}-\d{4})(?!\d)")),
    ("SSN", re.compile(r"\b(?:ssn|social security(?: number)?)\b\D{0,12}(\d{9})(?!\d)", re.I)),
    ("ACCOUNT", re.compile(r"(?<!\d)((?:\d[ -]?){12,18}\d)(?!\d)")),
    (
        "DOB",
        re.compile(
            r"\b(?:born|birth|dob)\b\D{0,20}(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})", re.I
        ),
    ),
)


def has_pii(text: str) -> bool:
    """Whether `text` holds anything the vault would swap for a token."""
    return any(pattern.search(text) for _, pattern in _KINDS)


_TOKEN = re.compile(r"\[(SSN|ACCOUNT|DOB)-(\d+)\]")
_AAD = b"omnifin.agent.vault"


class PiiVault:
    """Tokens for one conversation; `state()` is what goes into the checkpoint (ciphertext)."""

    def __init__(self, settings: Settings, stored: Mapping[str, str] | None = None) -> None:
        self._crypto = encryptor(settings)
        self._sealed: dict[str, str] = dict(stored or {})

    def state(self) -> dict[str, str]:
        return dict(self._sealed)

    def _token_for(self, kind: str, value: str) -> str:
        for token in self._sealed:
            if token.startswith(f"[{kind}-") and self._open(token) == value:
                return token
        token = f"[{kind}-{sum(t.startswith(f'[{kind}-') for t in self._sealed) + 1}]"
        sealed = self._crypto.encrypt(value.encode(), _AAD + token.encode())
        self._sealed[token] = base64.b64encode(sealed).decode()
        return token

    def _open(self, token: str) -> str | None:
        sealed = self._sealed.get(token)
        if sealed is None:
            return None
        return self._crypto.decrypt(base64.b64decode(sealed), _AAD + token.encode()).decode()

    def tokenize(self, text: str) -> str:
        """`text` with every PII value replaced by its token."""
        for kind, pattern in _KINDS:

            def swap(match: re.Match[str], kind: str = kind) -> str:
                start, end = match.span(1)
                offset = match.start()
                token = self._token_for(kind, match.group(1))
                whole = match.group(0)
                return whole[: start - offset] + token + whole[end - offset :]

            text = pattern.sub(swap, text)
        return text

    def restore(self, value: Any) -> Any:
        """`value` (a tool's arguments) with tokens replaced by the real values again."""
        if isinstance(value, str):
            return _TOKEN.sub(lambda m: self._open(m.group(0)) or m.group(0), value)
        if isinstance(value, dict):
            return {key: self.restore(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.restore(item) for item in value]
        return value


_EVENT_SCRUBBER = PiiScrubber(
    ["ssn", "social_security_number", "date_of_birth", "dob", "account_number", "password", "otp"]
)


def redact(value: Any) -> Any:
    """`value` as it may be shown in events and stored transcripts."""
    return _EVENT_SCRUBBER._clean("value", value)
