"""The embedded orderer: one process, blocks cut by count or by timeout."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from consortia.consensus.base import Batch, Deliver
from consortia.ledger.records import SignedTx

log = logging.getLogger(__name__)


class SoloOrderer:
    def __init__(self, max_txs: int = 500, timeout_ms: int = 50, proposer: str = "solo") -> None:
        self.max_txs = max_txs
        self.proposer = proposer
        self.timeout_ms = timeout_ms
        self._queue: deque[SignedTx] = deque()
        self._first_at = 0.0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    def start(self, deliver: Deliver) -> None:
        self._thread = threading.Thread(target=self._run, args=(deliver,), name="solo-orderer", daemon=True)
        self._thread.start()

    def submit(self, txs: list[SignedTx]) -> None:
        with self._cond:
            if not self._queue:
                self._first_at = time.monotonic()
            self._queue.extend(txs)
            if len(self._queue) >= self.max_txs:
                self._cond.notify()
            elif len(self._queue) == len(txs):
                self._cond.notify()

    def pending(self) -> int:
        return len(self._queue)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _next_batch(self) -> list[SignedTx] | None:
        with self._cond:
            while True:
                if self._stopping:
                    return None
                if len(self._queue) >= self.max_txs:
                    break
                if self._queue:
                    wait = self._first_at + self.timeout_ms / 1000 - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            batch = [self._queue.popleft() for _ in range(min(self.max_txs, len(self._queue)))]
            self._first_at = time.monotonic()
            return batch

    def _run(self, deliver: Deliver) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                deliver(Batch(batch, int(time.time() * 1000), self.proposer, 0))
            except BaseException as exc:  # noqa: BLE001 - the node records it and turns unhealthy
                log.exception("block delivery failed; the orderer stops")
                self.failure = exc
                return
