"""`omnifin evals run|bless|compare|gate|capture`: run scenario suites, keep baselines, gate
changes, turn a stored conversation into a scenario."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import database_url, fail, is_tty, setup

_REPORTS = Path("var/evals")

app = typer.Typer(help="Evals: scenario suites, baselines and the CI gate.", no_args_is_help=True)


@app.command()
def run(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Scenario files or folders (default: all).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only scenarios with this tag or suite.")
    ] = None,
    trials: int = typer.Option(1, min=1, help="Trials per scenario (pass@k, pass^k, flaky)."),
    model: str = typer.Option(
        "offline",
        help="offline (guided + scripted), guided, scripted, or an OpenAI-compatible model name "
        "(OMNIFIN_LLM_BASE_URL / _API_KEY).",
    ),
    prompt_label: str = typer.Option("production", help="Prompt registry label to run."),
    concurrency: int = typer.Option(2, min=1, help="Scenarios at once."),
    judge_model: str | None = typer.Option(None, help="A model judge (default: deterministic)."),
    user_model: str | None = typer.Option(None, help="Model playing simulated users."),
    label: str | None = typer.Option(None, help="A name for this run."),
    report_dir: Annotated[Path, typer.Option(help="Where report.{json,md,html} go.")] = _REPORTS,
) -> None:
    """Run scenarios through the assistant's turn runner; save the run; print its summary.
    Exits 1 when any scenario failed."""
    from evals.schema import ScenarioFileError, load
    from evals.service import Options
    from evals.service import run as run_evals

    settings = setup(json_logs=False)
    url = database_url(settings)
    try:
        scenarios = load(paths or None, tags=tag or None)
    except ScenarioFileError as exc:
        fail(str(exc), code=2)
    if not scenarios:
        fail("No scenario matches.", code=2)
    options = Options(
        model=model,
        trials=trials,
        concurrency=concurrency,
        prompt_label=prompt_label,
        label=label,
        judge_model=judge_model,
        user_model=user_model,
        report_dir=report_dir,
    )
    from rich.progress import Progress

    with Progress(transient=True, disable=not is_tty()) as bar:
        task = bar.add_task("scenarios", total=None)

        def advance(result: Any) -> None:
            bar.advance(task)

        outcome = asyncio.run(run_evals(settings, url, scenarios, options, progress=advance))
    summary = outcome.summary
    typer.echo(
        f"run {outcome.run_id}: pass@k {summary['pass_at_k']:.0%}, pass^k "
        f"{summary['pass_all_k']:.0%} over {summary['scenarios']} scenario runs "
        f"({summary['trials']} trials) in {summary['seconds']} s"
    )
    for case in summary["cases"]:
        if not case["pass_all_k"]:
            typer.echo(
                f"  FAIL {case['scenario_id']}[{case['mode']}] {case['passes']}/{case['trials']}"
            )
            for failure in case["failures"][:5]:
                typer.echo(f"       {failure}")
    if summary["flaky"]:
        typer.echo(f"flaky: {', '.join(summary['flaky'])}")
    for path in outcome.reports:
        typer.echo(f"report: {path}", err=True)
    if summary["failed"]:
        raise typer.Exit(1)


@app.command()
def bless(
    run_id: str = typer.Argument(..., help="A run id (or unique prefix), or 'latest'."),
    export: Annotated[
        Path | None,
        typer.Option(help="Also write the run's outcomes to this file (a baseline for CI)."),
    ] = None,
) -> None:
    """Mark a run as the baseline that `compare` and `gate` measure against."""
    from evals import store

    async def act(session: Any) -> tuple[str, dict[str, Any]]:
        found = await store.bless(session, run_id)
        return str(found.id), await store.outcomes(session, found)

    blessed, cases = _with_session(act)
    if export is not None:
        export.write_text(json.dumps(cases, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    typer.echo(f"Blessed run {blessed} as the baseline.")


@app.command()
def compare(
    before: str = typer.Argument(..., help="Run id, 'baseline', 'latest', or a baseline file."),
    after: str = typer.Argument("latest", help="Run id, 'baseline', 'latest', or a file."),
) -> None:
    """Per-scenario changes between two runs (fixed, broken, new, gone, edited)."""
    from evals import store

    comparison = store.compare(_outcomes(before), _outcomes(after))
    for change in comparison.changes:
        if change["change"] != "same" or change["edited"]:
            edited = " (scenario edited)" if change["edited"] else ""
            typer.echo(
                f"{change['change']:>13}  {change['case']}  {change['before']} -> {change['after']}{edited}"
            )
    for suite, rates in comparison.suites.items():
        typer.echo(f"suite {suite}: {_rate(rates['before'])} -> {_rate(rates['after'])}")


@app.command()
def gate(
    run_id: str = typer.Option("latest", "--run", help="The run to judge."),
    baseline: str = typer.Option("baseline", help="'baseline' (blessed), a run id, or a file."),
    max_drop: float = typer.Option(0.05, help="Largest allowed fall of a suite's pass rate."),
) -> None:
    """Exit 1 when a critical scenario that passed in the baseline fails now, or a suite's pass
    rate fell by more than --max-drop."""
    from evals import store

    reasons = store.gate(
        store.compare(_outcomes(baseline), _outcomes(run_id)), max_drop=Decimal(str(max_drop))
    )
    for reason in reasons:
        typer.echo(reason, err=True)
    if reasons:
        raise typer.Exit(1)
    typer.echo("gate: passed")


@app.command()
def capture(
    thread_id: str = typer.Argument(..., help="The conversation (chat thread id)."),
    as_email: str = typer.Option(
        ..., "--as", help="The prompt engineer or administrator reading it (audited)."
    ),
    out: Annotated[
        Path | None, typer.Option(help="Write the scenario here (default: print it).")
    ] = None,
    scenario_id: str | None = typer.Option(None, "--id", help="The scenario's id."),
) -> None:
    """Turn a stored conversation (redacted) into a scenario file to edit."""
    import uuid

    from cli.common import actor_by_email
    from evals.capture import capture as capture_thread

    try:
        thread = uuid.UUID(thread_id)
    except ValueError:
        fail(f"Not a conversation id: {thread_id!r}.", code=2)
    if out is not None and out.exists():
        fail(f"{out} exists; choose another file.", code=2)

    async def act(session: Any) -> Any:
        return await capture_thread(
            session, await actor_by_email(session, as_email), thread, scenario_id=scenario_id
        )

    captured = _with_session(act)
    if out is None:
        typer.echo(captured.text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(captured.text, encoding="utf-8")
    typer.echo(f"Wrote {out} ({captured.turns} turns, id {captured.scenario_id}).")


def _rate(value: float) -> str:
    return "-" if value != value else f"{value:.0%}"  # NaN: the suite was not in that run


def _outcomes(which: str) -> dict[str, dict[str, Any]]:
    path = Path(which)
    if path.suffix == ".json" and path.exists():
        loaded: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    from evals import store

    async def act(session: Any) -> dict[str, dict[str, Any]]:
        return await store.outcomes(session, await store.get_run(session, which))

    found: dict[str, dict[str, Any]] = _with_session(act)
    return found


def _with_session(act: Any) -> Any:
    from lending.db import create_engine, create_sessionmaker, transaction
    from lending.errors import OmnifinError

    settings = setup(json_logs=False)
    url = database_url(settings)

    async def go() -> Any:
        engine = create_engine(settings, url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                return await act(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except OmnifinError as exc:
        fail(str(exc.detail), code=2)
