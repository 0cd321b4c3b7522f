"""The child side of isolated reading (see `isolation`): limits on itself, then `read_document`.

Imported by the fork server before any child is forked (its heavy imports are paid once per
worker process, then shared by every child), never by the worker itself.
"""

from __future__ import annotations

import ctypes
import io
import resource
import signal
import zipfile
from multiprocessing.connection import Connection
from typing import Any

import pdfminer.high_level  # noqa: F401 - preloaded for the children
import pdfminer.pdftypes
import pypdfium2  # type: ignore[import-untyped]  # noqa: F401
import pytesseract  # type: ignore[import-untyped]  # noqa: F401
from PIL import Image

from lending import spacy_model
from lending.documents.extraction.limits import BoundedInflation, LimitExceeded, ReadLimits
from lending.documents.extraction.reading import (
    PDF,
    NeedsOcr,
    Unreadable,
    pdf_metadata,
    read_document,
)

spacy_model.install()
from unstructured.partition.docx import partition_docx  # noqa: E402

_PR_SET_PDEATHSIG = 1
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"


def _warm_up_word() -> None:
    """Read a two-line Word file once, here in the fork server: `unstructured` sets itself up
    on its first document (about 2 s), which every child would otherwise repeat."""
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{_PACKAGE}/content-types"><Default '
        'Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Override '
        'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{_PACKAGE}/relationships"><Relationship '
        'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": f'<w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>Warm</w:t>'
        "</w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>up</w:t></w:r></w:p></w:tc></w:tr>"
        "</w:tbl></w:body></w:document>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, xml in parts.items():
            archive.writestr(name, xml)
    list(partition_docx(file=io.BytesIO(buffer.getvalue()), languages=["eng"]))


def _minimal_pdf() -> bytes:
    content = b"BT /F1 12 Tf 72 720 Td (Warm up) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


_warm_up_word()
# pdfminer loads font metrics and encodings on its first page: once here, not in every child.
read_document(_minimal_pdf(), PDF, tesseract=None, limits=ReadLimits())


def _limit_self(limits: ReadLimits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # SIGXCPU at the soft limit, SIGKILL a second later.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    try:  # Linux: die with the fork server (which dies with the worker), never linger.
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    # pdfminer inflates every stream whole; here each counts against the file's budget.
    pdfminer.pdftypes.zlib = BoundedInflation(limits)  # type: ignore[attr-defined,assignment]
    # Every image and frame is measured against `max_pixels` before it is decoded
    # (`ReadLimits.check_pixels`), which says the size in the reviewer's sentence.
    Image.MAX_IMAGE_PIXELS = None


def serve(connection: Connection, media_type: str, tesseract: str | None, limits: Any) -> None:
    """Read one file sent over `connection` and send back ("text", DocumentText) or
    (outcome, message[, metadata]) with outcome "needs_ocr", "failed" or "error"."""
    _limit_self(limits)
    data = connection.recv_bytes()
    result: tuple[Any, ...]
    try:
        result = ("text", read_document(data, media_type, tesseract=tesseract, limits=limits))
    except NeedsOcr as exc:
        metadata = None
        if media_type == PDF:
            try:
                metadata = pdf_metadata(data)
            except Exception:
                metadata = None
        result = ("needs_ocr", str(exc), metadata)
    except (Unreadable, LimitExceeded) as exc:
        result = ("failed", str(exc))
    except MemoryError:
        result = ("memory", "")
    except Exception as exc:
        result = ("error", type(exc).__name__)
    del data
    connection.send(result)
    connection.close()
