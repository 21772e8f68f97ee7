"""Catching up from other nodes' block stores, once the ordering stream no longer holds what a
node missed (it was down longer than the stream's retention, or joins a chain late).

Nothing fetched is trusted: each block is re-executed here and must produce the very hash the
peer served, and that hash must carry verified attestations from a quorum of organisations.
The peer also says where its latest block ends in the stream; a wrong answer would make this
node cut different blocks, which the attestations of the next block would expose.

Block reads are signed with this node's key: a peer shows fields masked by governance (ADR 0012)
in clear only to a consortium node or a regulator, and re-execution needs the transactions as
they were signed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from consortia.errors import Fault, Unavailable
from consortia.execution.executor import Executor
from consortia.identity.read_auth import HEADER, sign_read
from consortia.identity.wallet import Wallet
from consortia.ledger.records import SignedTx
from consortia.node.finality import Finality
from consortia.types import codec

log = logging.getLogger(__name__)


def catch_up(executor: Executor, finality: Finality, peers: list[str], *, wallet: Wallet | None = None,
             progress: Callable[[int], None] | None = None) -> int:
    """Copy, re-execute and verify blocks from the first reachable peer; return the stream
    sequence to resume after (the peer's latest block's)."""
    errors = []
    for peer in peers:
        try:
            return _from_peer(executor, finality, peer.rstrip("/"), wallet, progress)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            errors.append(f"{peer}: {exc}")
    raise Unavailable("could not catch up from any peer: " + "; ".join(errors) if errors else "no peers configured",
                      code="CATCH_UP_FAILED")


def _from_peer(executor: Executor, finality: Finality, peer: str, wallet: Wallet | None,
               progress: Callable[[int], None] | None) -> int:
    store = executor.store

    def signed(path: str) -> dict[str, str]:
        if wallet is None:
            return {}
        return {HEADER: sign_read(wallet, executor.suite.hash, executor.chain_id, "GET", path, b"")}
    with httpx.Client(base_url=peer, timeout=30) as http:
        chain = http.get("/chain").raise_for_status().json()
        if chain["chain_id"] != executor.chain_id:
            raise Fault(f"peer {peer} serves chain {chain['chain_id']!r}", code="WRONG_CHAIN")
        target, seq = int(chain["height"]), int(chain["ordering_seq"])
        log.warning("catching up from %s: blocks %d..%d", peer, store.height() + 1, target)
        for height in range(store.height() + 1, target + 1):
            path = f"/blocks/{height}"
            block = http.get(path, headers=signed(path)).raise_for_status().json()
            _check_quorum(finality, height, block["hash"], http.get(f"/attestations/{height}").raise_for_status().json())
            txs = [SignedTx.from_wire(executor.suite, wire, 1 << 62) for wire in block["txs"]]
            executor.verify_all(txs)  # on every core first; what fails is rejected in the block, as any node would
            header = block["header"]
            meta = {"ordering_seq": str(seq).encode()} if height == target else None
            built = executor.apply_block(txs, header["time_ms"], header["proposer"], meta)
            if built.hash != block["hash"]:
                raise Fault(f"block {height} from {peer} re-executes to {built.hash}, the peer says {block['hash']}",
                            code="CATCH_UP_MISMATCH")
            if progress:
                progress(height)
    return seq


def _check_quorum(finality: Finality, height: int, block_hash: str, served: dict[str, Any]) -> None:
    """Keep the peer's attestations that verify; require a quorum of organisations for ``block_hash``."""
    orgs = set()
    for attestation in served.get("attestations", []):
        verified = finality.verify(attestation)
        if verified is None or verified["height"] != height:
            continue
        finality.store.add_attestation(height, verified["org"], verified["hash"], codec.encode(verified))
        if verified["hash"] == block_hash:
            orgs.add(verified["org"])
    if len(orgs) < finality.quorum():
        raise Fault(f"block {height} has attestations from {sorted(orgs)}, fewer than the quorum "
                    f"of {finality.quorum()}", code="NOT_ATTESTED")
