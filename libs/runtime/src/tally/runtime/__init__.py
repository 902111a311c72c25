"""Runs one Tally service process from a small definition: the wiring every service shares."""
