"""How a replicated node takes stream messages in (consensus/jetstream.py), without a NATS server:
messages are fed to the orderer's handlers as the client would hand them over.

- a message this node published, byte for byte, reuses the transactions parsed at admission;
  anything else under the same message id is parsed like any other node's message;
- signatures of other nodes' transactions are checked on the pool before the block is
  delivered, and the executor still rejects one that does not verify (checking it again);
- this node's own attestations coming back from the stream are not handled twice;
- a batch too large for one message goes out in several, in order.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from consortia.consensus import jetstream
from consortia.consensus.jetstream import JetStreamOrderer, batch_message, split_batch
from consortia.errors import Unavailable
from consortia.ledger.records import SignedTx
from consortia.types import codec
from tests.unit.helpers import Chain


def orderer(chain: Chain, max_txs: int = 3, **kw: Any) -> JetStreamOrderer:
    return JetStreamOrderer([], chain.c.chain_id, chain.c.org_ids[0], next_height=1, last_seq=0,
                            parse=lambda wire, checked=False: SignedTx.from_wire(chain.suite, wire, 1 << 24, checked=checked),
                            max_txs=max_txs, **kw)


def message(seq: int, data: bytes, msg_id: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(data=data, headers={"Nats-Msg-Id": msg_id} if msg_id else None,
                           metadata=SimpleNamespace(sequence=SimpleNamespace(stream=seq), timestamp=datetime.now(UTC)))


def feed(o: JetStreamOrderer, *messages: SimpleNamespace) -> None:
    for m in messages:
        asyncio.run(o._on_tx_message(m))


def puts(chain: Chain, n: int, start: int = 0) -> list[SignedTx]:
    org = chain.c.org_ids[1]
    return [chain.tx(f"{org}/admin", "kv", "put", {"key": f"k{i}", "value": i}) for i in range(start, start + n)]


def test_own_message_reuses_the_admitted_transactions(chain: Chain) -> None:
    o = orderer(chain)
    txs = puts(chain, 3)
    with pytest.raises(Unavailable):  # not started: nothing is stored, but the node knows what it sent
        o.submit(txs)
    payload, msg_id = batch_message(o.org, txs)
    feed(o, message(1, payload, msg_id))
    batch, checks = o._blocks.get_nowait()
    assert batch.txs == txs and all(a is b for a, b in zip(batch.txs, txs, strict=True))
    assert checks == []  # verified at admission
    assert batch.seq == 1


def test_other_bytes_under_our_message_id_are_parsed(chain: Chain) -> None:
    o = orderer(chain)
    txs = puts(chain, 3)
    with pytest.raises(Unavailable):
        o.submit(txs)
    _, msg_id = batch_message(o.org, txs)
    other = puts(chain, 3, start=10)
    payload, _ = batch_message("someone-else", other)
    feed(o, message(1, payload, msg_id))
    batch, _ = o._blocks.get_nowait()
    assert [t.id for t in batch.txs] == [t.id for t in other]
    assert not any(a is b for a, b in zip(batch.txs, other, strict=True))


def test_signatures_checked_on_the_pool_and_again_when_unverified(chain: Chain,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[bytes] = []
    real = chain.executor.verify_signature

    def counted(tx: SignedTx) -> None:
        checked.append(tx.id)
        real(tx)
    monkeypatch.setattr(chain.executor, "verify_signature", counted)
    o = orderer(chain, verify=chain.executor.verify_signature)
    good = puts(chain, 3)
    forged = SignedTx(tx=good[1].tx, raw=good[1].raw, id=good[1].id, sig=good[0].sig)
    txs = [good[0], forged, good[2]]
    payload, msg_id = batch_message("another-org", txs)
    try:
        feed(o, message(1, payload, msg_id))
        batch, checks = o._blocks.get_nowait()
        for check in checks:
            check.result(30)
    finally:
        o.stop()
    assert sorted(checked) == sorted(t.id for t in txs)
    block = chain.executor.apply_block(batch.txs, chain.time_ms + 1000, "unit")
    assert [(r.status, r.code) for r in block.receipts] == [("ok", "OK"), ("rejected", "BAD_SIGNATURE"),
                                                             ("ok", "OK")]
    assert sorted(checked) == sorted([*(t.id for t in txs), forged.id])  # only the forged one twice


def test_malformed_and_cut_messages_as_before(chain: Chain) -> None:
    o = orderer(chain, max_txs=10)
    txs = puts(chain, 2)
    payload, _ = batch_message("another-org", txs)
    feed(o, message(1, b"not json"), message(2, payload), message(3, codec.encode({"t": "cut", "height": 2})))
    assert o._blocks.empty() and len(o._open.txs) == 2 and o._last_seq == 3  # a cut for another height
    feed(o, message(4, codec.encode({"t": "cut", "height": 1, "from": "x"})))
    batch, _ = o._blocks.get_nowait()
    assert (batch.proposer, batch.seq, len(batch.txs)) == ("x", 4, 2)
    feed(o, message(4, payload))  # already consumed
    assert o._open.txs == []


def test_own_attestation_from_the_stream_is_not_handled_again(chain: Chain) -> None:
    o = orderer(chain, on_attestation=lambda body: None)
    attestation = {"chain": chain.c.chain_id, "height": 1, "hash": "ab", "state_root": "cd", "org": o.org,
                   "cert": "x", "sig": "00"}
    with pytest.raises(Unavailable):
        o.publish_attestation(attestation)
    msg_id = f"attest-1-{o.org}"
    asyncio.run(o._on_attest_message(message(1, codec.encode(attestation), msg_id)))
    assert o._attestations.empty()
    forged = codec.encode({**attestation, "hash": "ef"})
    asyncio.run(o._on_attest_message(message(2, forged, msg_id)))
    assert o._attestations.get_nowait() == forged


def test_a_large_batch_goes_out_in_several_messages_in_order(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    o = orderer(chain, max_txs=100)
    published: list[int] = []

    def publish(coroutine: Any) -> None:
        coroutine.close()
        published.append(1)
    monkeypatch.setattr(o, "_call", publish)
    monkeypatch.setattr(jetstream, "MESSAGE_TARGET_BYTES", 3000)
    txs = puts(chain, 10)
    o.submit(txs)
    parts = split_batch(txs, 3000)
    assert len(parts) > 1 and len(published) == len(parts) and [t for p in parts for t in p] == txs
    assert all(len(batch_message(o.org, p)[0]) <= 3000 for p in parts)
    feed(o, *(message(seq, *batch_message(o.org, p)) for seq, p in enumerate(parts, 1)))
    assert all(a is b for a, b in zip(o._open.txs, txs, strict=True))  # each came back as our own
    big = puts(chain, 1)
    assert split_batch(big, 10) == [big]  # a transaction over the limit still goes, alone
