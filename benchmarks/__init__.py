"""Benchmark scripts (not tests); each writes its results under benchmarks/results/."""
