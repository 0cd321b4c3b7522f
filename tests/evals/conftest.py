"""The eval tests reuse the assistant's fixture that opens the app with a scripted model."""

from tests.agents.conftest import with_model

__all__ = ["with_model"]
