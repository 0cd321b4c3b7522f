"""Unexpected errors reported to Sentry, or any service that speaks its protocol, when
`OMNIFIN_SENTRY_DSN` is set; off (nothing imported, nothing sent) otherwise.

Nothing personal leaves the process. The SDK's own collection is off: no users or IP
addresses, cookies, request bodies, query strings, local variables or SQL parameters. Then
every event and breadcrumb goes through the log scrubber (lending.logs.PiiScrubber: the
redacted field names dropped; SSNs, dates of birth, card and account numbers and e-mail
addresses masked in any text, exception messages included); a request keeps its method, path
and a few harmless headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from lending.config import Settings
from lending.logs import PiiScrubber

if TYPE_CHECKING:
    from sentry_sdk._types import Event

# Request headers an event may keep: none of them can carry a person's data or a credential.
_KEPT_HEADERS = frozenset(
    {"user-agent", "content-type", "content-length", "accept", "x-request-id", "host"}
)
_enabled = False


def configure_error_reporting(settings: Settings, *, service_name: str) -> bool:
    """Start reporting when a DSN is configured (once per process); True when on."""
    global _enabled
    dsn = settings.sentry_dsn.get_secret_value().strip() if settings.sentry_dsn else ""
    if not dsn:  # unset, or set empty (docker-compose's default)
        return False
    if _enabled:
        return True
    import sentry_sdk

    scrubber = PiiScrubber(settings.log_redacted_fields)
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.environment,
        server_name=service_name,
        # What the integrations may collect: no user, cookies, bodies, query strings, frame
        # variables, SQL parameters or model inputs; headers only from an allow-list.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": sorted(_KEPT_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "stack_frame_variables": False,
            "database_query_data": False,
            "gen_ai": {"inputs": False, "outputs": False},
        },
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=None,  # errors only: traces go to OpenTelemetry (lending.tracing)
        before_send=lambda event, hint: scrub_event(event, scrubber),
        before_breadcrumb=lambda crumb, hint: scrubber.scrub(crumb),
    )
    _enabled = True
    return True


def flush(timeout: float = 2.0) -> None:
    """Send what is queued (a process's end, tests)."""
    if _enabled:
        import sentry_sdk

        sentry_sdk.flush(timeout=timeout)


def shutdown() -> None:
    """Stop reporting (tests)."""
    global _enabled
    if _enabled:
        import sentry_sdk

        sentry_sdk.get_client().close(timeout=2.0)
        sentry_sdk.get_global_scope().set_client(None)  # the SDK's inactive client
        _enabled = False


def scrub_event(event: Event, scrubber: PiiScrubber) -> Event:
    """The event as it may leave: request cut to method, path and harmless headers, no user,
    then every value through the PII scrubber."""
    data = cast(dict[str, Any], event)
    request = data.get("request")
    if isinstance(request, dict):
        headers = request.get("headers")
        data["request"] = {
            "method": request.get("method"),
            "url": str(request.get("url") or "").split("?", 1)[0],
            "headers": {
                name: value
                for name, value in (headers.items() if isinstance(headers, dict) else ())
                if name.lower() in _KEPT_HEADERS
            },
        }
    data.pop("user", None)
    return cast(
        "Event",
        {
            key: value if key in _STRUCTURAL else scrubber.scrub(value)
            for key, value in data.items()
        },
    )


# The SDK's own bookkeeping, kept as it is (an id masked by accident would make the event
# invalid); everything else may hold text from a person.
_STRUCTURAL = frozenset(
    {
        "event_id",
        "timestamp",
        "start_timestamp",
        "platform",
        "level",
        "sdk",
        "release",
        "environment",
        "server_name",
        "modules",
        "type",
    }
)
