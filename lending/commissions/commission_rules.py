"""Commission rules: immutable versions effective from a date, checked against their
jurisdiction's guards, and the jurisdictions themselves."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.commissions.common import audit_change
from lending.commissions.errors import GuardRejected
from lending.commissions.repository import CommissionRepository
from lending.commissions.rules import guard_violations
from lending.commissions.schemas import (
    JurisdictionRead,
    JurisdictionUpdate,
    RuleCreate,
    RuleRead,
    RuleTerms,
    RuleVersionRead,
)
from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.commissions import CommissionRule, CommissionRuleVersion, RuleScope
from lending.models.identity import Organization, User


class CommissionRuleService:
    """Rules and jurisdictions (platform admins write; readers of all commissions read)."""

    async def create_rule(
        self, session: AsyncSession, actor: Actor, *, data: RuleCreate, origin: Origin | None = None
    ) -> RuleRead:
        """Save a rule and its first version, after the jurisdiction's guards accept it."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        await self._check_guards(repository, data.jurisdiction, data)
        await self._check_scope(session, data.scope, data.scope_id)
        rule = CommissionRule(
            name=data.name,
            scope=data.scope,
            scope_id=data.scope_id,
            jurisdiction=data.jurisdiction,
            currency=data.currency,
            created_by_user_id=actor.user_id,
        )
        await repository.add(rule)
        await repository.add(self._version(rule, 1, data, actor))
        created = await self._rule_read(repository, rule)
        await audit_change(
            session, actor, "commission.rule_created", origin, "commission_rule", rule.id, data
        )
        return created

    async def add_version(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        rule_id: uuid.UUID,
        data: RuleTerms,
        origin: Origin | None = None,
    ) -> RuleRead:
        """New terms for a rule from `effective_from` on (earlier amounts keep their version)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        rule = await repository.rule(rule_id, for_update=True)
        if rule is None:
            raise NotFound("No such commission rule.")
        await self._check_guards(repository, rule.jurisdiction, data)
        versions = await repository.versions([rule.id])
        await repository.add(self._version(rule, len(versions) + 1, data, actor))
        versioned = await self._rule_read(repository, rule)
        await audit_change(
            session, actor, "commission.rule_versioned", origin, "commission_rule", rule.id, data
        )
        return versioned

    async def list_rules(self, session: AsyncSession, actor: Actor) -> list[RuleRead]:
        actor.require(Scope.COMMISSIONS_READ_ALL)
        repository = CommissionRepository.from_session(session)
        rules = await repository.rules()
        versions = await repository.versions([rule.id for rule in rules])
        return [
            RuleRead(
                id=rule.id,
                name=rule.name,
                scope=rule.scope,
                scope_id=rule.scope_id,
                jurisdiction=rule.jurisdiction,
                currency=rule.currency,
                versions=[
                    RuleVersionRead.model_validate(v) for v in versions if v.rule_id == rule.id
                ],
            )
            for rule in rules
        ]

    async def get_rule(
        self, session: AsyncSession, actor: Actor, *, rule_id: uuid.UUID
    ) -> RuleRead:
        """One rule with every version, oldest first."""
        actor.require(Scope.COMMISSIONS_READ_ALL)
        repository = CommissionRepository.from_session(session)
        rule = await repository.rule(rule_id)
        if rule is None:
            raise NotFound("No such commission rule.")
        return await self._rule_read(repository, rule)

    async def jurisdictions(self, session: AsyncSession, actor: Actor) -> list[JurisdictionRead]:
        actor.require(Scope.COMMISSIONS_READ_ALL)
        rows = await CommissionRepository.from_session(session).jurisdictions()
        return [JurisdictionRead.model_validate(row) for row in rows]

    async def update_jurisdiction(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        code: str,
        data: JurisdictionUpdate,
        origin: Origin | None = None,
    ) -> JurisdictionRead:
        """Switch a jurisdiction's guards (e.g. volume bonuses off). Rules already saved keep
        their versions; new rules and versions are checked against the new guards."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        jurisdiction = await repository.jurisdiction(code, for_update=True)
        if jurisdiction is None:
            raise NotFound("No such jurisdiction.")
        for name, value in data.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(jurisdiction, name, value)
        await repository.flush()
        await audit_change(
            session,
            actor,
            "commission.jurisdiction_updated",
            origin,
            "commission_jurisdiction",
            code,
            data,
        )
        return JurisdictionRead.model_validate(jurisdiction)

    async def _check_guards(
        self, repository: CommissionRepository, code: str, data: RuleTerms
    ) -> None:
        jurisdiction = await repository.jurisdiction(code)
        if jurisdiction is None:
            raise InvalidInput(
                [
                    {
                        "loc": ["body", "jurisdiction"],
                        "msg": f"unknown jurisdiction {code}",
                        "type": "unknown",
                    }
                ]
            )
        violations = guard_violations(
            jurisdiction,
            conditions=[c.model_dump(mode="json") for c in data.conditions],
            volume_bonus=data.volume_bonus.model_dump(mode="json") if data.volume_bonus else None,
            clawback_schedule=[t.model_dump(mode="json") for t in data.clawback_schedule],
        )
        if violations:
            raise GuardRejected(
                {
                    "message": "The rule was rejected: "
                    + "; ".join(v.reason for v in violations)
                    + ".",
                    "violations": [v.as_error() for v in violations],
                }
            )

    async def _check_scope(
        self, session: AsyncSession, scope: RuleScope, scope_id: uuid.UUID | None
    ) -> None:
        from lending.models.lenders import Lender, LenderProduct

        model: Any = {
            RuleScope.FIRM: Organization,
            RuleScope.BROKER: User,
            RuleScope.LENDER: Lender,
            RuleScope.PRODUCT: LenderProduct,
        }.get(scope)
        if model is not None and await session.get(model, scope_id) is None:
            raise InvalidInput(
                [{"loc": ["body", "scope_id"], "msg": f"no such {scope.value}", "type": "unknown"}]
            )

    def _version(
        self, rule: CommissionRule, number: int, data: RuleTerms, actor: Actor
    ) -> CommissionRuleVersion:
        return CommissionRuleVersion(
            rule_id=rule.id,
            version=number,
            effective_from=data.effective_from,
            active=data.active,
            basis=data.basis,
            upfront_percent=data.upfront_percent,
            upfront_flat=data.upfront_flat,
            upfront_cap=data.upfront_cap,
            upfront_floor=data.upfront_floor,
            trail_percent=data.trail_percent,
            tax_percent=data.tax_percent,
            splits={party.value: str(percent) for party, percent in data.splits.items()},
            clawback_schedule=[t.model_dump(mode="json") for t in data.clawback_schedule],
            conditions=[c.model_dump(mode="json") for c in data.conditions],
            volume_bonus=data.volume_bonus.model_dump(mode="json") if data.volume_bonus else None,
            note=data.note,
            created_by_user_id=actor.user_id,
        )

    async def _rule_read(self, repository: CommissionRepository, rule: CommissionRule) -> RuleRead:
        versions = await repository.versions([rule.id])
        return RuleRead(
            id=rule.id,
            name=rule.name,
            scope=rule.scope,
            scope_id=rule.scope_id,
            jurisdiction=rule.jurisdiction,
            currency=rule.currency,
            versions=[RuleVersionRead.model_validate(v) for v in versions],
        )


commission_rule_service = CommissionRuleService()
