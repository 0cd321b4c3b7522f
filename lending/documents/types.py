"""The kinds of document a loan file holds: the one list that upload, extraction and review share."""

from __future__ import annotations

from enum import StrEnum


class DocumentType(StrEnum):
    IDENTIFICATION = "identification"
    PAY_STUB = "pay_stub"
    BANK_STATEMENT = "bank_statement"
    W2 = "w2"
    TAX_RETURN = "tax_return"
    PROOF_OF_ADDRESS = "proof_of_address"
    BUSINESS_LICENCE = "business_licence"
    OTHER = "other"
