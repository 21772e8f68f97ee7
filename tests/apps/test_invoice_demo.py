"""The e-invoice demo as `consortia up --init` seeds it, after the supply-chain demo it builds on."""

from __future__ import annotations

import time
from pathlib import Path

from consortia.node.demo import seed_demo
from consortia.node.demo_invoice import CASTER, CORE, SUPPLIER, TAX, seed_invoice_demo
from consortia.node.home import DEMO_ORG_COUNT_FULL, init_consortium, load_genesis
from consortia.node.node import Node
from consortia.types import codec


def test_the_demo_invoices_finances_and_alerts(tmp_path: Path) -> None:
    home = tmp_path / "c"
    init_consortium(home, orgs=DEMO_ORG_COUNT_FULL)
    node = Node(load_genesis(home), home / "node")
    node.start()
    try:
        seed_demo(node, home)
        seeded = seed_invoice_demo(node, home)
        deadline = time.monotonic() + 30  # a block's alerts are recorded just after its receipts are handed out
        while node.alerts.derived_height() < node.store.height() and time.monotonic() < deadline:
            time.sleep(0.05)
        rules = [(a["rule"], a["org"]) for a in node.alerts.list() if a["rule"].startswith(("double_r", "invoice"))]
        invoices = [codec.decode(v.value) for _, v in node.store.state_range("invoice/inv/", "invoice/inv/\U0010ffff",
                                                                               100, writer=False)]
        docs = [codec.decode(v.value) for _, v in node.store.state_range("scf/doc/", "scf/doc/\U0010ffff", 100,
                                                                           writer=False)]
    finally:
        node.stop()
    assert seeded["transactions"] > 20 and seeded["verify_page"].startswith("/invoice/verify/")
    assert rules == [("double_reimbursement", CASTER), ("invoice_flagged", TAX)]
    by_status = sorted((i["kind"], i["status"]) for i in invoices)
    assert by_status == [("blue", "booked"), ("blue", "delivered"), ("blue", "delivered"), ("blue", "delivered"),
                         ("blue", "delivered"), ("red", "issued")]
    financed = [d for d in docs if d["kind"] == "invoice" and d["financed"] and d["counterparty"] == CORE]
    assert [d["issuer"] for d in financed if any(d["number"] == i["number"] for i in invoices)] == [SUPPLIER]
