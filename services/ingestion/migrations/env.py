"""Alembic environment of the ingestion database."""

from tally.persistence.migrations import run_env

run_env()
