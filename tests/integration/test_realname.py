"""The real-name registry: digests on the chain, clear values with the organisation, enforcement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from consortia.client import Client
from consortia.errors import BadInput, Conflict, ConsortiaError, Forbidden, NotFound, Revert
from tests.unit.helpers import Consortium


def test_records_clear_values_and_who_may_read_them(live_node) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    common = ["--dir", str(live_node.home), "--url", live_node.url]
    made = runner.invoke(cli, ["realname", "register", "jinglian-parts/clerk", "--kind", "person", "--id-type",
                               "phone", "--value", "13800138000", *common, "--as", "jinglian-parts/admin"])
    assert made.exit_code == 0, made.output
    shown = runner.invoke(cli, ["realname", "show", "jinglian-parts/clerk", *common, "--as", "sh-regulator/inspector"])
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert found["value"] == "13800138000" and found["matches_chain"] is True
    with Client.from_home(live_node.home, "pudong-bank/admin", live_node.url) as other:
        with pytest.raises(Forbidden) as err:
            other.query("realname", "record", {"identity": "jinglian-parts/clerk"}, signed=True)
        assert err.value.code == "NOT_VISIBLE"
        with pytest.raises(Forbidden):
            other._request("GET", "/realname/clear", params={"identity": "jinglian-parts/clerk"}, signed=True)
        with pytest.raises(Revert) as own:
            other.call("realname", "register", {"identity": "jinglian-parts/clerk", "kind": "person",
                                                "id_type": "phone", "digest": "ab" * 32})
        assert own.value.code == "NOT_OWN_MEMBER"
    with Client.from_home(live_node.home, "jinglian-parts/admin", live_node.url) as admin:
        record = admin.query("realname", "record", {"identity": "jinglian-parts/clerk"}, signed=True)
        assert len(record["digest"]) == 64 and "13800138000" not in json.dumps(record)  # only the digest on chain
        with pytest.raises(Conflict) as mismatch:
            admin._request("POST", "/realname/clear", body={"identity": "jinglian-parts/clerk", "value": "139",
                                                            "salt": "00"}, signed=True)
        assert mismatch.value.code == "DIGEST_MISMATCH"
        with pytest.raises(NotFound):
            admin._request("GET", "/realname/clear", params={"identity": "jinglian-parts/nobody"}, signed=True)
        with pytest.raises(Revert) as bad_kind:
            admin.call("realname", "register", {"identity": "jinglian-parts/clerk", "kind": "robot",
                                                "id_type": "phone", "digest": "ab" * 32})
        assert bad_kind.value.code == "BAD_ARGS"
        with pytest.raises(BadInput):  # malformed before it is even signed: the SDK refuses a non-string
            admin.query("realname", "record", {"identity": 5}, signed=True)
    audit = runner.invoke(cli, ["audit", "export", *common, "--as", "sh-regulator/admin"])
    assert "realname.clear" in audit.output  # the regulator's read is on the record


def test_a_member_without_a_record_cannot_transact_where_required(tmp_path: Path) -> None:
    c = Consortium(tmp_path / "c", orgs=4)
    chain = c.chain(tmp_path / "chain")
    assert chain.govern("set_config", {"key": "require_real_name", "value": True})["status"] == "passed"
    clerk = f"{c.org_ids[1]}/clerk"
    refused = chain.run(clerk, "kv", "put", {"key": "k", "value": 1})
    assert (refused.status, refused.code) == ("rejected", "REAL_NAME_REQUIRED")
    chain.ok(f"{c.org_ids[1]}/admin", "realname", "register",
             {"identity": clerk, "kind": "person", "id_type": "resident_id", "digest": "cd" * 32})
    assert chain.run(clerk, "kv", "put", {"key": "k", "value": 1}).code == "OK"
    chain.ok(f"{c.org_ids[1]}/admin", "realname", "remove", {"identity": clerk})
    assert chain.run(clerk, "kv", "put", {"key": "k", "value": 2}).code == "REAL_NAME_REQUIRED"
    assert isinstance(ConsortiaError("x"), Exception)
