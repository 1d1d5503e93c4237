"""Helpers for the chaos scenarios (tests/test_chaos_*.py)."""
