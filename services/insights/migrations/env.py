"""Alembic environment of the insights database."""

from tally.persistence.migrations import run_env

run_env()
