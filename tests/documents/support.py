"""Shared helpers for the extraction tests: analyse a synthetic document, compare values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from evals.synthetic_documents import SyntheticDocument
from lending.documents.extraction import Analysis, analyse


async def analyse_fixture(
    document: SyntheticDocument, *, declared: bool = True, **kwargs: Any
) -> Analysis:
    options: dict[str, Any] = {
        "declared_type": document.document_type if declared else None,
        "applicant": document.applicant,
        "today": document.today,
    } | kwargs
    return await analyse(document.data, document.media_type, **options)


def same_value(actual: object, expected: object) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        return " ".join(actual.lower().split()) == " ".join(expected.lower().split())
    if isinstance(expected, Decimal | date | int):
        return type(actual) is type(expected) and actual == expected
    return actual == expected


def wrong_fields(
    analysis: Analysis, expected: Mapping[str, object]
) -> dict[str, tuple[object, object]]:
    """Fields whose extracted value differs from the printed one: name -> (actual, expected)."""
    wrong: dict[str, tuple[object, object]] = {}
    for name, value in expected.items():
        found = analysis.fields.get(name)
        actual = found.value if found is not None else None
        if not same_value(actual, value):
            wrong[name] = (actual, value)
    return wrong
