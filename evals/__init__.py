"""Evals for prompt engineers: scenario files run through the assistant's turn runner, checked, stored and gated."""
