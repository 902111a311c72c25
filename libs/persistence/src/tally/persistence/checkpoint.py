"""SQLite WAL checkpoints in a background thread, off the writer's path.

SQLite's writer normally copies the write-ahead log into the database file itself, every 1000 pages, and
waits for it. The sqlite3 module releases the GIL while SQLite works, so doing that copy from another
thread lets a busy writer (metering's hot path) keep going on the other core.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, event

_log = logging.getLogger(__name__)

MAX_WAL_PAGES = 200_000
"""If checkpoints fall this far behind (about 800 MB of WAL), writers checkpoint again themselves."""


class WalCheckpointer:
    """Checkpoints one SQLite database every ``interval_s`` seconds until stopped."""

    def __init__(self, engine: Engine, *, interval_s: float = 0.5) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("WalCheckpointer is for SQLite engines")
        self._engine = engine
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)

        @event.listens_for(engine, "connect")
        def _writers_leave_checkpoints_to_us(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA wal_autocheckpoint={MAX_WAL_PAGES}")
            cursor.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._checkpoint()  # leave a short log behind for the next start

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._checkpoint()

    def _checkpoint(self) -> None:
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            _log.exception("WAL checkpoint failed; the writer checkpoints itself past the limit")
