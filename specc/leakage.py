"""Placeholder: the leakage report (in progress)."""
