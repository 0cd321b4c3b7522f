"""The target of a reading child (light to import in the worker; the fork server has already
imported `sandbox`, so the child's import of it below costs nothing)."""

from __future__ import annotations

from multiprocessing.connection import Connection
from typing import Any


def serve(connection: Connection, media_type: str, tesseract: str | None, limits: Any) -> None:
    from lending.documents.extraction import sandbox

    sandbox.serve(connection, media_type, tesseract, limits)
