"""The one detector of personal data in free text: SSNs, dates of birth, card, bank account and
routing numbers (and e-mail addresses, for logs and transcripts).

The conversation vault (agents/pii.py), transcript and event redaction, the log scrubber
(lending/logs.py) and model-based document extraction all read text through `find_pii`, so a form
one of them knows is known to all. It detects at least everything the chat's guided parser
accepts (agents/guided/parser.py: parse_ssn, parse_date) and the common other ways people write
these values: spaced, dashed, dotted or bare digits, full-width digits and separators (Python's
`\\d` matches every Unicode decimal digit, and `int()` reads them), Chinese dates
(1990年3月15日, 一九九〇年三月十五日) and Chinese labels (社会安全号, 出生日期, 卡号).

It also reads IBANs (mod-97 checked), unlabelled ABA routing numbers (checksum) and the account
number after one, parts of a number said as parts ("starts with 123-45", "the last four are
6789", "尾号6789": a number split over two messages is never kept whole or in clear), dates of
birth in words ("the fourth of July 1985", "July fourth nineteen eighty-five", "dob 4 July 85")
and e-mail addresses spelled without an "@" ("jane at example dot com", "jane(at)x(dot)com").

What it deliberately leaves alone, because the intake needs it as typed: amounts ("$25,000",
"25000.00"), terms, 10- and 11-digit phone numbers, five-digit and ZIP+4 codes after a state,
loan references (OMF-2026-000123) and UUIDs.

A bare calendar date has no "born" next to it when it answers "What is your date of birth?", so
any full date at least `DOB_MIN_AGE_YEARS` years back counts as a possible date of birth
(docs/DECISIONS.md, "Agent safety (issue 13)").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from lending.calendar_names import MONTH_NAMES_PATTERN, MONTHS
from lending.us_states import US_STATES

REDACTED = "[redacted]"
# Dates this many years back or more may be someone's date of birth (see the module docstring).
DOB_MIN_AGE_YEARS = 16
DOB_MAX_AGE_YEARS = 130  # older dates are history, not a living person's birth


class PiiKind(StrEnum):
    SSN = "SSN"
    DOB = "DOB"
    ACCOUNT = "ACCOUNT"  # card, bank account and routing numbers
    ID = "ID"  # passport, driver's licence and identity card numbers, after their label
    EMAIL = "EMAIL"


# What the conversation vault swaps for tokens. E-mail addresses are not: tools need them
# (find_client), and they are not secret the way an SSN is; logs and transcripts still mask them.
VAULT_KINDS = frozenset({PiiKind.SSN, PiiKind.DOB, PiiKind.ACCOUNT, PiiKind.ID})
ALL_KINDS = frozenset(PiiKind)


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One value found: `text[start:end]` as typed, and `value` in a canonical form
    (SSN ddd-dd-dddd, DOB YYYY-MM-DD, ACCOUNT its ASCII digits, EMAIL lower-cased)."""

    kind: PiiKind
    start: int
    end: int
    value: str


# Separators people put inside a number: spaces (also no-break and ideographic), hyphens and
# dashes (also full-width), and dots.
_SPACE = "[ \u00a0\u3000]"
_DASH = "[-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d]"
_DOT = "[.\uff0e]"
_SEP = rf"(?:{_SPACE}?{_DASH}{_SPACE}?|{_DOT}|{_SPACE})"
_DATE_SEP = rf"(?:{_SPACE}?(?:{_DASH}|[/\uff0f]){_SPACE}?|{_DOT}|{_SPACE})"

# Everything parse_ssn accepts (3-2-4 digits, each separator optional), with any separator above.
_SSN_SHAPE = re.compile(rf"\d(?<!\d\d)\d{{2}}{_SEP}?\d{{2}}{_SEP}?\d{{4}}(?!\d)")
# A run of six or more digits joined by single separators: how card and account numbers are
# written (shorter runs are neither). At most one way to read each next digit, so a run is
# always matched whole.
_LONG_DIGIT_RUN = re.compile(rf"\d(?<!\d\d)(?:{_SEP}?\d){{5,}}(?!\d)")
_DECIMAL = re.compile(rf"\d+{_DOT}\d+")
_ZIP4_SHAPE = re.compile(rf"\d{{5}}{_DASH}\d{{4}}")
_ZIP_LABEL = re.compile(r"(?:zip|postal)(?:\s*code)?[\s:#]*$|邮编[\s:：]*$|邮政编码[\s:：]*$", re.I)
_STATE_BEFORE = re.compile(r"(?P<comma>,\s*)?\b(?P<code>[A-Za-z]{2})[\s,]*$")

# Never personal data, whatever digits they hold.
_PROTECTED = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUID
    # Hex ids and digests of the lengths ids have (a call id's 24, a UUID's 32, SHA-1, SHA-256),
    # with a few letters: any other run of hex is read as text, so an SSN cannot hide in one.
    # (The first look-ahead, implied by every length, only fails most words fast.)
    r"|\b(?=[0-9a-fA-F]{24})(?=(?:[0-9]*[a-fA-F]){3})(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}"
    r"|[0-9a-fA-F]{32}"
    r"|[0-9a-fA-F]{24})\b"
    r"|\b[A-Z]{2,5}-(?:19|20)\d{2}-\d{4,8}\b"  # references such as OMF-2026-000123
)

