"""Demo of a member's own contract (ADR 0014): the warehouse-receipt example under ``examples/``,
proposed by the cold-chain warehouse, approved by a majority of organisations, and used — goods
receipted to a supplier, pledged to one bank, a second pledge of the same goods to another bank
refused, another lot released after its loan was repaid."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from consortia.contracts.usercode import ENTRY_FILE, deployment
from consortia.node.demo import Seeder
from consortia.node.node import Node

log = logging.getLogger(__name__)
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "warehouse-receipt"
WAREHOUSE, OWNER, BANK, OTHER_BANK = "huafeng-logistics", "jinglian-parts", "pudong-bank", "haixin-bank"
C = "warehouse_receipt"


def seed_contract_demo(node: Node, home: Path) -> dict[str, Any]:
    """Deploy the example by vote and use it; returns what was recorded (empty when the example
    is not beside the package, as in an installed wheel)."""
    orgs = [o["id"] for o in node.genesis["orgs"]]
    if not EXAMPLE.is_dir() or any(o not in orgs for o in (WAREHOUSE, OWNER, BANK, OTHER_BANK)):
        log.info("warehouse-receipt example not found beside the package; the demo installs no member contract")
        return {"transactions": 0}
    s = Seeder(node, home)
    source = (EXAMPLE / ENTRY_FILE).read_text(encoding="utf-8")
    _, params = deployment(node.suite.hash, node.suite.hash_name, source, {"issue": [WAREHOUSE]})
    proposal = s.run(WAREHOUSE, "gov", "propose", {"action": "install_contract", "params": params,
                                                   "reason": "warehouse receipts for pledge financing of stored goods"})
    for voter in (o for o in orgs if o != WAREHOUSE):
        if proposal["status"] != "open":
            break
        proposal = s.run(voter, "gov", "vote", {"proposal_id": proposal["id"], "approve": True})
    if proposal["status"] != "passed":
        raise RuntimeError(f"demo contract proposal {proposal['status']}: {proposal['outcome']}")

    def issue(lot: str, goods: str, quantity: int) -> str:
        receipt = s.run(WAREHOUSE, C, "issue", {"owner": OWNER, "lot": lot, "goods": goods, "quantity": quantity,
                                                "unit": "pcs", "location": "Shanghai Lingang cold store, bay 3"})
        return str(receipt["id"])

    pledged = issue("HF-2026-0117", "BC-400 brake calipers, boxed", 4_800)
    repaid = issue("HF-2026-0118", "Aluminium caliper castings", 12_000)
    s.run(OWNER, C, "pledge", {"receipt_id": pledged, "bank": BANK})
    s.run(OWNER, C, "pledge", {"receipt_id": repaid, "bank": OTHER_BANK})
    s.run(OTHER_BANK, C, "release", {"receipt_id": repaid})
    refused = _attempt(s, OWNER, C, "pledge", {"receipt_id": pledged, "bank": OTHER_BANK})
    return {"transactions": s.sent + 1, "pledged": pledged, "released": repaid, "refused_code": refused,
            "proposal": proposal["id"]}


def _attempt(s: Seeder, org: str, contract: str, method: str, args: dict[str, Any]) -> str:
    """Send a call the contract refuses (it stays on the chain as a reverted receipt); its code."""
    try:
        s.run(org, contract, method, args)
    except RuntimeError as exc:
        return str(exc).split(": ", 1)[1].split(" ", 1)[0]
    raise RuntimeError(f"demo expected {contract}.{method} to be refused")
