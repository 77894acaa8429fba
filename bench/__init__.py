"""Benchmarks: each prints medians over repeated runs and the ratios measured in one run."""
