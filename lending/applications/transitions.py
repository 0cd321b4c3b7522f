"""The one transition table of an application's status, and who may make each move."""

from __future__ import annotations

from enum import StrEnum

from lending.errors import Conflict
from lending.models.applications import ApplicationStatus as S


class Mover(StrEnum):
    """Who makes a move: the borrower's side, or the one deciding on credit."""

    # The borrower or their broker (write access to the application).
    APPLICANT = "applicant"
    # The borrower alone, accepting an offer.
    BORROWER = "borrower"
    # A lender's decision (system path) or a platform administrator in the back office.
    DECIDER = "decider"


TRANSITIONS: dict[S, dict[S, Mover]] = {
    S.DRAFT: {S.SUBMITTED: Mover.APPLICANT, S.WITHDRAWN: Mover.APPLICANT},
    S.SUBMITTED: {S.UNDER_REVIEW: Mover.DECIDER, S.WITHDRAWN: Mover.APPLICANT},
    S.UNDER_REVIEW: {
        S.APPROVED: Mover.DECIDER,
        S.REFERRED: Mover.DECIDER,
        S.DECLINED: Mover.DECIDER,
        S.WITHDRAWN: Mover.APPLICANT,
    },
    S.REFERRED: {S.UNDER_REVIEW: Mover.DECIDER, S.WITHDRAWN: Mover.APPLICANT},
    S.APPROVED: {S.OFFER_ACCEPTED: Mover.BORROWER, S.WITHDRAWN: Mover.APPLICANT},
    S.OFFER_ACCEPTED: {S.FUNDED: Mover.DECIDER, S.WITHDRAWN: Mover.APPLICANT},
    S.FUNDED: {S.CLOSED: Mover.DECIDER},
    S.DECLINED: {},
    S.WITHDRAWN: {},
    S.CLOSED: {},
}

TERMINAL: frozenset[S] = frozenset(status for status, moves in TRANSITIONS.items() if not moves)


class IllegalTransition(Conflict):
    message = "This application cannot move to that status from its current one."


def allowed_next(status: S) -> list[S]:
    """The statuses an application in `status` may move to, in table order."""
    return list(TRANSITIONS[status])


def mover(from_status: S, to_status: S) -> Mover:
    """Who may make the move; raises IllegalTransition (409) naming the allowed next states."""
    movers = TRANSITIONS[from_status]
    if to_status not in movers:
        allowed = [status.value for status in movers]
        if from_status in TERMINAL:
            message = f"The application is {from_status.value}, a final status: it cannot move."
        else:
            message = (
                f"A {from_status.value} application cannot move to {to_status.value}; "
                f"it can move to: {', '.join(allowed)}."
            )
        raise IllegalTransition(
            {
                "message": message,
                "status": from_status.value,
                "requested": to_status.value,
                "allowed_next_states": allowed,
            }
        )
    return movers[to_status]
