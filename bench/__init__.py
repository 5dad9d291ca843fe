"""Benchmarks of the engine: `make bench` (or `python bench/run.py [--quick]`)."""
