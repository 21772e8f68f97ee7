"""What every app's test harness needs: run one call in its own block, expect it to pass, or
expect it refused with a code and the state untouched."""

from __future__ import annotations

from typing import Any, ClassVar

from consortia.ledger.records import Receipt
from tests.unit.helpers import Chain


class AppHarness:
    contract: ClassVar[str]
    chain: Chain
    nonce: int = 0

    @property
    def now(self) -> int:
        return self.chain.time_ms

    def run(self, org: str, method: str, args: dict[str, Any], *, who: str = "admin", at: int | None = None) -> Receipt:
        self.nonce += 1  # deterministic ids, so hypothesis can replay a run exactly
        tx = self.chain.tx(f"{org}/{who}", self.contract, method, args, ttl_ms=0, not_after_height=10**9,
                           nonce=self.nonce)
        return self.chain.block(tx, time_ms=at).receipts[0]

    def ok(self, org: str, method: str, args: dict[str, Any], **kw: Any) -> Any:
        receipt = self.run(org, method, args, **kw)
        assert (receipt.status, receipt.code) == ("ok", "OK"), receipt
        return receipt.result

    def refused(self, org: str, method: str, args: dict[str, Any], code: str, **kw: Any) -> Receipt:
        """Assert the call is refused with ``code`` and that the state did not change at all."""
        before = self.chain.rows()
        receipt = self.run(org, method, args, **kw)
        assert receipt.code == code, receipt
        assert receipt.status in ("reverted", "rejected") and receipt.events == ()
        assert self.chain.rows() == before
        return receipt
