"""Hostile and careless input: each case of issue #15 with its fixed behaviour."""
