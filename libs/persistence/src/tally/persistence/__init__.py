"""Persistence: SQLAlchemy engines, Alembic migrations, the transactional outbox and its relay, the inbox."""