_SSN_WORDS = (
    r"\b(?:ssn|social\s*security|soc\.?\s*sec|itin|tin|tax\s*id)"
    r"|社会安全号|社会保障号|社保号|安全号"
)
_ACCOUNT_WORDS = (
    r"\b(?:account|acct|a/c|routing|aba|iban|card|checking|chequing|savings)"
    r"|卡号|账号|帐号|账户|帐户|银行卡|路由号"
)
# Identity documents: their numbers mix letters and digits ("X12345678", "D123-4567-8901").
_ID_WORDS = (
    r"\b(?:passport|driver'?s?\s*licen[cs]e|driving\s*licen[cs]e|licen[cs]e|dl|"
    r"id\s*(?:card|number|no\.?|#)|identity\s*card|national\s*id|state\s*id|green\s*card|"
    r"a-?number|alien\s*(?:registration\s*)?number)(?![a-z])"
    r"|护照|驾照|驾驶证|驾驶执照|身份证|居民身份证|证件号"
)
_BIRTH_WORDS = r"\b(?:born|birth|dob|d\.o\.b|birthday)|出生|生日"
# The nearest label in the few characters before a number, on its line, says what it is.
_LABEL = re.compile(
    rf"(?P<ssn>{_SSN_WORDS})|(?P<account>{_ACCOUNT_WORDS})|(?P<birth>{_BIRTH_WORDS})"
    rf"|(?P<id>{_ID_WORDS})",
    re.I,
)
_LABEL_WINDOW = 32

_ORDINAL = r"(?:st|nd|rd|th)?"
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "○": 0}
_CN_NUMBER = "一二三四五六七八九十"
# Dates are looked for around each four-digit number (a year), not across the whole text: a log
# line or a tool's output has few, and scanning every pattern over all of it cost ~0.5 ms a line.
_YEAR = re.compile(r"\d(?<!\d\d)\d{3}(?!\d)")
_YEAR_FIRST: tuple[re.Pattern[str], str] = (
    re.compile(rf"(\d{{4}}){_DATE_SEP}(\d{{1,2}}){_DATE_SEP}(\d{{1,2}})(?!\d)"),
    "ymd",
)
_YEAR_LAST: tuple[tuple[re.Pattern[str], str], ...] = (
    # Day and month in either order (US first), then the year.
    (re.compile(rf"(\d(?<!\d\d)\d?){_DATE_SEP}(\d{{1,2}}){_DATE_SEP}(\d{{4}})$"), "mdy"),
    (
        re.compile(
            rf"(?<![A-Za-z])({MONTH_NAMES_PATTERN})\.?\s+(\d{{1,2}}){_ORDINAL},?\s+(\d{{4}})$",
            re.I,
        ),
        "Mdy",
    ),
    (
        re.compile(
            rf"(\d(?<!\d\d)\d?){_ORDINAL}\s+(?:of\s+)?({MONTH_NAMES_PATTERN})\.?,?\s+(\d{{4}})$",
            re.I,
        ),
        "dMy",
    ),
)
_DATE_SEP_CHARS = frozenset(_SPACE[1:-1] + _DASH[1:-1] + _DOT[1:-1] + "/\uff0f")  # as in _DATE_SEP
_YEAR_LAST_REACH = 32  # how far before its year such a date can start
_MONTH_STARTS = tuple({name[:3] for name in MONTHS})
_CHINESE_DATES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?"), "ymd"),
    (
        re.compile(
            rf"([{''.join(_CN_DIGITS)}]{{4}})\s*年\s*([{_CN_NUMBER}]{{1,2}})\s*月"
            rf"\s*([{_CN_NUMBER}]{{1,3}})\s*[日号號]?"
        ),
        "ymd",
    ),
)
# Only right after a birth label: two-digit years (3/15/90) and eight bare digits (19900315).
_LABELLED_DATES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"(\d(?<!\d\d)\d?){_DATE_SEP}(\d{{1,2}}){_DATE_SEP}(\d{{2}})(?!\d)"), "mdyy"),
    (re.compile(r"(\d(?<!\d\d)\d{3})(\d{2})(\d{2})(?!\d)"), "ymd"),
    (re.compile(r"(\d(?<!\d\d)\d)(\d{2})(\d{4})(?!\d)"), "mdy"),
)

_BIRTH_HINTS = ("born", "birth", "dob", "d.o.b", "出生", "生日")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# Nothing below can match text without a digit, an "@", a Chinese year or a digit spelled out.
_WORTH_LOOKING = re.compile(
    r"\d|@|年|[零〇○一二三四五六七八九]|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b"
    r"|nineteen|thousand",
    re.I,
)


# Quick tests that a pattern cannot match, so the pattern is not run. Python's `re` skips ahead
# only to a pattern's first literal or character class; one that starts with an alternation of
# case-insensitive words or with a look-behind is tried at every position (~0.1-0.4 µs each), and
# a turn reads ~29 texts. Each test below is a condition every match of its pattern meets.
#
# Case-insensitive words are looked for in `_fold(text)`: re.IGNORECASE matches "ſ" to "s" and
# "ı" and "İ" to "i", which str.lower() does not, and "İ".lower() is two characters.
_CASE_FIXES = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def _fold(text: str) -> str:
    """`text` lower-cased so that, position for position, a lower-case ASCII letter stands
    where re.IGNORECASE matches that letter (digits, spaces and other signs are unchanged)."""
    return text.lower() if text.isascii() else text.translate(_CASE_FIXES).lower()


def _occurrences(text: str, words: Iterable[str]) -> list[int]:
    """Every position where one of `words` starts in `text`, overlapping ones too, in order."""
    starts = []
    for word in words:
        at = text.find(word)
        while at != -1:
            starts.append(at)
            at = text.find(word, at + 1)
    return sorted(starts)


