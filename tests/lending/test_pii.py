"""The one PII detector: every way people write an SSN, a date of birth, a card or account
number is found (English and Chinese, full-width digits), and what the intake needs as typed
(amounts, terms, phones, ZIP codes, references, ids) is left alone."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from lending import pii
from lending.calendar_names import MONTH_NAMES_PATTERN
from lending.pii import DOB_MIN_AGE_YEARS, PiiKind, find_pii, mask_pii

TODAY = date(2026, 6, 1)


def _found(text: str) -> list[tuple[str, str, str]]:
    return [(s.kind.value, s.value, text[s.start : s.end]) for s in find_pii(text, today=TODAY)]


@pytest.mark.parametrize(
    ("text", "kind", "value", "typed"),
    [
        ("my ssn is 123-45-6789", "SSN", "123-45-6789", "123-45-6789"),
        ("my ssn is 123 45 6789", "SSN", "123-45-6789", "123 45 6789"),
        ("123456789", "SSN", "123-45-6789", "123456789"),
        ("123.45.6789", "SSN", "123-45-6789", "123.45.6789"),
        ("123 - 45 - 6789", "SSN", "123-45-6789", "123 - 45 - 6789"),
        ("12345-6789", "SSN", "123-45-6789", "12345-6789"),
        ("123-456789", "SSN", "123-45-6789", "123-456789"),
        ("1 2 3 4 5 6 7 8 9", "SSN", "123-45-6789", "1 2 3 4 5 6 7 8 9"),
        ("ssn123456789", "SSN", "123-45-6789", "123456789"),
        ("１２３－４５－６７８９", "SSN", "123-45-6789", "１２３－４５－６７８９"),
        ("１２３　４５　６７８９", "SSN", "123-45-6789", "１２３　４５　６７８９"),
        ("我的社会安全号是123456789", "SSN", "123-45-6789", "123456789"),
        ("I have 2 kids, 123-45-6789", "SSN", "123-45-6789", "123-45-6789"),
        ("12 123-45-6789", "SSN", "123-45-6789", "123-45-6789"),
        ("1990-03-15", "DOB", "1990-03-15", "1990-03-15"),
        ("03/15/1990", "DOB", "1990-03-15", "03/15/1990"),
        ("15/03/1990", "DOB", "1990-03-15", "15/03/1990"),
        ("15.03.1990", "DOB", "1990-03-15", "15.03.1990"),
        ("1990/3/15", "DOB", "1990-03-15", "1990/3/15"),
        ("March 15, 1990", "DOB", "1990-03-15", "March 15, 1990"),
        ("mar. 15th 1990", "DOB", "1990-03-15", "mar. 15th 1990"),
        ("15 March 1990", "DOB", "1990-03-15", "15 March 1990"),
        ("the 15th of March, 1990", "DOB", "1990-03-15", "15th of March, 1990"),
        ("出生日期 1990年3月15日", "DOB", "1990-03-15", "1990年3月15日"),
        ("1990年3月15号", "DOB", "1990-03-15", "1990年3月15号"),
        ("一九九〇年三月十五日", "DOB", "1990-03-15", "一九九〇年三月十五日"),
        ("１９９０－０３－１５", "DOB", "1990-03-15", "１９９０－０３－１５"),
        ("born 3/15/90", "DOB", "1990-03-15", "3/15/90"),
        ("DOB: 19900315", "DOB", "1990-03-15", "19900315"),
        ("date of birth 2015-06-01", "DOB", "2015-06-01", "2015-06-01"),
        ("4111 1111 1111 1111", "ACCOUNT", "4111111111111111", "4111 1111 1111 1111"),
        ("card 4111-1111-1111-1111 exp 12/29", "ACCOUNT", "4111111111111111", None),
        ("3782 822463 10005", "ACCOUNT", "378282246310005", "3782 822463 10005"),
        ("account number 000123456789", "ACCOUNT", "000123456789", "000123456789"),
        ("acct # 12345678", "ACCOUNT", "12345678", "12345678"),
        ("routing 021000021", "ACCOUNT", "021000021", "021000021"),
        ("卡号 6222 0212 3456 7890 123", "ACCOUNT", "6222021234567890123", None),
        ("账号：12345678", "ACCOUNT", "12345678", "12345678"),
        ("身份证 11010519491231002X", "ID", "11010519491231002X", "11010519491231002X"),
    ],
)
def test_every_written_form_is_found(text: str, kind: str, value: str, typed: str | None) -> None:
    found = _found(text)
    assert len(found) == 1, found
    assert found[0][:2] == (kind, value)
    if typed is not None:
        assert found[0][2] == typed


@pytest.mark.parametrize(
    "text",
    [
        "a personal loan of $25,000 over 36 months",
        "$1,250,000.00",
        "25000.00",
        "$1234567.89",
        "ratio 0.8333",
        "15k over 5 years",
        "about 720",
        "(415) 555-0134",
        "415-555-0134",
        "4155550134",
        "+1 415 555 0134",
        "+44 20 7946 0958",
        "12 Main St, Springfield, IL 62704",
        "12 Main St, Springfield, IL 62704-1234",
        "12 main st, springfield, il 62704-1234",
        "ZIP 10001-1234",
        "OMF-2026-000123",
        "application 550e8400-e29b-41d4-a716-446655440000 is ready",
        "call-a4e1c2f3b4d5e6f708192a3b",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "created 2026-03-01T10:20:30.123456+00:00",
        "employment started 2019-05-01",
        "confidence 0.8333333333333334",
        "2024 Toyota Camry, 42000 miles",
        "10.0.0.1",
    ],
)
def test_what_the_intake_needs_as_typed_is_left_alone(text: str) -> None:
    assert _found(text) == []
    assert mask_pii(text) == text


def test_a_bare_date_is_a_date_of_birth_only_when_old_enough() -> None:
    latest = TODAY.year - DOB_MIN_AGE_YEARS
    assert _found(f"{latest}-01-31")[0][0] == "DOB"
    assert _found(f"{latest + 1}-01-31") == []
    assert _found(f"born {latest + 1}-01-31")[0][0] == "DOB"  # a label says what it is
    assert _found("1990-02-30") == []  # not a calendar date


def test_a_label_decides_what_nine_digits_are() -> None:
    assert _found("routing number 021000021")[0][0] == "ACCOUNT"
    assert _found("social security number 021000021")[0][0] == "SSN"
    assert _found("ZIP+4 is not an SSN: IL 62704-1234") == []
    # Two-letter words are not states: "is" is not a state code, "ok" is lower-case.
    assert _found("my ssn is 12345-6789")[0][0] == "SSN"
    assert _found("ok 12345-6789")[0][0] == "SSN"


def test_masking_keeps_the_rest_of_the_text() -> None:
    text = "Jane, ssn 123 45 6789, born March 15, 1990, card 4111111111111111, jane@x.io"
    assert mask_pii(text) == ("Jane, ssn [redacted], born [redacted], card [redacted], [redacted]")
    assert mask_pii(text, kinds={PiiKind.SSN}) == text.replace("123 45 6789", "[redacted]")


def test_spans_never_overlap_and_come_in_order() -> None:
    text = "1990-03-15 and 123-45-6789 and 4111 1111 1111 1111 on 03/15/1990"
    spans = find_pii(text, today=TODAY)
    assert [s.kind for s in spans] == [PiiKind.DOB, PiiKind.SSN, PiiKind.ACCOUNT, PiiKind.DOB]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_a_label_on_the_line_above_says_nothing() -> None:
    assert _found("IDENTIFICATION CARD\nNo. 375798010")[0][0] == "SSN"
    assert _found("IDENTIFICATION CARD\nID No: 375798010")[0][0] == "ID"  # its own line's label
    assert _found("Card\n4111 1111 1111 1111")[0][0] == "ACCOUNT"  # by its length


def test_identifiers_and_numbers_never_issued_are_not_ssns() -> None:
    # A loan reference's digits ("LOAN-000002-017a") read as 000-00-2017 before: never issued.
    assert _found("the loan LOAN-000002-017a was paid") == []
    assert _found("reference LOAN-123456-7890 funded") == []
    assert _found("000-12-3456 and 123-00-4567 and 123-45-0000") == []
    # ...unless someone says it is their SSN, and ITIN-like 9xx numbers stay personal.
    assert _found("ssn 000-12-3456")[0][0] == "SSN"
    assert _found("912-70-1234")[0][0] == "SSN"


def test_the_shortcut_for_plain_numbers_drops_nothing_the_full_reading_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small numbers and amounts skip the detector (a turn's tool output is mostly these): the
    full reading finds nothing in any of them either, the years and 8-digit amounts included."""
    samples = [str(n) for n in range(0, 100_000, 7)] + ["00000", "1990", "19900", "20261", "99999"]
    samples += [f"{n}.{c:02d}" for n in range(0, 1_000_000, 997) for c in (0, 15, 99)]
    samples += ["999999.99", "123456.7", "196503.15", "1990.03", "0.5", "7.50"]
    samples += [f"-{value}" for value in samples[::50]]
    assert all(pii._PLAIN_NUMBER.fullmatch(value) for value in samples)
    monkeypatch.setattr(pii, "_PLAIN_NUMBER", re.compile(r"(?!)"))  # never matches: full reading
    found = {value: pii.find_pii(value) for value in samples}
    assert {value: spans for value, spans in found.items() if spans} == {}
    # Longer numbers are read in full: nine digits can be an SSN.
    assert not pii._PLAIN_NUMBER.fullmatch("123456789")
    assert not pii._PLAIN_NUMBER.fullmatch("1234567.89")


