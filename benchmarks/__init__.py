"""Reproducible benchmarks: `make bench` (python -m benchmarks.run) writes one JSON result per module."""
