"""Trade finance and hosted SMEs end to end: a real node process, driven through the CLI, the
SDK and ``POST /members/import``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from consortia.client import Client
from consortia.errors import ConsortiaError
from tests.apps.trade_harness import (
    BANK_A,
    BANK_B,
    CUSTOMS,
    EXPORTER,
    IMPORTER,
    LC_BANK,
    OPERATOR,
    ORG_COUNT,
    REG,
    USCC,
    sme_uscc,
)
from tests.conftest import RunningNode, launch

NUMBER = "223320260000123456"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    running = launch(tmp_path_factory.mktemp("trade-api") / "c", orgs=ORG_COUNT, suite_name=suite_name,
                     config={"block_timeout_ms": 10})
    yield running
    running.stop()


def cli_json(node: RunningNode, who: str, *args: str) -> Any:
    who = who if "/" in who else f"{who}/admin"
    result = CliRunner().invoke(cli, [*args, "--dir", str(node.home), "--url", node.url, "--as", who, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cli_fails(node: RunningNode, who: str, *args: str, code: int = 6) -> str:
    who = who if "/" in who else f"{who}/admin"
    result = CliRunner().invoke(cli, [*args, "--dir", str(node.home), "--url", node.url, "--as", who])
    assert result.exit_code == code, result.output
    return result.output


def test_declaration_two_banks_over_quota_alert_and_a_credit_paid(node: RunningNode, tmp_path: Path) -> None:
    form = tmp_path / "declaration.pdf"
    form.write_bytes(b"%PDF customs declaration 223320260000123456")
    decl = cli_json(node, CUSTOMS, "trade", "declare", NUMBER, "--exporter", EXPORTER, "--uscc", USCC[EXPORTER],
                    "--line", "8708301000:brake caliper assemblies:2000:set:100000.00",
                    "--line", "8708309990:caliper brackets:500:pcs:20,000.00", "--currency", "USD",
                    "--port", "2248 Yangshan", "--date", "2026-01-05", "--file", str(form))
    assert decl["value"] == 12_000_000 and len(decl["digest"]) == 64
    assert "NOT_CUSTOMS" in cli_fails(node, BANK_A, "trade", "declare", "223320260000123457", "--exporter", EXPORTER,
                                      "--uscc", USCC[EXPORTER], "--line", "870830:x:1:set:1", "--currency", "USD",
                                      "--port", "2248", "--date", "2026-01-05")
    first = cli_json(node, BANK_A, "trade", "draw", NUMBER, "426,150.00", "--currency", "CNY", "--rate", "7.1025")
    assert first["counted"] == 6_000_000
    cli_json(node, BANK_B, "trade", "draw", NUMBER, "50000", "--currency", "USD")
    out = cli_fails(node, BANK_A, "trade", "draw", NUMBER, "10000.01", "--currency", "USD")
    assert "QUOTA_EXCEEDED" in out
    assert "BAD_AMOUNT" in cli_fails(node, BANK_A, "trade", "draw", NUMBER, "1.001", "--currency", "USD", code=3)
    shown = cli_json(node, REG, "trade", "show", NUMBER)
    assert shown["left"] == 1_000_000 and len(shown["draws"]) == 2
    with Client.from_home(node.home, f"{REG}/admin", node.url) as c:
        alerts = c._request("GET", "/alerts", params={"rule": "over_quota"}, signed=True).json()["alerts"]
    assert [a["org"] for a in alerts] == [BANK_A] and alerts[0]["detail"]["code"] == "QUOTA_EXCEEDED"
    # A documentary credit: applied for by the importer, issued by its bank, documents presented, paid.
    applied = cli_json(node, IMPORTER, "trade", "credit", "apply", "--bank", LC_BANK, "--beneficiary", EXPORTER,
                       "--amount", "50000.00", "--currency", "USD", "--latest-shipment", "2099-03-31",
                       "--expiry", "2099-04-30", "--doc", "bill_of_lading", "--doc", "commercial_invoice",
                       "--doc", "customs_declaration", "--goods", "brake calipers, CIF Hamburg")
    cli_json(node, LC_BANK, "trade", "credit", "issue", applied["id"])
    docs = []
    for kind in ("bill_of_lading", "commercial_invoice", "customs_declaration"):
        (tmp_path / kind).write_bytes(kind.encode())
        docs += ["--doc", f"{kind}={tmp_path / kind}"]
    presented = cli_json(node, EXPORTER, "trade", "credit", "present", applied["id"], "--amount", "50000.00",
                         "--shipped", "2026-01-04", *docs, "--declaration", NUMBER)
    assert presented["discrepancies"] == []
    assert "NOT_ISSUING_BANK" in cli_fails(node, EXPORTER, "trade", "credit", "accept", presented["id"])
    cli_json(node, LC_BANK, "trade", "credit", "accept", presented["id"])
    paid = cli_json(node, LC_BANK, "trade", "credit", "pay", presented["id"])
    assert paid["credit"]["status"] == "paid"
    assert cli_json(node, REG, "trade", "overview")["credits"][0]["status"] == "paid"


def test_members_import_from_csv_and_the_smes_act_in_their_own_name(node: RunningNode, tmp_path: Path) -> None:
    requested = cli_json_plain(["members", "csr", OPERATOR, "sme-own", "--crypto",
                                "sm" if node.genesis["suite"] == "sm2-sm3" else "ed25519", "--out", str(tmp_path / "own")])
    assert "request.csr" in requested
    (tmp_path / "sme.csv").write_text("name,uscc,company,legal_rep,csr\n"
                                      f"sme-a,{sme_uscc(100)},Hangzhou A Parts Co.,Zhang San,\n"
                                      f"sme-own,{sme_uscc(101)},Hangzhou Own Key Co.,Li Si,{tmp_path / 'own' / 'request.csr'}\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"name,uscc,company,legal_rep\nsme-b,{sme_uscc(102)},B Co.,Wang Wu\nsme-c,91310000MA1HQ2026Y,C,D\n"
                   f"sme-b,{sme_uscc(103)},B again,X\n")
    out = cli_fails(node, OPERATOR, "members", "import", str(bad), code=3)
    assert f"{bad}:3: uscc" in out and f"{bad}:4: name repeats line 2" in out
    assert not (node.home / "orgs" / OPERATOR / "members" / "sme-b").exists()
    summary = cli_json(node, OPERATOR, "members", "import", str(tmp_path / "sme.csv"), "--out", str(tmp_path / "keys"))
    assert summary["count"] == 2 and summary["made_keys"] == 1 and summary["certified_requests"] == 1
    assert (tmp_path / "keys" / "sme-a.pem").read_text().count("-----BEGIN") == 2
    assert "PRIVATE KEY" not in (tmp_path / "keys" / "sme-own.pem").read_text()
    assert [m["identity"] for m in cli_json(node, REG, "members", "list", OPERATOR)] == [f"{OPERATOR}/sme-a",
                                                                                         f"{OPERATOR}/sme-own"]
    assert "already has a key" in cli_fails(node, OPERATOR, "members", "import", str(tmp_path / "sme.csv"), code=3)
    # The SME signs with its own key (the home layout the import wrote) and sees its own inbox.
    assert cli_json(node, f"{OPERATOR}/sme-a", "scf", "inbox")["org"] == f"{OPERATOR}/sme-a"
    assert cli_json(node, f"{OPERATOR}/admin", "scf", "inbox")["org"] == OPERATOR


def cli_json_plain(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_members_import_over_rest(node: RunningNode) -> None:
    rows = [{"name": f"rest-{i}", "uscc": sme_uscc(200 + i), "company": f"REST SME {i}", "legal_rep": f"Rep {i}"}
            for i in range(3)]
    with Client.from_home(node.home, f"{OPERATOR}/admin", node.url) as c:
        with pytest.raises(ConsortiaError) as bad:
            c._request("POST", "/members/import", body={"rows": [*rows, {**rows[0], "uscc": "x"}]}, signed=True)
        assert bad.value.code == "BAD_ROWS" and [r["line"] for r in bad.value.details["rows"]] == [4, 4]
        for body in ({"rows": "x"}, {"rows": [{"name": 1}]}, {"csv": "a", "rows": []}, []):
            with pytest.raises(ConsortiaError) as wrong:
                c._request("POST", "/members/import", body=body, signed=True)
            assert wrong.value.code == "BAD_INPUT"
        done = c._request("POST", "/members/import", body={"rows": rows}, signed=True).json()
        assert done["count"] == 3 and set(done["key_files"]) == {f"{OPERATOR}/rest-{i}" for i in range(3)}
        with pytest.raises(ConsortiaError) as again:
            c._request("POST", "/members/import", body={"rows": rows[:1]}, signed=True)
        assert again.value.code == "BAD_ROWS"  # the key already exists in the operator's directory
    with Client.from_home(node.home, f"{OPERATOR}/clerk", node.url) as c:
        with pytest.raises(ConsortiaError) as clerk:
            c._request("POST", "/members/import", body={"rows": rows}, signed=True)
        assert clerk.value.code == "NOT_ADMIN"
    unsigned = httpx.post(f"{node.url}/members/import", json={"rows": rows})
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "UNAUTHENTICATED"
