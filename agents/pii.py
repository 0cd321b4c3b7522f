"""PII never reaches a language model: values are swapped for tokens in the text it reads and
restored only inside tools, into the arguments each tool declares as PII. The token → value
vault lives in the conversation state, encrypted.

What counts as PII is `lending.pii` (the one detector the logs and document extraction use too):
SSNs, dates of birth, card, bank account and routing numbers, passport, licence and identity card
numbers. A token stands for the canonical value (an SSN as ddd-dd-dddd, a date as YYYY-MM-DD), so
"123 45 6789" and "123-45-6789" are one token, and a tool gets a value it can validate whatever
way it was typed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Mapping
from typing import Any

from lending.config import Settings
from lending.crypto import Encryptor, encryptor
from lending.logs import PiiScrubber
from lending.pii import (
    VAULT_KINDS,
    PiiKind,
    PiiSpan,
    begins_a_number,
    number_alone,
    replace_pii,
)
from lending.pii import has_pii as _has_pii

_TOKEN = re.compile(rf"\[({'|'.join(sorted(kind.value for kind in VAULT_KINDS))})-(\d+)\]")
_AAD = b"omnifin.agent.vault"


def has_pii(text: str) -> bool:
    """Whether `text` holds anything the vault would swap for a token."""
    return _has_pii(text, kinds=VAULT_KINDS)


class PiiVault:
    """Tokens for one conversation; `state()` is what goes into the checkpoint (ciphertext)."""

    def __init__(self, settings: Settings, stored: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._sealed: dict[str, str] = dict(stored or {})

    @property
    def _crypto(self) -> Encryptor:
        # Asked for only when a value is sealed or opened: most turns carry no PII.
        return encryptor(self._settings)

    def state(self) -> dict[str, str]:
        return dict(self._sealed)

    def _token_for(self, span: PiiSpan) -> str:
        prefix = f"[{span.kind.value}-"
        for token in self._sealed:
            if token.startswith(prefix) and self._open(token) == span.value:
                return token
        token = f"{prefix}{sum(t.startswith(prefix) for t in self._sealed) + 1}]"
        sealed = self._crypto.encrypt(span.value.encode(), _AAD + token.encode())
        self._sealed[token] = base64.b64encode(sealed).decode()
        return token

    def _open(self, token: str) -> str | None:
        sealed = self._sealed.get(token)
        if sealed is None:
            return None
        return self._crypto.decrypt(base64.b64decode(sealed), _AAD + token.encode()).decode()

    def tokenize(self, text: str) -> str:
        """`text` with every PII value replaced by its token."""
        return replace_pii(text, self._token_for, kinds=VAULT_KINDS)

    def rest_of_a_number(self, text: str, previous: str) -> PiiSpan | None:
        """The number `text` is made of when the person's `previous` message (tokenised) gave a
        part of one ("my ssn starts with [ACCOUNT-1]", a value shorter than any whole number):
        "6789" then is that number's rest, and is kept as a token too. A bare number after a
        whole one ("[SSN-1]", then "85000" for the income) is an answer like any other."""
        span = number_alone(text)
        if span is None or not begins_a_number(_TOKEN.sub(" ", previous)):
            return None  # "[ACCOUNT-2]" alone began nothing: no chain of parts
        for token in _TOKEN.finditer(previous):
            value = self._open(token.group(0))
            if token.group(1) == PiiKind.ACCOUNT.value and value is not None and len(value) < 6:
                return span
        return None

    def tokenize_rest(self, text: str, span: PiiSpan) -> str:
        """`text` with the rest of a number (`rest_of_a_number`) and any other PII tokenised."""
        return (
            self.tokenize(text[: span.start])
            + self._token_for(span)
            + self.tokenize(text[span.end :])
        )

    def tokenize_value(self, value: Any) -> Any:
        """`value` (JSON-like: a tool's output) with every PII value in its strings and integers
        replaced by its token."""
        if isinstance(value, str):
            return self.tokenize(value)
        if isinstance(value, int) and not isinstance(value, bool):
            tokenized = self.tokenize(str(value))
            return value if tokenized == str(value) else tokenized
        if isinstance(value, Mapping):
            return {key: self.tokenize_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.tokenize_value(item) for item in value]
        return value

    def restore(self, arguments: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
        """A tool's `arguments` with the tokens in its declared PII `fields` replaced by the
        real values. A token anywhere else stays a token: a model that writes [SSN-1] into a
        search query or a free-text reason never gets the number back."""
        return {
            name: self._restore_text(value) if name in fields and isinstance(value, str) else value
            for name, value in arguments.items()
        }

    def _restore_text(self, text: str) -> str:
        return _TOKEN.sub(lambda m: self._open(m.group(0)) or m.group(0), text)


# Named fields whose values are dropped whatever they look like (a short account number, a
# password), as the log scrubber drops the fields the settings name.
_EVENT_SCRUBBER = PiiScrubber(
    [
        "ssn",
        "social_security_number",
        "date_of_birth",
        "dob",
        "account_number",
        "routing_number",
        "card_number",
        "password",
        "otp",
    ]
)


def redact(value: Any) -> Any:
    """`value` as it may be shown in events and stored transcripts: every value the detector
    finds (e-mail addresses too) masked, and the values of PII-named fields dropped."""
    return _EVENT_SCRUBBER.scrub(value)
