"""The assistant's fixtures (a scripted model behind the real app), reused for tracing tests."""

from tests.agents.conftest import with_model as with_model
