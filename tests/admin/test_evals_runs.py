"""Starting and blessing eval runs from the back office: a prompt engineer asks for a run (a CSRF
form, audited), a real worker runs it through the same evals service as the CLI, the page
follows its progress to the run's report, and the run is blessed as the baseline. Administrators
read but neither start nor bless; bad input changes nothing."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import evals.tasks  # noqa: F401 - registers the job's task, as the worker does
from api.app import create_app
from api.worker import TASK_MODULES
from evals.runs import RUN_TASK
from evals.tasks import execute
from lending.config import Settings, get_settings
from lending.db import SessionMaker, create_sessionmaker, transaction
from lending.jobs import open_queue
from lending.jobs.recovery import settle
from lending.jobs.runtime import dispose_job_engines
from lending.kv import MemoryStore
from lending.models.audit import AuditEvent
from lending.models.evals import EvalRequest, EvalRequestStatus, EvalRun
from lending.models.identity import Role, User
from tests.admin.conftest import browser, create_staff, csrf_of, sign_in, signed_in


def test_the_worker_knows_the_eval_job() -> None:
    assert "evals.tasks" in TASK_MODULES


async def test_a_prompt_engineer_starts_a_run_the_worker_runs_it_and_it_is_blessed(
    engine: AsyncEngine,
    database_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        engineer, totp = await create_staff(session, settings, Role.PROMPT_ENGINEER)
    app = create_app(settings, sessionmaker=sessionmaker, store=MemoryStore())
    request_id: uuid.UUID | None = None
    try:
        async with app.router.lifespan_context(app):
            async with browser(httpx.ASGITransport(app=app)) as http:
                assert (await sign_in(http, engineer, totp)).status_code == 303
                page = await http.get("/admin/evals")
                assert page.status_code == 200
                assert 'action="/admin/evals/requests"' in page.text
                csrf = csrf_of(page.text)

                started = await http.post(
                    "/admin/evals/requests",
                    data={
                        "csrf_token": csrf,
                        "paths": ["voice", "commissions"],
                        "tags": "commissions",
                        "trials": "1",
                        "model": "offline",
                        "prompt_label": "production",
                        "label": "from the back office",
                    },
                )
                # Answered at once: the run is the worker's, not the request's.
                assert started.status_code == 303, started.text
                found = re.fullmatch(
                    r"/admin/evals/requests/([0-9a-f-]+)", started.headers["location"]
                )
                assert found is not None
                request_id = uuid.UUID(found.group(1))
                waiting = await http.get(started.headers["location"])
                assert "Status: <strong>queued</strong>. 0 of 5 scenario runs done" in waiting.text
                assert 'hx-trigger="every 2s"' in waiting.text  # the page follows the run

                # The worker's process settings, as a deployed worker reads them.
                for name, value in {
                    "OMNIFIN_ENVIRONMENT": "test",
                    "OMNIFIN_DATABASE_URL": database_url,
                    "OMNIFIN_STATE_DIR": str(settings.state_dir),
                }.items():
                    monkeypatch.setenv(name, value)
                get_settings.cache_clear()
                async with open_queue(database_url) as queue_app:
                    await queue_app.run_worker_async(
                        queues=["evals"], wait=False, install_signal_handlers=False
                    )

                # Only the progress block, as htmx asks for it while the run goes on.
                progress = await http.get(
                    f"/admin/evals/requests/{request_id}",
                    headers={"HX-Request": "true", "HX-Target": "progress"},
                )
                assert progress.text.lstrip().startswith('<section id="progress"')
                assert (
                    "Status: <strong>finished</strong>. 5 of 5 scenario runs done." in progress.text
                )
                assert "every 2s" not in progress.text  # finished: no more polling
                async with sessionmaker() as session:
                    asked = await session.get(EvalRequest, request_id)
                    assert asked is not None
                    assert asked.status is EvalRequestStatus.FINISHED
                    assert (asked.done, asked.failed, asked.total) == (5, 0, 5)
                    assert asked.run_id is not None
                    run_id = asked.run_id
                    job = await session.scalar(
                        text(
                            "SELECT status::text FROM procrastinate_jobs "
                            "WHERE task_name = :task AND args->>'request_id' = :id"
                        ),
                        {"task": RUN_TASK, "id": str(request_id)},
                    )
                    assert job == "succeeded"
                assert f'href="/admin/evals/{run_id}"' in progress.text

                report = await http.get(f"/admin/evals/{run_id}")
                assert report.status_code == 200
                # The ledger scenarios, typed, spoken and scripted, all passed in the worker.
                for case in [
                    "broker-why-this-commission[guided]",
                    "broker-earned-this-month[guided]",
                    "broker-commission-chinese[guided]",
                    "voice-broker-commission[guided:voice]",
                    "scripted-broker-cannot-pay-out[scripted]",
                ]:
                    assert f"<td>{case}" in report.text
                assert "Passed every trial</th><td>100 %" in report.text
                assert "from the back office" in report.text

                no_token = await http.post(f"/admin/evals/{run_id}/bless")
                assert no_token.status_code == 403
                blessed = await http.post(f"/admin/evals/{run_id}/bless", data={"csrf_token": csrf})
                assert blessed.status_code == 303
                after = await http.get(blessed.headers["location"])
                assert "This run is now the baseline" in after.text
                assert "<td>this run</td>" in after.text
                assert "Bless this run" not in after.text
        async with sessionmaker() as session:
            run = await session.get(EvalRun, run_id)
            assert run is not None
            assert run.blessed_at is not None
            actions = (
                await session.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.actor_user_id == engineer.id)
                    .order_by(AuditEvent.id)
                )
            ).all()
            assert [a for a in actions if a.startswith("evals.")] == [
                "evals.run_requested",
                "evals.run_blessed",
            ]
    finally:
        await dispose_job_engines()
        get_settings.cache_clear()
        async with engine.begin() as connection:
            if request_id is not None:
                await connection.execute(
                    text("DELETE FROM procrastinate_jobs WHERE args->>'request_id' = :id"),
                    {"id": str(request_id)},
                )
                run_ids = select(EvalRequest.run_id).where(EvalRequest.id == request_id)
                ran = (await connection.execute(run_ids)).scalar()
                await connection.execute(delete(EvalRequest).where(EvalRequest.id == request_id))
                if ran is not None:
                    await connection.execute(delete(EvalRun).where(EvalRun.id == ran))
            await connection.execute(delete(User).where(User.id == engineer.id))


async def _requests(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(EvalRequest)) or 0)


async def test_bad_requests_change_nothing_and_administrators_only_read(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    before = await _requests(session)
    for form, says in [
        ({"paths": "../../../etc"}, "No scenario folder or file"),
        ({"paths": "voice", "tags": "no-such-tag"}, "No scenario matches"),
        ({"trials": "99"}, "trials"),
        ({"model": "gpt-4o"}, "model"),
        ({"prompt_label": "nightly"}, "prompt_label"),
        ({"tags": "<script>"}, "tags"),
    ]:
        refused = await engineer.post("/admin/evals/requests", form)
        assert refused.status_code == 422, (form, refused.status_code)
        assert says in refused.text, (form, refused.text[-2000:])
    assert await _requests(session) == before
    jobs = await session.scalar(
        text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task"), {"task": RUN_TASK}
    )
    assert jobs == 0
    no_token = await engineer.http.post("/admin/evals/requests", data={"paths": "voice"})
    assert no_token.status_code == 403
    assert await _requests(session) == before

    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    page = await admin.http.get("/admin/evals")
    assert page.status_code == 200
    assert 'action="/admin/evals/requests"' not in page.text
    assert (await admin.post("/admin/evals/requests", {"paths": "voice"})).status_code == 403
    run = EvalRun(
        id=uuid.uuid4(),
        model="guided",
        prompt_label="production",
        prompt_versions={},
        graph_hash="f" * 16,
        trials=1,
        summary={},
    )
    session.add(run)
    await session.flush()
    report = await admin.http.get(f"/admin/evals/{run.id}")
    assert report.status_code == 200
    assert "Bless this run" not in report.text
    assert (await admin.post(f"/admin/evals/{run.id}/bless")).status_code == 403
    await session.refresh(run)
    assert run.blessed_at is None
    assert (await engineer.post(f"/admin/evals/{uuid.uuid4()}/bless")).status_code == 404


async def test_a_run_that_cannot_be_made_or_is_given_up_on_says_why(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, database_url: str
) -> None:
    # A scenario folder removed between the request and the run.
    gone = EvalRequest(
        paths=["no-such-suite"], tags=[], model="offline", prompt_label="production", trials=1
    )
    died = EvalRequest(
        paths=["voice"], tags=[], model="offline", prompt_label="production", trials=1
    )
    session.add_all([gone, died])
    await session.commit()
    await execute(sessionmaker, settings, database_url, gone.id)
    await settle(sessionmaker, RUN_TASK, {"request_id": str(died.id)}, "its worker died 3 times")
    for item, reason in [(gone, "No scenario folder or file 'no-such-suite'"), (died, "died 3")]:
        await session.refresh(item)
        assert item.status is EvalRequestStatus.FAILED
        assert item.error is not None
        assert reason in item.error
        assert item.run_id is None
        assert item.finished_at is not None
    # A request already ended is not run again (a repeated job changes nothing).
    await execute(sessionmaker, settings, database_url, died.id)
    await session.refresh(died)
    assert died.status is EvalRequestStatus.FAILED
