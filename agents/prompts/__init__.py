"""The prompt registry: versioned, labelled prompts with A/B experiments, rendered for the agents."""

from agents.prompts.cache import PromptCache
from agents.prompts.errors import PromptNotFound, PromptRenderError
from agents.prompts.schemas import RenderedPrompt
from agents.prompts.service import prompt_cache, prompt_service, seed_default_prompts

__all__ = [
    "PromptCache",
    "PromptNotFound",
    "PromptRenderError",
    "RenderedPrompt",
    "prompt_cache",
    "prompt_service",
    "seed_default_prompts",
]
