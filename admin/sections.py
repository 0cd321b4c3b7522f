"""The back office's sections and who may open each (the navigation is built from this)."""

from __future__ import annotations

from dataclasses import dataclass

from lending.models.identity import Role

ADMIN = frozenset({Role.PLATFORM_ADMIN})
PROMPTS = frozenset({Role.PLATFORM_ADMIN, Role.PROMPT_ENGINEER})
# Who may sign in to the back office at all.
STAFF_ROLES = ADMIN | PROMPTS
# Roles that must have a second factor turned on to sign in here, whatever an organization's
# own MFA list says: these accounts change what every borrower and broker meets.
MFA_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.PROMPT_ENGINEER})


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    path: str
    roles: frozenset[Role]


SECTIONS = (
    Section("dashboard", "Dashboard", "/admin/dashboard", ADMIN),
    Section("applications", "Applications", "/admin/applications", ADMIN),
    Section("documents", "Documents", "/admin/documents", ADMIN),
    Section("commissions", "Commissions", "/admin/commissions/batches", ADMIN),
    Section("lenders", "Lenders", "/admin/lenders", ADMIN),
    Section("people", "People", "/admin/people", ADMIN),
    Section("privacy", "Privacy", "/admin/privacy", ADMIN),
    Section("audit", "Audit log", "/admin/audit", ADMIN),
    Section("prompts", "Prompts", "/admin/prompts", PROMPTS),
    Section("evals", "Evals", "/admin/evals", PROMPTS),
    Section("conversations", "Conversations", "/admin/conversations", PROMPTS),
    Section("knowledge", "Knowledge", "/admin/knowledge", PROMPTS),
    Section("voice", "Voice", "/admin/voice", PROMPTS),
)
BY_KEY = {section.key: section for section in SECTIONS}


def sections_for(role: Role) -> tuple[Section, ...]:
    return tuple(section for section in SECTIONS if role in section.roles)
