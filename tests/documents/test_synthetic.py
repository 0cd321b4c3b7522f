"""The fixture generator: deterministic, invented data only, printed values returned."""

from __future__ import annotations

import io
import re
import zipfile

import pillow_heif
import pytest
from PIL import Image

from evals.synthetic_documents import (
    EMPLOYERS,
    FIRST_NAMES,
    LAST_NAMES,
    Format,
    Variant,
    generate,
)
from lending.documents.extraction.reading import pdf_metadata
from lending.documents.types import DocumentType

ALL_TYPES = [
    DocumentType.PAY_STUB,
    DocumentType.BANK_STATEMENT,
    DocumentType.W2,
    DocumentType.IDENTIFICATION,
]


@pytest.mark.parametrize(
    "fmt",
    [
        Format.PDF,
        Format.PNG,
        Format.JPEG,
        Format.TIFF,
        Format.HEIC,
        Format.SCANNED_PDF,
        Format.DOCX,
    ],
)
def test_same_seed_same_bytes_other_seed_other_document(fmt: Format) -> None:
    first = generate(DocumentType.PAY_STUB, seed=11, fmt=fmt)
    again = generate(DocumentType.PAY_STUB, seed=11, fmt=fmt)
    other = generate(DocumentType.PAY_STUB, seed=12, fmt=fmt)

    assert first.data == again.data
    assert first.expected == again.expected
    assert other.data != first.data


@pytest.mark.parametrize("fmt", [Format.PNG, Format.JPEG, Format.TIFF, Format.HEIC])
def test_images_decode_as_their_format(fmt: Format) -> None:
    document = generate(DocumentType.W2, seed=1, fmt=fmt)
    pillow_heif.register_heif_opener()

    with Image.open(io.BytesIO(document.data)) as image:
        assert image.format == {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "heic": "HEIF"}[fmt]
        assert image.width >= 1600
    assert document.media_type == f"image/{fmt}"


def test_docx_is_a_word_document() -> None:
    document = generate(DocumentType.BANK_STATEMENT, seed=1, fmt=Format.DOCX)

    with zipfile.ZipFile(io.BytesIO(document.data)) as archive:
        assert "word/document.xml" in archive.namelist()


def test_pdf_dates_and_tools_are_what_the_variant_says() -> None:
    clean = generate(DocumentType.PAY_STUB, seed=1)
    edited = generate(DocumentType.PAY_STUB, seed=1, variant=Variant.MODIFIED_AFTER_CREATION)

    clean_meta, edited_meta = pdf_metadata(clean.data), pdf_metadata(edited.data)

    assert clean_meta is not None
    assert edited_meta is not None
    assert clean.created_at is not None
    assert clean_meta.created_at == clean_meta.modified_at
    assert clean_meta.created_at is not None
    assert clean_meta.created_at.startswith(clean.created_at.date().isoformat())
    assert clean_meta.creator == clean.creator
    assert edited_meta.modified_at is not None
    assert edited_meta.created_at is not None
    assert edited_meta.modified_at > edited_meta.created_at


@pytest.mark.parametrize("document_type", ALL_TYPES)
def test_only_invented_data(document_type: DocumentType) -> None:
    for seed in range(6):
        document = generate(document_type, seed=seed)
        first, *_, last = (document.applicant.full_name or "").split()
        assert first in FIRST_NAMES
        assert last in LAST_NAMES
        text = document.data.decode("latin-1")
        # No unmasked SSN; EINs in the never-issued 00 prefix.
        assert re.search(r"\b\d{3}-\d{2}-\d{4}\b", text) is None
        if document_type == DocumentType.W2:
            assert str(document.expected["ein"]).startswith("00-")
            assert document.expected["employer"] in EMPLOYERS


def test_multi_page_statement() -> None:
    document = generate(DocumentType.BANK_STATEMENT, seed=1, pages=4)

    assert document.pages == 4
    assert len(document.transactions) > 100


@pytest.mark.parametrize(
    ("document_type", "variant", "fmt"),
    [
        (DocumentType.W2, Variant.BALANCE_MISMATCH, Format.PDF),
        (DocumentType.IDENTIFICATION, Variant.INCONSISTENT_YTD, Format.PDF),
        (DocumentType.PAY_STUB, Variant.EDITED_METADATA, Format.PNG),
        (DocumentType.TAX_RETURN, Variant.CLEAN, Format.PDF),
    ],
)
def test_impossible_combinations_are_refused(
    document_type: DocumentType, variant: Variant, fmt: Format
) -> None:
    with pytest.raises(ValueError, match="no|variant|generator"):
        generate(document_type, variant=variant, fmt=fmt)


@pytest.mark.parametrize("document_type", ALL_TYPES)
@pytest.mark.parametrize("style", [0, 1])
def test_a_given_applicant_name_is_printed_and_the_rest_follows_the_seed(
    document_type: DocumentType, style: int
) -> None:
    invented = generate(document_type, seed=3, style=style)
    named = generate(document_type, seed=3, style=style, applicant_name="Jules Journey")
    middle = generate(document_type, seed=3, style=style, applicant_name="Ana Maria de Souza")

    assert named.applicant.full_name == "Jules Journey"
    assert middle.applicant.full_name == "Ana Maria de Souza"
    assert named.applicant.date_of_birth == invented.applicant.date_of_birth
    assert named.data != invented.data
    name_keys = {"employee_name", "account_holder", "full_name"}
    assert {k: v for k, v in named.expected.items() if k not in name_keys} == {
        k: v for k, v in invented.expected.items() if k not in name_keys
    }
    names = [v for k, v in named.expected.items() if k in name_keys]
    assert len(names) == 1
    assert isinstance(names[0], str)
    assert {"JULES", "JOURNEY"} <= set(names[0].upper().replace(",", "").split()), names


def test_an_applicant_name_needs_first_and_last() -> None:
    with pytest.raises(ValueError, match="first and a last name"):
        generate(DocumentType.PAY_STUB, applicant_name="Cher")
