"""Benchmarks (``python -m bench.query_bench``); not part of the assistant."""
