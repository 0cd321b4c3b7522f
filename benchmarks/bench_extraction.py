"""Text-PDF extraction throughput: pages per second through `analyse` (pdfminer text layer,
metadata, classification, the deterministic extractors and the fraud checks) over generated
multi-page bank statements, and for the reading step alone. Also one OCR'd page per image kind
for scale (tesseract, seconds per page), when tesseract is installed.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_extraction`. Results go to
benchmarks/results/extraction.json and to stdout. CPU seconds come from the process (steadier
than wall time on a shared machine); pages/s is reported for both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import platform
import shutil
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from evals.synthetic_documents import Format, SyntheticDocument, generate
from lending.documents.extraction import Analysis, analyse
from lending.documents.extraction.reading import read_document
from lending.documents.types import DocumentType

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "extraction.json"
PAGE_COUNTS = [1, 10, 50]
RUNS = 5


def _timed(work: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def _throughput(pages: int, work: Callable[[], Any]) -> dict[str, float]:
    work()  # warm-up: imports, pdfminer's caches
    samples = [_timed(work) for _ in range(RUNS)]
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] for s in samples)
    return {
        "wall_s_median": round(wall, 4),
        "cpu_s_median": round(cpu, 4),
        "pages_per_s_wall": round(pages / wall, 1),
        "pages_per_s_cpu": round(pages / cpu, 1),
    }


def _analyse_once(document: SyntheticDocument) -> Analysis:
    return asyncio.run(
        analyse(
            document.data,
            document.media_type,
            declared_type=None,
            applicant=document.applicant,
            today=document.today,
            # In this process, so that its CPU clock counts the reading (the job reads in a
            # child process: bench_extraction_isolation measures what that adds).
            isolated=False,
        )
    )


def main() -> None:
    cases: dict[str, Any] = {}
    for pages in PAGE_COUNTS:
        document = generate(DocumentType.BANK_STATEMENT, seed=pages, pages=pages)

        def full(document: SyntheticDocument = document) -> None:
            analysis = _analyse_once(document)
            assert analysis.status == "extracted"
            assert analysis.pages == document.pages
            assert len(analysis.transactions) == len(document.transactions)

        def read(document: SyntheticDocument = document) -> None:
            read_document(document.data, document.media_type, tesseract=None)

        cases[f"bank_statement_{pages}_pages"] = {
            "pages": document.pages,
            "bytes": len(document.data),
            "transactions": len(document.transactions),
            "analyse": _throughput(document.pages, full),
            "read_text_only": _throughput(document.pages, read),
        }
    ocr: dict[str, Any] = {}
    if shutil.which("tesseract"):
        for document_type, fmt in [
            (DocumentType.PAY_STUB, Format.PNG),
            (DocumentType.PAY_STUB, Format.SCANNED_PDF),
            (DocumentType.IDENTIFICATION, Format.JPEG),
        ]:
            document = generate(document_type, seed=1, fmt=fmt)
            wall, _ = _timed(partial(_analyse_once, document))
            # tesseract runs in a child process: its CPU is not in process_time.
            ocr[f"{document_type}_{fmt}"] = {"wall_s": round(wall, 3)}
    results = {
        "benchmark": "extraction",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": RUNS,
        "text_pdf": cases,
        "ocr_one_page": ocr,
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    unfinished = RESULTS_PATH.with_name(RESULTS_PATH.name + ".tmp")
    unfinished.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    unfinished.replace(RESULTS_PATH)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
