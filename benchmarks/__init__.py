"""Benchmarks: scripts that measure speed and accuracy figures and print tables (never unit tests)."""
