"""Benchmarks for govassist: ingestion, query latency, scale and embedders. Run with `python -m bench.run`."""
