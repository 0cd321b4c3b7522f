"""Prompt templates: `{variable}` placeholders, checked when a version is saved, filled at render.

The syntax is the safe subset of `str.format`: a placeholder is `{name}` with a lowercase name
(letters, digits and `_`, starting with a letter), and `{{` / `}}` are literal braces. Attribute
access, indexing, format specs, conversions and positional fields are refused, so a template can
never reach into the objects it is given. `$`-style templates were not chosen because loan prompts
are full of dollar amounts ("$25,000") that would read as placeholders.

Values are inserted once and never parsed again, so a value that contains braces (text a user
typed) stays literal text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VARIABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_IDENTIFIER_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NAME_RULE = "lowercase letters, digits and _, starting with a letter, at most 64 characters"


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal text and placeholders, in order."""

    # Literal text (str) and placeholder names (_Field), in order.
    segments: tuple[str | _Field, ...]
    variables: frozenset[str]

    def missing(self, values: Mapping[str, Any]) -> list[str]:
        """The placeholders `values` gives no value for (None counts as no value), in order."""
        seen: list[str] = []
        for segment in self.segments:
            if isinstance(segment, _Field) and values.get(segment.name) is None:
                if segment.name not in seen:
                    seen.append(segment.name)
        return seen

    def fill(self, values: Mapping[str, Any]) -> str:
        """The text with every placeholder replaced by `str(value)`; call `missing` first."""
        return "".join(
            str(values[segment.name]) if isinstance(segment, _Field) else segment
            for segment in self.segments
        )


@dataclass(frozen=True, slots=True)
class _Field:
    name: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a template, shaped for a field-level 422."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"

    def as_error(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def _field_problem(text: str, index: int, field: str) -> str:
    where = _where(text, index)
    shown = "{" + field + "}"
    if field == "":
        return f"'{{}}' at {where} has no variable name; write {{name}}"
    head = _IDENTIFIER_HEAD.match(field)
    if head is None:
        return (
            f"'{shown}' at {where} is not a placeholder; write '{{{{' and '}}}}' for literal braces"
        )
    rest = field[head.end() :]
    if rest[:1] in (":", "!"):
        return (
            f"'{shown}' at {where} has a format spec or conversion; placeholders are plain "
            f"{{name}}: format the value before rendering"
        )
    if rest[:1] in (".", "["):
        return f"'{shown}' at {where} uses attribute or index access, which is not allowed"
    return f"'{shown}' at {where} is not a valid variable name ({NAME_RULE})"


def parse(text: str) -> tuple[Template, list[Problem]]:
    """Parse `text`; malformed placeholders are reported (loc ["text"]) and left out."""
    segments: list[str | _Field] = []
    problems: list[Problem] = []
    literal: list[str] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char == "{" and text.startswith("{{", index):
            literal.append("{")
            index += 2
        elif char == "{":
            close = text.find("}", index + 1)
            reopen = text.find("{", index + 1)
            if close == -1 or (reopen != -1 and reopen < close):
                problems.append(
                    Problem(
                        ("text",),
                        f"'{{' at {_where(text, index)} is never closed; "
                        "write '{{' for a literal brace",
                    )
                )
                index += 1
                continue
            field = text[index + 1 : close]
            if VARIABLE_NAME.fullmatch(field):
                if literal:
                    segments.append("".join(literal))
                    literal = []
                segments.append(_Field(field))
            else:
                problems.append(Problem(("text",), _field_problem(text, index, field)))
            index = close + 1
        elif char == "}" and text.startswith("}}", index):
            literal.append("}")
            index += 2
        elif char == "}":
            problems.append(
                Problem(
                    ("text",),
                    f"'}}' at {_where(text, index)} has no '{{' before it; "
                    "write '}}' for a literal brace",
                )
            )
            index += 1
        else:
            # Copy the run of ordinary characters in one step.
            stop = min(
                (i for i in (text.find("{", index), text.find("}", index)) if i != -1),
                default=length,
            )
            literal.append(text[index:stop])
            index = stop
    if literal:
        segments.append("".join(literal))
    names = frozenset(s.name for s in segments if isinstance(s, _Field))
    return Template(tuple(segments), names), problems


def check(text: str, declared: Sequence[str]) -> tuple[Template, list[Problem]]:
    """Parse `text` and check it against its declared variables: every placeholder declared,
    every declared variable used, names well formed and declared once."""
    template, problems = parse(text)
    valid: set[str] = set()
    for position, name in enumerate(declared):
        if not VARIABLE_NAME.fullmatch(name):
            problems.append(
                Problem(
                    ("variables", position), f"'{name}' is not a valid variable name ({NAME_RULE})"
                )
            )
        elif name in valid:
            problems.append(Problem(("variables", position), f"'{name}' is declared twice"))
        else:
            valid.add(name)
            if name not in template.variables:
                problems.append(
                    Problem(
                        ("variables", position),
                        f"'{name}' is declared but the text never uses {{{name}}}",
                    )
                )
    used_in_order = [s.name for s in template.segments if isinstance(s, _Field)]
    for name in dict.fromkeys(used_in_order):
        if name not in valid:
            problems.append(
                Problem(
                    ("text",),
                    f"uses {{{name}}}, which is not declared in variables; declare it or write "
                    f"{{{{{name}}}}} for literal braces",
                )
            )
    return template, problems


def compile_checked(text: str, declared: Sequence[str]) -> Template:
    """A template known to be valid (a stored version, a default); raise ValueError otherwise."""
    template, problems = check(text, declared)
    if problems:
        raise ValueError("; ".join(problem.msg for problem in problems))
    return template