# --- the quick tests that skip a pattern ----------------------------------------------------
#
# find_pii runs a pattern only where a cheap test says it can match. Each test below would fail
# if one of those tests were too strict: texts that need the slow path are read the same with
# every quick test switched off.

NEEDS_THE_SLOW_PATH = [
    # spelled digits and no digit at all (_worth_looking, _spelled_numbers' candidates)
    "my ssn is one two three four five six seven eight nine",
    "MY SSN IS ONE TWO THREE, FOUR FIVE, SIX SEVEN EIGHT NINE",
    "卡号 六二二二零二一二三四五六七八九零",
    "born the fourth of July nineteen eighty-five",
    "dob: JULY FOURTH, NINETEEN EIGHTY FIVE",
    "born on 4-Jul-1985",
    "date of birth: Sept. 4 1985",
    "dob 4 July 85",
    "born 4 July '85",
    "born 4 July two thousand and three",
    # e-mail addresses spelled out (_spelled_email_hint)
    "write to jane at example dot com",
    "JANE (AT) EXAMPLE (DOT) COM",
    "jane[at]example[dot]io",
    "jane艾特example点com",
    # ids that are blanked before numbers are read (_unprotected): nothing but the SSN is found
    "ref OMF-2026-000123, ssn 123-45-6789",
    "ref OMF-20２６-12345678, ssn 123-45-6789",
    "thread 550e8400-e29b-41d4-a716-446655440000 ssn 123 45 6789",
    "call a4e1c2f3b4d5e6f708192a3b ssn 123456789",
    # numbers (_numbers, _ibans) and dates with a separator before the year (_may_end_at_year)
    "acct 12 - 34 - 56",
    "card 4111\u00a01111\u00a01111\u00a01111",
    "GB82 WEST 1234 5698 7654 32",
    "iban de89370400440532013000",
    "03\u2013 15\u2013 1990",
    "15\uff0e03\uff0e1990",
    "03\u3000/\u300015\u3000/\u30001990",
    "March 15,\u00a01990",
    # labels and cues in other cases (_partial_numbers, _identity_numbers)
    "CVV: 123",
    "Security Code 4321",
    "my SOCIAL, last four: 6789",
    "Tax ID ends with 6789",
    "ITIN: 6789",
    "社会安全号是6789",
    "the LAST FOUR are 6789",
    "Starts With 123-45",
    "and it ENDS IN 6789",
    "尾号6789",
    "ID No. 375798010",
    "Id Card X12345678",
    "National ID S1234567D",
    "ANumber: A12345678",
    # re.IGNORECASE reads ſ as s and ı, İ as i, which str.lower() does not (_fold)
    "ſecurity code 123",
    "my ſſn: 6789",
    "my ſocial, last four: 6789",
    "İtin 912-70-1234",
]


