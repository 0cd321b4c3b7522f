"""The borrower assistant: intake, consent, offers, documents and status, for one borrower."""
