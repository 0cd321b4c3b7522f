"""Broker commissions: balances, entries and explanations for whoever may see them; rules,
servicing events, trail runs, payout batches, statements and lender reconciliation.

Thin adapters over lending.commissions (the services the assistant's tools use too); the
services audit each change, with the request's origin.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.commissions.accrual import accrual_service
from lending.commissions.commission_rules import commission_rule_service
from lending.commissions.entries import commission_entry_service
from lending.commissions.errors import GuardRejected, MakerCheckerRefused
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.reconciliation import reconciliation_service
from lending.commissions.schemas import (
    AdjustmentCreate,
    BatchCreate,
    BatchFailed,
    BatchPaid,
    BatchRead,
    CommissionSummary,
    EntryList,
    EntryRead,
    Explanation,
    JurisdictionRead,
    JurisdictionUpdate,
    LineResolve,
    ReconciliationRead,
    ReversalCreate,
    RuleCreate,
    RuleRead,
    RuleTerms,
    ServicingEventCreate,
    ServicingEventRead,
    Statement,
    StatementImport,
    StatementLineRead,
    TrailRun,
)
from lending.commissions.servicing import servicing_service
from lending.db import MAX_OFFSET
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from lending.identity.errors import MfaEnrollmentRequired
from lending.models.commissions import EntryKind

router = APIRouter(
    prefix="/api/v1/commissions", tags=["commissions"], dependencies=[rate_limit("default")]
)
_AUTH = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)
_CHANGE = (*_AUTH, NotFound, InvalidInput, Conflict)


class TrailRequest(BaseModel):
    month: date


# Reads for every commission reader (own, firm, all)


@router.get("/summary", summary="Balances per payee you may see", responses=error_responses(*_AUTH))
async def summary(
    actor: CurrentActor,
    session: SessionDep,
    period_start: date | None = None,
    period_end: date | None = None,
) -> CommissionSummary:
    return await commission_entry_service.summary(
        session, actor, period_start=period_start, period_end=period_end
    )


@router.get("/entries", summary="Ledger entries you may see", responses=error_responses(*_AUTH))
async def list_entries(
    actor: CurrentActor,
    session: SessionDep,
    loan_id: uuid.UUID | None = None,
    payee_id: uuid.UUID | None = None,
    kind: EntryKind | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> EntryList:
    return await commission_entry_service.list_entries(
        session,
        actor,
        loan_id=loan_id,
        payee_id=payee_id,
        kind=kind,
        period_start=period_start,
        period_end=period_end,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/entries/{entry_id}/explanation",
    summary="Why an entry has its amount: loan, rule and version, arithmetic",
    responses=error_responses(*_AUTH, NotFound),
)
async def explain(entry_id: int, actor: CurrentActor, session: SessionDep) -> Explanation:
    return await commission_entry_service.explain(session, actor, entry_id=entry_id)


@router.get(
    "/statements/payees/{payee_id}",
    summary="A payee's statement for a period: opening, lines with their loans, closing",
    responses=error_responses(*_AUTH, NotFound),
)
async def payee_statement(
    payee_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    period_start: date,
    period_end: date,
    currency: str = "USD",
) -> Statement:
    return await commission_entry_service.statement_for_payee(
        session,
        actor,
        payee_id=payee_id,
        period_start=period_start,
        period_end=period_end,
        currency=currency,
    )


@router.get(
    "/statements/firms/{organization_id}",
    summary="A firm's statement for a period (the firm's and its people's shares)",
    responses=error_responses(*_AUTH, NotFound),
)
async def firm_statement(
    organization_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    period_start: date,
    period_end: date,
    currency: str = "USD",
) -> Statement:
    return await commission_entry_service.statement_for_firm(
        session,
        actor,
        organization_id=organization_id,
        period_start=period_start,
        period_end=period_end,
        currency=currency,
    )


# Platform administration


@router.get(
    "/jurisdictions",
    summary="Each jurisdiction's guards (rate/terms dependence, volume bonuses, clawback months)",
    responses=error_responses(*_AUTH),
)
async def list_jurisdictions(actor: CurrentActor, session: SessionDep) -> list[JurisdictionRead]:
    return await commission_rule_service.jurisdictions(session, actor)


@router.patch(
    "/jurisdictions/{code}",
    summary="Switch a jurisdiction's guards (new rules are checked against them)",
    responses=error_responses(*_CHANGE),
)
async def update_jurisdiction(
    code: str,
    body: JurisdictionUpdate,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> JurisdictionRead:
    return await commission_rule_service.update_jurisdiction(
        session, actor, code=code, data=body, origin=origin
    )


@router.get(
    "/rules", summary="Commission rules and their versions", responses=error_responses(*_AUTH)
)
async def list_rules(actor: CurrentActor, session: SessionDep) -> list[RuleRead]:
    return await commission_rule_service.list_rules(session, actor)


@router.post(
    "/rules",
    status_code=status.HTTP_201_CREATED,
    summary="Create a rule (refused with the reason when it breaks a jurisdiction's guard)",
    responses=error_responses(*_CHANGE, GuardRejected),
)
async def create_rule(
    body: RuleCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> RuleRead:
    return await commission_rule_service.create_rule(session, actor, data=body, origin=origin)


@router.post(
    "/rules/{rule_id}/versions",
    status_code=status.HTTP_201_CREATED,
    summary="New terms for a rule from a date on",
    responses=error_responses(*_CHANGE, GuardRejected),
)
async def add_rule_version(
    rule_id: uuid.UUID,
    body: RuleTerms,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> RuleRead:
    return await commission_rule_service.add_version(
        session, actor, rule_id=rule_id, data=body, origin=origin
    )


@router.post(
    "/loans/{loan_id}/events",
    status_code=status.HTTP_201_CREATED,
    summary="Record a funded loan's servicing event (balance, arrears, discharge, refinance)",
    responses=error_responses(*_CHANGE),
)
async def record_servicing_event(
    loan_id: uuid.UUID,
    body: ServicingEventCreate,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ServicingEventRead:
    return await servicing_service.record_servicing_event(
        session, actor, loan_id=loan_id, data=body, origin=origin
    )


@router.post(
    "/trail-accruals",
    summary="Accrue a month's trail now (the monthly job does it on the 1st)",
    responses=error_responses(*_AUTH),
)
async def accrue_trail(
    body: TrailRequest, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> TrailRun:
    return await accrual_service.accrue_trail_now(session, actor, month=body.month, origin=origin)


@router.post(
    "/adjustments",
    status_code=status.HTTP_201_CREATED,
    summary="A manual adjustment (a new entry with its reason)",
    responses=error_responses(*_CHANGE),
)
async def adjust(
    body: AdjustmentCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> EntryRead:
    return await commission_entry_service.adjust(session, actor, data=body, origin=origin)


@router.post(
    "/entries/{entry_id}/reversal",
    status_code=status.HTTP_201_CREATED,
    summary="Reverse an entry with its exact opposite (once)",
    responses=error_responses(*_CHANGE),
)
async def reverse(
    entry_id: int,
    body: ReversalCreate,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> EntryRead:
    return await commission_entry_service.reverse(
        session, actor, entry_id=entry_id, data=body, origin=origin
    )


@router.post(
    "/batches",
    status_code=status.HTTP_201_CREATED,
    summary="Draft a payout batch (unpaid balances up to a cut-off, above a minimum)",
    responses=error_responses(*_CHANGE),
)
async def create_batch(
    body: BatchCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> BatchRead:
    return await payout_batch_service.create_batch(session, actor, data=body, origin=origin)


@router.get(
    "/batches/{batch_id}",
    summary="A payout batch with its payees",
    responses=error_responses(*_AUTH, NotFound),
)
async def read_batch(batch_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> BatchRead:
    return await payout_batch_service.get_batch(session, actor, batch_id=batch_id)


@router.post(
    "/batches/{batch_id}/approve",
    summary="Approve a draft batch (maker-checker: not its creator)",
    responses=error_responses(*_CHANGE, MakerCheckerRefused),
)
async def approve_batch(
    batch_id: uuid.UUID, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> BatchRead:
    return await payout_batch_service.approve_batch(
        session, actor, batch_id=batch_id, origin=origin
    )


@router.post(
    "/batches/{batch_id}/export",
    summary="Export an approved batch: the payment CSV (the batch becomes exported)",
    response_class=Response,
    responses={
        **error_responses(*_CHANGE),
        200: {"content": {"text/csv": {}}, "description": "One line per payee."},
    },
)
async def export_batch(
    batch_id: uuid.UUID, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> Response:
    body = await payout_batch_service.export_csv(session, actor, batch_id=batch_id, origin=origin)
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="payout-{batch_id}.csv"'},
    )


@router.get(
    "/batches/{batch_id}/statements/{payee_id}",
    summary="A payee's PDF statement of an exported batch",
    response_class=Response,
    responses={
        **error_responses(*_AUTH, NotFound, Conflict),
        200: {"content": {"application/pdf": {}}, "description": "The statement."},
    },
)
async def batch_statement_pdf(
    batch_id: uuid.UUID, payee_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> Response:
    pdf = await payout_batch_service.statement_pdf(
        session, actor, batch_id=batch_id, payee_id=payee_id
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="statement-{payee_id}.pdf"'},
    )


@router.post(
    "/batches/{batch_id}/paid",
    summary="Mark an exported batch paid, with the payment reference",
    responses=error_responses(*_CHANGE),
)
async def mark_paid(
    batch_id: uuid.UUID,
    body: BatchPaid,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> BatchRead:
    return await payout_batch_service.mark_paid(
        session, actor, batch_id=batch_id, reference=body.payment_reference, origin=origin
    )


@router.post(
    "/batches/{batch_id}/failed",
    summary="Mark a batch failed: its entries are released for the next batch",
    responses=error_responses(*_CHANGE),
)
async def mark_failed(
    batch_id: uuid.UUID,
    body: BatchFailed,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> BatchRead:
    return await payout_batch_service.mark_failed(
        session, actor, batch_id=batch_id, reason=body.reason, origin=origin
    )


@router.post(
    "/reconciliations",
    status_code=status.HTTP_201_CREATED,
    summary="Import a lender's commission statement (CSV) and reconcile it",
    responses=error_responses(*_CHANGE),
)
async def import_statement(
    body: StatementImport, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> ReconciliationRead:
    return await reconciliation_service.import_statement(session, actor, data=body, origin=origin)


@router.get(
    "/reconciliations/{statement_id}",
    summary="A reconciled lender statement, line by line",
    responses=error_responses(*_AUTH, NotFound),
)
async def read_reconciliation(
    statement_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> ReconciliationRead:
    return await reconciliation_service.get(session, actor, statement_id=statement_id)


@router.post(
    "/reconciliations/{statement_id}/lines/{line_id}/resolution",
    summary="Resolve a reconciliation line with a reason",
    responses=error_responses(*_CHANGE),
)
async def resolve_line(
    statement_id: uuid.UUID,
    line_id: int,
    body: LineResolve,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> StatementLineRead:
    return await reconciliation_service.resolve(
        session, actor, statement_id=statement_id, line_id=line_id, data=body, origin=origin
    )
