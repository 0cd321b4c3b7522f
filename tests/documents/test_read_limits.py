"""Reading within limits: each hostile file ends `failed` with a sentence naming the limit it
crossed, read in a child process that the limits on CPU, memory and time stop; the calling
process carries on and reads the next file."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date

import pytest

from evals.synthetic_documents import generate
from lending.documents.extraction import Analysis, ApplicantFacts, analyse
from lending.documents.extraction.limits import MIB, ReadLimits
from lending.documents.types import DocumentType
from tests.documents import bombs

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LIMITS = ReadLimits()


@functools.cache
def _bomb(name: str) -> bytes:
    made: bytes = getattr(bombs, name)()
    return made


async def _read(data: bytes, media_type: str, limits: ReadLimits = LIMITS) -> Analysis:
    return await analyse(
        data,
        media_type,
        declared_type=DocumentType.PAY_STUB,
        applicant=ApplicantFacts(full_name=None, date_of_birth=None),
        today=date(2026, 6, 30),
        tesseract_cmd="tesseract",
        limits=limits,
    )


async def test_a_zip_bomb_word_file_is_refused_before_it_is_inflated() -> None:
    analysis = await _read(_bomb("zip_bomb_docx"), DOCX)

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "inflates to more than 64 MiB" in analysis.error
    assert "decompression bomb" in analysis.error


async def test_a_word_file_compressed_past_the_ratio_limit_is_refused() -> None:
    roomy = replace(LIMITS, max_decompressed_bytes=512 * MIB)

    analysis = await _read(_bomb("zip_bomb_docx"), DOCX, roomy)

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "to 1 (at most 200 to 1 is read)" in analysis.error


async def test_a_pdf_stream_bomb_stops_at_the_inflated_bytes_limit() -> None:
    analysis = await _read(_bomb("flate_bomb_pdf"), "application/pdf")

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "inflates to more than 64 MiB" in analysis.error


async def test_a_pdf_stream_bomb_stops_at_the_ratio_limit() -> None:
    roomy = replace(LIMITS, max_decompressed_bytes=512 * MIB)

    analysis = await _read(_bomb("flate_bomb_pdf"), "application/pdf", roomy)

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "(at most 200 to 1 is read)" in analysis.error


async def test_without_the_inflation_limits_the_memory_limit_stops_the_bomb() -> None:
    # The address-space limit is the backstop for what no other check foresaw.
    unbounded = replace(
        LIMITS,
        max_decompressed_bytes=1 << 40,
        max_compression_ratio=1e9,
        memory_bytes=512 * MIB,
    )

    analysis = await _read(_bomb("flate_bomb_pdf"), "application/pdf", unbounded)

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "more than the 512 MiB of memory allowed" in analysis.error


async def test_a_pdf_of_ten_thousand_pages_is_refused_without_reading_them() -> None:
    analysis = await _read(_bomb("many_pages_pdf"), "application/pdf")

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "more than 200 pages" in analysis.error


async def test_an_image_header_of_fifty_thousand_pixels_square_is_refused() -> None:
    analysis = await _read(_bomb("huge_header_png"), "image/png")

    assert analysis.status == "failed"
    assert analysis.error is not None
    assert "50000 x 50000 pixels, more than the 50,000,000 pixels" in analysis.error


async def test_reading_past_the_wall_clock_limit_is_stopped_and_the_next_file_is_read() -> None:
    stub = generate(DocumentType.PAY_STUB, seed=5)
    hurried = replace(LIMITS, wall_seconds=0.001)

    stopped = await _read(stub.data, stub.media_type, hurried)
    after = await _read(stub.data, stub.media_type)

    assert stopped.status == "failed"
    assert stopped.error is not None
    assert "took longer than 0.001 seconds" in stopped.error
    assert after.status == "extracted"
    assert after.fields["employer"].value == stub.expected["employer"]


@pytest.mark.parametrize("pages", [3])
async def test_a_document_within_the_limits_reads_as_before(pages: int) -> None:
    statement = generate(DocumentType.BANK_STATEMENT, seed=2, pages=pages)

    isolated = await _read(statement.data, statement.media_type)
    in_process = await analyse(
        statement.data,
        statement.media_type,
        declared_type=DocumentType.BANK_STATEMENT,
        applicant=statement.applicant,
        today=statement.today,
        isolated=False,
    )

    assert isolated.status == "extracted"
    assert isolated.pages == pages
    assert isolated.text == in_process.text
