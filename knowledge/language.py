"""Languages of the knowledge base: detection, and the text full-text search indexes for each.

PostgreSQL ships no Chinese text-search configuration, and the extensions that add one (zhparser,
pg_jieba) are not in the embedded server nor in most managed ones. Chinese text is therefore
indexed with the `simple` configuration over overlapping character bigrams: every run of CJK
characters becomes its bigrams ("贷款利率" -> "贷款 款利 利率"), a common and well-understood
approach for CJK search without a dictionary. Queries are segmented the same way, so a query
matches any passage sharing two-character sequences with it; Latin words inside Chinese text
(APR, FICO) stay whole words. English uses the stemming `english` configuration.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")

# PostgreSQL text-search configuration per language (see the module docstring for Chinese).
TS_CONFIG: dict[Language, str] = {"en": "english", "zh": "simple"}

# CJK Unified Ideographs (+ extension A and compatibility ideographs): the characters that
# carry Chinese meaning; punctuation and full-width forms are separators.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> Language:
    """'zh' when Chinese characters are a real share of the letters, else 'en'."""
    cjk = len(_CJK_CHAR.findall(text))
    if cjk == 0:
        return "en"
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    # A Chinese sentence often carries a few Latin terms (APR, FICO); a CJK character is
    # about one word, so compare characters with Latin words, not letters.
    return "zh" if cjk >= latin_words else "en"


def cjk_bigrams(text: str) -> str:
    """The text with every CJK run replaced by its overlapping character bigrams, space-separated.

    A run of one character stays as that character, so single-character words still match.
    """

    def bigrams(match: re.Match[str]) -> str:
        run = match.group(0)
        if len(run) == 1:
            return f" {run} "
        return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " "

    return _CJK_RUN.sub(bigrams, text)


def search_text(language: Language, parts: list[str]) -> str:
    """What a chunk's full-text index is built from: its headings and text, segmented."""
    joined = "\n".join(part for part in parts if part)
    return cjk_bigrams(joined) if language == "zh" else joined


def query_text_for(config: str, query: str) -> str:
    """The query as the given configuration's index expects it (bigrams for `simple`)."""
    return cjk_bigrams(query) if config == "simple" else query


def has_letters(text: str) -> bool:
    """Whether the text has anything to search for (a Latin letter, a digit or a CJK character)."""
    return bool(_LATIN_LETTER.search(text) or _CJK_CHAR.search(text) or re.search(r"\d", text))
