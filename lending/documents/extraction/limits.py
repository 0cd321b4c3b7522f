"""The limits a file is read within: pages, inflated bytes, compression ratio and pixels (checked
by the reader) and CPU time, address space and wall-clock time (enforced on the child process the
reading runs in, `isolation`). A file over a limit is `Unreadable` with a sentence saying which."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from lending.config import Settings

MIB = 1_048_576
# Streams and zip members smaller than this are never refused for their compression ratio:
# small XML compresses well and harms no one.
RATIO_FLOOR_BYTES = MIB


class LimitExceeded(Exception):
    """The file is over one of the reading limits; the message is a sentence for a reviewer."""


@dataclass(frozen=True, slots=True)
class ReadLimits:
    max_pages: int = 200
    max_decompressed_bytes: int = 64 * MIB
    max_compression_ratio: float = 200.0
    max_pixels: int = 50_000_000
    cpu_seconds: int = 60
    memory_bytes: int = 1536 * MIB
    wall_seconds: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(
            max_pages=settings.documents_max_pages,
            max_decompressed_bytes=settings.documents_max_decompressed_bytes,
            max_compression_ratio=settings.documents_max_compression_ratio,
            max_pixels=settings.documents_max_pixels,
            cpu_seconds=settings.documents_extraction_cpu_seconds,
            memory_bytes=settings.documents_extraction_memory_bytes,
            wall_seconds=settings.documents_extraction_wall_seconds,
        )

    def check_pixels(self, width: int, height: int, what: str) -> None:
        if width * height > self.max_pixels:
            raise LimitExceeded(
                f"The {what} is {width} x {height} pixels, more than the {self.max_pixels:,} "
                "pixels that are read; upload a smaller scan or photo."
            )

    def inflation_exceeded(self, total: int) -> LimitExceeded:
        return LimitExceeded(
            f"The file inflates to more than {self.max_decompressed_bytes // MIB} MiB when "
            f"decompressed (at least {total // MIB} MiB); it may be a decompression bomb and "
            "was not read."
        )

    def ratio_exceeded(self, inflated: int, compressed: int) -> LimitExceeded:
        return LimitExceeded(
            f"Part of the file is compressed {inflated / max(compressed, 1):,.0f} to 1 (at most "
            f"{self.max_compression_ratio:,.0f} to 1 is read); it may be a decompression bomb "
            "and was not read."
        )


class BoundedInflation:
    """A stand-in for the `zlib` module inside pdfminer (installed in the reading child only):
    every stream it inflates counts against one budget per file, and a stream over 1 MiB may not
    inflate more than the ratio limit. pdfminer itself inflates each stream whole."""

    error = zlib.error
    MAX_WBITS = zlib.MAX_WBITS

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.total = 0

    def count(self, inflated: int) -> None:
        self.total += inflated
        if self.total > self.limits.max_decompressed_bytes:
            raise self.limits.inflation_exceeded(self.total)

    def check_ratio(self, inflated: int, compressed: int) -> None:
        if inflated > RATIO_FLOOR_BYTES and inflated > self.limits.max_compression_ratio * max(
            compressed, 1
        ):
            raise self.limits.ratio_exceeded(inflated, compressed)

    def decompress(self, data: bytes, wbits: int = zlib.MAX_WBITS, bufsize: int = 0) -> bytes:
        inflater = zlib.decompressobj(wbits)
        room = self.limits.max_decompressed_bytes - self.total
        out = inflater.decompress(data, room + 1)
        if len(out) > room:
            raise self.limits.inflation_exceeded(self.total + len(out))
        self.check_ratio(len(out), len(data))
        if not inflater.eof:
            # pdfminer then inflates what it can through `decompressobj` (bounded too).
            raise zlib.error("incomplete or truncated stream")
        self.count(len(out))
        return out

    def decompressobj(self, *args: Any, **kwargs: Any) -> _BoundedInflater:
        return _BoundedInflater(self, zlib.decompressobj(*args, **kwargs))


class _BoundedInflater:
    def __init__(self, budget: BoundedInflation, inner: Any) -> None:
        self.budget = budget
        self.inner = inner
        self.compressed = 0
        self.inflated = 0

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        room = self.budget.limits.max_decompressed_bytes - self.budget.total + 1
        out: bytes = self.inner.decompress(data, min(max_length, room) if max_length else room)
        self.compressed += len(data)
        self.inflated += len(out)
        self.budget.count(len(out))
        self.budget.check_ratio(self.inflated, self.compressed)
        return out

    def flush(self, *args: Any) -> bytes:
        out: bytes = self.inner.flush(*args)
        self.budget.count(len(out))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
