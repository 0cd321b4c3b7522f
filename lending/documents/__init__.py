"""Documents of a loan file: upload, encrypted storage, extraction, fraud signals and review (issue 8)."""
