"""BlockState (the per-block overlay) and the SQLite Store underneath it."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.errors import Fault
from consortia.execution.state import BlockState, ReadState
from consortia.ledger.records import ZERO_HASH, BlockHeader, Receipt
from consortia.ledger.store import Store, Versioned
from consortia.types import codec


def header(height: int) -> BlockHeader:
    return BlockHeader(chain="unit", height=height, prev_hash=ZERO_HASH, time_ms=1000 + height, tx_root=ZERO_HASH,
                       receipts_root=ZERO_HASH, state_root=ZERO_HASH, tx_count=0, proposer="unit", suite="ed25519-sha256")


def commit(store: Store, height: int, writes: dict[str, Versioned | None], *, tx_ids: list[bytes] | None = None,
           meta: dict[str, bytes] | None = None, block_hash: str | None = None) -> None:
    ids = tx_ids or []
    txs_blob = codec.dumps_unchecked([{"n": i} for i in range(len(ids))])
    receipts_blob = codec.dumps_unchecked([Receipt.ok(t.hex(), (), None).to_dict() for t in ids])
    executed = [(tx_id, i) for i, tx_id in enumerate(ids)]
    store.commit_block(header(height), block_hash or f"{height + 1:064x}", txs_blob, executed, receipts_blob, writes, meta)


def put(value: bytes, height: int = 0, idx: int = 0) -> Versioned:
    return Versioned(value, height, idx)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "chain.db")
    yield s
    s.close()


def committed_rows(store: Store) -> dict[str, bytes]:
    return {k: v for k, v, _, _ in store.state_items()}


# -- snapshot / revert --------------------------------------------------------------------


def test_snapshot_and_revert(store: Store) -> None:
    commit(store, 0, {"a": put(b"1"), "c": put(b"3")})
    st = BlockState(store, 1)
    assert st.snapshot() == 0
    st.idx = 4
    st.put("a", b"10")
    s1 = st.snapshot()
    st.put("b", b"2")
    st.put("a", b"11")
    st.delete("c")
    s2 = st.snapshot()
    st.put("d", b"4")
    st.revert(s2)
    assert (st.get("a"), st.get("b"), st.get("c"), st.get("d")) == (b"11", b"2", None, None)
    st.revert(s2)  # reverting twice to the same point is harmless
    st.revert(s1)
    assert (st.get("a"), st.get("b"), st.get("c")) == (b"10", None, b"3")
    assert st.get_versioned("a") == Versioned(b"10", 1, 4)
    assert st.writes() == {"a": Versioned(b"10", 1, 4)}
    st.revert(0)
    assert (st.get("a"), st.get("c")) == (b"1", b"3")
    assert st.get_versioned("a") == Versioned(b"1", 0, 0)
    assert st.writes() == {}


def test_nothing_reaches_the_store_before_commit(store: Store) -> None:
    commit(store, 0, {"a": put(b"1")})
    st = BlockState(store, 1)
    st.put("a", b"2")
    st.put("b", b"3")
    st.delete("a")
    assert committed_rows(store) == {"a": b"1"}
    assert store.state_get("a") == put(b"1")
    assert ReadState(store).get("a") == b"1" and ReadState(store).get("b") is None


# -- writes -------------------------------------------------------------------------------


def test_writes_drop_deletes_of_absent_keys(store: Store) -> None:
    commit(store, 0, {"kept": put(b"1"), "gone": put(b"2"), "rewritten": put(b"3")})
    st = BlockState(store, 1)
    st.delete("gone")  # committed: a real delete
    st.delete("never")  # never existed: dropped
    st.put("temp", b"x")
    st.delete("temp")  # created and deleted in this block: dropped
    st.delete("rewritten")
    st.idx = 2
    st.put("rewritten", b"33")  # delete then put: a put
    st.put("new", b"n")
    assert st.writes() == {"gone": None, "rewritten": Versioned(b"33", 1, 2), "new": Versioned(b"n", 1, 2)}
    commit(store, 1, st.writes())
    assert committed_rows(store) == {"kept": b"1", "rewritten": b"33", "new": b"n"}
    assert [(k, h, i) for k, _, h, i in store.state_items()] == [("kept", 0, 0), ("new", 1, 2), ("rewritten", 1, 2)]


# -- range merge --------------------------------------------------------------------------


def model_range(model: dict[str, bytes], start: str, end: str, limit: int) -> list[tuple[str, bytes]]:
    return [(k, model[k]) for k in sorted(model) if start <= k < end][:limit]


def test_range_merges_overlay_puts_and_deletes(store: Store) -> None:
    committed = {k: k.encode() for k in ("a", "b", "c", "d", "e", "f", "g")}
    commit(store, 0, {k: put(v) for k, v in committed.items()})
    st = BlockState(store, 1)
    for key in ("a", "b", "c"):
        st.delete(key)
    st.put("bb", b"new")
    st.put("d", b"D")
    st.put("z", b"Z")
    model = {k: v for k, v in committed.items() if k not in {"a", "b", "c"}} | {"bb": b"new", "d": b"D", "z": b"Z"}
    for start, end in (("a", "zz"), ("a", "e"), ("bb", "bc"), ("c", "d"), ("e", "z"), ("0", "1")):
        for limit in range(0, 10):
            assert st.range(start, end, limit) == model_range(model, start, end, limit), (start, end, limit)
    # the first rows are all deleted: still a full page
    assert st.range("a", "zz", 2) == [("bb", b"new"), ("d", b"D")]


@pytest.mark.parametrize("seed", range(12))
def test_range_against_a_dict_model(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    keys = [f"k{i:02d}" for i in range(30)] + ["k", "k0", "j", "l", "k\U0010fffe", "kz"]
    committed = {k: f"c{k}".encode() for k in rng.sample(keys, rng.randint(0, len(keys)))}
    commit(store, 0, {k: put(v) for k, v in committed.items()})
    st = BlockState(store, 1)
    model = dict(committed)
    for step in range(40):
        key = rng.choice(keys)
        if rng.random() < 0.45:
            st.delete(key)
            model.pop(key, None)
        else:
            st.put(key, f"o{step}".encode())
            model[key] = f"o{step}".encode()
    for _ in range(25):
        start, end = sorted(rng.sample([*keys, "", "\U0010ffff"], 2))
        limit = rng.randint(0, 12)
        assert st.range(start, end, limit) == model_range(model, start, end, limit), (start, end, limit)
    # the block's writes applied to the store give the same model
    commit(store, 1, st.writes())
    assert committed_rows(store) == model
    assert [k for k, _ in ReadState(store).range("", "\U0010ffff", 1000)] == sorted(model)


# -- store --------------------------------------------------------------------------------


def test_commit_block_refuses_out_of_order_heights_and_leaves_nothing(store: Store) -> None:
    with pytest.raises(Fault, match="expected 0"):
        commit(store, 1, {"x": put(b"1")})
    assert store.height() == -1 and committed_rows(store) == {}
    commit(store, 0, {"a": put(b"1")}, tx_ids=[b"\x01" * 32], meta={"m": b"0"})
    assert store.state_get("a") == put(b"1")  # now cached
    snapshot = (store.height(), committed_rows(store), store.get_meta("m"))
    for height in (0, 2, 5):
        with pytest.raises(Fault, match="commit out of order"):
            commit(store, height, {"a": None, "b": put(b"2", height)}, tx_ids=[b"\x02" * 32], meta={"m": b"bad"})
        assert (store.height(), committed_rows(store), store.get_meta("m")) == snapshot
        assert store.tx_location(b"\x02" * 32) is None
        assert store.get_block(height) is None or height == 0
        # the writer-side cache was not poisoned by the failed commit
        assert store.state_get("a") == put(b"1") and store.state_get("b") is None
    assert store.tx_location(b"\x01" * 32) == (0, 0)


def test_failed_insert_rolls_back_the_whole_block(store: Store) -> None:
    commit(store, 0, {"a": put(b"1")}, block_hash="ab" * 32)
    store.state_get("a")
    with pytest.raises(sqlite3.IntegrityError):  # same block hash as block 0
        commit(store, 1, {"a": None, "b": put(b"2", 1)}, tx_ids=[b"\x03" * 32], block_hash="ab" * 32)
    assert store.height() == 0
    assert committed_rows(store) == {"a": b"1"}
    assert store.state_get("a") == put(b"1") and store.state_get("b") is None
    assert store.tx_location(b"\x03" * 32) is None
    commit(store, 1, {"a": None, "b": put(b"2", 1)})
    assert committed_rows(store) == {"b": b"2"}
    assert store.state_get("a") is None and store.state_get("b") == put(b"2", 1)


def test_store_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "chain.db"
    first = Store(path)
    commit(first, 0, {"a": put(b"1")}, tx_ids=[b"\x07" * 32], meta={"genesis": b"{}"})
    commit(first, 1, {"a": None, "b": put(b"2", 1, 3)})
    first.close()
    again = Store(path)
    try:
        assert again.height() == 1
        assert list(again.state_items()) == [("b", b"2", 1, 3)]
        assert again.get_meta("genesis") == b"{}"
        assert again.tx_location(b"\x07" * 32) == (0, 0)
        block = again.get_block(1)
        assert block is not None and block.header == header(1) and block.hash == f"{2:064x}"
        assert [b.height for b in again.iter_blocks()] == [0, 1]
        assert again.get_block_by_hash("not hex") is None
        assert again.get_block(7) is None and again.get_header(7) is None
    finally:
        again.close()


def test_store_range_bounds(store: Store) -> None:
    commit(store, 0, {k: put(k.encode()) for k in ("a", "a/1", "a/2", "b", "é", "\U0001f600")})
    assert [k for k, _ in store.state_range("a/", "a/\U0010ffff", 10)] == ["a/1", "a/2"]
    assert [k for k, _ in store.state_range("", "\U0010ffff", 10)] == ["a", "a/1", "a/2", "b", "é", "\U0001f600"]
    assert [k for k, _ in store.state_range("a", "b", 2)] == ["a", "a/1"]
    assert store.state_range("c", "d", 10) == []


def test_prefetch_reads_what_single_reads_would_and_leaves_this_blocks_writes_alone(store: Store) -> None:
    """``prefetch`` fills the cache with one query per 500 keys: present values (compressed ones
    included), misses, and nothing for keys the block already wrote."""
    big = codec.encode({"text": "x" * 500})  # packed at rest
    commit(store, 0, {f"k/{i:04d}": put(b'"v%d"' % i) for i in range(1200)} | {"big": put(big)})
    fresh = Store(store.path)
    try:
        state = BlockState(fresh, 1)
        state.put("k/0003", b'"mine"')
        keys = [f"k/{i:04d}" for i in range(0, 1300, 3)] + ["big", "absent", "k/0003"]
        state.prefetch(keys)
        assert "k/0003" not in fresh._cache  # noqa: SLF001 - the block's own write is not fetched
        assert fresh._cache["absent"] is None and fresh._cache["big"] == put(big)  # noqa: SLF001
        expected = Store(store.path)
        try:
            for key in keys:
                if key != "k/0003":
                    assert state.get_versioned(key) == expected.state_get(key), key
        finally:
            expected.close()
        assert state.get("k/0003") == b'"mine"'
    finally:
        fresh.close()
