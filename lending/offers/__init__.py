"""Lenders' offers: loan math, prequalification and ranking."""
