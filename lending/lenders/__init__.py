"""Lenders: the catalog of lenders and products, and submissions of applications to lenders."""
