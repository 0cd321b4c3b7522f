"""Template syntax: what a prompt engineer is told when a placeholder is wrong, and how values fill."""

from __future__ import annotations

import pytest

from agents.prompts import template
from agents.prompts.defaults import DEFAULT_PROMPTS, DefaultPrompt


def _messages(text: str, declared: list[str]) -> list[tuple[list[str | int], str]]:
    _, problems = template.check(text, declared)
    return [(list(problem.loc), problem.msg) for problem in problems]


def test_a_valid_template_fills_every_placeholder_and_keeps_literal_braces() -> None:
    compiled = template.compile_checked(
        'Hi {name}! JSON looks like {{"a": 1}}; {name} again.', ["name"]
    )

    assert compiled.variables == {"name"}
    assert compiled.fill({"name": "Ana"}) == 'Hi Ana! JSON looks like {"a": 1}; Ana again.'


def test_a_value_with_braces_stays_literal_text() -> None:
    compiled = template.compile_checked("Said: {message}", ["message"])

    assert compiled.fill({"message": "{assistant_name} ignore {{rules}}"}) == (
        "Said: {assistant_name} ignore {{rules}}"
    )


def test_missing_lists_absent_and_none_values_once_each_in_order() -> None:
    compiled = template.compile_checked("{b} {a} {b} {c}", ["a", "b", "c"])

    assert compiled.missing({"a": "x", "c": None}) == ["b", "c"]
    assert compiled.missing({"a": 0, "b": "", "c": False}) == []


def test_an_undeclared_placeholder_is_named_on_the_text_field() -> None:
    assert _messages("Hello {user_name} from {city}", ["user_name"]) == [
        (
            ["text"],
            "uses {city}, which is not declared in variables; declare it or write {{city}} for "
            "literal braces",
        )
    ]


def test_a_declared_variable_the_text_never_uses_is_named_on_its_position() -> None:
    assert _messages("Hello {user_name}", ["user_name", "today"]) == [
        (["variables", 1], "'today' is declared but the text never uses {today}")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Hello {user_name",
            "'{' at line 1, column 7 is never closed; write '{{' for a literal brace",
        ),
        (
            "Line one\nthen } here",
            "'}' at line 2, column 6 has no '{' before it; write '}}' for a literal brace",
        ),
        (
            "Pay {amount:>10}",
            "'{amount:>10}' at line 1, column 5 has a format spec or conversion; placeholders "
            "are plain {name}: format the value before rendering",
        ),
        (
            "Hi {name!r}",
            "'{name!r}' at line 1, column 4 has a format spec or conversion; "
            "placeholders are plain {name}: format the value before rendering",
        ),
        (
            "Hi {user.__class__}",
            "'{user.__class__}' at line 1, column 4 uses attribute or index access, which is not "
            "allowed",
        ),
        (
            "Hi {items[0]}",
            "'{items[0]}' at line 1, column 4 uses attribute or index access, which is not allowed",
        ),
        ("Hi {}", "'{}' at line 1, column 4 has no variable name; write {name}"),
        (
            "Hi {User Name}",
            "'{User Name}' at line 1, column 4 is not a valid variable name (lowercase letters, "
            "digits and _, starting with a letter, at most 64 characters)",
        ),
        (
            'Reply as {"ok": true}',
            "'{\"ok\": true}' at line 1, column 10 is not a placeholder; write '{{' and '}}' "
            "for literal braces",
        ),
    ],
)
def test_malformed_placeholders_are_refused_with_where_and_why(text: str, message: str) -> None:
    assert _messages(text, []) == [(["text"], message)]


def test_bad_or_repeated_declared_names_are_refused() -> None:
    assert _messages("{a}", ["a", "a", "Bad-Name"]) == [
        (["variables", 1], "'a' is declared twice"),
        (
            ["variables", 2],
            "'Bad-Name' is not a valid variable name (lowercase letters, digits and _, starting "
            "with a letter, at most 64 characters)",
        ),
    ]


def test_every_problem_is_reported_at_once() -> None:
    problems = _messages("{a} {b} {c", ["a", "unused"])

    assert [loc for loc, _ in problems] == [["text"], ["variables", 1], ["text"]]


def test_compile_checked_refuses_an_invalid_template() -> None:
    with pytest.raises(ValueError, match="never closed"):
        template.compile_checked("{oops", [])


@pytest.mark.parametrize("default", DEFAULT_PROMPTS, ids=lambda d: d.name)
def test_every_default_prompt_is_a_valid_template(default: DefaultPrompt) -> None:
    compiled = template.compile_checked(default.text, default.variables)

    assert compiled.variables == set(default.variables)


def test_defaults_cover_both_assistants_and_every_category() -> None:
    names = {default.name for default in DEFAULT_PROMPTS}

    for assistant in ("borrower", "broker"):
        for category in (
            "system",
            "greeting",
            "information_gathering",
            "document_collection",
            "loan_matching",
            "closing",
        ):
            assert f"{assistant}.{category}" in names
    system = next(d for d in DEFAULT_PROMPTS if d.name == "borrower.system")
    assert set(system.variables) == {"assistant_name", "today", "mode"}
    for must in ("APR", "anti-steering", "consent", "never instructions"):
        assert must.lower() in system.text.lower()
