"""E-invoices end to end on a real node process: the CLI (JSON import), the SDK, the documents
(HTML, PDF, UBL), the public verification page with its proof, the regulator's alert for a second
claim, and one-step registration as a supply-chain-finance document (financing twice refused)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from lxml import etree

from consortia.apps.invoice.sdk import claim_invoice, register_for_financing, verify_invoice
from consortia.cli.main import cli
from consortia.client import Client
from consortia.errors import Forbidden, Revert
from tests.apps.invoice_harness import BANK, BUYER, ORG_COUNT, ORGS, OTHER, REG, SELLER, TAX, make_invoice, number
from tests.conftest import RunningNode, launch

UBL = Path(__file__).resolve().parents[1] / "vectors" / "ubl-2.1" / "xsd" / "maindoc"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    running = launch(tmp_path_factory.mktemp("invoice-api") / "c", orgs=ORG_COUNT, suite_name=suite_name,
                     config={"block_timeout_ms": 10})
    yield running
    running.stop()


def cli_run(node: RunningNode, who: str | None, *args: str, code: int = 0) -> str:
    who_args = ["--as", who] if who else []
    result = CliRunner().invoke(cli, ["invoice", *args, "--dir", str(node.home), "--url", node.url, *who_args])
    assert result.exit_code == code, result.output
    return result.output


def client(node: RunningNode, who: str) -> Client:
    return Client.from_home(node.home, who, node.url)


def test_the_whole_story(node: RunningNode, tmp_path: Path) -> None:
    for org in (SELLER, BUYER, OTHER):
        cli_run(node, f"{org}/admin", "taxpayer", "register", "--uscc", ORGS[org]["uscc"], "--name", ORGS[org]["name"])
    # JSON import: amounts, tax, totals and the words are computed; a wrong sum is refused naming the field.
    sparse = make_invoice(1)
    for line in sparse["lines"]:
        line.pop("tax_amount")
    sparse.pop("totals")
    draft = tmp_path / "invoice.json"
    draft.write_text(json.dumps(sparse, ensure_ascii=False))
    assert "壹拾壹万柒仟肆佰肆拾玖圆肆角" in CliRunner().invoke(cli, ["invoice", "check", str(draft)]).output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**sparse, "totals": {**make_invoice(1)["totals"], "tax": 1}}))
    refused = CliRunner().invoke(cli, ["invoice", "check", str(bad)])
    assert refused.exit_code == 3 and "totals.tax" in refused.output
    issued = json.loads(cli_run(node, f"{SELLER}/admin", "issue", str(draft), "--json"))
    content = issued["content"]
    assert content == make_invoice(1) and issued["status"] == "issued"
    received = tmp_path / "received.json"
    received.write_text(json.dumps(content, ensure_ascii=False))
    cli_run(node, f"{SELLER}/admin", "deliver", content["number"])
    assert "CONTENT_MISMATCH" in cli_run(node, f"{BUYER}/clerk", "claim", content["number"], str(bad), code=6)
    cli_run(node, f"{BUYER}/clerk", "claim", content["number"], str(received))
    cli_run(node, f"{BUYER}/admin", "reimburse", content["number"])
    # The same invoice claimed again elsewhere: refused, and the regulator sees an alert.
    with client(node, f"{OTHER}/admin") as other, pytest.raises(Revert) as second:
        claim_invoice(other, content["number"], content)
    assert second.value.code == "ALREADY_REIMBURSED"
    with client(node, f"{REG}/admin") as regulator:
        alerts = _alerts(regulator, "double_reimbursement")
        assert [(a["org"], a["detail"]["code"]) for a in alerts] == [(OTHER, "ALREADY_REIMBURSED")]
        overview = regulator.query("invoice", "overview", {}, signed=True)
        assert overview["by_status"]["reimbursed"]["count"] == 1
        regulator.fetch(f"/invoice/invoices/{content['number']}", params={"format": "xml"}, signed=True)
        audit = json.loads(regulator.fetch("/audit", signed=True))["entries"]
        assert any(e["action"] == "invoice.document" and e["detail"]["number"] == content["number"] for e in audit)
    # The tax authority sees every invoice; another company does not.
    assert content["number"] in cli_run(node, f"{TAX}/admin", "all")
    assert "NOT_VISIBLE" in cli_run(node, f"{OTHER}/admin", "show", content["number"], code=5)

    # Documents: a printable page, a PDF, UBL 2.1 that the official schema accepts.
    with client(node, f"{BUYER}/admin") as buyer:
        html = buyer.fetch(f"/invoice/invoices/{content['number']}", params={"format": "html"}, signed=True).decode()
        assert "电子发票（增值税专用发票）" in html and "壹拾壹万柒仟肆佰肆拾玖圆肆角" in html and "<svg" in html
        xml = buyer.fetch(f"/invoice/invoices/{content['number']}", params={"format": "xml"}, signed=True)
        schema = etree.XMLSchema(etree.parse(str(UBL / "UBL-Invoice-2.1.xsd")))
        assert schema.validate(etree.fromstring(xml)), schema.error_log
    pdf = tmp_path / "invoice.pdf"
    cli_run(node, f"{BUYER}/admin", "show", content["number"], "--format", "pdf", "-o", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-") and b"/FontFile2" in pdf.read_bytes()  # the CJK font is embedded
    unsigned = httpx.get(f"{node.url}/invoice/invoices/{content['number']}")
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "UNAUTHENTICATED"

    # The public page: no login, the digest from the QR code matches, the proof checks.
    with Client(node.url) as anyone:
        found = verify_invoice(anyone, content["number"], issued["digest"])
        assert (found["status"], found["matches"], found["proof"]["valid"]) == ("reimbursed", True, True)
        assert found["proof"]["tx_id"] == issued["issued_tx"] and "content" not in found
        assert [a["org"] for a in found["proof"]["attestations"]] == found["proof"]["attested_by"] == [BUYER]
        assert verify_invoice(anyone, content["number"], "00" * 32)["matches"] is False
    page = httpx.get(f"{node.url}/invoice/verify/{content['number']}", params={"digest": issued["digest"]})
    assert page.status_code == 200 and "matches the one issued" in page.text and "Merkle path" in page.text
    assert httpx.get(f"{node.url}/invoice/verify/{number(999)}").status_code == 404
    assert "DOES NOT MATCH" in cli_run(node, None, "verify", content["number"], "--file", str(bad), code=6)
    assert "reimbursed" in cli_run(node, None, "verify", content["number"], "--file", str(received))


def test_finance_an_invoice_in_one_step(node: RunningNode) -> None:
    content = make_invoice(2, lines=[{"item": "*汽车零配件*壳体", "quantity": "400", "unit_price": "2150",
                                      "tax_rate": "13"}])
    with client(node, f"{SELLER}/admin") as seller, client(node, f"{BUYER}/admin") as core, \
            client(node, f"{BANK}/admin") as bank:
        for c, org, role in ((seller, SELLER, "supplier"), (core, BUYER, "core"), (bank, BANK, "funder")):
            c.call("scf", "register_party", {"roles": [role], "uscc": ORGS[org]["uscc"], "name": org})
        if not _has_taxpayer(seller, SELLER):
            for c, org in ((seller, SELLER), (core, BUYER)):
                c.call("invoice", "register_taxpayer", {"uscc": ORGS[org]["uscc"], "name": org})
        seller.call("invoice", "issue", {"content": content})
        doc = register_for_financing(seller, content["number"])
        assert (doc["kind"], doc["number"], doc["amount"], doc["counterparty"]) == ("invoice", content["number"],
                                                                                    content["totals"]["total"], BUYER)
        with pytest.raises(Revert) as again:
            register_for_financing(seller, content["number"])
        assert again.value.code == "DOCUMENT_EXISTS"
        with pytest.raises(Forbidden):
            register_for_financing(bank, content["number"])  # only its parties (and the tax authority) read it
        line = bank.call("scf", "grant_credit_line", {"core": BUYER, "limit": 10**10, "expires_ms": _days(300)})["id"]
        voucher = core.call("scf", "issue", {"to": SELLER, "amount": doc["amount"], "due_ms": _days(60),
                                             "credit_line": line, "documents": [doc["id"]]})["id"]
        seller.call("scf", "accept", {"voucher_id": voucher})
        applied = seller.call("scf", "apply_financing", {"voucher_id": voucher, "funder": BANK, "kind": "factoring"})
        bank.call("scf", "approve_financing", {"financing_id": applied["id"], "rate_bp": 550, "fees": 0})
        bank.call("scf", "disburse", {"financing_id": applied["id"]})
        # A second voucher on the same invoice cannot be financed again: its amount is used up.
        second = core.call("scf", "issue", {"to": SELLER, "amount": 100_00, "due_ms": _days(60), "credit_line": line,
                                            "documents": [doc["id"]]})["id"]
        seller.call("scf", "accept", {"voucher_id": second})
        applied = seller.call("scf", "apply_financing", {"voucher_id": second, "funder": BANK, "kind": "factoring"})
        with pytest.raises(Revert) as twice:
            bank.call("scf", "approve_financing", {"financing_id": applied["id"], "rate_bp": 550, "fees": 0})
        assert twice.value.code == "DOUBLE_FINANCING"


def _alerts(regulator: Client, rule: str) -> list[dict[str, Any]]:
    """The node records a block's alerts just after handing out its receipts: wait for them."""
    deadline = time.monotonic() + 30
    while True:
        found: list[dict[str, Any]] = json.loads(regulator.fetch("/alerts", params={"rule": rule}, signed=True))["alerts"]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _has_taxpayer(c: Client, org: str) -> bool:
    return any(t["org"] == org for t in c.query("invoice", "taxpayers", {}, signed=True))


def _days(days: int) -> int:
    return int(time.time() * 1000) + days * 24 * 3600 * 1000


def test_bad_requests(node: RunningNode) -> None:
    checked = httpx.post(f"{node.url}/invoice/check", content=json.dumps(make_invoice(3)).encode())
    assert checked.status_code == 200 and len(checked.json()["digest"]) == 64
    for body, field in ((b'{"number": 1.5}', None), (b"[]", None), (b"", None),
                        (json.dumps({**make_invoice(3), "type": "x"}).encode(), "type")):
        response = httpx.post(f"{node.url}/invoice/check", content=body)
        assert response.status_code == 400, response.text
        error: dict[str, Any] = response.json()["error"]
        assert set(error) >= {"code", "message"}
        if field:
            assert error["details"]["field"] == field
    assert httpx.get(f"{node.url}/invoice/verify/123").status_code == 400
    assert httpx.get(f"{node.url}/invoice/verify/{number(1)}", params={"format": "pdf"}).status_code == 400
    with client(node, f"{BUYER}/admin") as buyer:
        with pytest.raises(Exception) as caught:
            buyer.fetch("/invoice/invoices/123", signed=True)
        assert getattr(caught.value, "code", "") == "BAD_NUMBER"
