"""Alembic environment of the invoicing database."""

from tally.persistence.migrations import run_env

run_env()
