"""Turns an uploaded file into titled passages: type checks, `unstructured` partitioning, chunking.

Markdown, plain text, HTML and DOCX go through `unstructured`'s partitioners. PDFs do not: its PDF
partitioner imports `unstructured_inference` (torch, opencv) even for the text-only "fast"
strategy, and the project installs without torch. A PDF's text layer is read with pdfminer.six
page by page and handed to `unstructured`'s plain-text partitioner, so PDFs get the same element
classification and the same chunking as everything else. A PDF without a text layer (a scan)
needs OCR, which is refused with a message saying so.

Everything here is synchronous, CPU-bound and free of I/O besides the bytes given: callers run
it in a worker thread. Any failure is an `OmnifinError` with a sentence the uploader can act on,
raised before anything is written.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from knowledge.language import Language, detect_language, has_letters
from lending import spacy_model
from lending.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

MARKDOWN = "text/markdown"
PLAIN_TEXT = "text/plain"
HTML = "text/html"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

MEDIA_TYPES: dict[str, str] = {
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".txt": PLAIN_TEXT,
    ".text": PLAIN_TEXT,
    ".html": HTML,
    ".htm": HTML,
    ".pdf": PDF,
    ".docx": DOCX,
}
SUPPORTED_DESCRIPTION = (
    "Markdown (.md), plain text (.txt), HTML (.html), PDF (.pdf) or Word (.docx)"
)

# unstructured names languages by ISO 639-3.
_UNSTRUCTURED_LANGUAGE = {"en": "eng", "zh": "zho"}
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class SourceFile:
    """An uploaded or local file: its name (for the type and messages) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Passage:
    """One chunk of a document, with the headings it sits under."""

    position: int
    heading_path: tuple[str, ...]
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedDocument:
    name: str
    media_type: str
    content_hash: str
    language: Language
    title: str
    front_matter: dict[str, str]
    passages: list[Passage]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_source(source: SourceFile, *, max_bytes: int) -> str:
    """The file's media type, after the checks that need no parsing.

    Raises:
        PayloadTooLarge: over `max_bytes`.
        UnsupportedMediaType: an extension other than the supported ones.
        InvalidInput: empty, or the content is not what the extension says.
    """
    name = source.name
    if len(source.data) > max_bytes:
        raise PayloadTooLarge(
            f"'{name}' is {len(source.data):,} bytes; knowledge files may be at most "
            f"{max_bytes:,} bytes."
        )
    suffix = PurePath(name).suffix.lower()
    media_type = MEDIA_TYPES.get(suffix)
    if media_type is None:
        kind = f"'{suffix}' files" if suffix else "files without an extension"
        raise UnsupportedMediaType(
            f"'{name}': {kind} are not supported; use {SUPPORTED_DESCRIPTION}."
        )
    if not source.data.strip():
        raise InvalidInput(f"'{name}' is empty.")
    if media_type == PDF:
        if not source.data.lstrip()[:5] == b"%PDF-":
            raise InvalidInput(f"'{name}' is not a PDF file (it does not start with %PDF-).")
    elif media_type == DOCX:
        if not _is_docx(source.data):
            raise InvalidInput(f"'{name}' is not a Word .docx file (no word/document.xml inside).")
    else:
        _decode_text(source)
    return media_type


def parse_document(
    source: SourceFile,
    *,
    max_bytes: int,
    max_chars: int,
    soft_max_chars: int,
    language: Language | None = None,
) -> ParsedDocument:
    """Check, partition and chunk one file.

    Args:
        source: the file.
        max_bytes: the size limit.
        max_chars: hard bound of a passage's length; longer elements are split.
        soft_max_chars: a passage is closed once it reaches about this length.
        language: the document's language; otherwise front matter `language:`, otherwise
            detected from the text.

    Raises:
        PayloadTooLarge, UnsupportedMediaType, InvalidInput: see `check_source`; also a file
            that cannot be read, yields no text (never a silent empty result), or is a scanned
            PDF while OCR is not installed.
    """
    media_type = check_source(source, max_bytes=max_bytes)
    spacy_model.install()
    front_matter: dict[str, str] = {}
    body_text: str | None = None
    if media_type in (MARKDOWN, PLAIN_TEXT, HTML):
        body_text = _decode_text(source)
        if media_type != HTML:
            front_matter, body_text = split_front_matter(body_text)
        if not has_letters(body_text):
            raise InvalidInput(f"'{source.name}' has no text to index.")
    declared = front_matter.get("language")
    if language is None and declared:
        if declared not in _UNSTRUCTURED_LANGUAGE:
            raise InvalidInput(f"'{source.name}': language '{declared}' is not supported.")
        language = declared  # type: ignore[assignment]
    elements = _partition(source, media_type, body_text, language)
    if language is None:
        language = detect_language(" ".join(_text(e) for e in elements[:50]))
    texts = [e for e in elements if _text(e).strip()]
    if not texts:
        # unstructured returns [] for some unreadable inputs instead of raising; an empty
        # result from a non-empty file is a failure, never an empty knowledge entry.
        raise InvalidInput(
            f"'{source.name}' produced no text: the file may be damaged, or its text may be "
            "stored as images."
        )
    passages = _chunk(texts, max_chars=max_chars, soft_max_chars=soft_max_chars)
    title = front_matter.get("title") or _first_title(texts) or PurePath(source.name).stem
    return ParsedDocument(
        name=source.name,
        media_type=media_type,
        content_hash=content_hash(source.data),
        language=language,
        title=title.strip()[:300],
        front_matter=front_matter,
        passages=passages,
    )


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """`key: value` lines between leading `---` lines, and the text after them.

    Only flat keys are read (title, key, category, language, lender, product, tags); the format
    is a subset of YAML front matter so the files stay readable in any Markdown viewer.
    """
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, text[match.end() :]


