"""Demo data for a freshly created local consortium (``consortia up --init``).

A realistic small supply chain: an automaker, three tiers of suppliers, a bank and a factoring
company, and a regulator; one voucher split down the tiers with pieces factored and pledged,
one still offered, one already settled; evidence deposits, and a copyright work licensed,
transferred and found infringed; and the governance decisions of the consortium.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node.home import DEMO_ORGS
from consortia.node.node import Node

DAY_MS = 24 * 3600 * 1000
YUAN = 100
ROLE_OF_KIND = {"core": "core", "supplier": "supplier", "funder": "funder", "regulator": "regulator"}
# The copyright work of the demo: the tier-1 supplier's caliper drawings (their digest stands in for
# the file), and the marketplace page where a copy was found offered for sale.
DEMO_WORK = {"algorithm": "sha-256", "digest": hashlib.sha256(b"JL-BC400 brake caliper design drawings rev. C").hexdigest(),
             "title": "BC-400 brake caliper design drawings, rev. C", "author": "Jinglian design office (Wang Lei)",
             "kind": "document"}
INFRINGING_PAGE = "https://parts-market.example.com/offer/88412307.html"


class Seeder:
    def __init__(self, node: Node, home: Path) -> None:
        self.node, self.home, self.sent = node, home, 0

    def run(self, org: str, contract: str, method: str, args: dict[str, Any]) -> Any:
        [result] = self.batch([(org, contract, method, args)])
        return result

    def batch(self, calls: list[tuple[str, str, str, dict[str, Any]]]) -> list[Any]:
        """Submit independent calls of several organisations together, so that they share a block
        as a consortium's transactions do; returns their results in order."""
        wires = []
        for org, contract, method, args in calls:
            wallet = load_wallet(self.home, self.node.suite, f"{org}/admin")
            tx = {"chain": self.node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63),
                  "contract": contract, "method": method, "args": args, "not_after_height": None,
                  "not_after_ms": int(time.time() * 1000) + 600_000}
            wires.append(SignedTx.create(self.node.suite, wallet.signer, tx).to_wire())
        results = []
        for (_, contract, method, _), (_, future) in zip(calls, self.node.submit(wires), strict=True):
            receipt = future.result(30).receipt
            if receipt["status"] != "ok":
                raise RuntimeError(f"demo transaction {contract}.{method} failed: {receipt['code']} {receipt['message']}")
            self.sent += 1
            results.append(receipt["result"])
        return results

    def scf(self, org: str, method: str, **args: Any) -> Any:
        return self.run(org, "scf", method, args)


