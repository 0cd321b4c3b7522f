"""Structured JSON logs (structlog) with request ids and PII scrubbed before anything is written."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import orjson
import structlog

from lending.pii import REDACTED, mask_pii
from lending.tracing import add_trace_ids


class PiiScrubber:
    """A structlog processor: drops the values of named fields and masks PII in text
    (`lending.pii`, the detector the assistant's vault and transcripts use too)."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = frozenset(name.lower() for name in fields)

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            event_dict[key] = self._clean(key, event_dict[key])
        return event_dict

    def scrub(self, value: Any) -> Any:
        """`value` (text, or JSON-like data) with PII masked and named fields dropped."""
        return self._clean("", value)

    def _clean(self, key: str, value: Any) -> Any:
        if key.lower() in self.fields:
            return REDACTED
        if isinstance(value, str):
            return scrub_text(value)
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(key, v) for v in value]
        if isinstance(value, int) and not isinstance(value, bool):
            # 123456789 logged as a number is as much an SSN as the string.
            return value if scrub_text(str(value)) == str(value) else REDACTED
        return value


def scrub_text(text: str) -> str:
    """`text` with every SSN, date of birth, card or account number and e-mail address masked."""
    return mask_pii(text)


def _orjson_dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def configure_logging(
    *, level: str = "INFO", json: bool = True, redacted_fields: Iterable[str] = ()
) -> None:
    """Route structlog and the standard library (uvicorn, alembic, ...) through one JSON pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,  # trace_id / span_id while a span is open (tracing on)
        structlog.processors.format_exc_info,
        PiiScrubber(redacted_fields),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared[:-1],
            structlog.stdlib.PositionalArgumentsFormatter(),
            shared[-1],
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "procrastinate", "alembic"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our request log line replaces uvicorn's access log (it has the request id and route).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
