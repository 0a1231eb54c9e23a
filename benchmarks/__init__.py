"""Benchmarks for character-guard: `python -m benchmarks.run` (see docs/benchmarks.md)."""
