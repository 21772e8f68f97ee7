"""The service's CAC filing record and sandbox chains."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from consortia.errors import BadInput
from consortia.execution.genesis import check_genesis
from consortia.node import Node
from consortia.node.home import init_consortium, load_genesis
from tests.unit.helpers import Consortium

FILING = {"filing_number": "沪网信备31010019960227001号", "service_name": "Hongqiao supply chain platform",
          "operator": "Hongqiao Automotive Group Co., Ltd."}


def test_a_sandbox_chain_is_marked_by_its_id_and_genesis(tmp_path: Path) -> None:
    genesis = init_consortium(tmp_path / "s", orgs=2, sandbox=True)
    assert genesis["chain_id"] == "sandbox-consortia-local" and genesis["sandbox"] is True
    assert init_consortium(tmp_path / "p", orgs=2)["sandbox"] is False
    for doc in ({**genesis, "chain_id": "consortia-local"}, {**genesis, "sandbox": False}, {**genesis, "sandbox": "yes"}):
        with pytest.raises(BadInput) as err:
            check_genesis(doc)
        assert err.value.code == "BAD_GENESIS"


def test_the_filing_record_is_in_the_chain_config_and_changes_by_vote(tmp_path: Path) -> None:
    c = Consortium(tmp_path / "c", orgs=4)
    chain = c.chain(tmp_path / "chain")
    assert chain.executor.query("gov", "config", {}, None)["filing"] == {}
    bad = chain.run(f"{c.org_ids[0]}/admin", "gov", "propose",
                    {"action": "set_config", "params": {"key": "filing", "value": {"filing_number": "x"}}})
    assert (bad.status, bad.code) == ("reverted", "BAD_CONFIG")
    assert chain.govern("set_config", {"key": "filing", "value": FILING})["status"] == "passed"
    assert chain.executor.query("gov", "config", {}, None)["filing"] == FILING


def test_init_and_status_show_filing_and_sandbox(tmp_path: Path) -> None:
    runner = CliRunner()
    home = tmp_path / "c"
    result = runner.invoke(cli, ["init", "--dir", str(home), "--orgs", "2", "--sandbox", "--filing-number",
                                 FILING["filing_number"], "--service-name", FILING["service_name"], "--operator",
                                 FILING["operator"], "--json"])
    assert result.exit_code == 0, result.output
    genesis = load_genesis(home)
    assert genesis["sandbox"] and genesis["config"]["filing"] == FILING
    partial = runner.invoke(cli, ["init", "--dir", str(tmp_path / "d"), "--filing-number", "x"])
    assert partial.exit_code == 2 and "needs --filing-number, --service-name and --operator" in partial.output
    node = Node(genesis, home / "node")
    try:
        from consortia.api.app import create_app  # noqa: F401 - the route reads the same config
        assert node.query("gov", "config", {})["filing"] == FILING
    finally:
        node.stop()


def test_data_written_before_the_sandbox_field_still_opens(tmp_path: Path) -> None:
    import sqlite3

    from consortia.types import codec

    genesis = init_consortium(tmp_path / "c", orgs=2)
    Node(genesis, tmp_path / "c" / "node").stop()
    old = {k: v for k, v in genesis.items() if k != "sandbox"}  # as a node stored it before the field existed
    with sqlite3.connect(tmp_path / "c" / "node" / "chain.db") as db:
        db.execute("UPDATE meta SET value=? WHERE key='genesis'", (codec.encode(old),))
    Node(genesis, tmp_path / "c" / "node").stop()
    other = init_consortium(tmp_path / "d", orgs=2)
    with pytest.raises(Exception, match="different genesis"):
        Node(other, tmp_path / "c" / "node")
