"""The status table: legal moves only, 409 naming the allowed next states, terminal states final,
every move an event row, each outcome its HMDA code; random walks against the real service."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications import transitions
from lending.applications.hmda import ActionTaken, action_taken
from lending.applications.repository import ApplicationRepository
from lending.applications.service import application_service
from lending.applications.transitions import TERMINAL, TRANSITIONS, IllegalTransition
from lending.config import Settings
from lending.models.applications import Application, ApplicationEvent
from lending.models.applications import ApplicationStatus as S
from tests.lending.factories import create_application, create_borrower, detail_of


def test_the_table_is_the_one_the_issue_describes() -> None:
    assert transitions.allowed_next(S.DRAFT) == [S.SUBMITTED, S.WITHDRAWN]
    assert transitions.allowed_next(S.SUBMITTED) == [S.UNDER_REVIEW, S.WITHDRAWN]
    assert set(transitions.allowed_next(S.UNDER_REVIEW)) == {
        S.APPROVED,
        S.REFERRED,
        S.DECLINED,
        S.WITHDRAWN,
    }
    assert S.UNDER_REVIEW in transitions.allowed_next(S.REFERRED)
    assert S.OFFER_ACCEPTED in transitions.allowed_next(S.APPROVED)
    assert S.FUNDED in transitions.allowed_next(S.OFFER_ACCEPTED)
    assert transitions.allowed_next(S.FUNDED) == [S.CLOSED]
    assert TERMINAL == {S.DECLINED, S.WITHDRAWN, S.CLOSED}
    # Every status is in the table, and every move leads to a status of the table.
    assert set(TRANSITIONS) == set(S)


def test_an_illegal_move_names_the_allowed_next_states() -> None:
    with pytest.raises(IllegalTransition) as raised:
        transitions.mover(S.DRAFT, S.APPROVED)
    assert raised.value.status_code == 409
    assert detail_of(raised.value)["allowed_next_states"] == ["submitted", "withdrawn"]
    assert detail_of(raised.value)["status"] == "draft"
    assert detail_of(raised.value)["requested"] == "approved"


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_a_terminal_status_never_reopens(terminal: S) -> None:
    for target in S:
        with pytest.raises(IllegalTransition) as raised:
            transitions.mover(terminal, target)
        assert detail_of(raised.value)["allowed_next_states"] == []


def test_each_outcome_maps_to_its_hmda_action_taken_code() -> None:
    assert action_taken(S.FUNDED, previously_approved=True) is ActionTaken.ORIGINATED
    assert action_taken(S.DECLINED, previously_approved=False) is ActionTaken.DENIED
    assert action_taken(S.WITHDRAWN, previously_approved=False) is ActionTaken.WITHDRAWN
    # Reg C: withdrawn after approval is reported as approved but not accepted.
    assert action_taken(S.WITHDRAWN, previously_approved=True) is ActionTaken.APPROVED_NOT_ACCEPTED
    assert action_taken(S.UNDER_REVIEW, previously_approved=False) is None


async def _event_count(session: AsyncSession, application_id: object) -> int:
    statement = select(func.count()).where(ApplicationEvent.application_id == application_id)
    return int(await session.scalar(statement) or 0)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(walk=st.lists(st.sampled_from(list(S)), min_size=1, max_size=14))
async def test_random_walks_never_reach_an_illegal_state_nor_reopen_a_terminal_one(
    session: AsyncSession, settings: Settings, walk: list[S]
) -> None:
    borrower = await create_borrower(session, settings, complete=False)
    created = await create_application(session, borrower, amount=None, term_months=None)
    repository = ApplicationRepository.from_session(session)
    application = await repository.get(created.id)
    assert application is not None
    ended = False
    for target in walk:
        before, version = application.status, application.version
        events_before = await _event_count(session, application.id)
        if target in TRANSITIONS[before]:
            # The system path (no actor): this checks the table, not who may move.
            await application_service.move(session, application, target, actor=None, reason="walk")
            assert application.status is target
            assert application.version == version + 1
            assert await _event_count(session, application.id) == events_before + 1
        else:
            with pytest.raises(IllegalTransition) as raised:
                await application_service.move(
                    session, application, target, actor=None, reason="walk"
                )
            assert detail_of(raised.value)["allowed_next_states"] == [
                status.value for status in TRANSITIONS[before]
            ]
            assert (application.status, application.version) == (before, version)
            assert await _event_count(session, application.id) == events_before
        if ended:
            assert application.status is before, "a terminal status reopened"
        ended = ended or application.status in TERMINAL

    # The stored history is a path through the table, from draft.
    events = await repository.events(application.id)
    assert events[0].from_status is None
    assert events[0].to_status is S.DRAFT
    for earlier, later in zip(events, events[1:], strict=False):
        assert later.from_status == earlier.to_status.value
        assert later.to_status in TRANSITIONS[S(later.from_status)]
    stored = await session.get(Application, application.id)
    assert stored is not None
    assert stored.status is events[-1].to_status
