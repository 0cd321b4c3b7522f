"""Demo data for `make run`: loaded idempotently by `omnifin seed demo`.

Each domain adds its part here as it lands (identity: the demo firm and logins; lenders: the
catalog). Running it twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings


@dataclass
class DemoLogin:
    role: str
    email: str
    password: str
    organization: str


@dataclass
class DemoSummary:
    logins: list[DemoLogin] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        if not self.logins:
            return "Demo data loaded. (No demo logins exist yet: the identity domain adds them.)"
        width = max(len(login.email) for login in self.logins)
        lines = ["Demo logins (development only):"]
        for login in self.logins:
            lines.append(
                f"  {login.role:<16} {login.email:<{width}}  {login.password}  ({login.organization})"
            )
        lines.extend(self.notes)
        return "\n".join(lines)


async def seed_demo(
    session: AsyncSession, settings: Settings, *, world: bool = True
) -> DemoSummary:
    """Load every domain's demo data into the session's transaction; with `world`, also the
    broker's clients and their applications at every stage (lending.demo_world)."""
    from lending.commissions.demo import seed_demo_commissions
    from lending.demo_world import seed_demo_world
    from lending.identity.demo import DEMO_PASSWORD, seed_identity
    from lending.lenders.demo import seed_demo_lending

    summary = DemoSummary()
    await seed_identity(session, settings, summary)
    summary.notes.append(await seed_demo_lending(session, settings))
    summary.notes.append(await seed_demo_commissions(session, settings))
    if world:
        summary.notes.append(await seed_demo_world(session, settings, DEMO_PASSWORD))
    return summary
