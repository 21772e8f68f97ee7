"""Attestations read again from the stream at start (consortia/node/finality.py): the very bytes
kept before are not verified again, and still count and are still compared with our block;
anything else is verified as always."""

from __future__ import annotations

from typing import Any

import pytest

from consortia.node.finality import Finality, sign_attestation
from tests.unit.helpers import Chain


class CountingSuite:
    def __init__(self, suite: Any) -> None:
        self.suite, self.verified = suite, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.suite, name)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        self.verified += 1
        return bool(self.suite.verify(public_key, message, signature))


def test_replayed_attestations_are_not_verified_again(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    block = chain.block(chain.tx(f"{chain.c.org_ids[0]}/admin", "kv", "put", {"key": "k", "value": 1}))
    counting = CountingSuite(chain.executor.suite)
    monkeypatch.setattr(chain.executor, "suite", counting)
    diverged: list[str] = []
    finality = Finality(chain.store, chain.executor, on_divergence=diverged.append)
    attestations = [sign_attestation(chain.c.wallet(f"{org}/node"), chain.c.chain_id, block.header, block.hash)
                    for org in chain.c.org_ids[:3]]
    for a in attestations:
        finality.receive(a)
    verified = counting.verified  # the attestations, and each node certificate once
    assert verified >= 3 and finality.final_height() == 1
    for a in attestations:  # the stream, replayed after a restart
        finality.receive(dict(a))
    assert counting.verified == verified and finality.final_height() == 1
    forged = {**attestations[0], "sig": attestations[1]["sig"]}
    finality.receive(forged)
    assert counting.verified == verified + 1  # not the kept bytes: verified, and refused
    assert [o for o, _, _ in chain.store.attestations(1)] == sorted(chain.c.org_ids[:3])
    assert diverged == []


def test_a_replayed_quorum_for_another_hash_still_halts(chain: Chain) -> None:
    block = chain.block(chain.tx(f"{chain.c.org_ids[0]}/admin", "kv", "put", {"key": "k", "value": 1}))
    other = chain.executor.suite.hash(b"another block").hex()
    attestations = [sign_attestation(chain.c.wallet(f"{org}/node"), chain.c.chain_id, block.header, other)
                    for org in chain.c.org_ids[:3]]
    first: list[str] = []
    finality = Finality(chain.store, chain.executor, on_divergence=first.append)
    for a in attestations:
        finality.receive(a)
    assert len(first) == 1
    restarted: list[str] = []  # a new process: what it knew about dissent is gone; the store is not
    finality = Finality(chain.store, chain.executor, on_divergence=restarted.append)
    for a in attestations:
        finality.receive(a)
    assert len(restarted) == 1 and finality.diverged is not None