def _slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    everywhere = re.compile("")
    monkeypatch.setattr(
        pii, "_worth_looking", lambda text, folded: bool(pii._WORTH_LOOKING.search(text))
    )
    monkeypatch.setattr(
        pii, "_spelled_email_hint", lambda text, folded: bool(pii._SPELLED_EMAIL_HINT.search(text))
    )
    for name in (
        "_PROTECTED_DASHED",
        "_PROTECTED_HEX",
        "_CLOSE_DIGITS",
        "_IBAN_START",
        "_WORD_DATE_AFTER_MONTH",
        "_ID_NUMBER_WORD",
    ):
        monkeypatch.setattr(pii, name, everywhere)
    monkeypatch.setattr(pii, "_may_end_at_year", lambda order, separator: True)
    monkeypatch.setattr(pii, "_occurrences", lambda text, words: list(range(len(text))))


def test_the_quick_tests_never_skip_a_text_that_needs_the_slow_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quick = {text: _found(text) for text in NEEDS_THE_SLOW_PATH}
    _slow_path(monkeypatch)
    slow = {text: _found(text) for text in NEEDS_THE_SLOW_PATH}
    assert quick == slow
    # ...and each of these texts does hold something for them to find.
    assert [text for text, found in slow.items() if not found] == []


def test_every_quick_test_can_fail_on_the_slow_texts() -> None:
    """The quick tests are not always true (which would make the test above say nothing):
    each of them turns away some ordinary text."""
    plain = "word1 word2 the rate is 7.5% over 60 months; you may want to pay early"
    folded = pii._fold(plain)
    assert not pii._spelled_email_hint(plain, folded)
    assert pii._unprotected(plain) is plain
    assert not pii._CLOSE_DIGITS.search(plain)
    assert not pii._IBAN_START.search(plain)
    assert not pii._WORD_DATE_AFTER_MONTH.search(folded)
    assert not pii._ID_NUMBER_WORD.search(folded)
    assert not any(word in folded for word in pii._SECRET_CODE_WORDS + pii._SSN_LAST_FOUR_WORDS)
    assert not pii._may_end_at_year("mdy", '"')
    assert pii._occurrences(folded, pii._PART_HINTS) == []
    assert not pii._worth_looking("no numbers here at all", "no numbers here at all")


