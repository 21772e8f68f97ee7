"""The world state as one block sees it: committed values under a journaled overlay.

Writes made while executing a block stay in the overlay until the block commits.
``snapshot()`` / ``revert()`` undo one transaction's writes when it fails.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from consortia.ledger.store import Store, Versioned

_MISSING = object()


class BlockState:
    def __init__(self, store: Store, height: int) -> None:
        self._store = store
        self.height = height
        self.idx = 0  # index of the transaction being executed
        self._overlay: dict[str, Versioned | None] = {}
        self._keys: list[str] = []  # the overlay's keys, sorted: a range reads its slice, not every write
        self._journal: list[tuple[str, object]] = []

    # reads ---------------------------------------------------------------------------

    def get_versioned(self, key: str) -> Versioned | None:
        if key in self._overlay:
            return self._overlay[key]
        return self._store.state_get(key)

    def get(self, key: str) -> bytes | None:
        found = self.get_versioned(key)
        return None if found is None else found.value

    def prefetch(self, keys: list[str]) -> None:
        """Warm the committed values of ``keys`` this block has not written, in one read."""
        self._store.state_prefetch([k for k in keys if k not in self._overlay])

    def range(self, start: str, end: str, limit: int) -> list[tuple[str, bytes]]:
        """Committed rows merged with this block's writes, ``start <= key < end``, key order."""
        if limit <= 0:
            return []
        keys = self._keys
        pending = keys[bisect_left(keys, start):bisect_left(keys, end)]
        merged: dict[str, bytes] = {}
        fetch = limit + len(pending)
        for key, v in self._store.state_range(start, end, fetch):
            merged[key] = v.value
        for key in pending:
            value = self._overlay[key]
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value.value
        # We fetched limit + len(pending) committed rows, so even if every pending key
        # deletes one of them, the first ``limit`` merged keys all lie inside the window.
        return [(k, merged[k]) for k in sorted(merged)[:limit]]

    # writes --------------------------------------------------------------------------

    def put(self, key: str, value: bytes) -> None:
        self._record(key)
        self._overlay[key] = Versioned(value, self.height, self.idx)

    def delete(self, key: str) -> None:
        self._record(key)
        self._overlay[key] = None

    def _record(self, key: str) -> None:
        previous = self._overlay.get(key, _MISSING)
        if previous is _MISSING:
            insort(self._keys, key)
        self._journal.append((key, previous))

    def snapshot(self) -> int:
        return len(self._journal)

    def written_since(self, snapshot: int) -> list[str]:
        """Keys written (or deleted) since ``snapshot``."""
        return [key for key, _ in self._journal[snapshot:]]

    def revert(self, snapshot: int) -> None:
        while len(self._journal) > snapshot:
            key, previous = self._journal.pop()
            if previous is _MISSING:
                del self._overlay[key]
                del self._keys[bisect_left(self._keys, key)]
            else:
                self._overlay[key] = previous  # type: ignore[assignment]

    def writes(self) -> dict[str, Versioned | None]:
        """Final writes of the block: deletions of keys that never existed are dropped."""
        out: dict[str, Versioned | None] = {}
        for key, value in self._overlay.items():
            if value is None and self._store.state_get(key) is None:
                continue
            out[key] = value
        return out


class ReadState:
    """Read-only committed state for queries, on the caller thread's own connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: str) -> bytes | None:
        found = self._store.state_read(key)
        return None if found is None else found.value

    def prefetch(self, keys: list[str]) -> None:
        """Queries read as they go."""

    def put(self, key: str, value: bytes) -> None:  # pragma: no cover - Context refuses first
        raise RuntimeError("read-only state")

    def delete(self, key: str) -> None:  # pragma: no cover
        raise RuntimeError("read-only state")

    def range(self, start: str, end: str, limit: int) -> list[tuple[str, bytes]]:
        return [(k, v.value) for k, v in self._store.state_range(start, end, limit, writer=False)]
