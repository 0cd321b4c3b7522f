"""Reads the text of an uploaded file: a PDF's text layer (pdfminer.six) and its metadata, a
Word file through `unstructured`, and images or image-only PDFs through tesseract OCR.

Synchronous and CPU-bound: `analyse` runs it in a child process (`isolation`) within
`ReadLimits`: pages, inflated bytes, compression ratio and pixels are checked here (a file over
one raises `LimitExceeded`), CPU time, memory and wall-clock time by the child's limits. Text keeps the page's rows: the
pieces of one printed row are joined on one line (two spaces between columns), which is what
the label/value extractors and the transaction parser read.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from lending.documents.extraction.limits import LimitExceeded, ReadLimits
from lending.documents.extraction.schemas import PdfMetadata

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/tiff", "image/heic", "image/heif"})
SUPPORTED_TYPES = frozenset({PDF, DOCX, *IMAGE_TYPES})

# Rendering and OCR resolution for pages that are images: enough for 9-10 pt print.
OCR_DPI = 200
# OCR takes seconds a page; loan documents are short. Pages beyond this are not read (and the
# analysis says so) rather than tying a worker up for minutes.
MAX_OCR_PAGES = 20
# Images smaller than this (px wide) are scaled up before OCR; tesseract wants ~20 px letters.
_MIN_OCR_WIDTH = 1400
_PAGE_SEPARATOR = "\n\n"
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_PDF_DATE = re.compile(
    r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz+\-])(\d{2})?'?(\d{2})?'?)?"
)

_ocr_lock = threading.Lock()


def _layout_params() -> Any:
    from pdfminer.layout import LAParams

    # Rows are rebuilt from text lines (`_page_rows`), so pdfminer's hierarchical grouping of
    # text boxes (quadratic in the boxes on a page; 3-4x the rest of the work on a full
    # statement page) is switched off.
    return LAParams(char_margin=2.0, boxes_flow=None)


class NeedsOcr(Exception):
    """The file's text is only in images and OCR is not available; the message says so."""


class Unreadable(Exception):
    """The file cannot be read; the message is a sentence for the uploader."""


