"""Block store, transaction index and world state in one SQLite database (WAL).

A block, its receipts, its transaction index entries and the state writes it
produced are committed in one SQLite transaction with ``synchronous=FULL``: after
``commit_block`` returns the block is on disk, and a crash at any point leaves
either all of it or none of it.

The committing thread owns the write connection; every other thread reads
through its own connection (WAL lets readers run beside the writer).

Compression is a storage detail beneath the canonical bytes (ADR 0028): a block's transactions
and receipts are kept zlib-compressed, and so is every state value of ``PACK_MIN`` bytes or
more, each with the dictionary the store learned for its key family (``trace/ev/``, ...) from
the first values it saw. Every read returns the exact canonical bytes that were written, so
hashes, roots, proofs, ``GET /blocks`` and catch-up see nothing of it. Stored bytes that begin
with ``[`` (blocks) or a JSON character (state) are plain: stores written before ADR 0028 still
read.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consortia.errors import Fault
from consortia.ledger.records import BlockHeader, Receipt, SignedTx
from consortia.types import codec

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    header BLOB NOT NULL,
    txs BLOB NOT NULL,
    receipts BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tx_index (
    id BLOB PRIMARY KEY, height INTEGER NOT NULL, idx INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attestations (
    height INTEGER NOT NULL, org TEXT NOT NULL, hash TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (height, org)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY, value BLOB NOT NULL, height INTEGER NOT NULL, idx INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS zdicts (id INTEGER PRIMARY KEY, family TEXT NOT NULL UNIQUE, body BLOB NOT NULL);
"""

CACHE_LIMIT = 200_000
ZLIB = 0  # first byte of a stored blob or value: a zlib stream follows
ZDICT = 1  # a 4-byte dictionary id follows, then a raw deflate stream with that dictionary
PACK_MIN = 64  # state values shorter than this are kept as they are
PACK_LEVEL = 6
BLOCK_LEVEL = 1  # a 500-tx block: 3.3 ms against 8.1 ms at level 6, for 8% more bytes
DICT_SAMPLES = 16  # values of one key family that make its dictionary
DICT_BYTES = 16 * 1024  # measured: as good as zlib's 32 kB limit on trace events, half the memory (and _primed's window)
MAX_DICTS = 512


@dataclass(frozen=True, slots=True)
class Versioned:
    """A state value with the (height, tx index) of the write that produced it."""

    value: bytes
    height: int
    idx: int