def _matches_at(
    pattern: re.Pattern[str], text: str, starts: list[int], pos: int = 0, endpos: int | None = None
) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text, pos, endpos)`, when every (non-empty) match of `pattern` starts
    at one of `starts` (in order): the pattern is tried only there."""
    endpos = len(text) if endpos is None else endpos
    for start in starts:
        if start >= endpos:
            return
        if start >= pos and (match := pattern.match(text, start, endpos)):
            yield match
            pos = match.end()


# Every character _WORTH_LOOKING finds alone; its spelled words need a look only without one.
_WORTH_LOOKING_CHAR = re.compile(r"[\d@年零〇○一二三四五六七八九]")
_WORTH_LOOKING_WORD = re.compile(
    "zero|oh|one|two|three|four|five|six|seven|eight|nine|nineteen|thousand"
)  # in folded text
# Every id _PROTECTED blanks holds "-hhhh-" (a UUID, a reference's "-2026-") or 24 hex digits.
_PROTECTED_DASHED = re.compile(r"-(?:[0-9a-fA-F]{4}|(?:19|20)\d{2})-")
_PROTECTED_HEX = re.compile(r"[0-9a-fA-F][0-9a-fA-F]{23}")


def _worth_looking(text: str, folded: str) -> bool:
    """`_WORTH_LOOKING.search(text)`, without scanning a text that has a digit for words."""
    if _WORTH_LOOKING_CHAR.search(text):
        return True
    return bool(_WORTH_LOOKING_WORD.search(folded)) and bool(_WORTH_LOOKING.search(text))


def _spelled_email_hint(text: str, folded: str) -> bool:
    """`_SPELLED_EMAIL_HINT.search(text)`, run only on a text with a "dot", a "点" or "艾特",
    or an "at" before a closing bracket."""
    if not ("dot" in folded or "点" in text or "艾特" in text or _SPELLED_AT_CLOSE.search(folded)):
        return False
    return _SPELLED_EMAIL_HINT.search(text) is not None


def _unprotected(text: str) -> str:
    """`text` with ids blanked out (same length, so positions hold)."""
    if not (_PROTECTED_DASHED.search(text) or _PROTECTED_HEX.search(text)):
        return text
    return _PROTECTED.sub(lambda m: "_" * len(m.group(0)), text)


# A whole text that is only a small number or an amount (a tool's "60", "7.5", "25000.00") holds
# nothing above: at most 5 digits is too few for an SSN, an account or a date without a label,
# and an amount's 6 to 8 digits are a decimal, which is never an account, with no "born" or
# other label (no letters) in front. Such values are most of what a turn's tool output is made of.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]{1,5}|[0-9]{1,6}\.[0-9]{1,2})")


def find_pii(
    text: str, *, kinds: Collection[PiiKind] = ALL_KINDS, today: date | None = None
) -> list[PiiSpan]:
    """Every personal value in `text` of the given kinds, in order, never overlapping."""
    if not text or _PLAIN_NUMBER.fullmatch(text):
        return []
    if not text.isascii():
        # "ſ", "ı" and "İ" read everywhere below as the letters re.IGNORECASE takes them for
        # (one character each, so positions hold): "the laſt four are 6789", "born 4 ſept 1985"
        # went past the checks that lower-case the text themselves.
        text = text.translate(_CASE_FIXES)
    folded = _fold(text)
    spelled_email = PiiKind.EMAIL in kinds and _spelled_email_hint(text, folded)
    if not spelled_email and not _worth_looking(text, folded):
        return []
    today = today or date.today()
    found: list[PiiSpan] = []
    if PiiKind.EMAIL in kinds and "@" in text:
        found += [
            PiiSpan(PiiKind.EMAIL, m.start(), m.end(), m.group(0).lower())
            for m in _EMAIL.finditer(text)
        ]
    if spelled_email:
        found += _spelled_emails(text)
    # Ids are blanked out (same length, so positions hold) before numbers and dates are read.
    work = _unprotected(text)
    work_folded = folded if work is text else _fold(work)
    if PiiKind.DOB in kinds:
        found += _dates(work, work_folded, today)
        found += _dates_in_words(work, work_folded, today)
    if PiiKind.ACCOUNT in kinds or PiiKind.SSN in kinds or PiiKind.ID in kinds:
        found += _ibans(work)
        found += _numbers(work)
        found += _spelled_numbers(work)
        found += _identity_numbers(work)
        found += _partial_numbers(work, work_folded)
    spans = sorted(
        (span for span in found if span.kind in kinds),
        key=lambda span: (span.start, -(span.end - span.start)),
    )
    kept: list[PiiSpan] = []
    for span in spans:
        if kept and span.start < kept[-1].end:
            continue  # the earlier (and, at one start, the longer) span already covers it
        kept.append(span)
    return kept


def has_pii(text: str, *, kinds: Collection[PiiKind] = ALL_KINDS) -> bool:
    return bool(find_pii(text, kinds=kinds))


def replace_pii(
    text: str,
    replacement: Callable[[PiiSpan], str],
    *,
    kinds: Collection[PiiKind] = ALL_KINDS,
    today: date | None = None,
) -> str:
    """`text` with every personal value replaced by `replacement(span)`."""
    spans = find_pii(text, kinds=kinds, today=today)
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for span in spans:
        parts += [text[position : span.start], replacement(span)]
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


def mask_pii(text: str, *, kinds: Collection[PiiKind] = ALL_KINDS) -> str:
    """`text` with every personal value replaced by "[redacted]"."""
    return replace_pii(text, lambda _: REDACTED, kinds=kinds)


# An e-mail address spelled out so that no "@" is typed: "jane at example dot com",
# "jane dot doe (at) gmail (dot) com", "jane[at]example[dot]com", "jane艾特example点com". It takes
# an "at" and a known top-level domain after a "dot", so "meet me at home" is not one.
_AT = r"(?:\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+|\s*@\s*|\s*艾特\s*)"
_DOT_WORD = r"(?:\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\s*点\s*|\.)"
_TLD = r"(?:com|net|org|edu|gov|mil|io|co|us|uk|cn|de|fr|ca|au|jp|info|biz|me|ai|app|dev|xyz)"
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.])[a-z0-9][\w+-]*(?:{_DOT_WORD}[\w+-]+)*{_AT}"
    rf"[a-z0-9][a-z0-9-]*(?:{_DOT_WORD}[a-z0-9-]+)*?{_DOT_WORD}{_TLD}(?![a-z0-9])",
    re.I,
)
_SPELLED_EMAIL_HINT = re.compile(r"\bdot\b|点|[(\[{<]\s*at\s*[)\]}>]|艾特", re.I)
_SPELLED_AT_CLOSE = re.compile(r"at\s*[)\]}>]")  # in folded text


def _spelled_emails(text: str) -> Iterator[PiiSpan]:
    for match in _SPELLED_EMAIL.finditer(text):
        typed = match.group(0)
        value = re.sub(_AT, "@", typed, count=1, flags=re.I)
        value = re.sub(_DOT_WORD, ".", value, flags=re.I).replace(" ", "").lower()
        yield PiiSpan(PiiKind.EMAIL, match.start(), match.end(), value)


# --- numbers ------------------------------------------------------------------------------


def _digits(text: str) -> str:
    if text.isascii():  # the usual case, without a call per character
        return _NOT_ASCII_DIGIT.sub("", text)
    return "".join(str(unicodedata.digit(char)) for char in text if char.isdigit())


_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


# Each label starts with one of these: a substring test skips the regular expression on the
# (most) numbers with no label in front of them.
_LABEL_STARTS = (
    "ssn", "soc", "itin", "tin", "tax", "社", "安全号",
    "acc", "acct", "a/c", "routing", "aba", "iban", "card", "卡号", "账", "帐", "银行卡", "路由号",
    "checking", "chequing", "savings",
    "born", "birth", "dob", "d.o.b", "出生", "生日",
    "passport", "licen", "dl", "id", "identity", "green", "a-n", "anum", "alien", "护照", "驾",
    "身份证", "证件",
)  # fmt: skip
_LABEL_START = re.compile("|".join(re.escape(word) for word in _LABEL_STARTS))
# Each _ID_WORDS label holds one of these or _ID_NUMBER_WORD ("id" alone is in "paid", "valid").
_ID_STARTS = ("passport", "licen", "dl", "identity", "national", "state", "green", "alien", "a-n",
              "anum", "护照", "驾", "身份证", "证件")  # fmt: skip
_ID_NUMBER_WORD = re.compile(r"id\s*(?:card|number|no|#)")


def _label_before(text: str, start: int) -> str | None:
    """The kind of the nearest label ending just before `start`: ssn, account or birth."""
    # On the same line: in a document, the line above is another field ("IDENTIFICATION CARD").
    window = text[max(0, start - _LABEL_WINDOW) : start].rsplit("\n", 1)[-1].lower()
    if not _LABEL_START.search(window):
        return None
    labels = list(_LABEL.finditer(window))
    return labels[-1].lastgroup if labels else None


# Six digits each at most three characters from the next: every run of six is (a separator is
# at most three characters); unrolled, as `re` repeats a group far slower than a character.
_CLOSE_DIGITS = re.compile(r"\d" + r"\D{0,3}\d" * 5)


def _numbers(text: str) -> Iterator[PiiSpan]:
    if not _CLOSE_DIGITS.search(text):
        return
    for match in _LONG_DIGIT_RUN.finditer(text):  # no account number is shorter, and no SSN
        raw = match.group(0)
        digits = _digits(raw)
        count = len(digits)  # one digit for each character that is one
        # "1234567.89" is a decimal number and "+44 20 7946 0958" a phone number, not accounts
        # (an SSN in them is still one: parse_ssn would read it).
        plain = not _DECIMAL.fullmatch(raw) and text[match.start() - 1 : match.start()] not in (
            "+",
            "＋",
        )
        label = _label_before(text, match.start())
        end = match.end()
        if len(digits) == 17 and text[end : end + 1] in ("X", "x"):
            end, digits = end + 1, digits + "X"  # a Chinese resident ID's check character
        if plain and label == "id":
            yield PiiSpan(PiiKind.ID, match.start(), end, digits)
        elif plain and (
            len(digits) >= 12 or label == "account" or _after_routing(text, match.start())
        ):
            yield PiiSpan(PiiKind.ACCOUNT, match.start(), end, digits)
        elif count == 9 and plain:
            yield from _ssn(text, match)
        if count > 9 or (count == 9 and not plain):
            # "12 123-45-6789" is one run of 11 digits, yet parse_ssn reads an SSN in it.
            for inner in _SSN_SHAPE.finditer(text, match.start(), match.end()):
                yield from _ssn(text, inner)


def _ssn(text: str, match: re.Match[str]) -> Iterator[PiiSpan]:
    raw = match.group(0)
    if _ZIP4_SHAPE.fullmatch(raw) and _after_state_or_zip(
        text[max(0, match.start() - 24) : match.start()]
    ):
        return  # "Springfield, IL 62704-1234" is a ZIP+4 code
    yield from _nine_digits(text, match.start(), match.end(), _digits(raw))


def _nine_digits(text: str, start: int, end: int, digits: str) -> Iterator[PiiSpan]:
    """Nine digits at `text[start:end]`: an SSN (or ITIN), unless a label says otherwise."""
    if len(digits) != 9:
        return
    label = _label_before(text, start)
    kind = {"account": PiiKind.ACCOUNT, "id": PiiKind.ID}.get(label or "", PiiKind.SSN)
    if (
        kind is PiiKind.SSN
        and label != "ssn"
        and (_never_issued(digits) or re.search(r"[A-Za-z]-$", text[max(0, start - 2) : start]))
    ):
        # Numbers the SSA never issues (parse_ssn refuses them too), and the digits of an
        # identifier such as LOAN-000002-017a or OMF-2026-000123, are not SSNs; one that is a
        # valid ABA routing number ("021000021 / 1234567890") is a bank's, with no label.
        if _is_routing(digits) and not re.search(r"[A-Za-z]-$", text[max(0, start - 2) : start]):
            yield PiiSpan(PiiKind.ACCOUNT, start, end, digits)
        return
    value = f"{digits[:3]}-{digits[3:5]}-{digits[5:]}" if kind is PiiKind.SSN else digits
    yield PiiSpan(kind, start, end, value)


# Digits spelled out ("one two three", "一二三", "幺三八"), alone or mixed with digits, and
# SSNs with separators nobody puts in an amount ("123/45/6789", "123_45_6789").
_SPELLED_DIGIT = re.compile(
    r"(?<![a-z])(?P<word>zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![a-z])"
    r"|(?P<cjk>[零〇○一二三四五六七八九幺])|(?P<digit>\d)",
    re.I,
)
_WORD_DIGITS = {
    word: str(i)
    for i, word in enumerate("zero one two three four five six seven eight nine".split())
} | {"oh": "0"}
_CJK_DIGITS = {char: str(value) for char, value in _CN_DIGITS.items()} | {"幺": "1"}
_SPELLED_GAP = r"[\s,.\-\u2010-\u2015\u2212/_、，·]{0,3}"
_SPELLED_ITEM = (
    r"(?:(?<![a-z])(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![a-z])"
    r"|[零〇○一二三四五六七八九幺]|\d)"
)
# Six or more digits, spelled or typed, each at most a few separators from the next.
_SPELLED_RUN = re.compile(rf"{_SPELLED_ITEM}(?:{_SPELLED_GAP}{_SPELLED_ITEM}){{5,}}", re.I)
# A digit just before or after a spelled one: "one of them" has none, "one two" has.
_ITEM_AFTER = re.compile(rf"{_SPELLED_GAP}{_SPELLED_ITEM}", re.I)
_ITEM_BEFORE = re.compile(rf"{_SPELLED_ITEM}{_SPELLED_GAP}$", re.I)
_ODD_SSN = re.compile(r"\d(?<!\d\d)\d{2}\s?[_/,\\|*~+:]\s?\d{2}\s?[_/,\\|*~+:]\s?\d{4}(?!\d)")


# A spelled digit, in lower-cased text.
_SPELLED_ONLY = re.compile(
    r"(?<![a-z])(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![a-z])"
    r"|[零〇○一二三四五六七八九幺]"
)
_SPELLED_STARTS = (*_WORD_DIGITS, *_CJK_DIGITS)  # every match of _SPELLED_ONLY starts with one
_RUN_REACH = 200  # characters a run of spelled digits can stretch on either side of one


def _spelled_numbers(text: str) -> Iterator[PiiSpan]:
    for match in _ODD_SSN.finditer(text):
        yield from _nine_digits(text, match.start(), match.end(), _digits(match.group(0)))
    # Runs are looked for only around a spelled digit: digits alone are read by _numbers, and
    # scanning all of a long text cost twice what the rest of the detector does.
    done = -1
    lowered = text.lower()
    for hit in _matches_at(_SPELLED_ONLY, lowered, _occurrences(lowered, _SPELLED_STARTS)):
        if hit.start() < done or not (
            _ITEM_AFTER.match(text, hit.end())
            or _ITEM_BEFORE.search(text[max(0, hit.start() - 9) : hit.start()])
        ):
            continue
        reach = (max(0, hit.start() - _RUN_REACH), hit.end() + _RUN_REACH)
        for run in _SPELLED_RUN.finditer(text, *reach):
            if run.start() <= hit.start() < run.end():
                yield from _spelled_run(
                    text, list(_SPELLED_DIGIT.finditer(text, run.start(), run.end()))
                )
                done = run.end()
                break
            if run.start() > hit.start():
                break


def _spelled_run(text: str, run: list[re.Match[str]]) -> Iterator[PiiSpan]:
    if not any(item.lastgroup != "digit" for item in run):
        return  # digits alone are read by _numbers
    digits = "".join(
        _WORD_DIGITS[item.group().lower()]
        if item.lastgroup == "word"
        else _CJK_DIGITS[item.group()]
        if item.lastgroup == "cjk"
        else _digits(item.group())
        for item in run
    )
    start, end = run[0].start(), run[-1].end()
    label = _label_before(text, start)
    if len(digits) == 9:
        yield from _nine_digits(text, start, end, digits)
    elif len(digits) >= 6 and label == "id":
        yield PiiSpan(PiiKind.ID, start, end, digits)
    elif len(digits) >= 12 or (len(digits) >= 6 and label == "account"):
        yield PiiSpan(PiiKind.ACCOUNT, start, end, digits)


# After a passport, licence or identity card label: letters and digits ("X12345678",
# "S123-4567-8901"), the letters glued to the digits ("ssn 123-45-6789" is a label and an SSN);
# digits alone are read by _numbers.
_IDENTITY_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{1,3}-?\d+(?:-\d+)*[A-Za-z]?(?![A-Za-z0-9])"
)


_ID_LABEL = re.compile(_ID_WORDS)  # searched in lower-cased text


def _identity_numbers(text: str) -> Iterator[PiiSpan]:
    lowered = text.lower()
    if not (
        any(word in lowered for word in _ID_STARTS) or _ID_NUMBER_WORD.search(lowered)
    ) or not _ID_LABEL.search(lowered):
        return
    for match in _IDENTITY_NUMBER.finditer(text):
        value = re.sub(r"[-\s]", "", match.group(0)).upper()
        if sum(char.isdigit() for char in value) >= 5 and (
            _label_before(text, match.start()) == "id"
        ):
            yield PiiSpan(PiiKind.ID, match.start(), match.end(), value)


def _is_routing(digits: str) -> bool:
    """Whether nine digits are an ABA routing number: a Federal Reserve prefix and the
    3-7-1 checksum."""
    if len(digits) != 9 or not digits.isascii() or int(digits[:2]) not in _ROUTING_PREFIXES:
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


_ROUTING_PREFIXES = frozenset([*range(0, 13), *range(21, 33), *range(61, 73), 80])
_ROUTING_BEFORE = re.compile(r"(\d(?<!\d\d)\d{8})(?!\d)\D{0,20}$")


def _after_routing(text: str, start: int) -> bool:
    """Whether a routing number stands just before `start` (its account number follows it)."""
    before = _ROUTING_BEFORE.search(text[max(0, start - 32) : start])
    return before is not None and _is_routing(before.group(1))


# An IBAN: a country, two check digits and up to 30 letters and digits, in groups of four or
# not; its mod-97 check keeps words and references out.
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])"
)


_IBAN_START = re.compile(r"\d(?<=[A-Za-z]{2}\d)\d")  # two letters, two digits: in every IBAN


def _ibans(text: str) -> Iterator[PiiSpan]:
    if not _IBAN_START.search(text):
        return
    for match in _IBAN.finditer(text):
        value = match.group(0).replace(" ", "").upper()
        rearranged = value[4:] + value[:4]
        number = "".join(str(int(char, 36)) for char in rearranged)
        if 15 <= len(value) <= 34 and int(number) % 97 == 1:
            yield PiiSpan(PiiKind.ACCOUNT, match.start(), match.end(), value)


# Part of a number, said as part of it: "my ssn starts with 123-45", "and ends with 6789",
# "the last four are 6789", "尾号6789". A number split over two messages is then never whole in
# either, and neither part is kept in clear. Amounts, terms and rates after such words are not
# parts ("payments start with 1500 a month", "ends in 60 months").
_PART_CUE = re.compile(
    r"(?:\blast\s+(?:four|4|five|5)(?:\s+digits)?|\bfirst\s+(?:three|3|five|5)(?:\s+digits)?"
    r"|\b(?:ends?|ending|starts?|starting|begins?|beginning)(?:\s+(?:with|in))?"
    r"|后四位|后4位|前五位|前5位|前三位|前3位|尾号|尾数|开头)"
    r"(?:\s*(?:is|are|was|were|of|:|：|是|为)\s*|\s+)*"
    r"(?P<number>(?<![$\d])\d{3,5}(?:[-\u2013 ]\d{2,4})?)"
    r"(?!\d|[.,]\d|\s*(?:%|k\b|months?|years?|yrs?|mos?\b|a month|per|dollars?|bucks|个月|年|万|元|块))",
    re.I,
)
# Every match of _PART_CUE starts with one of these.
_PART_HINTS = ("last", "first", "end", "start", "begin", "后", "前", "尾", "开头")


# An SSN shown masked but for its last four ("***-**-6789"), the last four after an SSN label
# ("last 4 of my social: 6789"), and a card's security code or a PIN ("cvv 123", "pin 4321").
_MASKED_SSN = re.compile(r"[*xX#•][*xX#•]{2}[-\s]?[*xX#•]{2}[-\s]?(?P<number>\d{4})(?!\d)")
_SECRET_CODE = re.compile(
    r"\b(?:cvv2?|cvc2?|cid|csc|security code|pin(?:\s*(?:code|number))?)\b\s*(?:is|:|#|=)?\s*"
    r"(?P<number>\d{3,6})(?!\d)|(?:安全码|验证码|密码|pin码)\s*(?:是|为|：|:)?\s*(?P<zh>\d{3,6})(?!\d)",
    re.I,
)
_SSN_LAST_FOUR = re.compile(
    rf"(?:{_SSN_WORDS}|\bsocial\b)(?:\s*(?:number|no\.?|#|is|are|was|:|：|last\s*(?:four|4)"
    r"(?:\s*digits)?|(?:it\s+)?ends?\s*(?:with|in)|ending(?:\s*in)?|是|后四位|尾号)\s*)*\s*"
    r"(?<![$\d])(?P<number>\d{3}[-\s]\d{2}(?![-\s]*\d)|\d{4,5})"
    r"(?![\d,.%]|\s*(?:k\b|%|months?|years?|a month|per|monthly|/mo|dollars?|个月|年|万|元))",
    re.I,
)


# Every match of _SECRET_CODE, and of _SSN_LAST_FOUR, starts with one of these (in folded text).
_SECRET_CODE_WORDS = (
    "cvv",
    "cvc",
    "cid",
    "csc",
    "security code",
    "pin",
    "安全码",
    "验证码",
    "密码",
)
_SSN_LAST_FOUR_WORDS = (
    "ssn",
    "soc",
    "itin",
    "tin",
    "tax",
    "社会安全号",
    "社会保障号",
    "社保号",
    "安全号",
)


def _partial_numbers(text: str, folded: str) -> Iterator[PiiSpan]:
    lowered = text.lower()
    for match in _MASKED_SSN.finditer(text):
        yield PiiSpan(PiiKind.ACCOUNT, match.start("number"), match.end("number"), match["number"])
    for match in _matches_at(_SECRET_CODE, text, _occurrences(folded, _SECRET_CODE_WORDS)):
        group = "number" if match["number"] else "zh"
        yield PiiSpan(PiiKind.ACCOUNT, match.start(group), match.end(group), match[group])
    for match in _matches_at(_SSN_LAST_FOUR, text, _occurrences(folded, _SSN_LAST_FOUR_WORDS)):
        number = _digits(match["number"])
        yield PiiSpan(PiiKind.ACCOUNT, match.start("number"), match.end("number"), number)
    if not any(hint in lowered for hint in _PART_HINTS):
        return
    # A part is never a whole SSN to a tool (the intake reads SSN tokens as the answer), so
    # every part is held as an ACCOUNT value: tokenised, never restored into an ssn field.
    labelled: bool | None = None  # read only for a number that could be a year
    for match in _matches_at(_PART_CUE, text, _occurrences(folded, _PART_HINTS)):
        digits = _digits(match.group("number"))
        if len(digits) < 4:
            continue
        if re.fullmatch(r"(?:19|20)\d\d", digits) and labelled is None:
            labelled = _LABEL.search(text) is not None
        # "the loan starts in 2027": a year, unless the message is about a number. The last
        # four of an account or card ("Account ending 4821") is how statements show one.
        if (labelled or not re.fullmatch(r"(?:19|20)\d\d", digits)) and _label_before(
            text, match.start()
        ) != "account":
            yield PiiSpan(PiiKind.ACCOUNT, match.start("number"), match.end("number"), digits)


# A message that is only (the rest of) a number: "6789", "and 6789.", "the rest is 6789", "后面是6789".
_NUMBER_ALONE = re.compile(
    r"\W*(?:(?:and|then|the|rest|is|are|last|four|4|digits|second|part|是|后面|剩下的|后四位)\W*)*"
    r"(?P<number>\d(?:[\s.\-]?\d){2,16})\W*",
    re.I,
)


def number_alone(text: str) -> PiiSpan | None:
    """The number a message is made of, when it is nothing else: in answer to "my ssn starts
    with 123-45", the rest of that number. Its kind is ACCOUNT (a part, never restored into an
    SSN field); the caller decides from the conversation whether it continues a number."""
    match = _NUMBER_ALONE.fullmatch(text)
    if match is None:
        return None
    digits = _digits(match["number"])
    return PiiSpan(PiiKind.ACCOUNT, match.start("number"), match.end("number"), digits)


_BEGINS = re.compile(r"\b(?:starts?|starting|first|begins?|beginning)\b|前[三五3-5]位|开头", re.I)


def begins_a_number(text: str) -> bool:
    """Whether a message says it gives the first part of a number: an SSN, account or ID label,
    or "starts with", "first", "开头"."""
    return bool(_BEGINS.search(text) or _LABEL.search(text))


def _never_issued(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    # 9xx stays personal: it is how ITINs (taxpayer numbers of people without an SSN) begin.
    return area in ("000", "666") or group == "00" or serial == "0000"


def _after_state_or_zip(before: str) -> bool:
    """Whether `before` ends with a ZIP label or a US state code ("IL ", ", il ")."""
    if _ZIP_LABEL.search(before):
        return True
    state = _STATE_BEFORE.search(before)
    if state is None or not (state["code"].isupper() or state["comma"]):
        return False  # "is", "ok" or "me" in a sentence are words, not Indiana or Maine
    return state["code"].upper() in US_STATES


# --- dates --------------------------------------------------------------------------------


def _number(token: str) -> int:
    """A year, month or day as written: digits of any script, a month name, or Chinese."""
    if token.isdigit():
        return int(token)
    if token[0] in _CN_DIGITS:
        return int("".join(str(_CN_DIGITS[char]) for char in token))
    if token[0] in _CN_NUMBER:
        tens, ten, ones = token.rpartition("十")
        if not ten:
            return _CN_NUMBER.index(token) + 1
        return (_CN_NUMBER.index(tens) + 1 if tens else 1) * 10 + (
            _CN_NUMBER.index(ones) + 1 if ones else 0
        )
    return MONTHS[token.lower()]


def _calendar_date(year: int, first: int, second: int, order: str) -> date | None:
    """The date, trying day-first too when the US month-first reading is impossible."""
    for month, day in ((first, second), (second, first)) if order == "mdy" else ((first, second),):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def _read_date(match: re.Match[str], order: str, today: date) -> date | None:
    a, b, c = (_number(group) for group in match.groups())
    if order == "ymd":
        return _calendar_date(a, b, c, "ymd")
    if order == "Mdy":
        return _calendar_date(c, a, b, "ymd")
    if order == "dMy":
        return _calendar_date(c, b, a, "ymd")
    if order == "mdyy":  # a two-digit year is the latest one not in the future
        c += 2000 if 2000 + c <= today.year else 1900
    return _calendar_date(c, a, b, "mdy")


def _may_end_at_year(order: str, separator: str) -> bool:
    """Whether a _YEAR_LAST date of `order` can end at a year with `separator` before it: the
    numeric one has a _DATE_SEP there, the ones with a month name a space."""
    return separator in _DATE_SEP_CHARS if order == "mdy" else separator.isspace()


def _dates(text: str, folded: str, today: date) -> Iterator[PiiSpan]:
    matches: list[tuple[re.Match[str], str]] = []
    month_starts: list[int] | None = None  # where "Mdy" dates can start, found once
    for year in _YEAR.finditer(text):
        start, end = year.span()
        first = _YEAR_FIRST[0].match(text, start)
        if first:
            matches.append((first, _YEAR_FIRST[1]))
        before = text[max(0, start - _YEAR_LAST_REACH) : start].lower()
        for pattern, order in _YEAR_LAST:
            if not _may_end_at_year(order, text[start - 1 : start] if start else ""):
                continue
            if order != "mdy" and not any(month in before for month in _MONTH_STARTS):
                continue  # the month-name patterns are the slow ones
            reach = max(0, start - _YEAR_LAST_REACH)
            if order == "Mdy":  # it starts with its month: tried only where one starts
                if month_starts is None:
                    month_starts = _occurrences(folded, _MONTH_STARTS)
                last = next(_matches_at(pattern, text, month_starts, reach, end), None)
            else:
                last = pattern.search(text, reach, end)
            if last:
                matches.append((last, order))
    if "年" in text:
        matches += [(m, order) for pattern, order in _CHINESE_DATES for m in pattern.finditer(text)]
    latest = today.year - DOB_MIN_AGE_YEARS
    for match, order in matches:
        day = _read_date(match, order, today)
        if day is None or day.year < today.year - DOB_MAX_AGE_YEARS:
            continue
        if day.year <= latest or _label_before(text, match.start()) == "birth":
            yield PiiSpan(PiiKind.DOB, match.start(), match.end(), day.isoformat())
    lowered = text.lower()
    if not any(hint in lowered for hint in _BIRTH_HINTS):
        return
    for pattern, order in _LABELLED_DATES:
        for match in pattern.finditer(text):
            if _label_before(text, match.start()) != "birth":
                continue
            day = _read_date(match, order, today)
            if day is not None and day <= today:
                yield PiiSpan(PiiKind.DOB, match.start(), match.end(), day.isoformat())


# Dates said in words: "born on the fourth of July 1985", "July fourth, nineteen eighty-five",
# "dob 4 July 85" (a two-digit year only after a birth label).
_ORDINAL_WORDS = {
    word: day
    for day, word in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
        "twentieth".split(),
        start=1,
    )
}
_ORDINAL_WORDS |= {
    f"twenty{sep}{word}": 20 + day
    for word, day in list(_ORDINAL_WORDS.items())[:9]
    for sep in (" ", "-")
}
_ORDINAL_WORDS |= {"thirtieth": 30, "thirty first": 31, "thirty-first": 31}
_ONES = "one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_TWO_DIGITS = (
    rf"(?:(?:{'|'.join(_TENS)})(?:[\s-]+(?:{'|'.join(_ONES)}))?|{'|'.join(_TEENS)}"
    rf"|oh[\s-]+(?:{'|'.join(_ONES)}))"
)
_YEAR_WORDS = (
    rf"(?:(?:nineteen|twenty)[\s-]+{_TWO_DIGITS}"
    rf"|two[\s-]+thousand(?:[\s-]+and)?(?:[\s-]+(?:{_TWO_DIGITS}|{'|'.join(_ONES)}))?)"
)
_DAY_WORDS = "|".join(sorted(_ORDINAL_WORDS, key=len, reverse=True))
_DAY = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{_DAY_WORDS})"
_YEAR_ANY = rf"(?:\d{{4}}|{_YEAR_WORDS}|'?\d{{2}})"
_PART_GAP = r"(?:\s+|\s*[-/.]\s*)"  # "4 July", "4-Jul-1985", "Jul/04/1985"
_WORD_DATES = (
    re.compile(
        rf"(?<![a-z0-9])(?P<day>{_DAY})(?:\s+of\s+|{_PART_GAP})(?P<month>{MONTH_NAMES_PATTERN})"
        rf"\.?,?(?:\s+(?:of|in)\s+|{_PART_GAP})(?P<year>{_YEAR_ANY})(?![a-z0-9])",
        re.I,
    ),
    re.compile(
        rf"(?<![a-z])(?P<month>{MONTH_NAMES_PATTERN})\.?(?:\s+the\s+|{_PART_GAP})(?P<day>{_DAY})"
        rf",?(?:\s+(?:of|in)\s+|{_PART_GAP})(?P<year>{_YEAR_ANY})(?![a-z0-9])",
        re.I,
    ),
)
_WORD_DATE_HINT = re.compile(
    rf"{_DAY_WORDS}|nineteen|thousand|\b\d{{2}}\b|\bthe\b|[a-z][-/]\d|\d[-/][a-z]", re.I
)


# Where a _WORD_DATES match can start, in folded text: every day word starts with its first five
# letters, and a day in digits has no letter or digit before it.
_DAY_WORD_STARTS = tuple(sorted({word[:5] for word in _ORDINAL_WORDS}))
_DAY_DIGITS = re.compile(r"\d(?<![a-z0-9]\d)")
# What follows the month in both _WORD_DATES, in folded text: a day or a year, after a gap.
# ("You may want": "may" is followed by neither.)
_WORD_DATE_AFTER_MONTH = re.compile(
    rf"(?:{MONTH_NAMES_PATTERN})\.?,?(?:\s+(?:of|in|the)\s+|{_PART_GAP})"
    rf"(?:'?\d|nineteen|twenty|two|{_DAY_WORDS})"
)


def _year_from_words(words: str) -> int | None:
    parts = [part for part in re.split(r"[\s-]+", words.lower()) if part and part != "and"]
    if parts[:2] == ["two", "thousand"]:
        return 2000 + (_small_number(parts[2:]) or 0)
    century = {"nineteen": 1900, "twenty": 2000}.get(parts[0])
    rest = _small_number(parts[1:])
    return None if century is None or rest is None else century + rest


def _small_number(parts: list[str]) -> int | None:
    if not parts:
        return 0
    if parts[0] == "oh":
        parts = parts[1:]
    if len(parts) == 1 and parts[0] in _ONES:
        return _ONES.index(parts[0]) + 1
    if len(parts) == 1 and parts[0] in _TEENS:
        return _TEENS.index(parts[0]) + 10
    if parts and parts[0] in _TENS:
        tens = (_TENS.index(parts[0]) + 2) * 10
        if len(parts) == 1:
            return tens
        if len(parts) == 2 and parts[1] in _ONES:
            return tens + _ONES.index(parts[1]) + 1
    return None


def _dates_in_words(text: str, folded: str, today: date) -> Iterator[PiiSpan]:
    lowered = text.lower()
    if (
        not any(month in lowered for month in _MONTH_STARTS)
        or not _WORD_DATE_AFTER_MONTH.search(folded)
        or not _WORD_DATE_HINT.search(text)
    ):
        return
    latest = today.year - DOB_MIN_AGE_YEARS
    day_first, month_first = _WORD_DATES
    starts = (
        # a day first: its digits (not glued to a word) or its word
        sorted(
            [m.start() for m in _DAY_DIGITS.finditer(folded)]
            + _occurrences(folded, _DAY_WORD_STARTS)
        ),
        _occurrences(folded, _MONTH_STARTS),  # a month first
    )
    for pattern, pattern_starts in zip((day_first, month_first), starts, strict=True):
        for match in _matches_at(pattern, text, pattern_starts):
            day_text, year_text = match["day"].lower(), match["year"].lower().lstrip("'")
            day = _ORDINAL_WORDS.get(re.sub(r"\s+", " ", day_text))
            if day is None:
                day = int(re.sub(r"\D", "", day_text))
            labelled = _label_before(text, match.start()) == "birth"
            if year_text.isdigit() and len(year_text) == 2:
                if not labelled:
                    continue
                year = int(year_text) + (2000 if 2000 + int(year_text) <= today.year else 1900)
            elif year_text.isdigit():
                year = int(year_text)
            else:
                found_year = _year_from_words(year_text)
                if found_year is None:
                    continue
                year = found_year
            try:
                when = date(year, MONTHS[match["month"].lower()], day)
            except ValueError:
                continue
            if when.year < today.year - DOB_MAX_AGE_YEARS or when > today:
                continue
            if when.year <= latest or labelled:
                yield PiiSpan(PiiKind.DOB, match.start(), match.end(), when.isoformat())
