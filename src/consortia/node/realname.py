"""Clear real-name values kept by the member's own organisation's node (never on the chain)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from consortia.types import codec


class ClearStore:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS clear (identity TEXT PRIMARY KEY, record BLOB NOT NULL)")

    def close(self) -> None:
        self._conn.close()

    def put(self, identity: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO clear (identity, record) VALUES (?, ?)",
                               (identity, codec.encode(record)))

    def get(self, identity: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT record FROM clear WHERE identity=?", (identity,)).fetchone()
        return None if row is None else codec.decode(row[0])
