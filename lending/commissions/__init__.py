"""Broker commissions: versioned rules, an append-only ledger, payouts and reconciliation."""
