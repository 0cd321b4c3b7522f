"""Small real files of every accepted kind for the upload tests (made here, never real data)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image
from reportlab.lib.pagesizes import letter  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

MARKER = "OMNIFIN-PLAINTEXT-MARKER-7731"


def pdf_bytes(*lines: str, pages: int = 1) -> bytes:
    """A text PDF; every page carries the lines (and the marker, to look for on disk)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter, pageCompression=0)
    for _ in range(pages):
        y = 720
        for line in (*lines, MARKER):
            pdf.drawString(72, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def image_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 200, 200)).save(buffer, format=kind)
    return buffer.getvalue()


def docx_bytes(text: str = "Employment letter") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(
            "word/document.xml",
            f"<w:document><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def plain_zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a word document")
    return buffer.getvalue()


# An ISO-BMFF header with the HEIC brand (what an iPhone photo starts with).
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
# A Windows executable (MZ header), to be uploaded under a .pdf name.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
