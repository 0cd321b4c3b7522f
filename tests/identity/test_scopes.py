"""The role → scope table that routes and tools share."""

from __future__ import annotations

import re

from lending.identity.actor import Actor
from lending.identity.scopes import ROLE_SCOPES, Scope
from lending.models.identity import Role, TokenPurpose


def test_every_role_has_scopes_and_every_scope_a_role() -> None:
    assert set(ROLE_SCOPES) == set(Role)
    granted = set().union(*ROLE_SCOPES.values())
    assert granted == set(Scope)


def test_scope_names_are_resource_action_and_optional_reach() -> None:
    for scope in Scope:
        assert re.fullmatch(r"[a-z]+:[a-z]+(:(own|firm|all))?", scope.value), scope


def test_administration_belongs_to_the_right_roles() -> None:
    holders = {
        scope: {role for role, scopes in ROLE_SCOPES.items() if scope in scopes} for scope in Scope
    }
    assert holders[Scope.USERS_MANAGE_ALL] == {Role.PLATFORM_ADMIN}
    assert holders[Scope.ORGS_MANAGE] == {Role.PLATFORM_ADMIN}
    assert holders[Scope.AUDIT_READ] == {Role.PLATFORM_ADMIN}
    assert holders[Scope.COMMISSIONS_APPROVE] == {Role.PLATFORM_ADMIN}
    assert holders[Scope.USERS_MANAGE_FIRM] == {Role.BROKER_MANAGER}
    assert holders[Scope.PROMPTS_MANAGE] == {Role.PROMPT_ENGINEER}
    assert holders[Scope.CONVERSATIONS_READ] == {Role.PLATFORM_ADMIN, Role.PROMPT_ENGINEER}
    assert holders[Scope.OFFERS_ACCEPT] == {Role.BORROWER}
    assert ROLE_SCOPES[Role.BROKER] < ROLE_SCOPES[Role.BROKER_MANAGER]


def test_an_enrolment_only_token_carries_no_scope() -> None:
    import uuid

    actor = Actor.for_user(
        uuid.uuid4(), Role.PLATFORM_ADMIN, uuid.uuid4(), purpose=TokenPurpose.MFA_ENROLLMENT
    )

    assert actor.scopes == frozenset()
