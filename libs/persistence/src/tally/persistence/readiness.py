"""The database side of readiness: a service is ready only while its own database answers."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from tally.mesh.readiness import ReadinessCheck

__all__ = ["database_reachable"]


def database_reachable(engine: Engine) -> ReadinessCheck:
    """Ready while ``SELECT 1`` succeeds on a pooled connection (a dead one is replaced by pre-ping)."""

    def ping() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    async def check() -> str | None:
        try:
            await asyncio.to_thread(ping)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return f"database {engine.url.render_as_string(hide_password=True)} unreachable: {reason}"
        return None

    return check
