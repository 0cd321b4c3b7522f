"""Guided mode: the deterministic policy that runs the intake when no language model is available."""
