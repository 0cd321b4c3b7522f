"""The Actor: who is acting (user, role, organization, scopes), resolved once per request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from lending.errors import PermissionDenied
from lending.identity.scopes import Scope, scopes_for
from lending.models.identity import Role, TokenPurpose


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: uuid.UUID
    role: Role
    organization_id: uuid.UUID
    scopes: frozenset[Scope] = field(default=frozenset())
    # The bearer token this request came with (None outside a request: CLI, jobs).
    token_id: uuid.UUID | None = None
    purpose: TokenPurpose = TokenPurpose.ACCESS

    @classmethod
    def for_user(
        cls,
        user_id: uuid.UUID,
        role: Role,
        organization_id: uuid.UUID,
        *,
        token_id: uuid.UUID | None = None,
        purpose: TokenPurpose = TokenPurpose.ACCESS,
    ) -> Actor:
        # An enrolment-only token carries no scopes: it reaches the MFA endpoints and nothing else.
        scopes = scopes_for(role) if purpose is TokenPurpose.ACCESS else frozenset()
        return cls(user_id, role, organization_id, scopes, token_id, purpose)

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes

    def require(self, *scopes: Scope) -> None:
        """Raise PermissionDenied unless the actor holds every one of `scopes`."""
        missing = [scope.value for scope in scopes if scope not in self.scopes]
        if missing:
            raise PermissionDenied(
                f"Your role ({self.role.value}) does not allow this (needs {', '.join(missing)})."
            )

    def require_any(self, *scopes: Scope) -> None:
        """Raise PermissionDenied unless the actor holds at least one of `scopes`."""
        if not any(scope in self.scopes for scope in scopes):
            names = " or ".join(scope.value for scope in scopes)
            raise PermissionDenied(
                f"Your role ({self.role.value}) does not allow this (needs {names})."
            )
