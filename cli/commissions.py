"""`omnifin commissions accrue-trail|batch|export`: the commission jobs and payout runs by hand.

`batch` and `export` act as a platform administrator named with `--as` (the maker of a batch
cannot approve it: approval is in the API, the back office or the assistant).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer

from cli.common import actor_by_email, database_url, fail, setup

app = typer.Typer(
    help="Broker commissions: trail accrual, payout batches, exports.", no_args_is_help=True
)


def _month(value: str | None) -> date:
    from lending.commissions.tasks import previous_month

    if value is None:
        return previous_month(datetime.now(UTC).date())
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        fail(f"--month must look like 2026-11, not {value!r}.")


async def _run(work: Any) -> Any:
    """Run `work(session)` in one transaction on the configured database."""
    from lending.db import create_engine, create_sessionmaker, transaction

    settings = setup(json_logs=False)
    engine = create_engine(settings, database_url(settings))
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


@app.command("accrue-trail")
def accrue_trail(
    month: str | None = typer.Option(None, help="YYYY-MM (default: last month)."),
) -> None:
    """Accrue a month's trail on every active funded loan (safe to run again)."""
    from lending.commissions.accrual import accrual_service

    when = _month(month)

    async def work(session: Any) -> Any:
        return await accrual_service.accrue_trail(session, month=when)

    run = asyncio.run(_run(work))
    typer.echo(run.model_dump_json())


@app.command()
def batch(
    as_email: str = typer.Option(..., "--as", help="The platform administrator making it."),
    cutoff: str = typer.Option(..., help="YYYY-MM-DD: entries dated up to this day."),
    minimum: str = typer.Option("50.00", help="Payees owed less wait for a later batch."),
    currency: str = typer.Option("USD"),
) -> None:
    """Draft a payout batch and print it (JSON); another administrator approves it."""
    from lending.commissions.payout_batches import payout_batch_service
    from lending.commissions.schemas import BatchCreate
    from lending.errors import OmnifinError

    try:
        data = BatchCreate(
            cutoff_on=date.fromisoformat(cutoff),
            minimum_amount=Decimal(minimum),
            currency=currency,
        )
    except (ValueError, InvalidOperation) as exc:
        fail(f"Bad option: {exc}".replace("\n", " "))

    async def work(session: Any) -> Any:
        return await payout_batch_service.create_batch(
            session, await actor_by_email(session, as_email), data=data
        )

    try:
        created = asyncio.run(_run(work))
    except OmnifinError as exc:
        fail(str(exc.detail))
    typer.echo(created.model_dump_json(indent=2))


@app.command()
def export(
    batch_id: str = typer.Argument(..., help="The approved batch."),
    as_email: str = typer.Option(..., "--as", help="A platform administrator."),
    out: str = typer.Option(".", help="Folder for the CSV and the PDF statements."),
) -> None:
    """Export an approved batch: the payment CSV and one PDF statement per payee."""
    from lending.commissions.payout_batches import payout_batch_service
    from lending.errors import OmnifinError

    try:
        batch_uuid = uuid.UUID(batch_id)
    except ValueError:
        fail(f"{batch_id!r} is not a batch id.")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)

    async def work(session: Any) -> list[Path]:
        actor = await actor_by_email(session, as_email)
        csv_text = await payout_batch_service.export_csv(session, actor, batch_id=batch_uuid)
        written = [folder / f"payout-{batch_uuid}.csv"]
        written[0].write_text(csv_text)
        read = await payout_batch_service.get_batch(session, actor, batch_id=batch_uuid)
        for payee in read.payees:
            pdf = await payout_batch_service.statement_pdf(
                session, actor, batch_id=batch_uuid, payee_id=payee.payee_id
            )
            path = folder / f"statement-{batch_uuid}-{payee.payee_id}.pdf"
            path.write_bytes(pdf)
            written.append(path)
        return written

    try:
        paths = asyncio.run(_run(work))
    except OmnifinError as exc:
        fail(str(exc.detail))
    for path in paths:
        typer.echo(str(path))
