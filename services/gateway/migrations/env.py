"""Alembic environment of the gateway database."""

from tally.persistence.migrations import run_env

run_env()
