"""Form values into a service's request model: blank fields are left out, and a validation
error becomes the service's own kind of refusal (an InvalidInput listing the fields)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lending.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], values: Mapping[str, Any]) -> M:
    """`model` from the fields that were filled in (an empty text field means "not given")."""
    given = {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
    try:
        return model.model_validate(given)
    except ValidationError as error:
        raise InvalidInput(
            [
                {"loc": list(detail["loc"]), "msg": detail["msg"], "type": detail["type"]}
                for detail in error.errors(include_url=False, include_context=False)
            ]
        ) from None


def json_object(text: str, name: str) -> dict[str, Any]:
    """A JSON object typed into a text area (product terms), or a clear refusal."""
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as error:
        message = f"The {name} are not valid JSON: {error.msg} (line {error.lineno})."
        raise InvalidInput(message) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"The {name} must be a JSON object.")
    return value


def optional_day(value: str | None, name: str) -> date | None:
    """A day from a date field in a GET form: empty means not given (the browser sends "")."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput([{"loc": [name], "msg": "is not a date (YYYY-MM-DD)"}]) from None
