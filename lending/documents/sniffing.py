"""What a file is, decided from its bytes (magic numbers), never from its name or declared type.

Accepted: PDF, PNG, JPEG, HEIC/HEIF, TIFF and DOCX. A DOCX is a zip, so a zip is only a DOCX
when its central directory (at the end of the file, kept by the caller as it streams) lists
`word/document.xml` and `[Content_Types].xml`.
"""

from __future__ import annotations

import io
import zipfile

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
HEIC = "image/heic"
HEIF = "image/heif"
TIFF = "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_CANDIDATE = "application/zip"

ACCEPTED = (PDF, PNG, JPEG, HEIC, HEIF, TIFF, DOCX)
# Bytes needed to decide (the ISO-BMFF brand of a HEIF image ends at byte 12).
SNIFF_BYTES = 16
# How much of a zip's end is kept to read its central directory.
ZIP_TAIL_BYTES = 1_048_576

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"heif"}


def sniff(head: bytes) -> str | None:
    """The media type the first bytes show, ZIP_CANDIDATE for a zip still to be checked, or
    None for anything not accepted (an executable, a script, plain text, ...)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return HEIC
        if brand in _HEIF_BRANDS:
            return HEIF
        return None
    if head.startswith(b"PK\x03\x04"):
        return ZIP_CANDIDATE
    return None


class _Tail(io.RawIOBase):
    """A read-only file of `size` bytes of which only the last `len(tail)` are known; reading
    elsewhere fails (zipfile opening an archive reads only its end)."""

    def __init__(self, tail: bytes, size: int) -> None:
        self.tail = tail
        self.size = size
        self.start = size - len(tail)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.position < self.start:
            raise OSError("outside the kept end of the file")
        data = self.tail[self.position - self.start : self.position - self.start + len(buffer)]
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def is_docx(tail: bytes, size: int) -> bool:
    """Whether a zip of `size` bytes ending in `tail` is a Word document."""
    try:
        with zipfile.ZipFile(io.BufferedReader(_Tail(tail, size))) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return "word/document.xml" in names and "[Content_Types].xml" in names
