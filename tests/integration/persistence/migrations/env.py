"""Alembic environment of the persistence tests' schema: what every service's env.py looks like."""

from tally.persistence.migrations import run_env

run_env()
