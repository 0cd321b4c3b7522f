"""What each role may do, as scopes. API routes and the assistant's tools require scopes from here.

Scopes name a resource, an action and a reach: `own` (rows the actor owns or works on), `firm`
(rows of the actor's organization) or `all`. A scope never widens a repository's actor scoping by
itself: the repository decides which rows `own` and `firm` mean for a given actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from lending.models.identity import Role


class Scope(StrEnum):
    APPLICATIONS_READ_OWN = "applications:read:own"
    APPLICATIONS_WRITE_OWN = "applications:write:own"
    APPLICATIONS_READ_FIRM = "applications:read:firm"
    APPLICATIONS_WRITE_FIRM = "applications:write:firm"
    APPLICATIONS_READ_ALL = "applications:read:all"
    APPLICATIONS_WRITE_ALL = "applications:write:all"
    # Irreversible: sends an application to lenders (pauses for approval in the assistant).
    APPLICATIONS_SUBMIT = "applications:submit"
    # Back-office decisions on an application (approve, reject, refer).
    APPLICATIONS_DECIDE = "applications:decide"
    # Giving or withdrawing one's own consent (credit check...): the borrower alone.
    CONSENTS_GIVE = "consents:give"

    DOCUMENTS_READ_OWN = "documents:read:own"
    DOCUMENTS_WRITE_OWN = "documents:write:own"
    DOCUMENTS_READ_FIRM = "documents:read:firm"
    DOCUMENTS_WRITE_FIRM = "documents:write:firm"
    DOCUMENTS_READ_ALL = "documents:read:all"
    DOCUMENTS_WRITE_ALL = "documents:write:all"
    # Verifying or rejecting a document (brokers on their reach, platform administrators).
    DOCUMENTS_REVIEW = "documents:review"

    OFFERS_READ_OWN = "offers:read:own"
    OFFERS_READ_FIRM = "offers:read:firm"
    OFFERS_READ_ALL = "offers:read:all"
    # Irreversible: the borrower accepts an offer.
    OFFERS_ACCEPT = "offers:accept"

    LENDERS_READ = "lenders:read"
    LENDERS_MANAGE = "lenders:manage"

    COMMISSIONS_READ_OWN = "commissions:read:own"
    COMMISSIONS_READ_FIRM = "commissions:read:firm"
    COMMISSIONS_READ_ALL = "commissions:read:all"
    COMMISSIONS_APPROVE = "commissions:approve"

    REFERRALS_SHARE = "referrals:share"
    CHAT_USE = "chat:use"

    KNOWLEDGE_READ = "knowledge:read"
    KNOWLEDGE_MANAGE = "knowledge:manage"
    PROMPTS_READ = "prompts:read"
    PROMPTS_MANAGE = "prompts:manage"
    EVALS_RUN = "evals:run"
    # Staff: read anyone's assistant conversations (the back office; audited on each read).
    CONVERSATIONS_READ = "conversations:read"

    USERS_MANAGE_FIRM = "users:manage:firm"
    USERS_MANAGE_ALL = "users:manage:all"
    ORGS_MANAGE = "orgs:manage"
    AUDIT_READ = "audit:read"
    # A person's rights (lending.privacy): a copy of one's own data, asking to be erased.
    PRIVACY_OWN = "privacy:own"
    # Staff: export a person's data, file and review erasure requests (maker-checker).
    PRIVACY_MANAGE = "privacy:manage"


_BORROWER = frozenset(
    {
        Scope.APPLICATIONS_READ_OWN,
        Scope.APPLICATIONS_WRITE_OWN,
        Scope.APPLICATIONS_SUBMIT,
        Scope.CONSENTS_GIVE,
        Scope.DOCUMENTS_READ_OWN,
        Scope.DOCUMENTS_WRITE_OWN,
        Scope.OFFERS_READ_OWN,
        Scope.OFFERS_ACCEPT,
        Scope.KNOWLEDGE_READ,
        Scope.CHAT_USE,
        Scope.PRIVACY_OWN,
    }
)

# For a broker, `own` applications are those of the borrowers they work with.
_BROKER = frozenset(
    {
        Scope.APPLICATIONS_READ_OWN,
        Scope.APPLICATIONS_WRITE_OWN,
        Scope.APPLICATIONS_SUBMIT,
        Scope.DOCUMENTS_READ_OWN,
        Scope.DOCUMENTS_WRITE_OWN,
        Scope.DOCUMENTS_REVIEW,
        Scope.OFFERS_READ_OWN,
        Scope.LENDERS_READ,
        Scope.COMMISSIONS_READ_OWN,
        Scope.REFERRALS_SHARE,
        Scope.KNOWLEDGE_READ,
        Scope.CHAT_USE,
        Scope.PRIVACY_OWN,
    }
)

_BROKER_MANAGER = _BROKER | {
    Scope.APPLICATIONS_READ_FIRM,
    Scope.APPLICATIONS_WRITE_FIRM,
    Scope.DOCUMENTS_READ_FIRM,
    Scope.DOCUMENTS_WRITE_FIRM,
    Scope.OFFERS_READ_FIRM,
    Scope.COMMISSIONS_READ_FIRM,
    Scope.USERS_MANAGE_FIRM,
}

_PLATFORM_ADMIN = frozenset(
    {
        Scope.APPLICATIONS_READ_ALL,
        Scope.APPLICATIONS_WRITE_ALL,
        Scope.APPLICATIONS_DECIDE,
        Scope.DOCUMENTS_READ_ALL,
        Scope.DOCUMENTS_WRITE_ALL,
        Scope.DOCUMENTS_REVIEW,
        Scope.OFFERS_READ_ALL,
        Scope.LENDERS_READ,
        Scope.LENDERS_MANAGE,
        Scope.COMMISSIONS_READ_ALL,
        Scope.COMMISSIONS_APPROVE,
        Scope.KNOWLEDGE_READ,
        Scope.KNOWLEDGE_MANAGE,
        Scope.PROMPTS_READ,
        Scope.CONVERSATIONS_READ,
        Scope.CHAT_USE,
        Scope.USERS_MANAGE_ALL,
        Scope.ORGS_MANAGE,
        Scope.AUDIT_READ,
        Scope.PRIVACY_OWN,
        Scope.PRIVACY_MANAGE,
    }
)

_PROMPT_ENGINEER = frozenset(
    {
        Scope.PROMPTS_READ,
        Scope.PROMPTS_MANAGE,
        Scope.EVALS_RUN,
        Scope.CONVERSATIONS_READ,
        Scope.KNOWLEDGE_READ,
        Scope.KNOWLEDGE_MANAGE,
        Scope.LENDERS_READ,
        Scope.CHAT_USE,
        Scope.PRIVACY_OWN,
    }
)

ROLE_SCOPES: Mapping[Role, frozenset[Scope]] = {
    Role.BORROWER: _BORROWER,
    Role.BROKER: _BROKER,
    Role.BROKER_MANAGER: frozenset(_BROKER_MANAGER),
    Role.PLATFORM_ADMIN: _PLATFORM_ADMIN,
    Role.PROMPT_ENGINEER: _PROMPT_ENGINEER,
}


def scopes_for(role: Role) -> frozenset[Scope]:
    return ROLE_SCOPES[role]
