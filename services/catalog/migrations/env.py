"""Alembic environment of the catalog database."""

from tally.persistence.migrations import run_env

run_env()
