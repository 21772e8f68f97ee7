"""The narrow interface between a node and whatever orders its transactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from consortia.ledger.records import SignedTx

# Called with the next batch of transactions in order and the block time (ms).
Deliver = Callable[[list[SignedTx], int], None]


class Orderer(Protocol):
    def start(self, deliver: Deliver) -> None:
        """Begin cutting blocks; ``deliver`` runs them one at a time, in order."""

    def submit(self, txs: list[SignedTx]) -> None:
        """Queue transactions for ordering (already checked by the node)."""

    def pending(self) -> int:
        """Transactions accepted but not yet delivered."""

    def stop(self) -> None:
        """Stop cutting; the batch being delivered completes first."""
