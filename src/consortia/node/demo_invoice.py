"""E-invoice demo data (``consortia up --init``), after the supply-chain demo (``node/demo.py``).

The Jiangsu suppliers register as taxpayers and invoice down the chain: Jinglian invoices the
automaker for brake calipers, cast housings and freight; Hengtai invoices Jinglian; Ruifeng invoices
Hengtai. The automaker claims, reimburses and books the caliper invoice; Jinglian registers the
housings invoice as an underlying document for supply chain finance in one step, and Pudong Bank
factors a voucher issued against it. A second claim of the caliper invoice, by Hengtai, is refused
(``ALREADY_REIMBURSED``) and shows as an alert on the regulator's dashboard; a red-letter invoice
takes back part of the freight; the Shenzhen tax bureau flags one invoice for inspection.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path
from typing import Any

from consortia.apps.invoice.model import complete_invoice
from consortia.apps.invoice.sdk import compute_red_letter
from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node.home import DEMO_ORGS_FULL
from consortia.node.node import Node

CORE, SUPPLIER, BANK, REGULATOR, CASTER, FASTENER = ("hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator",
                                                      "hengtai-castings", "ruifeng-fasteners")
TAX = "sz-tax"
DAY_MS = 24 * 3600 * 1000
CST = dt.timezone(dt.timedelta(hours=8), "CST")


class _Sender:
    def __init__(self, node: Node, home: Path) -> None:
        self.node, self.home, self.sent = node, home, 0

    def receipt(self, org: str, method: str, args: dict[str, Any], contract: str = "invoice",
                who: str = "admin") -> dict[str, Any]:
        wallet = load_wallet(self.home, self.node.suite, f"{org}/{who}")
        tx = {"chain": self.node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63),
              "contract": contract, "method": method, "args": args, "not_after_height": None,
              "not_after_ms": int(time.time() * 1000) + 600_000}
        [(_, future)] = self.node.submit([SignedTx.create(self.node.suite, wallet.signer, tx).to_wire()])
        self.sent += 1
        return future.result(30).receipt

    def run(self, org: str, method: str, args: dict[str, Any], contract: str = "invoice", who: str = "admin") -> Any:
        receipt = self.receipt(org, method, args, contract, who)
        if receipt["status"] != "ok":
            raise RuntimeError(f"demo transaction {contract}.{method} failed: {receipt['code']} {receipt['message']}")
        return receipt["result"]


def _party(org: str) -> dict[str, str]:
    record = next(o for o in DEMO_ORGS_FULL if o["id"] == org)
    return {"name": record["name"], "uscc": record["uscc"]}


def seed_invoice_demo(node: Node, home: Path) -> dict[str, Any]:
    """Record the invoice demo; returns the transactions sent and a public verification page."""
    s = _Sender(node, home)
    orgs = {o["id"] for o in node.genesis["orgs"]}
    if not {CORE, SUPPLIER, CASTER, FASTENER, TAX} <= orgs:
        return {"transactions": 0, "verify_page": None}
    for org in (CORE, SUPPLIER, CASTER, FASTENER):
        s.run(org, "register_taxpayer", _party(org))
    today = dt.datetime.now(CST).date()
    sequence = iter(range(1, 100))

    def invoice(seller: str, buyer: str, lines: list[dict[str, Any]], remark: str, kind: str = "special",
                drawer: str = "王丽") -> dict[str, Any]:
        number = f"{today.year % 100:02d}322{next(sequence) + 418_000_000:015d}"  # Jiangsu (32), channel 2
        content = complete_invoice({"number": number, "issue_date": today.isoformat(), "type": kind,
                                    "seller": _party(seller), "buyer": _party(buyer), "lines": lines,
                                    "remark": remark, "drawer": drawer})
        record = s.run(seller, "issue", {"content": content})
        s.run(seller, "deliver", {"number": number})
        return record  # type: ignore[no-any-return]

    calipers = invoice(SUPPLIER, CORE, [
        {"item": "*汽车零配件*制动钳总成", "specification": "BC-400", "unit": "套", "quantity": "120",
         "unit_price": "856.5", "tax_rate": "13"},
        {"item": "*汽车零配件*制动钳支架", "specification": "BC-400-B", "unit": "件", "quantity": "240",
         "unit_price": "73.25", "tax_rate": "13"}], "采购订单 HQ-PO-2026-0001")
    housings = invoice(SUPPLIER, CORE, [
        {"item": "*汽车零配件*铸造壳体", "specification": "CH-220", "unit": "件", "quantity": "400",
         "unit_price": "2150", "tax_rate": "13"}], "采购订单 HQ-PO-2026-0007")
    freight = invoice(SUPPLIER, CORE, [
        {"item": "*运输服务*国内道路货物运输服务", "unit": "次", "quantity": "6", "unit_price": "1800",
         "tax_rate": "9"}], "苏州—上海 6车次")
    invoice(CASTER, SUPPLIER, [
        {"item": "*黑色金属铸件*球墨铸铁毛坯", "specification": "QT450-10", "unit": "吨", "quantity": "18.35",
         "unit_price": "9860", "tax_rate": "13"}], "", drawer="陈刚")
    bolts = invoice(FASTENER, CASTER, [
        {"item": "*紧固件*高强度螺栓", "specification": "M12x1.25 10.9级", "unit": "千件", "quantity": "35",
         "unit_price": "1266.66666667", "tax_rate": "13"}], "", kind="ordinary", drawer="赵敏")

    # The automaker reimburses the caliper invoice once and books it.
    s.run(CORE, "claim", {"number": calipers["number"], "content": calipers["content"]}, who="clerk")
    s.run(CORE, "reimburse", {"number": calipers["number"]})
    s.run(CORE, "book", {"number": calipers["number"]})
    # The housings invoice backs a voucher that Pudong Bank factors (one-step scf document).
    doc = s.run(SUPPLIER, "register_document", {
        "kind": "invoice", "number": housings["number"], "digest": housings["digest"],
        "algorithm": housings["algorithm"], "amount": housings["total"], "counterparty": CORE}, contract="scf")
    line = next(row["id"] for row in _credit_lines(node) if row["funder"] == BANK)
    now = int(time.time() * 1000)
    voucher = s.run(CORE, "issue", {"to": SUPPLIER, "amount": housings["total"], "due_ms": now + 90 * DAY_MS,
                                    "credit_line": line, "documents": [doc["id"]],
                                    "memo": f"cast housings, invoice {housings['number']}"}, contract="scf")
    s.run(SUPPLIER, "accept", {"voucher_id": voucher["id"]}, contract="scf")
    applied = s.run(SUPPLIER, "apply_financing", {"voucher_id": voucher["id"], "funder": BANK, "kind": "factoring"},
                    contract="scf")
    s.run(BANK, "approve_financing", {"financing_id": applied["id"], "rate_bp": 545, "fees": 0}, contract="scf")
    s.run(BANK, "disburse", {"financing_id": applied["id"]}, contract="scf")
    # Hengtai presents the caliper invoice for reimbursement too: refused, and the regulator is alerted.
    refused = s.receipt(CASTER, "claim", {"number": calipers["number"], "content": calipers["content"]})
    if refused["code"] != "ALREADY_REIMBURSED":
        raise RuntimeError(f"the demo's double claim was not refused as expected: {refused['code']}")
    # Two of the six freight trips were cancelled: a red-letter invoice takes them back.
    red_number = f"{today.year % 100:02d}322{next(sequence) + 418_000_000:015d}"
    red = compute_red_letter(freight["content"], red_number, today.isoformat(), "服务中止", 2 * 1800_00)
    s.run(SUPPLIER, "issue", {"content": red})
    # The tax bureau flags the fastener invoice (a unit price with eight decimals) for inspection.
    s.run(TAX, "flag", {"number": bolts["number"], "reason": "单价异常，需核实交易真实性"})
    return {"transactions": s.sent, "verify_page": f"/invoice/verify/{housings['number']}?digest={housings['digest']}"}


def _credit_lines(node: Node) -> list[dict[str, Any]]:
    from consortia.types import codec

    rows = node.store.state_range("scf/line/", "scf/line/\U0010ffff", 100, writer=False)
    return [codec.decode(row.value) for _, row in rows]
