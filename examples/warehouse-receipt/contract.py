"""Warehouse receipts (仓单): a warehouse receipts goods it holds, the owner pledges the receipt
to a bank for a loan, the bank releases it when the loan is repaid.

The rule that matters: the same goods cannot back two loans. A warehouse issues one receipt
per lot (a second receipt for the same lot is refused), and a receipt that is pledged cannot be
pledged again, transferred or withdrawn until the bank releases it.
"""

from __future__ import annotations

from typing import Any

from consortia.contracts.sdk import Context, Contract, method, query, refuse, require

STATES = ("held", "pledged", "withdrawn")
MAX_TEXT = 200


class WarehouseReceipts(Contract):
    """Receipts for goods in storage, pledged to banks one loan at a time."""

    name = "warehouse_receipt"
    version = "1.0.0"

    @method
    def issue(self, ctx: Context, owner: str, lot: str, goods: str, quantity: int, unit: str,
              location: str = "") -> dict[str, Any]:
        """The warehouse (the caller's organisation) receipts ``quantity`` ``unit`` of ``goods``
        in lot ``lot`` to ``owner``."""
        warehouse = ctx.require_caller().org
        require(ctx.member_org(owner) is not None, refuse("UNKNOWN_ORG", f"{owner!r:.64} is not a member"))
        require(0 < len(lot) <= 64 and 0 < len(goods) <= MAX_TEXT and 0 < len(unit) <= 16 and len(location) <= MAX_TEXT,
                refuse("BAD_TEXT", "lot (1..64), goods (1..200), unit (1..16) and location (..200 characters)"))
        require(0 < quantity <= 10**12, refuse("BAD_QUANTITY", f"quantity: expected 1..10^12, got {quantity}"))
        lot_key = f"lot/{warehouse}/{lot}"
        require(not ctx.has(lot_key), refuse("DUPLICATE_LOT", f"{warehouse} already receipted lot {lot!r}"))
        receipt_id = ctx.derive_id("receipt", warehouse, lot)
        receipt = {"id": receipt_id, "warehouse": warehouse, "owner": owner, "lot": lot, "goods": goods,
                   "quantity": quantity, "unit": unit, "location": location, "state": "held", "pledgee": None,
                   "issued_ms": ctx.time_ms, "history": [["issued", owner, ctx.time_ms]]}
        ctx.put(f"receipt/{receipt_id}", receipt)
        ctx.put(lot_key, receipt_id)
        ctx.emit("ReceiptIssued", id=receipt_id, warehouse=warehouse, owner=owner, lot=lot, quantity=quantity)
        return receipt

    @method
    def pledge(self, ctx: Context, receipt_id: str, bank: str) -> dict[str, Any]:
        """The owner pledges a held receipt to ``bank``."""
        receipt = self._owned(ctx, receipt_id)
        require(receipt["state"] == "held",
                refuse("ALREADY_PLEDGED" if receipt["state"] == "pledged" else "NOT_HELD",
                       f"receipt {receipt_id} is {receipt['state']}" +
                       (f" to {receipt['pledgee']}" if receipt["pledgee"] else "")))
        require(ctx.org_kind(bank) == "funder", refuse("NOT_A_BANK", f"{bank!r:.64} is not a funder organisation"))
        return self._move(ctx, receipt, "pledged", pledgee=bank, note=bank)

    @method
    def release(self, ctx: Context, receipt_id: str) -> dict[str, Any]:
        """The bank releases the pledge (the loan is repaid)."""
        receipt = self._get(ctx, receipt_id)
        require(receipt["state"] == "pledged", refuse("NOT_PLEDGED", f"receipt {receipt_id} is {receipt['state']}"))
        require(ctx.require_caller().org == receipt["pledgee"],
                refuse("NOT_PLEDGEE", f"only {receipt['pledgee']} may release receipt {receipt_id}"))
        return self._move(ctx, receipt, "held", pledgee=None, note=receipt["pledgee"])

    @method
    def transfer(self, ctx: Context, receipt_id: str, to: str) -> dict[str, Any]:
        """The owner sells the goods: the receipt passes to ``to``."""
        receipt = self._owned(ctx, receipt_id)
        require(receipt["state"] == "held", refuse("NOT_HELD", f"receipt {receipt_id} is {receipt['state']}"))
        require(ctx.member_org(to) is not None and to != receipt["owner"],
                refuse("UNKNOWN_ORG", f"{to!r:.64} is not another member organisation"))
        receipt["owner"] = to
        return self._move(ctx, receipt, "held", pledgee=None, note=to)

    @method
    def withdraw(self, ctx: Context, receipt_id: str) -> dict[str, Any]:
        """The warehouse hands the goods out to the owner; the receipt is spent."""
        receipt = self._get(ctx, receipt_id)
        require(ctx.require_caller().org == receipt["warehouse"],
                refuse("NOT_WAREHOUSE", f"only {receipt['warehouse']} may hand out these goods"))
        require(receipt["state"] == "held", refuse("NOT_HELD", f"receipt {receipt_id} is {receipt['state']}"))
        return self._move(ctx, receipt, "withdrawn", pledgee=None, note=receipt["owner"])

    @query
    def receipt(self, ctx: Context, receipt_id: str) -> dict[str, Any]:
        """One receipt with its history."""
        return self._get(ctx, receipt_id)

    @query
    def holdings(self, ctx: Context, owner: str) -> list[dict[str, Any]]:
        """Receipts an organisation owns (at most 1,000)."""
        return [r for _, r in ctx.range("receipt/", limit=1000) if r["owner"] == owner]

    # -- helpers ------------------------------------------------------------------------

    def _get(self, ctx: Context, receipt_id: str) -> dict[str, Any]:
        found = ctx.get(f"receipt/{receipt_id}") if 0 < len(receipt_id) <= 64 else None
        require(found is not None, refuse("RECEIPT_NOT_FOUND", f"no receipt {receipt_id!r:.64}"))
        return found  # type: ignore[no-any-return]

    def _owned(self, ctx: Context, receipt_id: str) -> dict[str, Any]:
        receipt = self._get(ctx, receipt_id)
        require(ctx.require_caller().org == receipt["owner"],
                refuse("NOT_OWNER", f"receipt {receipt_id} belongs to {receipt['owner']}"))
        return receipt

    def _move(self, ctx: Context, receipt: dict[str, Any], state: str, pledgee: str | None,
              note: str) -> dict[str, Any]:
        action = {"pledged": "pledged", "withdrawn": "withdrawn"}.get(state, "released" if receipt["pledgee"]
                                                                        else "transferred")
        receipt["state"], receipt["pledgee"] = state, pledgee
        receipt["history"].append([action, note, ctx.time_ms])
        ctx.put(f"receipt/{receipt['id']}", receipt)
        ctx.emit("Receipt" + action.capitalize(), id=receipt["id"], by=ctx.require_caller().org, to=note)
        return receipt
