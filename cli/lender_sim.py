"""`omnifin lender-sim`: serve the lender simulator (for tests, demos and `make run`)."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

import typer

from cli.common import fail


def lender_sim(
    host: str | None = typer.Option(
        None, help="Interface to bind (default: OMNIFIN_LENDER_SIM_HOST, else 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, min=1, max=65535, help="Port to bind (default: OMNIFIN_LENDER_SIM_PORT, else 8100)."
    ),
    latency_ms: int | None = typer.Option(
        None, min=0, help="Delay before every lender API answer, in milliseconds."
    ),
    failure_rate: float | None = typer.Option(
        None, min=0.0, max=1.0, help="Share of lender API requests answered 503 at random."
    ),
    seed: int | None = typer.Option(
        None, help="Seed for failures and ids, so that a run repeats exactly."
    ),
) -> None:
    """Serve simulated lenders under /lenders/{code}/...; more settings: OMNIFIN_LENDER_SIM_*."""
    import uvicorn
    from pydantic import ValidationError

    from lending.logs import configure_logging
    from simulators.lender.app import create_simulator_app
    from simulators.lender.config import SimulatorConfig

    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "latency_ms": latency_ms,
        "failure_rate": failure_rate,
        "seed": seed,
    }
    try:
        config = SimulatorConfig(
            **{name: value for name, value in given.items() if value is not None}
        )
    except ValidationError as exc:
        fail(f"Lender simulator settings are not valid: {exc}".replace("\n", " "))
    configure_logging(level="INFO")
    typer.echo(
        f"Lender simulator serving http://{config.host}:{config.port}/lenders/<code>/ "
        "(Ctrl+C stops it)",
        err=True,
    )
    # uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown: make that a normal exit.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _exit_normally)
    uvicorn.run(
        create_simulator_app(config),
        host=config.host,
        port=config.port,
        log_config=None,
        server_header=False,
    )


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
