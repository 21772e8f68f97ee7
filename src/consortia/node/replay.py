"""Rebuild a node's state from its block store, and check the two agree.

Derived data (world state, tx index) must be a pure function of the blocks: replaying
every stored block into a fresh store has to give the same block hashes and the same
state rows. This is the check behind ``consortia node verify`` and the crash tests.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consortia.crypto.suite import get_suite
from consortia.execution.executor import Executor
from consortia.execution.genesis import check_genesis
from consortia.ledger.records import SignedTx
from consortia.ledger.store import Store
from consortia.node.node import default_contracts
from consortia.types import codec


@dataclass
class ReplayReport:
    height: int = -1
    blocks_checked: int = 0
    mismatched_blocks: list[int] = field(default_factory=list)
    state_matches: bool = False
    state_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatched_blocks and self.state_matches

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "height": self.height, "blocks_checked": self.blocks_checked,
                "mismatched_blocks": self.mismatched_blocks[:20], "state_matches": self.state_matches,
                "state_rows": self.state_rows}


def replay(source: Store, target: Store, progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Re-execute every block of ``source`` into the empty ``target`` and compare."""
    raw = source.get_meta("genesis")
    if raw is None:
        raise ValueError("source store has no genesis")
    genesis = check_genesis(codec.decode(raw))
    suite = get_suite(genesis["suite"])
    executor = Executor(target, suite, genesis["chain_id"], default_contracts())
    report = ReplayReport(height=source.height())
    for stored in source.iter_blocks(0):
        if stored.height == 0:
            built = executor.apply_genesis(genesis)
        else:
            txs = [SignedTx.from_wire(suite, w, 1 << 62) for w in stored.txs]
            built = executor.apply_block(txs, stored.header.time_ms, stored.header.proposer)
        if built.hash != stored.hash:
            report.mismatched_blocks.append(stored.height)
        report.blocks_checked += 1
        if progress:
            progress(stored.height)
    ours = list(source.state_items())
    report.state_rows = len(ours)
    report.state_matches = ours == list(target.state_items())
    return report


def verify_data_dir(data_dir: Path, progress: Callable[[int], None] | None = None) -> ReplayReport:
    source = Store(Path(data_dir) / "chain.db")
    with tempfile.TemporaryDirectory(prefix="consortia-replay-") as scratch:
        target = Store(Path(scratch) / "chain.db")
        try:
            return replay(source, target, progress)
        finally:
            target.close()
            source.close()
