"""Benchmarks: each `bench_*.py` module has `main()` printing `BENCH {json}` lines."""
