"""Supply chain finance end to end: a real node process, driven through the CLI and the SDK."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from consortia.client import Client
from consortia.errors import Forbidden
from consortia.node.home import DEMO_ORGS
from tests.conftest import RunningNode, launch

CORE, T1, BANK, REG, T2, T3, FACTOR = (o["id"] for o in DEMO_ORGS)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    running = launch(tmp_path_factory.mktemp("scf-api") / "c", orgs=7, suite_name=suite_name,
                     config={"block_timeout_ms": 10})
    yield running
    running.stop()


def scf(node: RunningNode, who: str, *args: str) -> Any:
    """Run ``consortia scf ... --json`` as ``who``/admin and return the parsed output."""
    result = CliRunner().invoke(cli, ["scf", *args, "--dir", str(node.home), "--url", node.url,
                                      "--as", f"{who}/admin", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def scf_fails(node: RunningNode, who: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["scf", *args, "--dir", str(node.home), "--url", node.url, "--as", f"{who}/admin"])
    assert result.exit_code != 0, result.output
    return result.output


def test_lifecycle_through_the_cli_and_the_sdk(node: RunningNode, tmp_path: Path) -> None:
    for org in DEMO_ORGS:
        role = org["kind"] if org["kind"] != "member" else "supplier"
        scf(node, org["id"], "party", "register", "--role", role, "--uscc", org["uscc"], "--name", org["name"])
    line = scf(node, BANK, "credit", "grant", CORE, "50,000,000", "--expires", "+365d")["id"]
    invoice_file = tmp_path / "JL-INV-0417.pdf"
    invoice_file.write_bytes(b"%PDF-1.7 invoice JL-INV-0417 for 1,280,000.00 yuan")
    invoice = scf(node, T1, "doc", "register", "invoice", "JL-INV-0417", "--file", str(invoice_file),
                  "--amount", "1280000", "--counterparty", CORE)
    assert len(invoice["digest"]) == 64
    voucher = scf(node, CORE, "voucher", "issue", T1, "1280000.00", "--due", "+90d", "--line", line,
                  "--doc", invoice["id"], "--memo", "brake calipers")
    assert voucher["amount"] == 128_000_000 and voucher["status"] == "offered"
    assert [p["id"] for p in scf(node, T1, "inbox")["offered"]] == [voucher["id"]]
    scf(node, T1, "voucher", "accept", voucher["id"])
    transfer = scf(node, T1, "voucher", "transfer", voucher["id"], "--to", f"{T2}:500000", "--to", f"{T3}:80000.50")
    assert "NOT_RECEIVER" in scf_fails(node, FACTOR, "transfer", "answer", transfer["id"], "--accept")
    scf(node, T2, "transfer", "answer", transfer["id"], "--accept")
    done = scf(node, T3, "transfer", "answer", transfer["id"], "--accept")
    assert done["status"] == "completed"
    t3_piece = next(p for p in scf(node, T3, "holdings", T3)["pieces"])
    assert t3_piece["amount"] == 8_000_050 and t3_piece["tier"] == 2
    financing = scf(node, T3, "finance", "apply", t3_piece["id"], "--funder", FACTOR, "--kind", "factoring")
    approved = scf(node, FACTOR, "finance", "approve", financing["id"], "--rate", "5.6", "--fees", "100")
    assert approved["rate_bp"] == 560 and approved["advance"] < approved["face"]
    scf(node, FACTOR, "finance", "disburse", financing["id"])
    assert scf(node, FACTOR, "financed", FACTOR)["outstanding"] == 8_000_050
    assert scf(node, T2, "holdings", T2)["total"] == 50_000_000

    lineage = CliRunner().invoke(cli, ["scf", "voucher", "lineage", voucher["id"], "--dir", str(node.home),
                                       "--url", node.url, "--as", f"{REG}/admin"])
    assert lineage.exit_code == 0 and f"tier 2 {FACTOR}" in lineage.output and f"tier 2 {T2}" in lineage.output
    assert f"factoring by {FACTOR}" in lineage.output, lineage.output
    exposure = scf(node, BANK, "exposure", CORE)
    assert (exposure["outstanding"], exposure["financed"], exposure["limit"]) == (128_000_000, 8_000_050, 5_000_000_000)
    assert scf(node, REG, "overview")["financed_outstanding"] == 8_000_050

    # refused actions print their code and change nothing
    assert "NOT_HOLDER" in scf_fails(node, T2, "voucher", "transfer", t3_piece["id"], "--to", f"{T1}:1")
    assert "NOT_VISIBLE" in scf_fails(node, T2, "holdings", T1)
    assert "BAD_AMOUNT" in scf_fails(node, T1, "voucher", "transfer", voucher["id"], "--to", f"{T2}:0.001")
    assert "BAD_DATE" in scf_fails(node, CORE, "voucher", "issue", T1, "1", "--due", "soon", "--line", line,
                                   "--doc", invoice["id"])
    assert scf(node, T2, "holdings", T2)["total"] == 50_000_000

    # a short voucher through the SDK, settled through the CLI once due
    with Client.from_home(node.home, f"{CORE}/admin", node.url) as core, \
            Client.from_home(node.home, f"{T1}/admin", node.url) as t1:
        note = t1.call("scf", "register_document", {"kind": "delivery", "number": "JL-DN-1", "digest": "ab" * 32,
                                                    "algorithm": "sha-256", "amount": 10_000, "counterparty": CORE})
        due = int(time.time() * 1000) + 1200
        short = core.call("scf", "issue", {"to": T1, "amount": 10_000, "due_ms": due, "credit_line": line,
                                           "documents": [note["id"]]})
        t1.call("scf", "accept", {"voucher_id": short["id"]})
        with pytest.raises(Forbidden) as err:
            core.query("scf", "holdings", {"org": T1})
        assert err.value.code == "UNAUTHENTICATED"  # unsigned
        with pytest.raises(Forbidden):
            core.query("scf", "holdings", {"org": T1}, signed=True)
        time.sleep(max(0.0, (due - time.time() * 1000) / 1000) + 0.2)
    settled = scf(node, CORE, "voucher", "settle", short["id"])
    assert settled["payments"] == [{"piece": short["id"], "holder": T1, "payee": T1, "amount": 10_000}]
