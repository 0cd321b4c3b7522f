"""A person's rights over their data: export (a ZIP of JSON and original files), erasure
(requested, approved by another person, then removed or anonymised, keeping what the law
requires under a pseudonym), and retention periods enforced by a job."""
