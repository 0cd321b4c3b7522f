"""The broker assistant: work delegated by a broker across their own clients' applications."""