@dataclass
class DocumentText:
    text: str
    pages: int
    ocr: bool = False
    metadata: PdfMetadata | None = None
    # For OCR text: (start, end, confidence 0..1) of each word in `text`.
    word_confidences: list[tuple[int, int, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool = True  # False when pages were left unread (the OCR page limit)

    def ocr_confidence(self, span: tuple[int, int] | None) -> float:
        """tesseract's confidence in the words of `span`, weighted by their length (1.0 for a
        text layer, 0.5 when the span is unknown). A mean, not the minimum: tesseract now and
        then scores a correctly read short word 0."""
        if not self.ocr:
            return 1.0
        if span is None:
            return 0.5
        start, end = span
        inside = [(e - s, c) for s, e, c in self.word_confidences if s < end and e > start]
        if not inside:
            return 0.5
        return sum(length * c for length, c in inside) / sum(length for length, _ in inside)


def resolve_tesseract(tesseract_cmd: str | None) -> str | None:
    """The tesseract executable to use, or None when OCR is switched off or not installed."""
    if not tesseract_cmd:
        return None
    return shutil.which(tesseract_cmd)


def read_document(
    data: bytes, media_type: str, *, tesseract: str | None, limits: ReadLimits | None = None
) -> DocumentText:
    """The text of `data`, read according to its (sniffed) media type.

    Raises:
        NeedsOcr: an image, or a PDF without a text layer, while `tesseract` is None.
        Unreadable: damaged or unsupported content, or no text at all.
        LimitExceeded: more pages, inflated bytes or pixels than `limits` allow.
    """
    limits = limits or ReadLimits()
    if not data:
        raise Unreadable("The file is empty.")
    if media_type == PDF:
        return _read_pdf(data, tesseract, limits)
    if media_type == DOCX:
        return _read_docx(data, limits)
    if media_type in IMAGE_TYPES:
        return _read_image(data, media_type, tesseract, limits)
    raise Unreadable(f"Files of type {media_type} cannot be read.")


def has_letters(text: str) -> bool:
    return _LETTERS.search(text) is not None


# --- PDF -----------------------------------------------------------------------------------


def _count_pdf_pages(data: bytes, limits: ReadLimits) -> None:
    """Refuse a PDF with more pages than the limit, counting (not reading) at most one more."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    count = 0
    for _ in PDFPage.create_pages(PDFDocument(PDFParser(io.BytesIO(data)))):
        count += 1
        if count > limits.max_pages:
            raise LimitExceeded(
                f"The PDF has more than {limits.max_pages} pages, the most that are read; "
                "upload only the pages the application needs."
            )


def _read_pdf(data: bytes, tesseract: str | None, limits: ReadLimits) -> DocumentText:
    from pdfminer.high_level import extract_pages
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        metadata = pdf_metadata(data)
        _count_pdf_pages(data, limits)
        pages = [
            _page_rows(page) for page in extract_pages(io.BytesIO(data), laparams=_layout_params())
        ]
    except (PDFSyntaxError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unreadable(
            f"The PDF could not be read; it may be damaged ({type(exc).__name__})."
        ) from exc
    except Exception as exc:  # pdfminer raises many private types for malformed files
        if type(exc).__name__ in ("PDFPasswordIncorrect", "PDFEncryptionError"):
            raise Unreadable(
                "The PDF is password-protected; upload a copy without a password."
            ) from exc
        if type(exc).__module__.startswith("pdfminer"):
            raise Unreadable(
                f"The PDF could not be read; it may be damaged or encrypted ({type(exc).__name__})."
            ) from exc
        raise
    if not pages:
        raise Unreadable("The PDF has no pages.")
    if any(has_letters(page) for page in pages):
        return DocumentText(text=_PAGE_SEPARATOR.join(pages), pages=len(pages), metadata=metadata)
    # No text layer: a scan. Its pages are images.
    if tesseract is None:
        raise NeedsOcr(
            "The PDF has no text layer (it looks like a scan) and OCR is not available on this "
            "server (tesseract is not installed or is switched off), so its text cannot be read."
        )
    result = _render_and_ocr(data, tesseract, limits)
    result.metadata = metadata
    return result


def _page_rows(page: Any) -> str:
    """A page's text lines grouped into printed rows, top to bottom, left to right."""
    from pdfminer.layout import LTTextContainer, LTTextLine

    lines: list[tuple[float, float, float, str]] = []  # (y-centre, x0, height, text)

    def collect(item: Any) -> None:
        if isinstance(item, LTTextLine):
            text = item.get_text().strip()
            if text:
                lines.append(((item.y0 + item.y1) / 2, item.x0, item.y1 - item.y0, text))
        elif isinstance(item, LTTextContainer):
            for child in item:
                collect(child)

    for item in page:
        collect(item)
    lines.sort(key=lambda line: (-line[0], line[1]))
    rows: list[list[tuple[float, float, float, str]]] = []
    for line in lines:
        if rows and abs(rows[-1][0][0] - line[0]) <= max(2.0, 0.4 * line[2]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return "\n".join("  ".join(p[3] for p in sorted(row, key=lambda p: p[1])) for row in rows)


def pdf_metadata(data: bytes) -> PdfMetadata | None:
    """Producer, creator and dates from the PDF's information dictionary."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    document = PDFDocument(PDFParser(io.BytesIO(data)))
    merged: dict[str, Any] = {}
    for info in document.info:
        merged.update({str(k): resolve1(v) for k, v in info.items()})
    if not merged:
        return None

    def text(key: str) -> str | None:
        value = merged.get(key)
        if isinstance(value, bytes):
            value = decode_text(value)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    return PdfMetadata(
        producer=text("Producer"),
        creator=text("Creator"),
        created_at=_iso_pdf_date(text("CreationDate")),
        modified_at=_iso_pdf_date(text("ModDate")),
    )


def parse_pdf_date(value: str | None) -> datetime | None:
    """A PDF date string (`D:YYYYMMDDHHmmSS+HH'mm'`) or an ISO string as an aware datetime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    match = _PDF_DATE.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, tz_h, tz_m = match.groups()
    offset = timedelta(0)
    if sign in ("+", "-"):
        offset = timedelta(hours=int(tz_h or 0), minutes=int(tz_m or 0))
        if sign == "-":
            offset = -offset
    try:
        return datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None


def _iso_pdf_date(value: str | None) -> str | None:
    parsed = parse_pdf_date(value)
    return parsed.isoformat() if parsed else value


def _render_scale(width_pt: float, height_pt: float, limits: ReadLimits) -> float:
    """OCR_DPI, or less when a page that large would render to more pixels than the limit."""
    scale = OCR_DPI / 72
    pixels = width_pt * height_pt * scale * scale
    if pixels > limits.max_pixels:
        scale *= (limits.max_pixels / pixels) ** 0.5
    return scale


def _render_and_ocr(data: bytes, tesseract: str, limits: ReadLimits) -> DocumentText:
    try:
        import pypdfium2  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - installed with unstructured's client
        raise NeedsOcr(
            "The PDF has no text layer and this server cannot render PDF pages for OCR "
            "(pypdfium2 is not installed)."
        ) from exc
    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise Unreadable("The PDF could not be opened to read its scanned pages.") from exc
    try:
        total = len(document)
        # One page rendered at a time: a long scan never sits in memory as images all at once.
        if total > limits.max_pages:
            raise LimitExceeded(
                f"The PDF has {total} pages, more than the {limits.max_pages} that are read; "
                "upload only the pages the application needs."
            )
        pages = (
            _render_page(document[index], limits) for index in range(min(total, MAX_OCR_PAGES))
        )
        return _ocr_pages(pages, total, tesseract, limits)
    finally:
        document.close()


def _render_page(page: Any, limits: ReadLimits) -> Any:
    width, height = page.get_size()
    return page.render(scale=_render_scale(width, height, limits), grayscale=True).to_pil()


def _check_zip_members(archive: zipfile.ZipFile, limits: ReadLimits) -> None:
    """Refuse a zip whose members would inflate past the limits. zipfile never returns more
    than a member's declared size (and checks its CRC), so the declared sizes bound what any
    reader of the archive (python-docx, inside `unstructured`) can inflate."""
    from lending.documents.extraction.limits import RATIO_FLOOR_BYTES

    total = 0
    for member in archive.infolist():
        total += member.file_size
        if total > limits.max_decompressed_bytes:
            raise limits.inflation_exceeded(total)
        if (
            member.file_size > RATIO_FLOOR_BYTES
            and member.file_size > limits.max_compression_ratio * max(member.compress_size, 1)
        ):
            raise limits.ratio_exceeded(member.file_size, member.compress_size)


# --- Word ----------------------------------------------------------------------------------


def _read_docx(data: bytes, limits: ReadLimits) -> DocumentText:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/document.xml" not in archive.namelist():
                raise Unreadable("The file is not a Word document (no word/document.xml inside).")
            _check_zip_members(archive, limits)
            body = archive.read("word/document.xml")
    except (zipfile.BadZipFile, OSError) as exc:
        raise Unreadable("The Word document could not be opened; it may be damaged.") from exc
    from lending import spacy_model

    # The same offline, telemetry-free set-up as the knowledge base's ingestion.
    spacy_model.install()
    from unstructured.partition.docx import partition_docx

    try:
        elements = list(partition_docx(file=io.BytesIO(data), languages=["eng"]))
    except Exception as exc:
        raise Unreadable(
            f"The Word document could not be read ({type(exc).__name__}); it may be damaged."
        ) from exc
    # A Word file has pages only once laid out; its explicit page breaks are what it declares.
    pages = 1 + len(re.findall(rb"<w:br [^>]*w:type=\"page\"", body))
    lines: list[str] = []
    for element in elements:
        html = getattr(element.metadata, "text_as_html", None)
        if type(element).__name__ == "Table" and html:
            lines.extend(_table_rows(html))
        elif (text := str(getattr(element, "text", "") or "").strip()) != "":
            lines.append(text)
    text = "\n".join(lines)
    if not has_letters(text):
        raise Unreadable("The Word document contains no text.")
    return DocumentText(text=text, pages=pages)


def _table_rows(html: str) -> list[str]:
    """A table's rows as lines, cells two spaces apart (from unstructured's HTML of the table)."""
    from html import unescape

    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.DOTALL)
    out = []
    for row in rows:
        cells = [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.DOTALL)
        ]
        line = "  ".join(c for c in cells if c)
        if line:
            out.append(line)
    return out


# --- images and OCR --------------------------------------------------------------------------


@functools.cache
def _register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF (iPhone photos) through pillow-heif's bundled libheif."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _read_image(
    data: bytes, media_type: str, tesseract: str | None, limits: ReadLimits
) -> DocumentText:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if media_type in ("image/heic", "image/heif"):
        _register_heif()
    try:
        image = Image.open(io.BytesIO(data))
        # The header's size, before a pixel is decoded.
        limits.check_pixels(image.width, image.height, "image")
        image.load()
    except Image.DecompressionBombError as exc:
        raise Unreadable("The image is too large to read; upload a smaller scan.") from exc
    except (UnidentifiedImageError, OSError) as exc:
        if media_type in ("image/heic", "image/heif"):
            raise Unreadable(
                "The HEIC/HEIF image could not be decoded; it may be damaged. Upload the "
                "document again, or as PDF, JPEG or PNG."
            ) from exc
        raise Unreadable("The image could not be decoded; it may be damaged.") from exc
    if tesseract is None:
        raise NeedsOcr(
            "The document is an image and OCR is not available on this server (tesseract is "
            "not installed or is switched off), so its text cannot be read."
        )
    total = getattr(image, "n_frames", 1)
    if total > limits.max_pages:
        raise LimitExceeded(
            f"The image has {total} pages, more than the {limits.max_pages} that are read."
        )

    def frames() -> Iterable[Any]:
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            if index >= MAX_OCR_PAGES:
                return
            limits.check_pixels(frame.width, frame.height, f"image's page {index + 1}")
            yield frame.copy()

    return _ocr_pages(frames(), total, tesseract, limits)


