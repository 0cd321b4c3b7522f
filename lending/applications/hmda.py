"""HMDA (Regulation C) action-taken and denial-reason codes, and the outcome each status maps to."""

from __future__ import annotations

from enum import IntEnum

from lending.models.applications import ApplicationStatus


class ActionTaken(IntEnum):
    ORIGINATED = 1
    APPROVED_NOT_ACCEPTED = 2
    DENIED = 3
    WITHDRAWN = 4
    CLOSED_FOR_INCOMPLETENESS = 5
    PURCHASED = 6
    PREAPPROVAL_DENIED = 7
    PREAPPROVAL_APPROVED_NOT_ACCEPTED = 8


class DenialReason(IntEnum):
    DEBT_TO_INCOME = 1
    EMPLOYMENT_HISTORY = 2
    CREDIT_HISTORY = 3
    COLLATERAL = 4
    INSUFFICIENT_CASH = 5
    UNVERIFIABLE_INFORMATION = 6
    CREDIT_APPLICATION_INCOMPLETE = 7
    MORTGAGE_INSURANCE_DENIED = 8
    OTHER = 9


# The outcome a status records. Withdrawal depends on whether credit was already approved: Reg C
# reports an application withdrawn after approval as "approved but not accepted" (2), and as
# "withdrawn" (4) only before a decision.
OUTCOMES: dict[ApplicationStatus, ActionTaken] = {
    ApplicationStatus.FUNDED: ActionTaken.ORIGINATED,
    ApplicationStatus.DECLINED: ActionTaken.DENIED,
    ApplicationStatus.WITHDRAWN: ActionTaken.WITHDRAWN,
}
_WITHDRAWN_AFTER_APPROVAL = ActionTaken.APPROVED_NOT_ACCEPTED


def action_taken(to_status: ApplicationStatus, *, previously_approved: bool) -> ActionTaken | None:
    """The HMDA action-taken code a move to `to_status` records, or None if it records none.

    Args:
        to_status: The status the application moves to.
        previously_approved: Whether a lender had approved the application before this move.
    """
    if to_status is ApplicationStatus.WITHDRAWN and previously_approved:
        return _WITHDRAWN_AFTER_APPROVAL
    return OUTCOMES.get(to_status)
