"""A member's contract from `consortia contract new` to calls on a real node: check, propose, review,
vote, call through `tx submit` and `query`, upgrade, freeze, and the code read back after a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from tests.conftest import RunningNode, launch

VOTERS = ("pudong-bank", "sh-regulator")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    running = launch(tmp_path_factory.mktemp("contracts") / "consortium", suite_name=suite_name,
                     config={"block_timeout_ms": 20})
    yield running
    running.stop()


def run(node: RunningNode, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, [*args, "--dir", str(node.home), "--url", node.url])
    assert result.exit_code == code, result.output
    return result.output


def passes(node: RunningNode, opened: str) -> dict[str, object]:
    proposal = json.loads(opened)
    for org in VOTERS:
        if proposal["status"] == "open":
            proposal = json.loads(run(node, "gov", "vote", proposal["id"], "--yes", "--as", f"{org}/admin", "--json"))
    assert proposal["status"] == "passed", proposal
    return proposal  # type: ignore[no-any-return]


def test_write_check_propose_vote_call_upgrade_freeze(node: RunningNode, tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["contract", "new", "fleet-lease", "--into", str(tmp_path / "fleet-lease")])
    assert made.exit_code == 0, made.output
    folder = tmp_path / "fleet-lease"
    checked = runner.invoke(cli, ["contract", "check", str(folder)])
    assert checked.exit_code == 0 and "ok: fleet_lease 0.1.0, 2 methods, 1 queries" in checked.output

    opened = run(node, "contract", "propose", str(folder), "--restrict", "create=hongqiao-auto",
                 "--as", "hongqiao-auto/admin", "--json")
    proposal_id = json.loads(opened)["id"]
    review = run(node, "contract", "show", "--proposal", proposal_id)
    assert "(matches)" in review and "class FleetLease(Contract):" in review and "create: only hongqiao-auto" in review
    passes(node, opened)

    created = run(node, "tx", "submit", "fleet_lease", "create", '{"item_id": "truck-7", "amount": 250000}',
                  "--as", "hongqiao-auto/clerk", "--json")
    assert json.loads(created)["receipt"]["status"] == "ok"
    restricted = run(node, "tx", "submit", "fleet_lease", "create", '{"item_id": "truck-8", "amount": 1}',
                     "--as", "jinglian-parts/admin", code=3)
    assert "METHOD_RESTRICTED" in restricted
    item = json.loads(run(node, "query", "fleet_lease", "item", '{"item_id": "truck-7"}'))
    assert item["owner"] == "hongqiao-auto" and item["amount"] == 250000

    listed = httpx.get(f"{node.url}/contracts").json()["contracts"]
    mine = next(c for c in listed if c["name"] == "fleet_lease")
    assert mine["origin"] == "member" and mine["version"] == "0.1.0" and mine["access"] == {"create": ["hongqiao-auto"]}
    assert {e["name"]: e["kind"] for e in mine["entries"]} == {"create": "method", "transfer": "method", "item": "query"}
    assert next(c for c in listed if c["name"] == "kv")["origin"] == "built-in"

    source = (folder / "contract.py").read_text()
    (folder / "contract.py").write_text(source.replace('version = "0.1.0"', 'version = "0.2.0"'))
    upgraded = run(node, "contract", "propose", str(folder), "--as", "hongqiao-auto/admin", "--json")
    assert json.loads(upgraded)["action"] == "upgrade_contract"
    passes(node, upgraded)
    assert "fleet_lease              0.2.0" in run(node, "contract", "list")
    assert '0.1.0  code hash' in run(node, "contract", "show", "fleet_lease", "--version", "0.1.0")
    run(node, "tx", "submit", "fleet_lease", "create", '{"item_id": "truck-8", "amount": 1}',
        "--as", "jinglian-parts/admin")  # 0.2.0 was approved without the restriction
    passes(node, run(node, "contract", "freeze", "fleet_lease", "--as", "hongqiao-auto/admin", "--json"))
    frozen = run(node, "tx", "submit", "fleet_lease", "transfer", '{"item_id": "truck-7", "to": "pudong-bank"}',
                 "--as", "hongqiao-auto/admin", code=3)
    assert "CONTRACT_FROZEN" in frozen and "FROZEN" in run(node, "contract", "list")
    passes(node, run(node, "contract", "unfreeze", "fleet_lease", "--as", "hongqiao-auto/admin", "--json"))

    node.restart()  # the code is read back from the chain
    moved = run(node, "tx", "submit", "fleet_lease", "transfer", '{"item_id": "truck-7", "to": "pudong-bank"}',
                "--as", "hongqiao-auto/admin", "--json")
    assert json.loads(moved)["receipt"]["result"]["owner"] == "pudong-bank"
    node.stop()  # replaying the block store re-runs every install and call: the same state
    verified = CliRunner().invoke(cli, ["node", "verify", "--dir", str(node.home), "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["state_matches"] is True, verified.output
    node.restart()


def test_a_refused_source_names_its_lines_and_is_never_proposed(node: RunningNode, tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nimport random\n")
    result = CliRunner().invoke(cli, ["contract", "check", str(bad)])
    assert result.exit_code == 6
    assert f"{bad}:1: import os" in result.output and f"{bad}:2: import random" in result.output
    before = json.loads(run(node, "query", "gov", "proposals"))
    refused = run(node, "contract", "propose", str(bad), "--as", "hongqiao-auto/admin", code=6)
    assert "CONTRACT_REFUSED" in refused and json.loads(run(node, "query", "gov", "proposals")) == before
    missing = run(node, "contract", "show", "no_such_contract", code=4)
    assert "CONTRACT_NOT_FOUND" in missing
