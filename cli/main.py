"""Entry point of the `omnifin` command."""

from __future__ import annotations

import asyncio
import signal
from types import FrameType
from typing import Any

import typer

from cli import (
    audit,
    backup,
    commissions,
    db,
    documents,
    evals,
    knowledge,
    lender_sim,
    loan_math,
    seed,
    users,
    voice,
)
from cli.common import database_url, fail, setup
from lending.config import Settings

app = typer.Typer(
    name="omnifin",
    help="Omnifin: AI-first lending platform. Every command reads OMNIFIN_* settings and .env.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(seed.app, name="seed")
app.add_typer(loan_math.app, name="loan-math")
app.command(name="lender-sim")(lender_sim.lender_sim)
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(backup.app, name="backup")
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(documents.app, name="documents")
app.add_typer(commissions.app, name="commissions")
app.add_typer(evals.app, name="evals")
app.add_typer(voice.app, name="voice")

# uvloop's event loop and httptools' parser: a chat turn cost a quarter less server CPU than on
# asyncio + h11, side by side (docs/DECISIONS.md, "Turn cost").
SERVE_LOOP = "uvloop"
SERVE_HTTP = "httptools"


def _banner(host: str, port: int, environment: str) -> str:
    """What a person at the terminal needs: where to point the browser, and the other doors."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    lines = [
        f"Omnifin is serving on http://{host}:{port} (Ctrl+C stops it)",
        f"  Open {base}/ in a browser: the web app (demo logins: `omnifin seed demo` prints them)",
        f"  Back office: {base}/admin/   API docs: {base}/docs",
    ]
    if environment == "development":
        lines.append(
            f"  Development mailbox (reset and verification links): {base}/api/v1/dev/mailbox"
        )
    return "\n".join(lines)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (default: OMNIFIN_HOST)."),
    port: int | None = typer.Option(None, help="Port to bind (default: OMNIFIN_PORT)."),
    worker: bool = typer.Option(
        True, "--worker/--no-worker", help="Also run a background-job worker in this process."
    ),
    loop: str = typer.Option(SERVE_LOOP, help="uvicorn event loop: uvloop, asyncio or auto."),
    http: str = typer.Option(SERVE_HTTP, help="uvicorn HTTP parser: httptools, h11 or auto."),
) -> None:
    """Serve the API, back office and web app; runs a job worker in-process unless --no-worker."""
    import uvicorn

    from api.app import create_app
    from lending import migrations

    settings = setup()
    url = database_url(settings)
    current, head = migrations.current_revision(url), migrations.head_revision()
    if current != head:
        fail(
            f"The database is at migration {current or 'none'} but this code needs {head}: "
            "run `omnifin db upgrade` first."
        )
    app_ = create_app(settings, run_worker=worker, freeze_heap=True)
    bind_host, bind_port = host or settings.host, port or settings.port
    typer.echo(_banner(bind_host, bind_port, settings.environment), err=True)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
    # that was installed before it; make that handler a normal exit so that exit hooks run
    # (the embedded PostgreSQL is stopped by one of them) and the exit status is 0.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _exit_normally)
    uvicorn.run(
        app_,
        host=bind_host,
        port=bind_port,
        log_config=None,
        **proxy_options(settings),
        server_header=False,
        loop=loop,
        http=http,
    )


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy options: the client address comes from `X-Forwarded-For`/`-Proto` only
    when OMNIFIN_TRUST_PROXY_HEADERS is set, and then only from the proxies listed in
    OMNIFIN_FORWARDED_ALLOW_IPS. Otherwise the peer's address is the client's: per-address
    limits (sign-in, webhooks) cannot be dodged by writing a header."""
    if not settings.trust_proxy_headers:
        return {"proxy_headers": False, "forwarded_allow_ips": "127.0.0.1"}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}


@app.command()
def worker(
    concurrency: int | None = typer.Option(
        None, help="Jobs run at once (OMNIFIN_WORKER_CONCURRENCY)."
    ),
) -> None:
    """Run a background-job worker (deployments run these apart from `serve --no-worker`)."""
    from api.worker import run_job_worker
    from lending.jobs import open_queue

    settings = setup()
    url = database_url(settings)

    async def run() -> None:
        async with open_queue(url, settings=settings) as queue:
            await run_job_worker(queue, concurrency=concurrency or settings.worker_concurrency)

    asyncio.run(run())


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    app()
