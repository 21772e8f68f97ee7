"""An append-only audit log with a hash chain, kept by each node.

What is logged: every read a regulator makes through the API (it is signed, so we know who),
and every administrative action the node commits (governance and membership transactions, and
any transaction signed by an organisation admin). Each entry carries the hash of the one before
it, so an export proves it was not edited: change, drop or reorder one entry and every hash
after it breaks (``verify_entries`` says where).
"""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from consortia.types import codec

GENESIS_HASH = "00" * 32
FIELDS = ("seq", "time_ms", "kind", "actor", "org", "action", "detail", "prev_hash", "hash")
ADMIN_CONTRACTS = ("gov", "members")


def entry_hash(hasher: Callable[[bytes], bytes], entry: dict[str, Any]) -> str:
    body = {k: entry[k] for k in FIELDS if k != "hash"}
    return hasher(b"consortia/audit/v1\x00" + codec.encode(body)).hex()


class AuditLog:
    def __init__(self, path: Path, hasher: Callable[[bytes], bytes]) -> None:
        self._hash = hasher
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL)")

    def close(self) -> None:
        self._conn.close()

    def append(self, *, time_ms: int, kind: str, actor: str, org: str, action: str, detail: Any) -> dict[str, Any]:
        with self._lock:
            row = self._conn.execute("SELECT seq, entry FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            prev_seq, prev_hash = (row[0], codec.decode(row[1])["hash"]) if row else (0, GENESIS_HASH)
            entry = {"seq": prev_seq + 1, "time_ms": time_ms, "kind": kind, "actor": actor, "org": org,
                     "action": action, "detail": detail, "prev_hash": prev_hash}
            entry["hash"] = entry_hash(self._hash, entry)
            self._conn.execute("INSERT INTO audit (seq, entry) VALUES (?, ?)", (entry["seq"], codec.encode(entry)))
            return entry

    def entries(self, after: int = 0, limit: int = 100_000) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT entry FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        return [codec.decode(r[0]) for r in rows]


def verify_entries(hasher: Callable[[bytes], bytes], entries: Iterable[dict[str, Any]]) -> tuple[bool, str]:
    """Check the hash chain of an export; (True, summary) or (False, the first place it breaks)."""
    prev_hash, count = GENESIS_HASH, 0
    for position, entry in enumerate(entries):
        missing = [k for k in FIELDS if k not in entry]
        if missing:
            return False, f"entry {position + 1}: missing {', '.join(missing)}"
        if entry["prev_hash"] != prev_hash:
            return False, f"entry seq {entry['seq']}: does not follow the entry before it (removed or reordered?)"
        if entry_hash(hasher, entry) != entry["hash"]:
            return False, f"entry seq {entry['seq']}: its content does not match its hash (edited)"
        prev_hash, count = entry["hash"], count + 1
    return True, f"{count} entries, hash chain intact, last hash {prev_hash}"


def to_csv(entries: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for e in entries:
        writer.writerow([codec.encode(e[k]).decode() if k == "detail" else e[k] for k in FIELDS])
    return out.getvalue()


def from_csv(text: str) -> list[dict[str, Any]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return [{**r, "seq": int(r["seq"]), "time_ms": int(r["time_ms"]), "detail": codec.decode(r["detail"])}
            for r in rows]
