"""Attestations and finality.

After committing a block, a node signs ``(chain, height, block hash, state root)`` with its
organisation's node identity and publishes it. A block is final once a quorum of member
organisations (a majority, unless configured) has attested the very hash this node computed.
If a quorum attests a different hash, this node computed something else than the consortium:
it says so loudly and stops rather than diverge. A single dissenting organisation is reported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from consortia.errors import TxRejected
from consortia.execution.executor import Executor, Reader
from consortia.identity.wallet import Wallet
from consortia.ledger.records import BlockHeader
from consortia.ledger.store import Store
from consortia.types import codec

log = logging.getLogger(__name__)

DOMAIN = b"consortia/attest/v1\x00"


def attest_message(chain: str, height: int, block_hash: str, state_root: str, org: str) -> bytes:
    return DOMAIN + codec.encode({"chain": chain, "hash": block_hash, "height": height, "org": org,
                                  "state_root": state_root})


def sign_attestation(wallet: Wallet, chain: str, header: BlockHeader, block_hash: str) -> dict[str, Any]:
    message = attest_message(chain, header.height, block_hash, header.state_root, wallet.org)
    return {"chain": chain, "height": header.height, "hash": block_hash, "state_root": header.state_root,
            "org": wallet.org, "cert": wallet.sender, "sig": wallet.signer.sign(message).hex()}


class Finality:
    def __init__(self, store: Store, executor: Executor, *, on_divergence: Callable[[str], None],
                 quorum: int | None = None,
                 on_dissent: Callable[[int, dict[str, str], str], None] | None = None) -> None:
        self.store = store
        self.executor = executor
        self.quorum_override = quorum
        self.on_divergence = on_divergence
        self.on_dissent = on_dissent
        self.dissent: dict[int, dict[str, str]] = {}  # height -> org -> the hash it attested
        self.diverged: str | None = None
        self._lock = threading.Lock()
        self._final = 0
        self._quorum = (-2, 0)  # (height, quorum at that height)

    def quorum(self) -> int:
        """A majority of the member organisations as of the latest block (computed once per block)."""
        if self.quorum_override:
            return self.quorum_override
        height = self.store.height()
        cached = self._quorum
        if cached[0] != height:
            cached = (height, len(self.executor.query("members", "orgs", {}, None)) // 2 + 1)
            self._quorum = cached
        return cached[1]

    def verify(self, body: Any) -> dict[str, Any] | None:
        """The attestation if its shape, signer (a node of a member organisation) and signature check out."""
        if type(body) is not dict or set(body) != {"chain", "height", "hash", "state_root", "org", "cert", "sig"}:
            return None
        if body["chain"] != self.executor.chain_id or type(body["height"]) is not int or body["height"] < 0:
            return None
        if not all(type(body[k]) is str for k in ("hash", "state_root", "org", "cert", "sig")):
            return None
        store = self.store
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        head = store.get_head()
        try:
            member = self.executor.identity(reader, body["cert"], head[0].time_ms if head else 0)
            signature = bytes.fromhex(body["sig"])
        except (TxRejected, ValueError):
            return None
        if member.org != body["org"] or not member.has_role("node"):
            return None
        message = attest_message(body["chain"], body["height"], body["hash"], body["state_root"], body["org"])
        return body if self.executor.suite.verify(member.public_key, message, signature) else None

    def receive(self, body: Any) -> None:
        """Keep a verified attestation and check it against our own block at that height."""
        if self.is_kept(body):  # the stream replayed at start: checked and kept before, byte for byte
            self.check(body["height"])
            return
        attestation = self.verify(body)
        if attestation is None:
            log.warning("ignored an attestation that does not verify: %.200s", body)
            return
        kept = self.store.add_attestation(attestation["height"], attestation["org"], attestation["hash"],
                                          codec.encode(attestation))
        if not kept:
            for org, block_hash, _ in self.store.attestations(attestation["height"]):
                if org == attestation["org"] and block_hash != attestation["hash"]:
                    log.error("EQUIVOCATION: %s signed two headers for height %d (%s and %s)", org,
                              attestation["height"], block_hash, attestation["hash"])
        self.check(attestation["height"])

    def is_kept(self, body: Any) -> bool:
        """Whether these very bytes are already kept (everything kept was verified first)."""
        if type(body) is not dict or type(body.get("height")) is not int or type(body.get("org")) is not str:
            return False
        try:
            encoded = codec.encode(body)
        except codec.CodecError:
            return False
        return any(org == body["org"] and kept == encoded for org, _, kept in self.store.attestations(body["height"]))

    def check(self, height: int) -> None:
        """Compare what organisations attested at ``height`` with the block we committed there."""
        ours = self.store.block_hashes(height, height).get(height)
        if ours is None:
            return
        counts: dict[str, list[str]] = {}
        for org, block_hash, _ in self.store.attestations(height):
            counts.setdefault(block_hash, []).append(org)
        for block_hash, orgs in counts.items():
            if block_hash == ours:
                continue
            with self._lock:
                seen = self.dissent.setdefault(height, {})
                new = [o for o in orgs if o not in seen]
                seen.update({o: block_hash for o in orgs})
            if new:
                log.error("DIVERGENCE at height %d: %s attested %s, this node committed %s",
                          height, ", ".join(new), block_hash, ours)
                if self.on_dissent is not None:
                    self.on_dissent(height, {o: block_hash for o in new}, ours)
            if len(orgs) >= self.quorum() and self.diverged is None:
                self.diverged = (f"height {height}: a quorum ({', '.join(sorted(orgs))}) attested {block_hash}, "
                                 f"this node computed {ours}")
                log.critical("this node diverged from the consortium at %s; stopping", self.diverged)
                self.on_divergence(self.diverged)

    def final_height(self) -> int:
        """The highest height up to which every block carries a quorum of attestations of our hash."""
        top = self.store.height()
        quorum = self.quorum()
        with self._lock:
            start = self._final + 1
        height = start - 1
        counts = self.store.attestation_counts(start, top)
        hashes = self.store.block_hashes(start, top)
        for h in range(start, top + 1):
            if h not in hashes or counts.get(h, {}).get(hashes[h], 0) < quorum:
                break
            height = h
        with self._lock:
            self._final = max(self._final, height)
            return self._final
