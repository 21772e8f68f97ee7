"""Demo data for a freshly created local consortium (``consortia up --init``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node.node import Node


def _signed(node: Node, home: Path, identity: str, contract: str, method: str, args: dict[str, Any]) -> SignedTx:
    import secrets
    import time

    wallet = load_wallet(home, node.suite, identity)
    tx = {"chain": node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63), "contract": contract,
          "method": method, "args": args, "not_after_height": None, "not_after_ms": int(time.time() * 1000) + 600_000}
    return SignedTx.create(node.suite, wallet.signer, tx)


def _run(node: Node, home: Path, identity: str, contract: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
    [(_, future)] = node.submit([_signed(node, home, identity, contract, method, args).to_wire()])
    receipt: dict[str, Any] = future.result(30).receipt
    if receipt["status"] != "ok":
        raise RuntimeError(f"demo transaction {contract}.{method} failed: {receipt['code']} {receipt['message']}")
    return receipt


def seed_demo(node: Node, home: Path) -> int:
    """Record a few business documents and governance decisions; returns the transactions sent."""
    steps: list[tuple[str, str, str, dict[str, Any]]] = [
        ("hongqiao-auto/admin", "kv", "put", {"key": "purchase-orders/HQ-PO-2026-0001", "value": {
            "supplier": "jinglian-parts", "item": "brake caliper assemblies", "quantity": 4000,
            "amount_fen": 128_000_000, "currency": "CNY"}}),
        ("jinglian-parts/clerk", "kv", "put", {"key": "delivery-notes/JL-DN-2026-0417", "value": {
            "order": "HQ-PO-2026-0001", "quantity": 4000, "received_by": "hongqiao-auto"}}),
        ("pudong-bank/clerk", "kv", "put", {"key": "credit-lines/PDB-CL-2026-007", "value": {
            "borrower": "hongqiao-auto", "limit_fen": 5_000_000_000, "expires": "2027-11-30"}}),
    ]
    for identity, contract, method, args in steps:
        _run(node, home, identity, contract, method, args)
    opened = _run(node, home, "pudong-bank/admin", "gov", "propose", {
        "action": "set_config", "params": {"key": "proposal_ttl_ms", "value": 3 * 24 * 3600 * 1000},
        "reason": "three days is enough to decide"})["result"]
    _run(node, home, "hongqiao-auto/admin", "gov", "vote", {"proposal_id": opened["id"], "approve": True})
    _run(node, home, "sh-regulator/admin", "gov", "vote", {"proposal_id": opened["id"], "approve": True})
    _run(node, home, "sh-regulator/admin", "gov", "propose", {
        "action": "set_config", "params": {"key": "gov_required_orgs", "value": ["sh-regulator"]},
        "reason": "every governance decision needs the regulator's approval"})
    return len(steps) + 4