def _ocr_pages(
    images: Iterable[Any], total: int, tesseract: str, limits: ReadLimits
) -> DocumentText:
    """OCR of up to MAX_OCR_PAGES pages; a longer document says which pages were read."""
    import pytesseract  # type: ignore[import-untyped]
    from PIL import Image

    page_texts: list[str] = []
    confidences: list[tuple[int, int, float]] = []
    offset = 0
    count = 0
    for image in images:
        count += 1
        page = image.convert("L")
        if page.width < _MIN_OCR_WIDTH:
            # Upscaled for tesseract, but never past the pixel limit (a thin, tall strip would
            # otherwise grow without bound).
            factor = _MIN_OCR_WIDTH / page.width
            factor = min(factor, (limits.max_pixels / (page.width * page.height)) ** 0.5)
            if factor > 1:
                page = page.resize(
                    (round(page.width * factor), round(page.height * factor)),
                    Image.Resampling.LANCZOS,
                )
        with _ocr_lock:
            # pytesseract reads the executable from a module global.
            pytesseract.pytesseract.tesseract_cmd = tesseract
            try:
                words = pytesseract.image_to_data(
                    page, lang="eng", config="--psm 4", output_type=pytesseract.Output.DICT
                )
            except (pytesseract.TesseractError, OSError) as exc:
                raise Unreadable(f"OCR of the document failed ({type(exc).__name__}).") from exc
        text, spans = _ocr_lines(words, offset)
        page_texts.append(text)
        confidences.extend(spans)
        offset += len(text) + len(_PAGE_SEPARATOR)
    full = _PAGE_SEPARATOR.join(page_texts)
    if not has_letters(full):
        raise Unreadable("No text could be read from the document's image.")
    notes = []
    if total > count:
        notes.append(
            f"Only the first {count} of {total} pages were read by OCR; the rest were skipped."
        )
    return DocumentText(
        text=full,
        pages=total,
        ocr=True,
        word_confidences=confidences,
        notes=notes,
        complete=total == count,
    )