def test_folded_text_reads_letters_as_ignorecase_does() -> None:
    """Every character, position for position: a lower-case letter stands in the folded text
    exactly where re.IGNORECASE matches that letter, and digits and spaces stay put."""
    everything = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    folded = pii._fold(everything)
    assert len(folded) == len(everything)

    def where(pattern: str, text: str, flags: int = 0) -> list[int]:
        return [m.start() for m in re.finditer(pattern, text, flags)]

    for letter in "abcdefghijklmnopqrstuvwxyz":
        assert where(letter, everything, re.I) == where(letter, folded), letter
    for kind in (r"\d", r"\s", r"\w", "[a-z]"):
        assert where(kind, everything, re.I) == where(kind, folded), kind


# The patterns rewritten so that `re` can skip ahead to their first digit, beside the forms they
# replace: the same matches on every text.
_SEP = pii._SEP
_REWRITTEN = [
    (rf"(?<!\d)\d(?:{_SEP}?\d)*(?!\d)", pii._LONG_DIGIT_RUN),  # runs of 6+ digits, see below
    (rf"(?<!\d)\d{{3}}{_SEP}?\d{{2}}{_SEP}?\d{{4}}(?!\d)", pii._SSN_SHAPE),
    (r"(?<!\d)\d{4}(?!\d)", pii._YEAR),
    (
        rf"(?<!\d)(\d{{1,2}}){pii._DATE_SEP}(\d{{1,2}}){pii._DATE_SEP}(\d{{4}})$",
        pii._YEAR_LAST[0][0],
    ),
    (
        rf"(?<!\d)(\d{{1,2}}){pii._ORDINAL}\s+(?:of\s+)?({MONTH_NAMES_PATTERN})\.?,?\s+(\d{{4}})$",
        pii._YEAR_LAST[2][0],
    ),
    (r"(?<!\d)\d{3}\s?[_/,\\|*~+:]\s?\d{2}\s?[_/,\\|*~+:]\s?\d{4}(?!\d)", pii._ODD_SSN),
    (r"(?<!\d)(\d{9})(?!\d)\D{0,20}$", pii._ROUTING_BEFORE),
    (r"[*xX#•]{3}[-\s]?[*xX#•]{2}[-\s]?(?P<number>\d{4})(?!\d)", pii._MASKED_SSN),
    *zip(
        (
            rf"(?<!\d)(\d{{1,2}}){pii._DATE_SEP}(\d{{1,2}}){pii._DATE_SEP}(\d{{2}})(?!\d)",
            r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)",
            r"(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)",
        ),
        (pattern for pattern, _ in pii._LABELLED_DATES),
        strict=True,
    ),
]


