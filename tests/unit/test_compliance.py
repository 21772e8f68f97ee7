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


def test_sensitive_words_refuse_free_text_and_change_nothing(tmp_path: Path) -> None:
    c = Consortium(tmp_path / "c", orgs=4)
    chain = c.chain(tmp_path / "chain")
    words = ["赌博", "Casino"]
    bad = chain.run(f"{c.org_ids[0]}/admin", "gov", "propose",
                    {"action": "set_config", "params": {"key": "sensitive_words", "value": [""]}})
    assert bad.code == "BAD_CONFIG"
    assert chain.govern("set_config", {"key": "sensitive_words", "value": words})["status"] == "passed"
    before = chain.rows()
    for value in ({"memo": "线上赌博平台"}, {"items": [{"note": "the CASINO royale"}]}):
        receipt = chain.run(f"{c.org_ids[1]}/clerk", "kv", "put", {"key": "k", "value": value})
        assert (receipt.status, receipt.code) == ("rejected", "CONTENT_REFUSED"), receipt
        assert "args.value" in receipt.message
    assert chain.rows() == before
    assert chain.run(f"{c.org_ids[1]}/clerk", "kv", "put", {"key": "k", "value": {"memo": "brake calipers"}}).code == "OK"


def test_refused_content_is_in_the_audit_log(tmp_path: Path) -> None:
    from consortia.client.txbuild import build_tx

    c = Consortium(tmp_path / "c", orgs=1, config={"sensitive_words": ["forbidden"], "block_timeout_ms": 5})
    node = Node(c.genesis, tmp_path / "node")
    node.start()
    try:
        wallet = c.wallet(f"{c.org_ids[0]}/clerk")
        tx = build_tx(c.suite, wallet, c.chain_id, "kv", "put", {"key": "k", "value": "a forbidden word"})
        with pytest.raises(Exception) as refused:  # admission refuses it at once, with the same code
            node.submit([tx.to_wire()])
        assert getattr(refused.value, "code", "") == "CONTENT_REFUSED"
        [entry] = node.audit.entries()
        assert entry["kind"] == "content-refused" and entry["action"] == "kv.put"
        assert "forbidden" in entry["detail"]["reason"] and entry["detail"]["tx_id"] == tx.id.hex()
        assert node.store.height() == 0  # nothing reached the chain
    finally:
        node.stop()
