"""Seed content: the demo lender catalog (lenders.json) and knowledge entries in English and Chinese.

`seed_knowledge` ingests every Markdown file under en/ and zh/ (idempotent: unchanged files are
skipped by content hash). `load_lenders` gives the catalog to any domain that needs the same
demo lenders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.ingest import knowledge_ingest_service
from knowledge.ingestion import SourceFile
from knowledge.schemas import IngestOptions, IngestResult
from lending.audit.schemas import Origin
from lending.config import Settings

SEED_DIR = Path(__file__).resolve().parent
LENDERS_FILE = SEED_DIR / "lenders.json"


def load_lenders() -> list[dict[str, Any]]:
    """The demo lenders with their products (amounts as strings, to be read as Decimal)."""
    data = json.loads(LENDERS_FILE.read_text(encoding="utf-8"))
    lenders: list[dict[str, Any]] = data["lenders"]
    return lenders


def seed_files() -> list[Path]:
    return sorted(p for language in ("en", "zh") for p in (SEED_DIR / language).rglob("*.md"))


@dataclass
class SeedSummary:
    created: list[IngestResult] = field(default_factory=list)
    queued: list[IngestResult] = field(default_factory=list)
    unchanged: list[IngestResult] = field(default_factory=list)

    def render(self) -> str:
        queued = f"{len(self.queued)} queued for the job worker, " if self.queued else ""
        return (
            f"Knowledge base: {len(self.created)} entries ingested, {queued}"
            f"{len(self.unchanged)} unchanged."
        )


async def seed_knowledge(
    session: AsyncSession, settings: Settings | None = None, *, background: bool = False
) -> SeedSummary:
    """Ingest and publish the seed entries in the session's transaction (safe to run again).

    With `background`, only record the files and enqueue their ingestion jobs: embedding the
    seed takes tens of seconds on two cores, and `make run` serves while a worker does it.
    """
    summary = SeedSummary()
    ingest = knowledge_ingest_service.submit if background else knowledge_ingest_service.ingest
    for path in seed_files():
        result = await ingest(
            session,
            None,
            source=SourceFile(path.name, path.read_bytes()),
            options=IngestOptions(publish=True),
            fallback_key=str(path.relative_to(SEED_DIR).with_suffix("")),
            settings=settings,
            origin=Origin(operator="seed:knowledge"),
        )
        {"created": summary.created, "queued": summary.queued}.get(
            result.outcome, summary.unchanged
        ).append(result)
    return summary
