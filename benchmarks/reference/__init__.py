"""Re-implementations of the official algorithms, for the benchmark table only (benchmarks/perf.py).

Each module re-implements one official function from its published equations and says which;
none is the official code, and none is imported by the `theory` package.
"""
