"""Which database failures are an outage (retry later) and which are the data's own fault (never retried away).

PostgreSQL (psycopg 3) is classified by SQLSTATE, SQLite by its few busy/locked messages. Connection refused
or lost, a lock or statement timeout, a serialization failure or deadlock, a server shutting down: transient.
Constraint violations, bad values and SQL errors are not: retrying them cannot help.
"""

from __future__ import annotations

import sqlite3

import psycopg
import sqlalchemy.exc

from tally.mesh.transient import causes

__all__ = ["database_outage"]

UNREACHABLE = "the database is unreachable"
LOCK_TIMEOUT = "a database lock was not granted in time"
STATEMENT_TIMEOUT = "a database statement timed out"
CONFLICT = "a database transaction conflicted with another (serialization failure or deadlock)"
BUSY = "the database is busy"

_BY_SQLSTATE = {
    "57014": STATEMENT_TIMEOUT,  # query_canceled: statement_timeout (or a cancel request)
    "55P03": LOCK_TIMEOUT,  # lock_not_available: lock_timeout, NOWAIT
    "40001": CONFLICT,  # serialization_failure
    "40P01": CONFLICT,  # deadlock_detected
}
_BY_SQLSTATE_CLASS = {
    "08": UNREACHABLE,  # connection exception
    "53": BUSY,  # insufficient resources: too many connections, out of memory or disk
    "57": UNREACHABLE,  # operator intervention: shutdown, terminated backend, cannot connect now
    "58": UNREACHABLE,  # system error: I/O error on the server
}
_SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")


def database_outage(exc: BaseException) -> str | None:
    """Why ``exc`` means the database is away for now (see module doc), or None when it is not transient."""
    for error in causes(exc):
        reason = _classify(error)
        if reason is not None:
            return reason
    return None


def _classify(error: BaseException) -> str | None:
    if isinstance(error, sqlalchemy.exc.TimeoutError | sqlalchemy.exc.DisconnectionError):
        return UNREACHABLE  # no pooled connection came free in time, or a dead one could not be replaced
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        if error.connection_invalidated:
            return UNREACHABLE
        return _classify(error.orig) if error.orig is not None else None
    if isinstance(error, psycopg.Error):
        sqlstate = error.sqlstate
        if sqlstate is None:
            # Raised by the client, not the server: connecting failed or the connection broke mid-query.
            return (
                UNREACHABLE if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError) else None
            )
        return _BY_SQLSTATE.get(sqlstate) or _BY_SQLSTATE_CLASS.get(sqlstate[:2])
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return BUSY if any(marker in message for marker in _SQLITE_BUSY) else None
    return None
