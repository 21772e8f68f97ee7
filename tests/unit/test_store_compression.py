"""Compression in the block store (ADR 0028): a storage detail, every read returns the canonical bytes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.errors import Fault
from consortia.ledger.records import ZERO_HASH, BlockHeader, Receipt
from consortia.ledger.store import DICT_SAMPLES, PACK_MIN, ZDICT, ZLIB, Store, Versioned, key_family
from consortia.types import codec


def header(height: int) -> BlockHeader:
    return BlockHeader(chain="unit", height=height, prev_hash=ZERO_HASH, time_ms=1000 + height, tx_root=ZERO_HASH,
                       receipts_root=ZERO_HASH, state_root=ZERO_HASH, tx_count=0, proposer="unit", suite="ed25519-sha256")


def bodies(height: int) -> tuple[bytes, bytes]:
    txs = codec.dumps_unchecked([{"sig": "ab" * 32, "tx": {"args": {"n": height, "text": "event " * 50}}}] * 3)
    receipts = codec.dumps_unchecked([Receipt.ok(f"{height:064x}", (), {"captured": ["x" * 80] * 5}).to_dict()])
    return txs, receipts


def commit(store: Store, height: int, writes: dict[str, Versioned | None]) -> None:
    txs, receipts = bodies(height)
    store.commit_block(header(height), f"{height + 1:064x}", txs, [], receipts, writes)


def record(n: int) -> bytes:
    return codec.encode({"id": f"ni:///sha-256;{n:064x}?ver=CBV2.0", "org": "lianhe-foods", "n": n,
                         "text": '{"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping"}' * 3})


def raw_rows(path: Path, sql: str) -> list[tuple[bytes, ...]]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(bytes(c) if isinstance(c, bytes) else c for c in row) for row in conn.execute(sql)]
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "chain.db")
    yield s
    s.close()


def test_block_bodies_are_stored_compressed_and_read_back_exactly(store: Store, tmp_path: Path) -> None:
    commit(store, 0, {})
    txs, receipts = bodies(0)
    assert store.get_block_bodies(0) == (txs, receipts)
    block = store.get_block(0)
    assert block is not None and block.txs == codec.decode(txs)
    assert [r.to_dict() for r in block.receipts] == codec.decode(receipts)
    stored_txs, stored_receipts = raw_rows(tmp_path / "chain.db", "SELECT txs, receipts FROM blocks")[0]
    assert stored_txs[0] == ZLIB and len(stored_txs) < len(txs) and len(stored_receipts) < len(receipts)


def test_state_values_round_trip_through_every_read(store: Store, tmp_path: Path) -> None:
    short = codec.encode({"a": 1})
    writes: dict[str, Versioned | None] = {f"app/ev/{n:03d}": Versioned(record(n), 0, n) for n in range(40)}
    writes["app/short"] = Versioned(short, 0, 0)
    commit(store, 0, writes)
    for key, value in writes.items():
        assert value is not None
        assert store.state_get(key) == value  # cached from the writes
        assert store.state_read(key) == value
    assert dict(store.state_range("app/", "app0", 100)) == writes
    assert {k: Versioned(v, h, i) for k, v, h, i in store.state_items()} == writes
    stored = dict(raw_rows(tmp_path / "chain.db", "SELECT key, value FROM state"))  # type: ignore[arg-type]
    assert stored["app/short"] == short  # under PACK_MIN: as it is
    assert len(short) < PACK_MIN
    assert stored["app/ev/000"][0] == ZLIB  # before its family had a dictionary
    assert stored[f"app/ev/{DICT_SAMPLES:03d}"][0] == ZDICT
    assert len(stored["app/ev/039"]) < len(record(39)) // 2


def test_dictionaries_survive_reopen_and_reach_a_store_opened_before_them(tmp_path: Path) -> None:
    path = tmp_path / "chain.db"
    writer = Store(path)
    early = Store(path)  # opened before any dictionary existed (a reader of the same file)
    try:
        commit(writer, 0, {f"app/ev/{n:03d}": Versioned(record(n), 0, n) for n in range(DICT_SAMPLES + 4)})
        last = f"app/ev/{DICT_SAMPLES + 3:03d}"
        found = early.state_read(last)
        assert found is not None and found.value == record(DICT_SAMPLES + 3)
    finally:
        writer.close()
        early.close()
    reopened = Store(path)
    try:
        assert [v for _, v, _, _ in reopened.state_items()] == [record(n) for n in range(DICT_SAMPLES + 4)]
        commit(reopened, 1, {"app/ev/zzz": Versioned(record(99), 1, 0)})  # the reopened writer reuses it
        assert raw_rows(path, "SELECT COUNT(*) FROM zdicts") == [(1,)]
        assert reopened.state_read("app/ev/zzz") == Versioned(record(99), 1, 0)
    finally:
        reopened.close()


def test_a_failed_commit_keeps_no_dictionary_it_learned(store: Store, tmp_path: Path) -> None:
    writes: dict[str, Versioned | None] = {f"app/ev/{n:03d}": Versioned(record(n), 5, n) for n in range(DICT_SAMPLES)}
    with pytest.raises(Fault):
        commit(store, 5, writes)  # out of order: rolled back after the values were packed
    assert raw_rows(tmp_path / "chain.db", "SELECT COUNT(*) FROM zdicts") == [(0,)]
    commit(store, 0, {k: Versioned(v.value, 0, v.idx) for k, v in writes.items() if v is not None})
    assert [v for _, v, _, _ in store.state_items()] == [record(n) for n in range(DICT_SAMPLES)]
    assert raw_rows(tmp_path / "chain.db", "SELECT id FROM zdicts") == [(1,)]


def test_a_store_written_before_compression_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "chain.db"
    Store(path).close()
    txs, receipts = bodies(0)
    conn = sqlite3.connect(path)  # rows as a store before ADR 0028 wrote them: plain canonical bytes
    conn.execute("INSERT INTO blocks (height, hash, header, txs, receipts) VALUES (0, ?, ?, ?, ?)",
                 (bytes.fromhex(f"{1:064x}"), header(0).encode(), txs, receipts))
    conn.execute("INSERT INTO state (key, value, height, idx) VALUES ('app/ev/1', ?, 0, 0)", (record(1),))
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert store.get_block_bodies(0) == (txs, receipts)
        assert store.state_read("app/ev/1") == Versioned(record(1), 0, 0)
        commit(store, 1, {"app/ev/2": Versioned(record(2), 1, 0)})  # and takes new blocks beside the old ones
        assert [v for _, v, _, _ in store.state_items()] == [record(1), record(2)]
    finally:
        store.close()


def test_key_family() -> None:
    assert key_family("trace/ev/ni:///sha-256;ab") == "trace/ev/"
    assert key_family("trace/stats") == "trace/stats"
    assert key_family("stats") == "stats"
