"""A server process for the agent benchmark: the real app, with the scripted zero-latency model
(one tool call, then a 40-token streamed answer) in place of a provider. Not for anything else.

Run by benchmarks/bench_agent_turn.py as `python -m benchmarks.agent_server PORT`, with
OMNIFIN_DATABASE_URL pointing at the benchmark's own database.
"""

from __future__ import annotations

import gc
import sys
from decimal import Decimal

import uvicorn
from langchain_core.messages import AIMessage

from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.scripted import ScriptedChatModel
from api.app import create_app
from lending.config import get_settings
from lending.logs import configure_logging

ANSWER = " ".join(f"word{i}" for i in range(40))


def provider() -> ModelProvider:
    model = ScriptedChatModel(
        script=[
            AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": "compute_payment",
                        "args": {"amount": "25000.00", "annual_rate": "7.5", "term_months": 60},
                        "id": "call_bench",
                    }
                ],
            ),
            AIMessage(content=ANSWER),
        ]
    )
    return ModelProvider(
        models=[model],
        pricing=ModelPricing(Decimal("0"), Decimal("0")),
        breaker=ModelBreaker(failures=10**9),
    )


def main() -> None:
    settings = get_settings()
    configure_logging(level="WARNING", json=True, redacted_fields=settings.log_redacted_fields)
    app = create_app(settings, chat_model=provider(), freeze_heap=True)
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)


if __name__ == "__main__":
    main()
