"""`omnifin voice dev|start`: the LiveKit voice worker (issue 18)."""

from __future__ import annotations

import os
import sys
from typing import Literal

import typer

app = typer.Typer(help="The voice worker (LiveKit Agents).", no_args_is_help=True)


@app.command()
def dev() -> None:
    """Run the worker for development (one process, connects to OMNIFIN_LIVEKIT_URL)."""
    _run("dev")


@app.command()
def start() -> None:
    """Run the worker in production mode."""
    _run("start")


def _run(mode: Literal["dev", "start"]) -> None:
    # The worker is its own package beside cli (the layers keep them apart): it runs as
    # `python -m voice`, in place of this process.
    os.execv(sys.executable, [sys.executable, "-m", "voice", mode])
