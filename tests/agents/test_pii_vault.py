"""The conversation vault: whatever the guided parser would read as an SSN or a date of birth is
tokenised first, a token stands for one value however it was typed, and values come back only
into the arguments a tool declares as PII."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agents.guided.answers import answer
from agents.guided.parser import parse_date, parse_ssn
from agents.pii import PiiVault, has_pii, redact
from lending.config import Settings
from lending.identity.scopes import Scope
from lending.pii import DOB_MAX_AGE_YEARS, DOB_MIN_AGE_YEARS, find_pii
from tools.base import ToolCall, tool
from tools.lending import LENDING_TOOLS, update_borrower_profile
from tools.registry import registry

# Pieces people type, glued in any order: digits of two scripts, every separator the parser or
# a person uses, words and labels around them.
_PIECES = st.sampled_from(
    [
        *"0123456789",
        *"0123456789",
        *" -./,:",
        "１",
        "５",
        "－",
        "\u3000",
        "a",
        "IL ",
        "ssn ",
        "born ",
        "March ",
        "15th",
        "年",
        "月",
        "日",
        "1990",
        "12345",
        "+",
        "(",
        ")",
        "OMF-",
        "$",
    ]
)
_TEXT = st.lists(_PIECES, min_size=3, max_size=24).map("".join)


class _Query(BaseModel):
    query: str


class _Answer(BaseModel):
    ok: bool


def _vault(settings: Settings) -> PiiVault:
    return PiiVault(settings)


@hypothesis_settings(max_examples=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT)
def test_nothing_the_parser_reads_as_an_ssn_or_a_birth_date_survives_tokenising(
    settings: Settings, text: str
) -> None:
    tokenized = _vault(settings).tokenize(text)
    if "IL " not in text:  # "IL 62704-1234" is a ZIP+4 code, deliberately left as typed
        assert parse_ssn(tokenized) is None, (text, tokenized)
    day = parse_date(tokenized)
    year = date.today().year
    possible_birth_years = range(year - DOB_MAX_AGE_YEARS, year - DOB_MIN_AGE_YEARS + 1)
    assert day is None or day.year not in possible_birth_years, (text, tokenized)


@pytest.mark.parametrize(
    "typed",
    ["123 45 6789", "123-45-6789", "123456789", "my ssn is 123.45.6789", "１２３－４５－６７８９"],
)
def test_every_form_of_one_ssn_is_one_token_restored_as_the_tool_needs_it(
    settings: Settings, typed: str
) -> None:
    vault = _vault(settings)
    first = vault.tokenize("123-45-6789")
    assert first == "[SSN-1]"
    assert vault.tokenize(typed).endswith("[SSN-1]")
    assert parse_ssn(vault.tokenize(typed)) is None
    restored = vault.restore({"ssn": "[SSN-1]"}, update_borrower_profile.pii_fields)
    assert restored == {"ssn": "123-45-6789"}


@pytest.mark.parametrize(
    "typed", ["1990-03-15", "03/15/1990", "March 15, 1990", "1990年3月15日", "15.03.1990"]
)
def test_a_date_of_birth_typed_any_way_is_answered_with_its_token(
    settings: Settings, typed: str
) -> None:
    vault = _vault(settings)
    tokenized = vault.tokenize(typed)
    assert tokenized == "[DOB-1]"
    arguments = answer("date_of_birth", tokenized, ())
    assert arguments == {"date_of_birth": "[DOB-1]"}
    restored = vault.restore(arguments, update_borrower_profile.pii_fields)
    assert restored == {"date_of_birth": "1990-03-15"}


def test_a_token_outside_the_declared_fields_stays_a_token(settings: Settings) -> None:
    vault = _vault(settings)
    vault.tokenize("ssn 123-45-6789, born 1990-03-15, card 4111 1111 1111 1111")
    arguments = {
        "ssn": "[SSN-1]",
        "employer_name": "[SSN-1]",
        "job_title": "card [ACCOUNT-1]",
        "date_of_birth": "[DOB-1]",
    }
    assert vault.restore(arguments, update_borrower_profile.pii_fields) == {
        "ssn": "123-45-6789",
        "employer_name": "[SSN-1]",
        "job_title": "card [ACCOUNT-1]",
        "date_of_birth": "1990-03-15",
    }
    # A tool that declares nothing (the knowledge search) never gets a value back.
    search = registry.get("search_knowledge")
    assert search.pii_fields == frozenset()
    assert vault.restore({"query": "fees for [SSN-1]"}, search.pii_fields) == {
        "query": "fees for [SSN-1]"
    }
    # An unknown token stays as it is.
    assert vault.restore({"ssn": "[SSN-9]"}, {"ssn"}) == {"ssn": "[SSN-9]"}


def test_the_vault_state_is_ciphertext_and_survives_a_round_trip(settings: Settings) -> None:
    vault = _vault(settings)
    vault.tokenize("my ssn is 123 45 6789")
    state = vault.state()
    assert "123" not in str(state)
    again = PiiVault(settings, state)
    assert again.tokenize("123456789") == "[SSN-1]"
    assert again.restore({"ssn": "[SSN-1]"}, {"ssn"}) == {"ssn": "123-45-6789"}


def test_tool_outputs_are_tokenised_as_data(settings: Settings) -> None:
    vault = _vault(settings)
    output = {
        "id": "550e8400-e29b-41d4-a716-446655440000",
        "reference": "OMF-2026-000123",
        "amount": "25000.00",
        "notes": ["holder born 1990-03-15", {"account": "000123456789", "n": 123456789}],
        "ok": True,
    }
    assert vault.tokenize_value(output) == {
        "id": "550e8400-e29b-41d4-a716-446655440000",
        "reference": "OMF-2026-000123",
        "amount": "25000.00",
        "notes": ["holder born [DOB-1]", {"account": "[ACCOUNT-1]", "n": "[SSN-1]"}],
        "ok": True,
    }


def test_redaction_for_events_and_transcripts() -> None:
    assert redact("ssn 123 45 6789 and jane@example.com") == "ssn [redacted] and [redacted]"
    assert redact({"ssn": "[SSN-1]", "n": 123456789, "amount": 25000, "city": "Austin"}) == {
        "ssn": "[redacted]",
        "n": "[redacted]",
        "amount": 25000,
        "city": "Austin",
    }
    assert has_pii("born 1990-03-15")
    assert not has_pii("jane@example.com")  # e-mail addresses are not vault PII


def test_tools_declare_their_pii_fields_and_only_input_fields() -> None:
    declared = {item.name: item.pii_fields for item in LENDING_TOOLS if item.pii_fields}
    assert declared == {
        "update_borrower_profile": frozenset({"ssn", "date_of_birth", "employment_start_date"})
    }

    with pytest.raises(TypeError, match="pii_fields"):

        @tool(scopes=[Scope.KNOWLEDGE_READ], pii_fields=["ssn"])
        async def lookup(call: ToolCall, data: _Query) -> _Answer:
            """Look something up.

            Args:
                query: What to look up.
            """
            return _Answer(ok=True)


# Personal data typed the ways people and brokers type it (red-team corpus): each value found as
# its kind and canonical value and gone from what the vault lets through, while amounts, phones,
# ZIP codes, references and plates stay as typed.
_TYPED = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "pii_phrasings.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line
]


def test_the_typed_personal_data_corpus_is_tokenised_and_nothing_else(settings: Settings) -> None:
    assert sum(bool(row["found"]) for row in _TYPED) >= 50
    assert {(row["lang"], row["voice"]) for row in _TYPED} == {
        ("en", "borrower"),
        ("zh", "borrower"),
        ("en", "broker"),
        ("zh", "broker"),
    }
    vault = PiiVault(settings)
    wrong = []
    for row in _TYPED:
        found = [[s.kind.value, s.value] for s in find_pii(row["text"], today=date(2026, 6, 1))]
        kept = vault.tokenize(row["text"])
        if found != row["found"] or any(clear in kept for clear in row.get("clear", [])):
            wrong.append((row["text"], found, kept))
        if "keep" in row and row["keep"] not in kept:
            wrong.append((row["text"], found, kept))
    assert wrong == []
