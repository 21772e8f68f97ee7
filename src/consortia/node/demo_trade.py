"""Demo data for trade finance and hosted SMEs (``consortia up --init``).

An export declaration of brake calipers attested by Shanghai Customs and financed by two banks
(one in yuan at a stated rate, one in dollars); a third draw above what is left, refused (the
regulator's over-quota alert); a documentary credit applied for by the importer, issued by its
bank, presented against with the declaration and paid. And a platform that hosts five SMEs
without a node: a voucher issued to one of them, split to another.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

from consortia.identity.hosting import SmeRow, check_rows
from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node.node import Node
from consortia.node.onboarding import onboard

DECLARATION = "223320260000123456"
EXPORTER, CUSTOMS, BANK_A, BANK_B = "jinglian-parts", "sh-customs", "pudong-bank", "haixin-bank"
IMPORTER, LC_BANK, OPERATOR, CORE = "huanyu-trading", "huitong-bank", "yunlian-platform", "hongqiao-auto"
SMES = [("hz-xinda-mould", "92330100MA2XD0011", "Hangzhou Xinda Mould Factory", "Chen Jianguo"),
        ("hz-lvyuan-rubber", "92330100MA2LY0022", "Hangzhou Lvyuan Rubber Products Co., Ltd.", "Zhou Min"),
        ("sx-hengfeng-bearing", "92330600MA2HF0033", "Shaoxing Hengfeng Bearing Co., Ltd.", "Wu Haitao"),
        ("nb-jiali-springs", "92330200MA2JL0044", "Ningbo Jiali Springs Co., Ltd.", "Xu Lina"),
        ("jx-mingguang-wire", "92330400MA2MG0055", "Jiaxing Mingguang Wire & Cable Co., Ltd.", "Shen Qiang")]


class TradeSeeder:
    def __init__(self, node: Node, home: Path) -> None:
        self.node, self.home, self.sent = node, home, 0

    def send(self, who: str, contract: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        wallet = load_wallet(self.home, self.node.suite, who if "/" in who else f"{who}/admin")
        tx = {"chain": self.node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63), "contract": contract,
              "method": method, "args": args, "not_after_height": None, "not_after_ms": int(time.time() * 1000) + 600_000}
        [(_, future)] = self.node.submit([SignedTx.create(self.node.suite, wallet.signer, tx).to_wire()])
        self.sent += 1
        return future.result(60).receipt

    def run(self, who: str, contract: str, method: str, **args: Any) -> Any:
        receipt = self.send(who, contract, method, args)
        if receipt["status"] != "ok":
            raise RuntimeError(f"demo transaction {contract}.{method} failed: {receipt['code']} {receipt['message']}")
        return receipt["result"]


def seed_trade_demo(node: Node, home: Path) -> dict[str, Any]:
    """Record the trade finance and hosted-SME demo; returns what it made."""
    s = TradeSeeder(node, home)
    orgs = {o["id"]: o for o in node.genesis["orgs"]}
    s.run(CUSTOMS, "trade", "declare", number=DECLARATION, exporter=EXPORTER, exporter_uscc=orgs[EXPORTER]["uscc"],
          lines=[{"hs_code": "8708301000", "description": "brake caliper assemblies BC-400", "quantity": 2000, "unit": "set",
                  "value": 10_000_000},
                 {"hs_code": "8708309990", "description": "caliper mounting brackets", "quantity": 4000, "unit": "pcs",
                  "value": 2_000_000}],
          currency="USD", port="2248 Yangshan Port", date=time.strftime("%Y-%m-%d", time.gmtime()),
          digest=hashlib.sha256(f"customs declaration {DECLARATION}".encode()).hexdigest(), algorithm="sha-256")
    # Two banks finance the receivable: 426,150.00 yuan at 7.1025 (60,000.00 dollars) and 50,000.00 dollars.
    s.run(BANK_A, "trade", "draw", declaration=DECLARATION, amount=42_615_000, currency="CNY", fx_rate="7.1025",
          kind="export_financing", reference="PDB-EXF-2026-0117")
    s.run(BANK_B, "trade", "draw", declaration=DECLARATION, amount=5_000_000, currency="USD", fx_rate="1",
          kind="export_financing", reference="HX-EXF-2026-0042")
    refused = s.send(BANK_A, "trade", "draw", {"declaration": DECLARATION, "amount": 2_000_000, "currency": "USD",
                                               "fx_rate": "1", "kind": "export_financing", "reference": "PDB-EXF-2026-0118"})
    if refused["code"] != "QUOTA_EXCEEDED":
        raise RuntimeError(f"the demo's over-quota draw was not refused: {refused}")
    # A documentary credit: the importer applies, its bank issues, the exporter presents, the bank pays.
    credit = s.run(IMPORTER, "trade", "apply_credit", bank=LC_BANK, beneficiary=EXPORTER, amount=5_000_000, currency="USD",
                   latest_shipment=time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400)),
                   expiry=time.strftime("%Y-%m-%d", time.gmtime(time.time() + 60 * 86400)),
                   documents=["bill_of_lading", "commercial_invoice", "packing_list", "customs_declaration"],
                   goods="1,000 sets of BC-400 brake caliper assemblies, CIF Hamburg")
    s.run(LC_BANK, "trade", "issue_credit", credit_id=credit["id"])
    docs = [{"kind": k, "digest": hashlib.sha256(f"{k} for {DECLARATION}".encode()).hexdigest(), "algorithm": "sha-256"}
            for k in ("bill_of_lading", "commercial_invoice", "packing_list", "customs_declaration")]
    presented = s.run(EXPORTER, "trade", "present", credit_id=credit["id"], amount=5_000_000,
                      shipment_date=time.strftime("%Y-%m-%d", time.gmtime()), documents=docs, declaration=DECLARATION)
    s.run(LC_BANK, "trade", "accept_documents", presentation_id=presented["id"])
    s.run(LC_BANK, "trade", "pay", presentation_id=presented["id"])
    # SMEs without a node: the platform onboards five; the automaker pays one, which pays another.
    from consortia.apps.scf.codes import make_uscc

    rows = check_rows([SmeRow(i + 2, name, make_uscc(code), company, rep) for i, (name, code, company, rep) in enumerate(SMES)])
    summary = onboard(home, node.suite, OPERATOR, rows, lambda m, a: s.run(f"{OPERATOR}/admin", "hosted", m, **a))
    first, second = (f"{OPERATOR}/{name}" for name, *_ in SMES[:2])
    lines = s.run(BANK_A, "scf", "grant_credit_line", core=CORE, limit=5_000_000_00,
                  expires_ms=int(time.time() * 1000) + 365 * 86_400_000)
    order = s.run(CORE, "scf", "register_document", kind="contract", number="HQ-PO-2026-0311",
                  digest=hashlib.sha256(b"HQ-PO-2026-0311 moulds").hexdigest(), algorithm="sha-256",
                  amount=80_000_00, counterparty=first)
    voucher = s.run(CORE, "scf", "issue", to=first, amount=80_000_00, due_ms=int(time.time() * 1000) + 90 * 86_400_000,
                    credit_line=lines["id"], documents=[order["id"]], memo="injection moulds for caliper housings")
    s.run(first, "scf", "accept", voucher_id=voucher["id"])
    transfer = s.run(first, "scf", "propose_transfer", voucher_id=voucher["id"], outputs=[{"to": second, "amount": 12_000_00}])
    s.run(second, "scf", "answer_transfer", transfer_id=transfer["id"], accept=True)
    return {"transactions": s.sent, "declaration": DECLARATION, "credit": credit["id"], "smes": summary["identities"]}
