"""Text from people we do not trust, made safe to show a model: no fence-marker look-alikes, no
invisible characters. `agents.core.fencing` wraps such text in labelled data blocks; the tools use
this to clean the text they return (file names, document values, knowledge passages) so that
nothing in a result can pretend to close the block it is read in.
"""

from __future__ import annotations

import re
from typing import Any

# Angle-bracket look-alikes (ASCII, full-width, guillemets, CJK, math): two or more in a row,
# spaces allowed between them, read like a fence marker ("<<<", "＜＜＜", "« «"), so a run
# becomes a single plain bracket.
_LEFT = "<＜‹«〈《⟨≪⋘﹤〈❮❰"
_RIGHT = ">＞›»〉》⟩≫⋙﹥〉❯❱"
_LEFT_RUN = re.compile(f"[{_LEFT}](?:\\s*[{_LEFT}])+")
_RIGHT_RUN = re.compile(f"[{_RIGHT}](?:\\s*[{_RIGHT}])+")
# Control and invisible characters can hide text from a reviewer (zero-width, bidi overrides) or
# fake a line break (a bare carriage return); tab and newline are kept, a CR becomes a newline.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def neutralise(text: str) -> str:
    """`text` with fence-marker look-alikes and invisible characters made harmless."""
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _RIGHT_RUN.sub(">", _LEFT_RUN.sub("<", text))


def neutralise_optional(text: str | None) -> str | None:
    return None if text is None else neutralise(text)


def neutralise_value(value: Any) -> Any:
    """Every string inside `value` (strings, lists, tuples, dict keys and values) neutralised."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, list | tuple):
        return type(value)(neutralise_value(item) for item in value)
    if isinstance(value, dict):
        return {neutralise_value(key): neutralise_value(item) for key, item in value.items()}
    return value
