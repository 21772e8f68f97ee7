"""Shared test helpers: a consortium on disk and a chain driven straight through the Executor.

A ``Chain`` drives a real ``Executor`` over a real SQLite store (no node threads):
``chain.block(*txs)`` executes and commits the next block at a strictly later time.
A ``Consortium`` is made on one crypto suite (``suite_name``); the fixtures in
``tests/conftest.py`` and ``tests/unit/conftest.py`` make one per suite.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from consortia.client.txbuild import build_tx
from consortia.contracts.sdk import Contract
from consortia.crypto.suite import CryptoSuite, get_suite
from consortia.execution.executor import CommittedBlock, Executor
from consortia.execution.genesis import check_genesis
from consortia.identity.wallet import Wallet, load_wallet
from consortia.ledger.records import Receipt, SignedTx
from consortia.ledger.store import Store
from consortia.node.home import init_consortium
from consortia.node.node import default_contracts

SUITE: CryptoSuite = get_suite("ed25519-sha256")  # the default suite, for tests that need no consortium
ORGS = ("hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator")


class Consortium:
    """A consortium directory made by ``init_consortium`` on ``suite_name``, and its wallets (cached)."""

    def __init__(self, home: Path, orgs: int = 4, suite_name: str = "ed25519-sha256", **kwargs: Any) -> None:
        self.home = home
        self.genesis = init_consortium(home, orgs=orgs, suite_name=suite_name, **kwargs)
        self.suite: CryptoSuite = get_suite(self.genesis["suite"])
        self.chain_id: str = self.genesis["chain_id"]
        self.org_ids: list[str] = [o["id"] for o in self.genesis["orgs"]]
        self._wallets: dict[str, Wallet] = {}

    def wallet(self, identity: str) -> Wallet:
        if identity not in self._wallets:
            self._wallets[identity] = load_wallet(self.home, self.suite, identity)
        return self._wallets[identity]

    def chain(self, path: Path, contracts: dict[str, Contract] | None = None) -> Chain:
        return Chain(self, path, contracts)


class Chain:
    """A fresh store and executor at genesis of ``consortium``."""

    def __init__(self, consortium: Consortium, path: Path, contracts: dict[str, Contract] | None = None) -> None:
        self.c = consortium
        self.suite = consortium.suite
        path.mkdir(parents=True, exist_ok=True)
        self.store = Store(path / "chain.db")
        self.executor = Executor(self.store, self.suite, consortium.chain_id, contracts or default_contracts())
        self.genesis_block = self.executor.apply_genesis(check_genesis(consortium.genesis))
        self.time_ms: int = consortium.genesis["time_ms"]

    def close(self) -> None:
        self.store.close()

    # -- building -----------------------------------------------------------------------

    def tx(self, who: str, contract: str, method: str, args: dict[str, Any] | None = None, **kw: Any) -> SignedTx:
        return build_tx(self.suite, self.c.wallet(who), self.c.chain_id, contract, method, args, **kw)

    def raw_tx(self, who: str | Wallet, **fields: Any) -> SignedTx:
        """A transaction built field by field (defaults: a kv.put by ``who``), signed as-is."""
        wallet = self.c.wallet(who) if isinstance(who, str) else who
        body: dict[str, Any] = {
            "chain": self.c.chain_id, "sender": wallet.sender, "nonce": 1, "contract": "kv", "method": "put",
            "args": {"key": "k", "value": 1}, "not_after_height": None, "not_after_ms": int(time.time() * 1000) + 600_000,
        }
        body.update(fields)
        return SignedTx.create(self.suite, wallet.signer, body)

    # -- executing ----------------------------------------------------------------------

    def block(self, *txs: SignedTx, time_ms: int | None = None) -> CommittedBlock:
        self.time_ms = self.time_ms + 1000 if time_ms is None else time_ms
        return self.executor.apply_block(list(txs), self.time_ms, "unit")

    def run(self, who: str, contract: str, method: str, args: dict[str, Any] | None = None, **kw: Any) -> Receipt:
        """Execute one transaction in its own block and return its receipt."""
        return self.block(self.tx(who, contract, method, args, **kw)).receipts[0]

    def ok(self, who: str, contract: str, method: str, args: dict[str, Any] | None = None) -> Any:
        receipt = self.run(who, contract, method, args)
        assert (receipt.status, receipt.code) == ("ok", "OK"), receipt
        return receipt.result

    def govern(self, action: str, params: dict[str, Any], yes: int = 3, no: int = 0) -> dict[str, Any]:
        """Org 0's admin proposes; the next ``yes - 1`` admins approve, the next ``no`` reject."""
        orgs = self.c.org_ids
        proposal = self.ok(f"{orgs[0]}/admin", "gov", "propose", {"action": action, "params": params})
        for org in orgs[1:yes]:
            proposal = self.ok(f"{org}/admin", "gov", "vote", {"proposal_id": proposal["id"], "approve": True})
        for org in orgs[yes:yes + no]:
            proposal = self.ok(f"{org}/admin", "gov", "vote", {"proposal_id": proposal["id"], "approve": False})
        return proposal

    # -- reading ------------------------------------------------------------------------

    def rows(self) -> list[tuple[str, bytes, int, int]]:
        return list(self.store.state_items())

    def kv(self, key: str) -> Any:
        return self.executor.query("kv", "get", {"key": key}, None)
