"""The language model factory and the breaker that hands turns to guided mode during an outage.

Any OpenAI-compatible server works (OpenAI, Azure, vLLM, Ollama, ...): the settings give the model
name, base URL and key. With no model configured the assistant runs in guided mode, which is what
a fresh machine and CI run. Provider SDKs are imported only when a model is configured, so a
guided-mode process never pays for them at start-up or in its heap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from lending.config import Settings

_THOUSAND = Decimal(1000)
_COST_PLACES = Decimal("0.000001")


@dataclass
class ModelBreaker:
    """Closed: use the model. After `failures` consecutive failures it opens and turns go to
    guided mode; after `cooldown_seconds` one turn may try the model again (half-open), and its
    success closes the breaker."""

    failures: int = 3
    cooldown_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _consecutive: int = 0
    _opened_at: float | None = field(default=None)

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.cooldown_seconds:
            return "half_open"
        return "open"

    def allows_call(self) -> bool:
        return self.state != "open"

    def record_success(self) -> None:
        self._consecutive = 0
        self._opened_at = None

    def record_failure(self) -> None:
        self._consecutive += 1
        if self._consecutive >= self.failures or self.state == "half_open":
            self._opened_at = self.clock()


@dataclass(frozen=True)
class ModelPricing:
    input_per_1k: Decimal = Decimal("0")
    output_per_1k: Decimal = Decimal("0")

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        total = (
            Decimal(input_tokens) * self.input_per_1k + Decimal(output_tokens) * self.output_per_1k
        ) / _THOUSAND
        return total.quantize(_COST_PLACES)


@dataclass
class ModelProvider:
    """What a graph needs to call a model: bind tools to the primary and its fallbacks."""

    models: Sequence[BaseChatModel]
    pricing: ModelPricing
    breaker: ModelBreaker

    def bind(self, tools: Sequence[Any]) -> Runnable[Any, Any]:
        """The primary model with `tools` bound, falling back to each fallback model in turn."""
        bound = [model.bind_tools(tools) if tools else model for model in self.models]
        primary, *fallbacks = bound
        return primary.with_fallbacks(fallbacks) if fallbacks else primary


def build_model_provider(settings: Settings) -> ModelProvider | None:
    """The configured model chain, or None for guided mode."""
    if not settings.llm_model:
        return None
    from langchain_openai import ChatOpenAI

    def make(name: str) -> BaseChatModel:
        return ChatOpenAI(
            model_name=name,
            openai_api_base=settings.llm_base_url,
            openai_api_key=settings.llm_api_key,
            request_timeout=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
            stream_usage=True,
        )

    return ModelProvider(
        models=[make(settings.llm_model), *(make(name) for name in settings.llm_fallback_models)],
        pricing=ModelPricing(settings.llm_input_cost_per_1k, settings.llm_output_cost_per_1k),
        breaker=ModelBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_seconds),
    )