def seed_demo(node: Node, home: Path) -> int:
    """Record the demo supply chain and governance decisions; returns the transactions sent."""
    s = Seeder(node, home)
    core, tier1, bank, regulator, tier2, tier3, factor = (o["id"] for o in DEMO_ORGS)
    now = int(time.time() * 1000)
    # Independent steps of several organisations go in together and share blocks, as on a
    # consortium's chain: the parties register, the funders grant lines, the suppliers file documents.
    s.batch([(org["id"], "scf", "register_party", {"roles": [ROLE_OF_KIND[org["kind"]]], "uscc": org["uscc"],
                                                   "name": org["name"]}) for org in DEMO_ORGS])
    line = s.batch([(funder, "scf", "grant_credit_line", {"core": core, "limit": limit * YUAN,
                                                          "expires_ms": now + 365 * DAY_MS})
                    for funder, limit in ((bank, 50_000_000), (factor, 20_000_000))])[0]["id"]

    def document(issuer: str, kind: str, number: str, amount: int) -> tuple[str, str, str, dict[str, Any]]:
        digest = hashlib.sha256(f"{issuer} {kind} {number} {amount}".encode()).hexdigest()
        return (issuer, "scf", "register_document", {"kind": kind, "number": number, "digest": digest,
                                                     "algorithm": "sha-256", "amount": amount,
                                                     "counterparty": core if issuer != core else tier1})

    contract, invoice, delivery, receipt_note = (d["id"] for d in s.batch([
        document(core, "contract", "HQ-PC-2026-118", 1_280_000 * YUAN),
        document(tier1, "invoice", "JL-INV-2026-0417", 1_280_000 * YUAN),
        document(tier1, "delivery", "JL-DN-2026-0502", 860_000 * YUAN),
        document(tier1, "delivery", "JL-DN-2026-0388", 50_000 * YUAN)]))

    # A voucher down three tiers: the tier-1 supplier pays its caster, the caster its fastener maker.
    voucher = s.scf(core, "issue", to=tier1, amount=1_280_000 * YUAN, due_ms=now + 90 * DAY_MS, credit_line=line,
                    documents=[contract, invoice], memo="brake caliper assemblies, PO HQ-PO-2026-0001")["id"]
    s.scf(tier1, "accept", voucher_id=voucher)
    first = s.scf(tier1, "propose_transfer", voucher_id=voucher, outputs=[{"to": tier2, "amount": 500_000 * YUAN}])
    s.scf(tier2, "answer_transfer", transfer_id=first["id"], accept=True)
    tier2_piece, tier1_rest = _children(node, voucher)
    second = s.scf(tier2, "propose_transfer", voucher_id=tier2_piece, outputs=[{"to": tier3, "amount": 120_000 * YUAN}])
    s.scf(tier3, "answer_transfer", transfer_id=second["id"], accept=True)
    tier3_piece, _ = _children(node, tier2_piece)
    # The fastener maker sells its piece to the factoring company; the tier-1 supplier pledges its rest.
    factoring = s.scf(tier3, "apply_financing", voucher_id=tier3_piece, funder=factor, kind="factoring")["id"]
    s.scf(factor, "approve_financing", financing_id=factoring, rate_bp=560, fees=0)
    s.scf(factor, "disburse", financing_id=factoring)
    pledge = s.scf(tier1, "apply_financing", voucher_id=tier1_rest, funder=bank, kind="pledge")["id"]
    s.scf(bank, "approve_financing", financing_id=pledge, rate_bp=480, fees=500 * YUAN)
    s.scf(bank, "disburse", financing_id=pledge)
    # A second voucher still waits for the supplier's acceptance.
    s.scf(core, "issue", to=tier1, amount=860_000 * YUAN, due_ms=now + 120 * DAY_MS, credit_line=line,
          documents=[delivery], memo="cast housings, PO HQ-PO-2026-0007")
    # A small voucher that matured and was paid.
    short_due = int(time.time() * 1000) + 1500
    paid = s.scf(core, "issue", to=tier1, amount=50_000 * YUAN, due_ms=short_due, credit_line=line,
                 documents=[receipt_note], memo="sample batch")["id"]
    s.scf(tier1, "accept", voucher_id=paid)
    time.sleep(max(0.0, (short_due - time.time() * 1000) / 1000) + 0.1)
    s.scf(core, "settle", voucher_id=paid)

    # Evidence: the signed purchase contract, deposited by the automaker; the delivery acceptance
    # photo set, deposited by the supplier and confirmed once the bank and the regulator co-signed.
    s.run(core, "evidence", "deposit", {
        "algorithm": "sha-256", "digest": hashlib.sha256(b"HQ-PC-2026-118 signed purchase contract").hexdigest(),
        "title": "Purchase contract HQ-PC-2026-118 (signed scan)", "kind": "contract",
        "metadata": {"counterparty": tier1}})
    photos = {"algorithm": "sha-256", "digest": hashlib.sha256(b"JL-DN-2026-0417 acceptance photos").hexdigest()}
    s.run(tier1, "evidence", "deposit", {**photos, "title": "Goods-received photos, delivery JL-DN-2026-0417",
                                         "kind": "image", "cosigners": [bank, regulator], "threshold": 2})
    s.batch([(cosigner, "evidence", "cosign", photos) for cosigner in (bank, regulator)])
    # Copyright: the supplier registers its caliper drawings, licenses its caster to cast the housings,
    # then assigns the drawings to the automaker with the purchase contract; the automaker finds them
    # offered as a CAD download, deposits its capture of the page and links it to the work.
    work = s.run(tier1, "evidence", "register_work", DEMO_WORK)["id"]
    s.run(tier1, "evidence", "license_work", {
        "work_id": work, "licensee": tier2, "scope": "casting of BC-400 caliper housings for Hongqiao Automotive",
        "until_ms": now + 365 * DAY_MS, "exclusive": True})
    s.run(tier1, "evidence", "transfer_work", {"work_id": work, "to": core})
    captured_ms = now - 3 * 3600 * 1000
    capture = {"algorithm": "sha-256", "digest": hashlib.sha256(b"parts-market offer 88412307 page capture").hexdigest()}
    s.run(core, "evidence", "deposit", {**capture, "title": "Capture of parts-market.example.com offer 88412307",
                                        "kind": "web-capture", "metadata": {"url": INFRINGING_PAGE}})
    s.run(core, "evidence", "record_infringement", {
        "work_id": work, "url": INFRINGING_PAGE, "captured_ms": captured_ms, **capture,
        "note": "BC-400 drawings offered for sale as a CAD download by an unknown seller"})

    opened = s.run(bank, "gov", "propose", {
        "action": "set_config", "params": {"key": "proposal_ttl_ms", "value": 3 * 24 * 3600 * 1000},
        "reason": "three days is enough to decide"})
    # The other organisations vote together, until a majority approved (the proposer's yes counts).
    members = [o["id"] for o in node.genesis["orgs"]]
    voters = [o for o in members if o != bank][:len(members) // 2]
    s.batch([(voter, "gov", "vote", {"proposal_id": opened["id"], "approve": True}) for voter in voters])
    s.run(regulator, "gov", "propose", {
        "action": "set_config", "params": {"key": "gov_required_orgs", "value": [regulator]},
        "reason": "every governance decision needs the regulator's approval"})
    return s.sent


def _children(node: Node, piece_id: str) -> list[str]:
    from consortia.types import codec

    raw = node.store.state_read(f"scf/v/{piece_id}")
    if raw is None:
        raise RuntimeError(f"demo voucher {piece_id} is missing")
    return list(codec.decode(raw.value)["children"])