@dataclass(frozen=True, slots=True)
class StoredBlock:
    height: int
    hash: str
    header: BlockHeader
    txs: list[dict[str, Any]]
    receipts: list[Receipt]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _connect(path)
        self._writer.executescript(SCHEMA)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._attest: sqlite3.Connection | None = None
        self._attest_lock = threading.Lock()
        self._cache: dict[str, Versioned | None] = {}
        self._cache_lock = threading.Lock()
        self._dicts: dict[int, bytes] = {}  # dictionary id -> body (every connection's reads)
        self._family_dicts: dict[str, tuple[int, Any]] = {}  # key family -> (id, primed compressor)
        self._samples: dict[str, list[bytes]] = {}  # key families still learning their dictionary
        for dict_id, family, body in self._writer.execute("SELECT id, family, body FROM zdicts"):
            self._dicts[int(dict_id)] = bytes(body)
            self._family_dicts[str(family)] = (int(dict_id), _primed(bytes(body)))

    def close(self) -> None:
        self._writer.close()
        if self._attest is not None:
            self._attest.close()
        with self._cache_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._cache_lock:
                self._readers.append(conn)
        return conn

    # -- meta -------------------------------------------------------------------------

    def get_meta(self, key: str) -> bytes | None:
        row = self._reader().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    # -- blocks -----------------------------------------------------------------------

    def height(self) -> int:
        """Height of the latest committed block, or -1 for an empty store."""
        row = self._reader().execute("SELECT MAX(height) FROM blocks").fetchone()
        return -1 if row[0] is None else int(row[0])

    def get_block(self, height: int) -> StoredBlock | None:
        row = self._reader().execute(
            "SELECT height, hash, header, txs, receipts FROM blocks WHERE height=?", (height,)
        ).fetchone()
        return None if row is None else _stored_block(row)

    def get_block_bodies(self, height: int) -> tuple[bytes, bytes] | None:
        """The canonical bytes of a block's transactions and receipts, as they were committed."""
        row = self._reader().execute("SELECT txs, receipts FROM blocks WHERE height=?", (height,)).fetchone()
        return None if row is None else (unpack_blob(row[0]), unpack_blob(row[1]))

    def block_hashes(self, start: int, end: int) -> dict[int, str]:
        """Hashes of the blocks with ``start <= height <= end``, without decoding them."""
        rows = self._reader().execute("SELECT height, hash FROM blocks WHERE height BETWEEN ? AND ?", (start, end))
        return {int(h): bytes(b).hex() for h, b in rows}

    def get_block_by_hash(self, block_hash: str) -> StoredBlock | None:
        try:
            key = bytes.fromhex(block_hash)
        except ValueError:
            return None
        row = self._reader().execute(
            "SELECT height, hash, header, txs, receipts FROM blocks WHERE hash=?", (key,)
        ).fetchone()
        return None if row is None else _stored_block(row)

    def get_header(self, height: int) -> BlockHeader | None:
        row = self._reader().execute("SELECT header FROM blocks WHERE height=?", (height,)).fetchone()
        return None if row is None else BlockHeader.from_dict(codec.decode_trusted(row[0]))

    def get_head(self) -> tuple[BlockHeader, str] | None:
        """Header and hash of the latest block, without decoding its body."""
        row = self._reader().execute("SELECT header, hash FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
        return None if row is None else (BlockHeader.from_dict(codec.decode_trusted(row[0])), bytes(row[1]).hex())

    def iter_blocks(self, start: int = 0) -> Iterator[StoredBlock]:
        height = start
        while (block := self.get_block(height)) is not None:
            yield block
            height += 1

    def tx_location(self, tx_id: bytes) -> tuple[int, int] | None:
        row = self._reader().execute("SELECT height, idx FROM tx_index WHERE id=?", (tx_id,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def ids_with_prefix(self, table: str, prefix_hex: str, limit: int = 2) -> list[str]:
        """Up to ``limit`` transaction ids (``table="tx_index"``) or block hashes (``"blocks"``) whose
        hex form starts with ``prefix_hex``, in order: short ids printed by a tool paste back."""
        column = {"tx_index": "id", "blocks": "hash"}[table]
        low = bytes.fromhex(prefix_hex + "0" * (len(prefix_hex) % 2))
        high = bytes.fromhex(prefix_hex + "f" * (len(prefix_hex) % 2)) + b"\xff" * 64
        rows = self._reader().execute(f"SELECT {column} FROM {table} WHERE {column} >= ? AND {column} <= ? "
                                      f"ORDER BY {column} LIMIT ?", (low, high, limit))
        return [bytes(r[0]).hex() for r in rows]

    def committed_among(self, tx_ids: list[bytes], *, writer: bool = False) -> set[bytes]:
        """Which of ``tx_ids`` are already on the chain (one query per 500 ids)."""
        conn = self._writer if writer else self._reader()
        found: set[bytes] = set()
        for i in range(0, len(tx_ids), 500):
            chunk = tx_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(bytes(r[0]) for r in conn.execute(f"SELECT id FROM tx_index WHERE id IN ({marks})", chunk))
        return found

    # -- state ------------------------------------------------------------------------

    def state_get(self, key: str) -> Versioned | None:
        """Committed value of ``key`` (writer side, cached)."""
        with self._cache_lock:
            if key in self._cache:
                return self._cache[key]
        row = self._writer.execute("SELECT value, height, idx FROM state WHERE key=?", (key,)).fetchone()
        found = None if row is None else Versioned(self._unpack(row[0]), int(row[1]), int(row[2]))
        with self._cache_lock:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found

    def state_prefetch(self, keys: list[str]) -> None:
        """Read the committed values of ``keys`` into the writer-side cache (misses too), one query
        per 500 keys: what ``state_get`` of each would cache, without a query each."""
        with self._cache_lock:
            wanted = [k for k in dict.fromkeys(keys) if k not in self._cache]
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._writer.execute(f"SELECT key, value, height, idx FROM state WHERE key IN ({marks})", chunk)
            found: dict[str, Versioned | None] = dict.fromkeys(chunk)
            for key, value, height, idx in rows:
                found[str(key)] = Versioned(self._unpack(value), int(height), int(idx))
            with self._cache_lock:
                if len(self._cache) + len(found) >= CACHE_LIMIT:
                    self._cache.clear()
                for key, versioned in found.items():
                    self._cache.setdefault(key, versioned)

    def state_read(self, key: str) -> Versioned | None:
        """Committed value of ``key`` for API readers (their own connection)."""
        row = self._reader().execute("SELECT value, height, idx FROM state WHERE key=?", (key,)).fetchone()
        return None if row is None else Versioned(self._unpack(row[0]), int(row[1]), int(row[2]))

    def state_range(self, start: str, end: str, limit: int, *, writer: bool = True) -> list[tuple[str, Versioned]]:
        """Committed entries with ``start <= key < end`` in key order."""
        if limit <= 0:
            return []
        conn = self._writer if writer else self._reader()
        rows = conn.execute(
            "SELECT key, value, height, idx FROM state WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
            (start, end, limit),
        ).fetchall()
        unpack = self._unpack
        return [(str(k), Versioned(unpack(v), int(h), int(i))) for k, v, h, i in rows]

    def state_items(self) -> Iterator[tuple[str, bytes, int, int]]:
        """Every state row in key order (for comparisons and rebuild checks)."""
        for k, v, h, i in self._reader().execute("SELECT key, value, height, idx FROM state ORDER BY key"):
            yield str(k), self._unpack(v), int(h), int(i)

    # -- attestations (signed headers from every node; not part of any block) ---------

    def add_attestation(self, height: int, org: str, block_hash: str, body: bytes, *, own: bool = False) -> bool:
        """Keep the first attestation of ``org`` for ``height`` (a node's own always wins);
        False if another one was already kept."""
        verb = "INSERT OR REPLACE" if own else "INSERT OR IGNORE"
        with self._attest_lock:
            if self._attest is None:
                self._attest = _connect(self.path)
                # Not part of any block and read again from the attestation stream at start: no
                # fsync of its own (a killed process loses nothing; the next block's commit syncs it).
                self._attest.execute("PRAGMA synchronous=NORMAL")
            cursor = self._attest.execute(f"{verb} INTO attestations (height, org, hash, body) VALUES (?,?,?,?)",
                                          (height, org, block_hash, body))
            return cursor.rowcount == 1

    def attestations(self, height: int) -> list[tuple[str, str, bytes]]:
        """(org, hash, body) of every attestation kept for ``height``."""
        rows = self._reader().execute("SELECT org, hash, body FROM attestations WHERE height=? ORDER BY org",
                                      (height,)).fetchall()
        return [(str(o), str(h), bytes(b)) for o, h, b in rows]

    def attestation_counts(self, start: int, end: int) -> dict[int, dict[str, int]]:
        """For heights in [start, end]: how many organisations attested each hash."""
        out: dict[int, dict[str, int]] = {}
        for height, block_hash, count in self._reader().execute(
                "SELECT height, hash, COUNT(*) FROM attestations WHERE height BETWEEN ? AND ? GROUP BY height, hash",
                (start, end)):
            out.setdefault(int(height), {})[str(block_hash)] = int(count)
        return out

    # -- compression (storage only: reads return the bytes that were written) ---------

    def _pack(self, key: str, value: bytes, learned: dict[str, tuple[int, bytes]]) -> bytes:
        """The stored form of a state value: as it is when short, else deflated with the
        dictionary of its key family (learned from its first ``DICT_SAMPLES`` long values)."""
        if len(value) < PACK_MIN:
            return value
        family = key_family(key)
        found = self._family_dicts.get(family)
        if found is None and family in learned:
            dict_id, body = learned[family]
            found = (dict_id, _primed(body))
        elif found is None and len(self._family_dicts) + len(learned) < MAX_DICTS:
            samples = self._samples.setdefault(family, [])
            samples.append(value)
            if len(samples) >= DICT_SAMPLES:  # values from here on use it; those before stay as stored
                dict_id = max([*self._dicts, *(d for d, _ in learned.values()), 0]) + 1
                learned[family] = (dict_id, b"".join(samples)[-DICT_BYTES:])
        if found is None:
            packed = bytes([ZLIB]) + zlib.compress(value, PACK_LEVEL)
        else:
            dict_id, primed = found
            squeeze = primed.copy()  # priming hashes the whole dictionary: do it once per family
            packed = bytes([ZDICT]) + dict_id.to_bytes(4, "big") + squeeze.compress(value) + squeeze.flush()
        return packed if len(packed) < len(value) else value

    def _unpack(self, stored: bytes) -> bytes:
        raw = bytes(stored)
        if not raw or raw[0] > ZDICT:
            return raw
        if raw[0] == ZLIB:
            return zlib.decompress(raw[1:])
        dict_id = int.from_bytes(raw[1:5], "big")
        body = self._dicts.get(dict_id)
        if body is None:  # learned by the writer after this reader started
            row = self._reader().execute("SELECT body FROM zdicts WHERE id=?", (dict_id,)).fetchone()
            if row is None:
                raise Fault(f"state value packed with dictionary {dict_id}, which the store does not hold")
            body = self._dicts.setdefault(dict_id, bytes(row[0]))
        inflate = zlib.decompressobj(-15, zdict=body)
        return inflate.decompress(raw[5:]) + inflate.flush()

    # -- commit -----------------------------------------------------------------------

    def commit_block(
        self,
        header: BlockHeader,
        block_hash: str,
        txs_blob: bytes,
        executed: list[tuple[bytes, int]],
        receipts_blob: bytes,
        writes: dict[str, Versioned | None],
        meta: dict[str, bytes] | None = None,
    ) -> None:
        """Write the block, its index entries and its state writes atomically.

        ``executed`` lists (tx id, position) of the transactions that ran (ok or reverted);
        only they claim their id in the index, so a rejected copy cannot block the real one.
        """
        conn = self._writer
        learned: dict[str, tuple[int, bytes]] = {}
        upserts = [(k, self._pack(k, v.value, learned), v.height, v.idx) for k, v in writes.items() if v is not None]
        deletes = [(k,) for k, v in writes.items() if v is None]
        txs_stored, receipts_stored = pack_blob(txs_blob), pack_blob(receipts_blob)
        try:
            conn.execute("BEGIN IMMEDIATE")
            top = conn.execute("SELECT MAX(height) FROM blocks").fetchone()[0]
            expected = 0 if top is None else int(top) + 1
            if header.height != expected:
                raise Fault(f"commit out of order: block {header.height}, expected {expected}")
            conn.execute(
                "INSERT INTO blocks (height, hash, header, txs, receipts) VALUES (?,?,?,?,?)",
                (
                    header.height,
                    bytes.fromhex(block_hash),
                    header.encode(),
                    txs_stored,
                    receipts_stored,
                ),
            )
            conn.executemany(
                "INSERT INTO tx_index (id, height, idx) VALUES (?,?,?)",
                [(tx_id, header.height, i) for tx_id, i in executed],
            )
            conn.executemany("INSERT INTO zdicts (id, family, body) VALUES (?,?,?)",
                             [(dict_id, family, body) for family, (dict_id, body) in learned.items()])
            if deletes:
                conn.executemany("DELETE FROM state WHERE key=?", deletes)
            if upserts:
                conn.executemany("INSERT OR REPLACE INTO state (key, value, height, idx) VALUES (?,?,?,?)", upserts)
            for key, value in (meta or {}).items():
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)", (key, value))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            with self._cache_lock:
                self._cache.clear()
            raise
        for family, (dict_id, body) in learned.items():
            self._dicts[dict_id] = body
            self._family_dicts[family] = (dict_id, _primed(body))
            self._samples.pop(family, None)
        with self._cache_lock:
            if len(self._cache) + len(writes) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache.update(writes)


def encode_txs(txs: list[SignedTx]) -> bytes:
    """Canonical bytes of ``[{"sig": ..., "tx": ...}, ...]`` built from each tx's canonical bytes."""
    parts = [b"["]
    for t in txs:
        parts += (b'{"sig":"', t.sig.hex().encode(), b'","tx":', t.raw, b"},")
    if txs:
        parts[-1] = b"}"
    parts.append(b"]")
    return b"".join(parts)


def encode_list(items: list[bytes]) -> bytes:
    """Canonical bytes of a list whose items are already canonical bytes."""
    return b"[" + b",".join(items) + b"]"


def key_family(key: str) -> str:
    """The first two segments of a state key (``trace/ev/``): values that share a dictionary."""
    first = key.find("/")
    second = key.find("/", first + 1) if first >= 0 else -1
    return key if second < 0 else key[:second + 1]


def _primed(body: bytes) -> Any:
    """A raw-deflate compressor primed with dictionary ``body`` (``copy()`` it for each value).

    Its window is 16 kB (``DICT_BYTES``), not zlib's 32 kB: ``copy()`` copies the window and its
    hash chains, and the smaller one costs a sixth of the time for the same bytes (measured: 8
    against 50 µs per 180-byte value, equal size); the 32 kB inflater reads either."""
    return zlib.compressobj(PACK_LEVEL, zlib.DEFLATED, -14, zdict=body)


def pack_blob(blob: bytes) -> bytes:
    """A block body as stored: ``ZLIB`` and a zlib stream (canonical bodies begin with ``[``)."""
    return bytes([ZLIB]) + zlib.compress(blob, BLOCK_LEVEL)


def unpack_blob(stored: bytes) -> bytes:
    raw = bytes(stored)
    return zlib.decompress(raw[1:]) if raw[:1] == bytes([ZLIB]) else raw


def _stored_block(row: tuple[Any, ...]) -> StoredBlock:
    height, block_hash, header, txs, receipts = row
    return StoredBlock(
        height=int(height),
        hash=bytes(block_hash).hex(),
        header=BlockHeader.from_dict(codec.decode_trusted(header)),
        txs=codec.decode_trusted(unpack_blob(txs)),
        receipts=[Receipt.from_dict(r) for r in codec.decode_trusted(unpack_blob(receipts))],
    )
