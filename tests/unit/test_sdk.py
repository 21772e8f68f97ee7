"""The contract SDK: Context state access, argument binding, require, derived ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consortia.contracts.kv import KeyValue
from consortia.contracts.sdk import MAX_KEY_BYTES, BadArgs, Context, Contract, bind_args, method, query, require
from consortia.contracts.system import Governance, Membership
from consortia.errors import BadInput, Revert
from consortia.execution.state import BlockState, ReadState
from consortia.ledger.records import ZERO_HASH, BlockHeader
from consortia.ledger.store import Store
from consortia.types.codec import CodecError
from tests.unit.helpers import SUITE


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "chain.db")
    s.commit_block(BlockHeader("unit", 0, ZERO_HASH, 1, ZERO_HASH, ZERO_HASH, ZERO_HASH, 0, "unit", SUITE.name),
                   f"{1:064x}", b"[]", [], b"[]", {})
    yield s
    s.close()


def context(state: Any, *, tx_id: bytes = b"\x01" * 32, writable: bool = True, contract: Contract | None = None) -> Context:
    return Context(state, contract or KeyValue(), None, tx_id, 1, 1000, SUITE.hash, writable)


def commit(store: Store, state: BlockState) -> None:
    height = store.height() + 1
    store.commit_block(BlockHeader("unit", height, ZERO_HASH, 1, ZERO_HASH, ZERO_HASH, ZERO_HASH, 0, "unit", SUITE.name),
                       f"{height + 1:064x}", b"[]", [], b"[]", state.writes())


def test_keys_live_under_the_contract_prefix(store: Store) -> None:
    state = BlockState(store, 1)
    ctx = context(state)
    ctx.put("k", {"a": [1]})
    assert state.get("kv/k") == b'{"a":[1]}'
    assert ctx.get("k") == {"a": [1]} and ctx.has("k")
    assert ctx.get("missing", default="d") == "d" and not ctx.has("missing")
    ctx.delete("k")
    assert ctx.get("k") is None and state.get("kv/k") is None
    assert Governance().state_prefix == Membership().state_prefix == "sys/"


@pytest.mark.parametrize("key", ["", "a\x00b", "a\U0010ffff", "x" * (MAX_KEY_BYTES + 1), "é" * 257, 5, None])
def test_bad_keys_rejected(store: Store, key: Any) -> None:
    ctx = context(BlockState(store, 1))
    for call in (lambda: ctx.put(key, 1), lambda: ctx.get(key), lambda: ctx.delete(key), lambda: ctx.has(key)):
        with pytest.raises(BadArgs):
            call()


def test_prefetch_leaves_bad_keys_to_the_read_that_refuses_them(store: Store) -> None:
    """``prefetch`` warms what it can and raises for nothing; reads answer as without it."""
    state = BlockState(store, 1)
    state.put("kv/there", b"1")
    ctx = context(state)
    ctx.prefetch(["there", "absent", "", "a\x00b", "x" * (MAX_KEY_BYTES + 1), 5, None])  # type: ignore[list-item]
    assert ctx.get("there") == 1 and ctx.get("absent") is None
    with pytest.raises(BadArgs):
        ctx.get("")


def test_longest_key_accepted(store: Store) -> None:
    ctx = context(BlockState(store, 1))
    ctx.put("x" * MAX_KEY_BYTES, 1)
    ctx.put("é" * (MAX_KEY_BYTES // 2), 2)
    assert ctx.get("x" * MAX_KEY_BYTES) == 1 and ctx.get("é" * (MAX_KEY_BYTES // 2)) == 2


def test_read_only_context_refuses_writes(store: Store) -> None:
    ctx = context(ReadState(store), writable=False)
    for call in (lambda: ctx.put("k", 1), lambda: ctx.delete("k"), lambda: ctx.emit("E", a=1)):
        with pytest.raises(Revert) as info:
            call()
        assert info.value.code == "READ_ONLY"
    assert ctx.events == []


def test_require_caller_without_caller() -> None:
    from consortia.errors import Forbidden

    with pytest.raises(Forbidden) as info:  # 403 on a query; a reverted receipt in a transaction
        context(None).require_caller()
    assert info.value.code == "UNAUTHENTICATED"


def test_range_with_prefix_after_and_limit(store: Store) -> None:
    state = BlockState(store, 1)
    ctx = context(state)
    for key in ("a", "b/1", "b/2", "b/3", "c"):
        ctx.put(key, key)
    commit(store, state)
    state = BlockState(store, 2)
    ctx = context(state)
    ctx.put("b/25", "new")
    ctx.delete("b/1")
    assert [k for k, _ in ctx.range("b/")] == ["b/2", "b/25", "b/3"]
    assert [k for k, _ in ctx.range("b/", after="b/2")] == ["b/25", "b/3"]
    assert [k for k, _ in ctx.range("b/", after="b/25", limit=1)] == ["b/3"]
    assert [k for k, _ in ctx.range("b/", limit=2)] == ["b/2", "b/25"]
    assert ctx.range("b/", after="b/3") == [] and ctx.range("d") == []
    assert [k for k, _ in ctx.range()] == ["a", "b/2", "b/25", "b/3", "c"]
    # the other contracts' keys never show
    context(state, contract=Governance()).put("zzz", 1)
    assert [k for k, _ in ctx.range()] == ["a", "b/2", "b/25", "b/3", "c"]


def test_range_after_never_escapes_the_prefix(store: Store) -> None:
    ctx = context(BlockState(store, 1))
    for key in ("ab", "b1", "b2"):
        ctx.put(key, key)
    assert [k for k, _ in ctx.range("b", after="a")] == ["b1", "b2"]


def test_negative_limit_same_in_block_and_read_state(store: Store) -> None:
    state = BlockState(store, 1)
    for key in ("kv/a", "kv/b", "kv/c"):
        state.put(key, b"1")
    commit(store, state)
    assert BlockState(store, 2).range("kv/", "kv/\U0010ffff", -1) == ReadState(store).range("kv/", "kv/\U0010ffff", -1)


def test_emit_checks_data_and_records_the_contract(store: Store) -> None:
    ctx = context(BlockState(store, 1))
    ctx.emit("Moved", amount=5, to=["x"])
    assert [(e.contract, e.name, e.data) for e in ctx.events] == [("kv", "Moved", {"amount": 5, "to": ["x"]})]
    with pytest.raises(CodecError, match="event Bad.amount"):
        ctx.emit("Bad", amount=1.5)
    assert len(ctx.events) == 1


def test_derive_id_is_deterministic_and_fresh() -> None:
    one, two, other = context(None), context(None), context(None, tx_id=b"\x02" * 32)
    first = [one.derive_id("invoice"), one.derive_id("invoice"), one.derive_id("x")]
    assert [two.derive_id("invoice"), two.derive_id("invoice"), two.derive_id("x")] == first
    assert len(set(first)) == 3 and all(len(i) == 32 and int(i, 16) >= 0 for i in first)
    assert other.derive_id("invoice") != first[0]


def test_require() -> None:
    require(True, "NOPE")
    require([1], "NOPE")
    with pytest.raises(Revert) as info:
        require(0, "LOW_BALANCE", "balance too low")
    assert (info.value.code, info.value.message) == ("LOW_BALANCE", "balance too low")
    with pytest.raises(Revert) as info:
        require("", "EMPTY")
    assert (info.value.code, info.value.message) == ("EMPTY", "EMPTY")
    custom = Revert("custom", code="CUSTOM")
    with pytest.raises(Revert) as info:
        require(None, custom)
    assert info.value is custom


class Typed(Contract):
    name = "typed"

    @method
    def call(self, ctx: Context, n: int, flag: bool, names: list[str], meta: dict[str, int], maybe: int | None = None,
             anything: Any = None) -> None:
        """Typed arguments."""

    @query
    def look(self, ctx: Context) -> None:
        pass


GOOD = {"n": 1, "flag": False, "names": ["a"], "meta": {"x": 1}}


@pytest.mark.parametrize(
    "args",
    [GOOD, {**GOOD, "maybe": None}, {**GOOD, "maybe": -3}, {**GOOD, "anything": {"deep": [None, True]}},
     {**GOOD, "names": [], "meta": {}}],
)
def test_bind_args_accepts(args: dict[str, Any]) -> None:
    assert bind_args(Typed.entry("call"), args) == args  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({**GOOD, "n": True}, "n: expected int"),
        ({**GOOD, "flag": 0}, "flag: expected bool"),
        ({**GOOD, "names": ["a", 1]}, r"names\[1\]"),
        ({**GOOD, "names": ("a",)}, "names: expected a list"),
        ({**GOOD, "meta": {"x": "1"}}, "meta.x"),
        ({**GOOD, "maybe": "1"}, "maybe"),
        ({k: v for k, v in GOOD.items() if k != "flag"}, "missing argument 'flag'"),
        ({**GOOD, "extra": 1}, "unknown argument"),
    ],
)
def test_bind_args_rejects(args: dict[str, Any], match: str) -> None:
    with pytest.raises(BadArgs, match=match):
        bind_args(Typed.entry("call"), args)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [{**GOOD, "n": 2**63}, {**GOOD, "anything": 1.5}, {**GOOD, "anything": [b"x"]}])
def test_bind_args_values_outside_the_model(args: dict[str, Any]) -> None:
    # raised as the codec's BAD_ENCODING (a BadInput), not as BadArgs; signed transactions never get here
    # because the envelope is codec-checked first
    with pytest.raises(BadInput) as info:
        bind_args(Typed.entry("call"), args)  # type: ignore[arg-type]
    assert info.value.code in ("BAD_ARGS", "BAD_ENCODING")


def test_entries_and_kinds() -> None:
    entries = Typed.entries()
    assert {name: e.kind for name, e in entries.items()} == {"call": "method", "look": "query"}
    assert entries["call"].doc == "Typed arguments."
    assert [(a.name, a.required) for a in entries["call"].args] == [
        ("n", True), ("flag", True), ("names", True), ("meta", True), ("maybe", False), ("anything", False)]
    assert set(Governance.entries()) == {"propose", "vote", "proposal", "proposals", "config", "frozen", "masks",
                                         "contract", "contracts"}
    assert {n for n, e in KeyValue.entries().items() if e.kind == "method"} == {"put", "delete"}


def test_event_streams_are_capped_per_client_and_kept_for_signed_readers() -> None:
    import asyncio

    from consortia.api.events import MAX_ANONYMOUS, MAX_PER_CLIENT, MAX_SUBSCRIBERS, EventHub
    from consortia.errors import Unavailable

    async def run() -> None:
        hub = EventHub(None)  # type: ignore[arg-type]
        for _ in range(MAX_PER_CLIENT):
            hub.subscribe("10.0.0.1")
        with pytest.raises(Unavailable):
            hub.subscribe("10.0.0.1")
        for i in range(MAX_ANONYMOUS - MAX_PER_CLIENT):
            hub.subscribe(f"10.1.{i // 8}.{i % 8}")
        with pytest.raises(Unavailable):
            hub.subscribe("10.9.9.9")
        members = [hub.subscribe(f"org{i // 8}/admin", signed=True) for i in range(MAX_SUBSCRIBERS - MAX_ANONYMOUS)]
        with pytest.raises(Unavailable):
            hub.subscribe("late/admin", signed=True)
        hub.unsubscribe(members[0])
        hub.subscribe("late/admin", signed=True)

    # On a fresh thread: Playwright's sync API (tests/e2e) keeps a loop running on this one.
    import threading

    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if failure:
        raise failure[0]


def test_refuse_builds_a_revert_with_its_code_that_survives_pickling() -> None:
    """``refuse`` skips ConsortiaError.__init__ (contracts build one per check) yet is a whole Revert."""
    import pickle

    from consortia.contracts.sdk import refuse

    error = refuse("NOT_HOLDER", "piece p1 is not yours")
    for seen in (error, pickle.loads(pickle.dumps(error))):  # noqa: S301 - our own bytes
        assert isinstance(seen, Revert) and seen.status == Revert.status
        assert (seen.code, seen.message, str(seen), seen.details) == ("NOT_HOLDER", "piece p1 is not yours",
                                                                      "piece p1 is not yours", {})
        assert seen.to_dict() == {"code": "NOT_HOLDER", "message": "piece p1 is not yours"}
