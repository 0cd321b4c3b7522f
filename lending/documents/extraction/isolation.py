"""Reading a file in a child process of its own, with CPU-time, address-space and wall-clock
limits, so that a hostile file (a decompression bomb, a page that renders to gigapixels, a parser
caught in a loop) costs at most that child: the worker and the API carry on.

One child per file, forked from a fork server that preloaded the readers (pdfminer, pdfium,
Pillow, tesseract's wrapper, `unstructured`): a fresh address space each time, so limits are per
file and nothing leaks from one file into the next, for a fork and a pipe per file once the
server runs (`benchmarks/bench_extraction_isolation.py`; docs/DECISIONS.md "Hardening: files and
jobs" has the figures).
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from multiprocessing.context import ForkServerContext

from lending.documents.extraction.limits import MIB, LimitExceeded, ReadLimits
from lending.documents.extraction.reading import DocumentText, NeedsOcr, Unreadable
from lending.documents.extraction.schemas import PdfMetadata

_context: ForkServerContext | None = None
_context_lock = threading.Lock()


class NeedsOcrWithMetadata(NeedsOcr):
    def __init__(self, message: str, metadata: PdfMetadata | None) -> None:
        super().__init__(message)
        self.metadata = metadata


def _fork_server() -> ForkServerContext:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # "__main__" too: the server imports the main script once (as `__mp_main__`, so a
            # guarded script runs nothing), and the children it forks find it already there
            # instead of importing it again for every file.
            context.set_forkserver_preload(["__main__", "lending.documents.extraction.sandbox"])
            _context = context
        return _context


def warm_up() -> None:
    """Start the fork server now (it imports the readers: seconds), not on the first file."""
    from multiprocessing import forkserver

    _fork_server()
    forkserver.ensure_running()


def read_isolated(
    data: bytes, media_type: str, *, tesseract: str | None, limits: ReadLimits
) -> DocumentText:
    """`read_document` in a child process within `limits` (blocking: call it from a thread).

    Raises:
        NeedsOcr: as `read_document` (a `NeedsOcrWithMetadata` carrying the PDF's metadata).
        Unreadable: as `read_document`, or over a limit, with a sentence saying which.
    """
    context = _fork_server()
    receiver, sender = context.Pipe(duplex=True)
    from lending.documents.extraction import sandbox_entry

    child = context.Process(
        target=sandbox_entry.serve,
        args=(sender, media_type, tesseract, limits),
        name="omnifin-extraction",
        daemon=True,
    )
    child.start()
    sender.close()
    started = time.monotonic()
    try:
        try:
            receiver.send_bytes(data)
            remaining = limits.wall_seconds - (time.monotonic() - started)
            answer = receiver.recv() if receiver.poll(max(remaining, 0)) else None
        except (EOFError, BrokenPipeError, ConnectionResetError):
            answer = ()
        if answer is None:
            child.kill()
            child.join()
            raise Unreadable(
                f"Reading the file took longer than {limits.wall_seconds:g} seconds, the most "
                "allowed; it was stopped. It may be damaged or built to be slow to read."
            )
        child.join(timeout=5)
        if child.exitcode is None:
            child.kill()
            child.join()
    finally:
        receiver.close()
    if not answer:
        raise _crashed(child.exitcode, limits)
    outcome = answer[0]
    if outcome == "text":
        text: DocumentText = answer[1]
        return text
    if outcome == "needs_ocr":
        raise NeedsOcrWithMetadata(answer[1], answer[2])
    if outcome == "failed":  # damaged, or over a limit: the child's sentence says which
        raise Unreadable(answer[1])
    if outcome == "memory":
        raise Unreadable(_memory_message(limits))
    raise Unreadable(f"The file could not be read ({answer[1]}).")


def _memory_message(limits: ReadLimits) -> str:
    return (
        f"Reading the file needed more than the {limits.memory_bytes // MIB} MiB of memory "
        "allowed; it was stopped. It may be a decompression bomb or far larger than a "
        "document needs to be."
    )


def _crashed(exitcode: int | None, limits: ReadLimits) -> Unreadable:
    if exitcode is not None and -exitcode in (signal.SIGXCPU, signal.SIGKILL):
        return Unreadable(
            f"Reading the file used more than the {limits.cpu_seconds} seconds of processor "
            "time allowed (or ran out of memory); it was stopped. It may be damaged or built "
            "to be slow to read."
        )
    if exitcode is not None and -exitcode in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
        return Unreadable(
            "The reader stopped on this file (it may be malformed, or need more than the "
            f"{limits.memory_bytes // MIB} MiB of memory allowed)."
        )
    return Unreadable(f"The reader ended without a result (exit status {exitcode}).")


__all__ = ["LimitExceeded", "NeedsOcrWithMetadata", "read_isolated"]
