"""Fuzzing of the spec loader: shared strategies and a long-running script run by hand."""
