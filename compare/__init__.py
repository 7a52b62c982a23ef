"""Experiments that put theory and simulation side by side: tidy tables, overlays, the
figure registry, the command line and the benchmarks."""
__version__ = "0.1.0"