def _digit_texts() -> list[str]:
    rng = random.Random(21)
    pieces = ["1", "23", "456", "7890", " ", "-", " - ", ".", "/", "_", "x", "X", "*", "•", "a",
              "\u00a0", "\uff0d", "\u3000", "\uff11", "\n", ",", ":", "th", " of ", "March", "sep"]  # fmt: skip
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 24))) for _ in range(6000)]


@pytest.mark.parametrize(("before", "after"), _REWRITTEN)
def test_rewritten_patterns_match_as_before(before: str, after: re.Pattern[str]) -> None:
    """Each match as before: a look-behind moved after the first digit it guards (`(?<!\\d)\\d`
    is `\\d(?<!\\d\\d)`), so `re` can skip ahead to a digit instead of trying every position."""
    original = re.compile(before, after.flags)
    for text in _digit_texts():
        expected = [(m.span(), m.groups()) for m in original.finditer(text)]
        if after is pii._LONG_DIGIT_RUN:  # the runs of six digits or more, the same
            expected = [
                (span, groups)
                for span, groups in expected
                if sum(char.isdigit() for char in text[span[0] : span[1]]) >= 6
            ]
        assert [(m.span(), m.groups()) for m in after.finditer(text)] == expected, text


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("the laſt four are 6789", PiiKind.ACCOUNT, "6789"),
        ("born 4 ſept 1985", PiiKind.DOB, "1985-09-04"),
        ("DOB: 4 ſeptember 1985", PiiKind.DOB, "1985-09-04"),
        ("my ſſn ends with 6789", PiiKind.ACCOUNT, "6789"),
        ("BORN ON 4 SEPT 1985, ıt ıs", PiiKind.DOB, "1985-09-04"),
    ],
)
def test_letters_ignorecase_reads_as_ascii_are_read_so_everywhere(
    text: str, kind: PiiKind, value: str
) -> None:
    """ſ, ı and İ stand for s and i wherever a word is looked for, also in the checks that
    lower-case the text themselves (a long s was a way past "last four" and month names)."""
    spans = pii.find_pii(text)
    assert [(span.kind, span.value) for span in spans] == [(kind, value)]
    assert pii.mask_pii(text).count(pii.REDACTED) == 1
    assert value[-4:] not in pii.mask_pii(text)
