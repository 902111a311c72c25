"""Alembic environment of the metering database."""

from tally.persistence.migrations import run_env

run_env()
