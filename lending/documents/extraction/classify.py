"""Suggests a document type from the words on it.

Each type has phrases that mark it, weighted by how specific they are ("wage and tax statement"
names a W-2; "balance" alone says little). A type's score is the sum of the weights of its
phrases found; the suggestion is the best-scoring type, and its confidence grows with both its
score and its lead over the runner-up. Below a minimum score the suggestion is OTHER.
"""

from __future__ import annotations

import re

from lending.documents.types import DocumentType

_PHRASES: dict[DocumentType, list[tuple[str, float]]] = {
    DocumentType.PAY_STUB: [
        (r"pay\s*stub|earnings\s+statement|statement\s+of\s+earnings|pay\s+statement", 3),
        (r"pay\s+period", 2),
        (r"pay\s+date|check\s+date", 2),
        (r"gross\s+pay", 2),
        (r"net\s+pay", 2),
        (r"\bytd\b|year\s+to\s+date", 1.5),
        (r"deductions", 1),
        (r"federal\s+income\s+tax", 1),
        (r"\bhours\b", 0.5),
        (r"\brate\b", 0.5),
        (r"employee\s+id", 1),
    ],
    DocumentType.BANK_STATEMENT: [
        (r"account\s+statement|bank\s+statement|statement\s+of\s+account", 3),
        (r"statement\s+period", 2),
        (r"(?:opening|beginning)\s+balance", 2),
        (r"(?:closing|ending)\s+balance", 2),
        (r"total\s+deposits|deposits\s+and\s+(?:other\s+)?credits", 1.5),
        (r"withdrawals", 1.5),
        (r"member\s+fdic", 1.5),
        (r"\bnsf\b|overdraft", 1),
        (r"checking|savings", 1),
        (r"account\s+number", 0.5),
    ],
    DocumentType.W2: [
        (r"\bw-?2\b", 3),
        (r"wage\s+and\s+tax\s+statement", 4),
        (r"employer\s+identification\s+number", 2),
        (r"wages,\s*tips,\s*other\s+comp", 2),
        (r"social\s+security\s+wages", 1.5),
        (r"medicare\s+wages", 1.5),
        (r"federal\s+income\s+tax\s+withheld", 1),
    ],
    DocumentType.IDENTIFICATION: [
        (r"driver'?s?\s+licen[sc]e|identification\s+card|\bid\s+card\b|passport", 4),
        (r"\bdob\b|date\s+of\s+birth", 2),
        (r"\bexp\b|expires|date\s+of\s+expiry", 1.5),
        (r"\bsex\b", 1),
        (r"\bhgt\b|height", 1),
        (r"\beyes\b", 1),
        (r"\bclass\b", 0.5),
        (r"\biss\b|date\s+of\s+issue", 1),
        (r"\bdl\b", 1),
    ],
    DocumentType.TAX_RETURN: [
        (r"form\s+1040|individual\s+income\s+tax\s+return", 4),
        (r"adjusted\s+gross\s+income", 2),
        (r"taxable\s+income", 2),
        (r"filing\s+status", 2),
        (r"schedule\s+[a-e]\b", 1),
        (r"standard\s+deduction", 1),
        (r"refund", 1),
    ],
    DocumentType.PROOF_OF_ADDRESS: [
        (r"utility|electric|water\s+(?:and|&)\s+sewer|natural\s+gas|internet\s+service", 2),
        (r"service\s+address", 3),
        (r"billing\s+period|billing\s+date", 2),
        (r"amount\s+due", 2),
        (r"due\s+date", 1),
        (r"lease\s+agreement|residential\s+lease", 3),
        (r"kwh", 2),
    ],
    DocumentType.BUSINESS_LICENCE: [
        (
            r"business\s+licen[sc]e|business\s+tax\s+certificate|certificate\s+of\s+(?:good\s+standing|formation)",
            4,
        ),
        (r"licen[sc]ee", 2),
        (r"\bdba\b|doing\s+business\s+as", 2),
        (r"licen[sc]e\s+(?:no|number)", 1),
        (r"articles\s+of\s+organization|secretary\s+of\s+state", 2),
        (r"permit", 1),
    ],
}
_COMPILED = {
    kind: [(re.compile(pattern, re.IGNORECASE), weight) for pattern, weight in phrases]
    for kind, phrases in _PHRASES.items()
}
MIN_SCORE = 3.0
# A score of this much, with no competitor, gives full confidence.
FULL_SCORE = 9.0


def scores(text: str) -> dict[DocumentType, float]:
    sample = text[:20000]
    return {
        kind: sum(weight for pattern, weight in phrases if pattern.search(sample))
        for kind, phrases in _COMPILED.items()
    }


def classify(text: str) -> tuple[DocumentType, float]:
    """The suggested type and a confidence in [0, 1]."""
    ranked = sorted(scores(text).items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < MIN_SCORE:
        return DocumentType.OTHER, round(min(0.9, 0.5 + (MIN_SCORE - top) / (2 * MIN_SCORE)), 2)
    strength = min(1.0, top / FULL_SCORE)
    margin = (top - second) / top
    return best, round(max(0.05, min(0.99, strength * (0.4 + 0.6 * margin))), 2)
