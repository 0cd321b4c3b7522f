"""English month names and abbreviations → month number: the one table that the chat parser and
the document extractors read dates with."""

from __future__ import annotations

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

# For regular expressions: longest first, so "september" wins over "sep".
MONTH_NAMES_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))
