"""Benchmarks: each prints its figure next to a baseline measured in the same
run, the ratio, and the target with PASS/FAIL. See ``bench/README.md``."""
