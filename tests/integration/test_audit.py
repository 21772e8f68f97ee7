"""The regulator's audit log: what is logged, who may export it, and that an edit is detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from consortia.client import Client
from consortia.errors import Forbidden


def test_admin_actions_and_regulator_reads_are_logged_and_exported(live_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with Client.from_home(live_node.home, "hongqiao-auto/admin", live_node.url) as admin:
        proposal = admin.call("gov", "propose", {"action": "freeze_contract", "params": {"name": "scf"},
                                                 "reason": "audit test"})
        admin.query("kv", "get", {"key": "audit/x"}, signed=True)  # not a regulator: not logged
        with pytest.raises(Forbidden) as err:
            admin._request("GET", "/audit", signed=True)
        assert err.value.code == "NOT_REGULATOR"
    with Client(live_node.url) as anonymous, pytest.raises(Forbidden) as anon:
        anonymous._request("GET", "/audit")
    assert anon.value.code == "UNAUTHENTICATED"
    with Client.from_home(live_node.home, "sh-regulator/inspector", live_node.url) as regulator:
        regulator.query("gov", "proposal", {"proposal_id": proposal["id"]}, signed=True)
        entries = regulator._request("GET", "/audit", signed=True).json()["entries"]
    actions = [(e["kind"], e["action"], e["actor"]) for e in entries]
    assert ("admin-action", "gov.propose", "hongqiao-auto/admin") in actions
    assert ("regulator-read", "gov.proposal", "sh-regulator/inspector") in actions
    assert not any(e["kind"] == "regulator-read" and e["org"] == "hongqiao-auto" for e in entries)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))


def test_exports_verify_offline_and_an_edit_is_found(live_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    common = ["--dir", str(live_node.home)]
    for fmt in ("json", "csv"):
        out = tmp_path / f"audit.{fmt}"
        result = runner.invoke(cli, ["audit", "export", "--format", fmt, "--out", str(out), *common,
                                     "--url", live_node.url, "--as", "sh-regulator/admin"])
        assert result.exit_code == 0, result.output
        checked = runner.invoke(cli, ["audit", "verify", str(out), *common])
        assert checked.exit_code == 0 and checked.output.startswith("OK:"), checked.output
    entries = json.loads((tmp_path / "audit.json").read_text())
    assert len(entries) >= 2
    edited = [dict(e) for e in entries]
    edited[0]["actor"] = "someone-else/admin"
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    result = runner.invoke(cli, ["audit", "verify", str(tmp_path / "edited.json"), *common])
    assert result.exit_code == 1 and "edited" in result.output
    (tmp_path / "dropped.json").write_text(json.dumps(entries[1:]))
    result = runner.invoke(cli, ["audit", "verify", str(tmp_path / "dropped.json"), *common])
    assert result.exit_code == 1 and "removed or reordered" in result.output
    lines = (tmp_path / "audit.csv").read_text().splitlines()
    (tmp_path / "edited.csv").write_text("\n".join([lines[0], lines[1].replace("gov.", "kv."), *lines[2:]]) + "\n")
    result = runner.invoke(cli, ["audit", "verify", str(tmp_path / "edited.csv"), *common])
    assert result.exit_code == 1 and "TAMPERED" in result.output
