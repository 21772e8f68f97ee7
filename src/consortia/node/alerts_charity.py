"""The ``grant_unconfirmed`` rule: a charity grant still unconfirmed when a block's time passes its
deadline. Derived from blocks alone, like every rule: a ``GrantDisbursed`` event starts watching a
grant, ``GrantConfirmed`` or ``GrantException`` stops it, and the first block whose time is past
the deadline raises the alert once. The watch list is kept with the alerts, in the same SQLite
transaction as each block's alerts (``Alerts._record``), so a restarted node resumes it.
"""

from __future__ import annotations

from typing import Any

from consortia.types import codec

Rule = tuple[str, str, str, Any]
STARTS, STOPS = ("charity", "GrantDisbursed"), {("charity", "GrantConfirmed"), ("charity", "GrantException")}


class GrantWatch:
    def __init__(self, kept: bytes | None) -> None:
        # grant id -> [deadline ms, charity, disbursing tx id, need, amount]
        self.open: dict[str, list[Any]] = codec.decode(kept) if kept else {}

    def dump(self) -> bytes:
        return codec.encode(dict(sorted(self.open.items())))

    def on_block(self, time_ms: int, receipts: list[dict[str, Any]]) -> list[Rule]:
        """Follow this block's grant events, then raise the grants whose deadline it passed."""
        for receipt in receipts:
            for event in receipt["events"] if receipt["status"] == "ok" else ():
                key, data = (event["contract"], event["name"]), event["data"]
                if key == STARTS:
                    self.open[data["grant"]] = [data["confirm_by_ms"], data["charity"], receipt["tx_id"],
                                                data["need"], data["amount"]]
                elif key in STOPS:
                    self.open.pop(data["grant"], None)
        due = sorted(g for g, (deadline, *_) in self.open.items() if deadline < time_ms)
        found: list[Rule] = []
        for grant in due:
            deadline, charity, tx_id, need, amount = self.open.pop(grant)
            found.append(("grant_unconfirmed", charity, tx_id, {"grant": grant, "need": need, "amount": amount,
                                                                 "confirm_by_ms": deadline}))
        return found
