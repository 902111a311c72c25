"""Alembic environment of the erp-sync database."""

from tally.persistence.migrations import run_env

run_env()
