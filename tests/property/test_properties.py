"""Property tests: codec round trip, deterministic execution, rebuild from the block store,
and a stateful model of BlockState over a real SQLite store."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from consortia.client.txbuild import build_tx
from consortia.execution.state import BlockState
from consortia.ledger.records import ZERO_HASH, BlockHeader, SignedTx
from consortia.ledger.store import Store, Versioned
from consortia.node.replay import replay
from consortia.types import codec
from consortia.types.codec import INT_MAX, INT_MIN, CodecError
from tests.unit.helpers import ORGS, SUITE, Chain, Consortium

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- codec --------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)  # lone surrogates: see test_codec
scalars = st.none() | st.booleans() | st.integers(INT_MIN, INT_MAX) | text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
                      max_leaves=20)


@SETTINGS
@given(values)
def test_codec_round_trip(value: Any) -> None:
    data = codec.encode(value)
    decoded = codec.decode(data)
    assert decoded == value
    assert codec.decode_canonical(data) == value
    assert codec.encode(decoded) == data  # also tells True from 1
    assert data == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    pretty = json.dumps(value, indent=1, ensure_ascii=True).encode()
    assert codec.encode(codec.decode(pretty)) == data
    if pretty != data:
        with pytest.raises(CodecError):
            codec.decode_canonical(pretty)


@SETTINGS
@given(values, st.floats(allow_nan=False), st.integers(0, 2))
def test_codec_rejects_a_float_anywhere(value: Any, number: float, where: int) -> None:
    poisoned = [[value, number], {"v": value, "f": {"deep": [number]}}, {"x": [value, [[number]]]}][where]
    with pytest.raises(CodecError):
        codec.encode(poisoned)


# -- execution ----------------------------------------------------------------------------

KEYS = ["a", "b", "c", "a/1", "a/2", "é"]
SENDERS = [f"{ORGS[0]}/admin", f"{ORGS[1]}/clerk", f"{ORGS[2]}/admin", "sh-regulator/inspector", f"{ORGS[3]}/node"]
kv_values = st.recursive(st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                         max_leaves=6)
op = st.tuples(st.sampled_from(["put", "put", "delete", "again"]), st.sampled_from(KEYS), kv_values,
               st.sampled_from(SENDERS))
blocks = st.lists(st.lists(op, max_size=6), min_size=1, max_size=5)


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("property") / "c", suite_name=suite_name)


def build_blocks(consortium: Consortium, plan: list[list[tuple[str, str, Any, str]]]) -> list[list[SignedTx]]:
    """Sign every transaction once; "again" repeats an earlier transaction (a duplicate)."""
    built: list[list[SignedTx]] = []
    history: list[SignedTx] = []
    nonce = 0
    for block in plan:
        txs = []
        for kind, key, value, who in block:
            if kind == "again" and history:
                tx = history[nonce % len(history)]
            else:
                args = {"key": key, "value": value} if kind != "delete" else {"key": key}
                tx = build_tx(consortium.suite, consortium.wallet(who), consortium.chain_id, "kv",
                              "delete" if kind == "delete" else "put", args, nonce=nonce)
            nonce += 1
            history.append(tx)
            txs.append(tx)
        built.append(txs)
    return built


def run_chain(consortium: Consortium, path: Path, built: list[list[SignedTx]]) -> tuple[Chain, list[str], list[Any]]:
    chain = consortium.chain(path)
    hashes = [chain.genesis_block.hash]
    receipts: list[Any] = []
    for txs in built:
        block = chain.block(*txs)
        hashes.append(block.hash)
        receipts.append([r.to_dict() for r in block.receipts])
    return chain, hashes, receipts


@SETTINGS
@given(plan=blocks)
def test_execution_is_deterministic(consortium: Consortium, plan: list[list[tuple[str, str, Any, str]]]) -> None:
    built = build_blocks(consortium, plan)
    with tempfile.TemporaryDirectory() as scratch:
        one, hashes_one, receipts_one = run_chain(consortium, Path(scratch) / "one", built)
        two, hashes_two, receipts_two = run_chain(consortium, Path(scratch) / "two", built)
        try:
            assert hashes_one == hashes_two
            assert receipts_one == receipts_two
            assert one.rows() == two.rows()
            statuses = {r["code"] for block in receipts_one for r in block}
            assert statuses <= {"OK", "NO_SUCH_KEY", "TX_DUPLICATE", "FORBIDDEN_ROLE"}
        finally:
            one.close()
            two.close()


@SETTINGS
@given(plan=blocks)
def test_rebuild_from_block_store(consortium: Consortium, plan: list[list[tuple[str, str, Any, str]]]) -> None:
    built = build_blocks(consortium, plan)
    with tempfile.TemporaryDirectory() as scratch:
        source, hashes, _ = run_chain(consortium, Path(scratch) / "source", built)
        rebuilt = consortium.chain(Path(scratch) / "rebuilt")  # genesis only
        target = Store(Path(scratch) / "replayed" / "chain.db")
        try:
            assert rebuilt.genesis_block.hash == hashes[0]
            for stored in source.store.iter_blocks(1):
                txs = [SignedTx.from_wire(consortium.suite, wire, 1 << 30) for wire in stored.txs]
                block = rebuilt.executor.apply_block(txs, stored.header.time_ms, stored.header.proposer)
                assert block.hash == stored.hash
                assert [r.to_dict() for r in block.receipts] == [r.to_dict() for r in stored.receipts]
            assert rebuilt.store.height() == len(hashes) - 1
            assert rebuilt.rows() == source.rows()
            # the shipped replay tool agrees
            report = replay(source.store, target)
            assert report.ok and report.blocks_checked == len(hashes)
        finally:
            source.close()
            rebuilt.close()
            target.close()


# -- BlockState against a dict model ------------------------------------------------------

STATE_KEYS = ["a", "a/", "a/1", "a/2", "ab", "b", "é", "\U0001f600", "z"]
BOUNDS = ["", "a", "a/", "a/2", "ab", "b", "c", "z", "\U0010ffff"]


def block_header(height: int) -> BlockHeader:
    return BlockHeader(chain="model", height=height, prev_hash=ZERO_HASH, time_ms=height, tx_root=ZERO_HASH,
                       receipts_root=ZERO_HASH, state_root=ZERO_HASH, tx_count=0, proposer="model", suite=SUITE.name)


class BlockStateMachine(RuleBasedStateMachine):
    """Every read of BlockState matches a dict of ``key -> (value, height, idx)``."""

    snapshots = Bundle("snapshots")

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="consortia-model-")
        self.store = Store(Path(self.dir) / "chain.db")
        self.store.commit_block(block_header(0), f"{1:064x}", b"[]", [], b"[]", {})
        self.height = 1
        self.state = BlockState(self.store, 1)
        self.committed: dict[str, tuple[bytes, int, int]] = {}
        self.model: dict[str, tuple[bytes, int, int]] = {}
        self.saved: dict[int, dict[str, tuple[bytes, int, int]]] = {}  # snapshot id -> model at that point
        self.generation = 0  # snapshots die with the block they were taken in

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(key=st.sampled_from(STATE_KEYS), value=st.binary(max_size=4))
    def put(self, key: str, value: bytes) -> None:
        self.state.put(key, value)
        self.model[key] = (value, self.height, self.state.idx)

    @rule(key=st.sampled_from(STATE_KEYS))
    def delete(self, key: str) -> None:
        self.state.delete(key)
        self.model.pop(key, None)

    @rule()
    def next_tx(self) -> None:
        self.state.idx += 1

    @rule(key=st.sampled_from(STATE_KEYS))
    def get(self, key: str) -> None:
        found = self.model.get(key)
        assert self.state.get(key) == (None if found is None else found[0])
        assert self.state.get_versioned(key) == (None if found is None else Versioned(*found))

    @rule(start=st.sampled_from(BOUNDS), end=st.sampled_from(BOUNDS), limit=st.integers(0, 6))
    def range(self, start: str, end: str, limit: int) -> None:
        expected = [(k, self.model[k][0]) for k in sorted(self.model) if start <= k < end][:limit]
        assert self.state.range(start, end, limit) == expected

    @rule(target=snapshots)
    def snapshot(self) -> tuple[int, int]:
        sid = self.state.snapshot()
        self.saved[sid] = dict(self.model)
        return (self.generation, sid)

    @rule(snap=snapshots)
    def revert(self, snap: tuple[int, int]) -> None:
        generation, sid = snap
        if generation != self.generation or sid not in self.saved:
            return  # taken in an earlier block, or undone by an earlier revert
        self.state.revert(sid)
        self.model = dict(self.saved[sid])
        self.saved = {k: v for k, v in self.saved.items() if k <= sid}

    @precondition(lambda self: self.height < 12)
    @rule()
    def commit(self) -> None:
        writes = self.state.writes()
        for key, value in writes.items():
            assert value is not None or key in self.committed  # deletes of absent keys are dropped
            assert (value is None) == (key not in self.model)
        assert {k for k in self.model if self.model[k] != self.committed.get(k)} <= set(writes)
        self.store.commit_block(block_header(self.height), f"{self.height + 1:064x}", b"[]", [], b"[]", writes)
        self.committed = dict(self.model)
        assert list(self.store.state_items()) == [(k, *self.committed[k]) for k in sorted(self.committed)]
        self.height += 1
        self.state = BlockState(self.store, self.height)
        self.saved = {}
        self.generation += 1

    @invariant()
    def pages_match(self) -> None:
        everything = [(k, self.model[k][0]) for k in sorted(self.model)]
        for limit in (1, 2, 3, 100):  # small pages catch overlay deletes hiding committed rows
            assert self.state.range("", "\U0010ffff", limit) == everything[:limit]


TestBlockStateModel = BlockStateMachine.TestCase
TestBlockStateModel.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
