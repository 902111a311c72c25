"""Alembic environment of the quoting database."""

from tally.persistence.migrations import run_env

run_env()
