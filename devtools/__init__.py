"""Helpers shared by the tests and the benchmarks (never imported by the product): throwaway
databases; neither imports the other, so both build on this."""
