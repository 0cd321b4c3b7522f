"""The audit log: append-only and hash-chained, with a verifier that finds the first broken link."""
