"""The US state codes (50 states, DC and Puerto Rico) the platform lends in and recognises in text."""

from __future__ import annotations

US_STATES: frozenset[str] = frozenset(
    "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE "
    "NH NJ NM NV NY OH OK OR PA PR RI SC SD TN TX UT VA VT WA WI WV WY".split()
)
