"""What reading each file in a child process costs: `analyse` isolated (the extraction job's
way: a child forked from the fork server per file, with its limits) against `analyse` in this
process, per file kind, and the fork server's one-time start (it imports the readers).

Run from the repository root: `.venv/bin/python -m benchmarks.bench_extraction_isolation`.
Results go to benchmarks/results/extraction_isolation.json and to stdout. Wall times (the
overhead is process creation and pipe transfer, which a CPU clock of this process would miss);
medians of RUNS alternating runs, on a shared 2-core machine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lending.documents.extraction import analyse
from lending.documents.extraction.isolation import warm_up
from lending.documents.types import DocumentType

if TYPE_CHECKING:
    from evals.synthetic_documents import SyntheticDocument

# Each reading child imports the main module again unless it was run as a script (as
# `omnifin worker` is, and then the fork server imports it once): so this module imports the
# generator (reportlab) only inside `measure`, or every child would pay for it.

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "extraction_isolation.json"
RUNS = 9
# Not a PDF past its header: read (and refused) at once, so its cost is the child's own.
DAMAGED_PDF = b"%PDF-1.7\n" + b"\x00" * 64


async def _wall(document: SyntheticDocument, *, isolated: bool) -> float:
    started = time.perf_counter()
    analysis = await analyse(
        document.data,
        document.media_type,
        declared_type=document.document_type,
        applicant=document.applicant,
        today=document.today,
        tesseract_cmd=None,
        isolated=isolated,
    )
    if analysis.status != "extracted":
        raise RuntimeError(f"extraction failed: {analysis.error}")
    return time.perf_counter() - started


async def _round_trip(*, isolated: bool) -> float:
    from evals.synthetic_documents import generate

    started = time.perf_counter()
    analysis = await analyse(
        DAMAGED_PDF,
        "application/pdf",
        declared_type=None,
        applicant=generate(DocumentType.PAY_STUB, seed=1).applicant,
        today=dt.date(2026, 6, 30),
        isolated=isolated,
    )
    if analysis.status != "failed":
        raise RuntimeError("the damaged PDF was read")
    return time.perf_counter() - started


async def measure() -> dict[str, Any]:
    from evals.synthetic_documents import Format, generate

    started = time.perf_counter()
    await asyncio.to_thread(warm_up)
    first = await _round_trip(isolated=True)  # waits for the fork server's imports
    server_start = time.perf_counter() - started
    trips = [await _round_trip(isolated=True) for _ in range(RUNS)]
    local = [await _round_trip(isolated=False) for _ in range(RUNS)]
    kinds = {
        "pay stub, 1-page text PDF": generate(DocumentType.PAY_STUB, seed=1),
        "bank statement, 10-page text PDF": generate(DocumentType.BANK_STATEMENT, seed=1, pages=10),
        "pay stub, DOCX": generate(DocumentType.PAY_STUB, seed=1, fmt=Format.DOCX),
    }
    rows: dict[str, Any] = {}
    for name, document in kinds.items():
        await _wall(document, isolated=True)  # warm-up of both paths
        await _wall(document, isolated=False)
        child: list[float] = []
        thread: list[float] = []
        for _ in range(RUNS):
            child.append(await _wall(document, isolated=True))
            thread.append(await _wall(document, isolated=False))
        rows[name] = {
            "bytes": len(document.data),
            "in_process_median_ms": round(statistics.median(thread) * 1000, 1),
            "child_process_median_ms": round(statistics.median(child) * 1000, 1),
            "overhead_median_ms": round(
                (statistics.median(child) - statistics.median(thread)) * 1000, 1
            ),
        }
    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "runs": RUNS,
        "load_average_1min": round(os.getloadavg()[0], 1),
        "fork_server_start_and_first_file_seconds": round(server_start, 2),
        "first_file_seconds": round(first, 2),
        "child_round_trip_median_ms": round(statistics.median(trips) * 1000, 1),
        "in_process_same_file_median_ms": round(statistics.median(local) * 1000, 1),
        "kinds": rows,
    }


def main() -> None:
    results = asyncio.run(measure())
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
