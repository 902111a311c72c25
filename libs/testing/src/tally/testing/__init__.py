"""Pytest fixtures shared by every Tally test suite."""
