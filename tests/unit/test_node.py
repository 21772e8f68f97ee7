"""The in-process Node: submission, commit futures, reopening, and governance config at admission."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consortia.client.txbuild import build_tx
from consortia.errors import BadInput, Fault, TxRejected
from consortia.ledger.records import SignedTx
from consortia.node.node import Node
from tests.unit.helpers import ORGS, Consortium

ADMIN = f"{ORGS[0]}/admin"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("node") / "c", suite_name=suite_name,
                      config={"max_tx_bytes": 16_384, "block_timeout_ms": 5})


@pytest.fixture
def node(small: Consortium, tmp_path: Path) -> Iterator[Node]:
    n = Node(small.genesis, tmp_path / "data")
    n.start()
    yield n
    n.stop()


def commit(node: Node, tx: SignedTx) -> dict[str, Any]:
    [(tx_id, future)] = node.submit([tx.to_wire()])
    assert tx_id == tx.id
    return future.result(timeout=10).receipt


def tx(c: Consortium, who: str, contract: str, method: str, args: dict[str, Any]) -> SignedTx:
    return build_tx(c.suite, c.wallet(who), c.chain_id, contract, method, args)


def test_submit_commits_and_resolves_the_future(node: Node, small: Consortium) -> None:
    put = tx(small, ADMIN, "kv", "put", {"key": "k", "value": [1, "two"]})
    receipt = commit(node, put)
    assert (receipt["status"], receipt["code"], receipt["tx_id"]) == ("ok", "OK", put.id.hex())
    assert node.query("kv", "get", {"key": "k"}) == [1, "two"]
    assert node.store.tx_location(put.id) is not None
    reverted = commit(node, tx(small, ADMIN, "kv", "delete", {"key": "ghost"}))
    assert (reverted["status"], reverted["code"]) == ("reverted", "NO_SUCH_KEY")


def test_submission_refuses_bad_batches(node: Node, small: Consortium) -> None:
    good = tx(small, ADMIN, "kv", "put", {"key": "a", "value": 1})
    with pytest.raises(TxRejected) as info:
        node.submit([good.to_wire(), good.to_wire()])
    assert info.value.code == "TX_DUPLICATE"
    with pytest.raises(TxRejected) as info:
        node.submit([good.to_wire(), tx(small, f"{ORGS[1]}/node", "kv", "put", {"key": "b", "value": 1}).to_wire()])
    assert info.value.code == "FORBIDDEN_ROLE"
    with pytest.raises(BadInput):
        node.submit([])
    forged = {**good.to_wire(), "sig": "00" * 64}
    with pytest.raises(TxRejected) as info:
        node.submit([forged])
    assert info.value.code == "BAD_SIGNATURE"
    # nothing of a refused batch was queued
    assert node.store.tx_location(good.id) is None
    assert commit(node, good)["code"] == "OK"
    with pytest.raises(TxRejected) as info:
        node.submit([good.to_wire()])
    assert info.value.code == "TX_DUPLICATE"


def test_a_large_batch_verified_in_parallel_refuses_its_first_bad_transaction(node: Node, small: Consortium) -> None:
    """Batches of 64 or more have their signatures checked on a pool of threads; the refusal still
    names the first bad transaction in order, whichever check it failed, and queues nothing."""
    puts = [tx(small, ADMIN, "kv", "put", {"key": f"many/{i}", "value": i}) for i in range(100)]
    wires = [p.to_wire() for p in puts]
    forged = [*wires[:80], {**wires[80], "sig": "00" * 64}, *wires[81:]]
    with pytest.raises(TxRejected) as info:
        node.submit(forged)
    assert (info.value.code, info.value.details["index"]) == ("BAD_SIGNATURE", 80)
    not_a_sender = tx(small, f"{ORGS[1]}/node", "kv", "put", {"key": "n", "value": 1}).to_wire()
    with pytest.raises(TxRejected) as info:  # a failed state check at 70 comes before the forgery at 80
        node.submit([*forged[:70], not_a_sender, *forged[71:]])
    assert (info.value.code, info.value.details["index"]) == ("FORBIDDEN_ROLE", 70)
    assert all(node.store.tx_location(p.id) is None for p in puts)
    ticket = node.submit_ticket(wires)
    ticket.done.result(timeout=30)
    assert [r.receipt["code"] for r in ticket.results if r is not None] == ["OK"] * 100
    assert node.query("kv", "get", {"key": "many/99"}) == 99


def test_one_transaction_in_two_submissions_settles_both(node: Node, small: Consortium) -> None:
    """A transaction submitted again while it waits is ordered once; both waits end with its receipt."""
    node.orderer.stop()  # hold the orderer so that the second submission finds the first waiting
    put = tx(small, ADMIN, "kv", "put", {"key": "twice", "value": 2})
    first, second = node.submit_ticket([put.to_wire()]), node.submit([put.to_wire()])
    assert node.orderer.pending() == 1
    node.orderer._stopping = False  # noqa: SLF001 - restart the held orderer
    node.orderer.start(node._deliver)  # noqa: SLF001
    first.done.result(timeout=10)
    assert first.results[0] is not None and second[0][1].result(timeout=10) == first.results[0]


def test_reopen_keeps_the_chain_and_refuses_another_genesis(small: Consortium, tmp_path: Path) -> None:
    first = Node(small.genesis, tmp_path / "data")
    first.start()
    commit(first, tx(small, ADMIN, "kv", "put", {"key": "k", "value": 1}))
    height = first.store.height()
    first.stop()
    again = Node(small.genesis, tmp_path / "data")
    try:
        assert again.store.height() == height
        assert again.query("kv", "get", {"key": "k"}) == 1
    finally:
        again.stop()
    other = dict(small.genesis, time_ms=small.genesis["time_ms"] + 1)
    with pytest.raises(Fault, match="different genesis"):
        Node(other, tmp_path / "data")


def test_max_tx_bytes_raised_by_governance_applies_at_admission(node: Node, small: Consortium) -> None:
    proposal = commit(node, tx(small, ADMIN, "gov", "propose",
                               {"action": "set_config", "params": {"key": "max_tx_bytes", "value": 100_000}}))["result"]
    for org in ORGS[1:3]:
        proposal = commit(node, tx(small, f"{org}/admin", "gov", "vote",
                                   {"proposal_id": proposal["id"], "approve": True}))["result"]
    assert proposal["status"] == "passed"
    assert node.query("gov", "config", {})["max_tx_bytes"] == 100_000
    big = tx(small, ADMIN, "kv", "put", {"key": "big", "value": "x" * 20_000})
    assert commit(node, big)["code"] == "OK"
