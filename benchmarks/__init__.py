"""Benchmarks: runnable scripts that print Markdown tables (``python -m benchmarks.run_all``)."""
