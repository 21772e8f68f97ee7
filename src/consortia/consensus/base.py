"""The narrow interface between a node and whatever orders its transactions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from consortia.ledger.records import SignedTx


@dataclass(frozen=True, slots=True)
class Batch:
    """The next block's transactions, in order, as the orderer cut them.

    ``time_ms`` is the block time the orderer assigns; ``seq`` is the orderer's position after
    this block (the stream sequence for JetStream, 0 for the embedded orderer), committed with
    the block so that a restarted node resumes right after it.
    """

    txs: list[SignedTx]
    time_ms: int
    proposer: str
    seq: int


# Runs the batches one at a time, in order.
Deliver = Callable[[Batch], None]


class Orderer(Protocol):
    failure: BaseException | None

    def start(self, deliver: Deliver) -> None:
        """Begin cutting blocks; ``deliver`` runs them one at a time, in order."""

    def submit(self, txs: list[SignedTx]) -> None:
        """Queue transactions for ordering (already checked by the node)."""

    def pending(self) -> int:
        """Transactions accepted but not yet delivered."""

    def stop(self) -> None:
        """Stop cutting; the batch being delivered completes first."""
