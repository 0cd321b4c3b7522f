"""Knowledge tests run with the deterministic hashing embedder unless a test says otherwise."""

from __future__ import annotations

import pytest

from lending.config import Settings


@pytest.fixture
def knowledge_settings(settings: Settings) -> Settings:
    """The test settings with the fake embedder (instant, deterministic, honest about it)."""
    return settings.model_copy(update={"knowledge_embedder": "fake"})