def passage_context(title: str, heading_path: tuple[str, ...] | list[str], text: str) -> str:
    """What is embedded and indexed for a passage: the entry's title, its headings, its text.

    Headings carry what the passage is about ("Fees > Late payment") when its own text does not
    repeat it; the chunk's text already starts with its nearest heading.
    """
    headings = [h for h in heading_path if h and h != title]
    lines = [title]
    if headings:
        lines.append(" > ".join(headings))
    lines.append(text)
    return "\n".join(lines)


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


# --- internals -------------------------------------------------------------------------------


def _decode_text(source: SourceFile) -> str:
    if b"\x00" in source.data[:8192]:
        raise InvalidInput(f"'{source.name}' is a binary file, not text.")
    try:
        return source.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"'{source.name}' is not UTF-8 text (byte {exc.start} cannot be decoded); save it "
            "as UTF-8."
        ) from None


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _partition(
    source: SourceFile, media_type: str, body_text: str | None, language: Language | None
) -> list[Any]:
    languages = [_UNSTRUCTURED_LANGUAGE[language]] if language else ["eng"]
    try:
        if media_type == MARKDOWN:
            from unstructured.partition.md import partition_md

            return list(partition_md(text=body_text, languages=languages))
        if media_type == PLAIN_TEXT:
            from unstructured.partition.text import partition_text

            return list(partition_text(text=body_text, languages=languages))
        if media_type == HTML:
            from unstructured.partition.html import partition_html

            return list(partition_html(text=body_text, languages=languages))
        if media_type == DOCX:
            from unstructured.partition.docx import partition_docx

            return list(partition_docx(file=io.BytesIO(source.data), languages=languages))
        return _partition_pdf(source, languages)
    except (InvalidInput, spacy_model.SpacyModelUnavailable):
        raise
    except Exception as exc:
        raise InvalidInput(
            f"'{source.name}' could not be read as {media_type} ({type(exc).__name__})."
        ) from exc


def _partition_pdf(source: SourceFile, languages: list[str]) -> list[Any]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    from unstructured.partition.text import partition_text

    pages: list[str] = []
    for page in extract_pages(io.BytesIO(source.data)):
        parts = [item.get_text() for item in page if isinstance(item, LTTextContainer)]
        # pdfminer returns each text box's lines; a blank line between boxes keeps paragraphs
        # apart for the plain-text partitioner.
        pages.append("\n\n".join(part.strip() for part in parts if part.strip()))
    if not pages:
        raise InvalidInput(f"'{source.name}' has no pages.")
    if not any(has_letters(page) for page in pages):
        if not ocr_available():
            raise InvalidInput(
                f"'{source.name}' has no text layer (a scanned PDF?) and OCR is not installed "
                "(tesseract was not found), so its text cannot be read. Upload a PDF with "
                "selectable text, or the document as Word, Markdown or text."
            )
        raise InvalidInput(
            f"'{source.name}' has no text layer (a scanned PDF?); OCR of scanned PDFs is not "
            "supported by the knowledge base. Upload a PDF with selectable text instead."
        )
    elements: list[Any] = []
    for number, page_text in enumerate(pages, start=1):
        if not page_text.strip():
            continue
        for element in partition_text(text=page_text, languages=languages):
            element.metadata.page_number = number
            elements.append(element)
    return elements


def _text(element: Any) -> str:
    return str(getattr(element, "text", "") or "")


def _is_title(element: Any) -> bool:
    return type(element).__name__ == "Title"


def _first_title(elements: list[Any]) -> str | None:
    for element in elements[:5]:
        if _is_title(element):
            return _text(element)
    return None


def _heading_paths(elements: list[Any]) -> dict[str, tuple[str, ...]]:
    """Each element's headings, outermost first; a title's path ends with itself."""
    stack: list[tuple[int, str]] = []
    paths: dict[str, tuple[str, ...]] = {}
    for element in elements:
        if _is_title(element):
            depth = element.metadata.category_depth or 0
            stack = [(d, t) for d, t in stack if d < depth]
            stack.append((depth, _text(element).strip()))
        paths[str(element.id)] = tuple(t for _, t in stack)
    return paths


def _chunk(elements: list[Any], *, max_chars: int, soft_max_chars: int) -> list[Passage]:
    from unstructured.chunking.title import chunk_by_title

    paths = _heading_paths(elements)
    chunks = chunk_by_title(
        elements,
        max_characters=max_chars,
        new_after_n_chars=min(soft_max_chars, max_chars),
        # Every section stays its own passage: merging small sections would blur citations.
        combine_text_under_n_chars=0,
        multipage_sections=True,
        include_orig_elements=True,
    )
    passages: list[Passage] = []
    for chunk in chunks:
        text = _text(chunk).strip()
        if not text:
            continue
        originals = list(getattr(chunk.metadata, "orig_elements", None) or [])
        if originals and all(_is_title(e) for e in originals):
            # A heading directly followed by a sub-heading: nothing to cite, and its words are
            # in the heading path of the passages under it.
            continue
        path = paths.get(str(originals[0].id), ()) if originals else ()
        pages = sorted(
            {e.metadata.page_number for e in originals if e.metadata.page_number is not None}
        )
        metadata: dict[str, Any] = {"element_types": sorted({type(e).__name__ for e in originals})}
        if pages:
            metadata["pages"] = pages
        passages.append(
            Passage(position=len(passages), heading_path=path, text=text, metadata=metadata)
        )
    return passages
