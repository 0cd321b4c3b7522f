"""Prompt registry errors, in the one hierarchy of lending.errors."""

from __future__ import annotations

from lending.errors import InvalidInput, NotFound


class PromptNotFound(NotFound):
    message = "No such prompt."


class PromptRenderError(InvalidInput):
    """Rendering lacked a value for a variable the version uses; `detail` lists each one."""

    message = "The prompt needs variables that were not given."