def _ocr_lines(
    words: dict[str, list[Any]], offset: int
) -> tuple[str, list[tuple[int, int, float]]]:
    """tesseract's words as lines (two spaces where a wide gap separates columns), with each
    word's span and confidence."""
    lines: dict[tuple[int, int, int], list[int]] = {}
    for index, word in enumerate(words["text"]):
        if str(word).strip() and float(words["conf"][index]) >= 0:
            key = (words["block_num"][index], words["par_num"][index], words["line_num"][index])
            lines.setdefault(key, []).append(index)
    out: list[str] = []
    spans: list[tuple[int, int, float]] = []
    position = offset
    for indexes in lines.values():
        parts: list[str] = []
        length = 0
        previous_end: int | None = None
        for index in indexes:
            word = str(words["text"][index]).strip()
            left, width, height = (
                words["left"][index],
                words["width"][index],
                words["height"][index],
            )
            if previous_end is not None:
                gap = "  " if left - previous_end > 1.2 * height else " "
                parts.append(gap)
                length += len(gap)
            spans.append(
                (
                    position + length,
                    position + length + len(word),
                    float(words["conf"][index]) / 100,
                )
            )
            parts.append(word)
            length += len(word)
            previous_end = left + width
        out.append("".join(parts))
        position += length + 1
    return "\n".join(out), spans
