"""Backups of the embedded default: one archive holding a consistent database dump and the
encrypted document store, with a checksum manifest; a restore that checks everything first and
swaps the restored database in whole or not at all."""
