"""The contract lifecycle by governance: install, call, upgrade with a migration, freeze, and every
refused proposal changing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.contracts.usercode import compute_code_hash, make_archive
from consortia.testing import ContractChain, read_contract

EXAMPLE = Path(__file__).parents[2] / "examples" / "warehouse-receipt"
C = "warehouse_receipt"
V1 = read_contract(EXAMPLE)
V2 = V1.replace('version = "1.0.0"', 'version = "1.1.0"').replace('''    @query
    def receipt(''', '''    def migrate(self, ctx: Context, from_version: str) -> None:
        ctx.put("schema", {"version": 2, "from": from_version})
        ctx.emit("Migrated", from_version=from_version)

    @query
    def schema(self, ctx: Context) -> Any:
        return ctx.get("schema")

    @query
    def receipt(''')


@pytest.fixture
def chain(suite_name: str) -> Iterator[ContractChain]:
    with ContractChain({"cosco-warehouse": "member", "steelco": "supplier", "ningbo-bank": "funder"},
                       suite=suite_name) as c:
        yield c


@pytest.fixture(scope="module")
def untouched(suite_name: str) -> Iterator[ContractChain]:
    """One chain for tests whose calls are all refused (so they change nothing)."""
    with ContractChain({"cosco-warehouse": "member", "steelco": "supplier", "ningbo-bank": "funder"},
                       suite=suite_name) as c:
        yield c


def params(chain: ContractChain, source: str, **override: object) -> dict[str, object]:
    archive = make_archive(source)
    name = "warehouse_receipt"
    version = "1.1.0" if "1.1.0" in source else "1.0.0"
    return {"name": name, "version": version, "archive": archive,
            "code_hash": compute_code_hash(chain.suite.hash, chain.suite.hash_name, archive), **override}


def test_install_call_upgrade_freeze(chain: ContractChain) -> None:
    record = chain.deploy(V1)
    assert record["version"] == "1.0.0" and record["source"] == V1
    assert record["code_hash"].startswith(chain.suite.hash_name + ":")
    assert record["approved_by"] == ["cosco-warehouse", "steelco"]  # a majority of three closed the vote
    receipt = chain.ok("cosco-warehouse", C, "issue", owner="steelco", lot="L1", goods="coil", quantity=5, unit="t")

    upgraded = chain.deploy(V2)
    assert (upgraded["version"], [h["version"] for h in upgraded["history"]]) == ("1.1.0", ["1.0.0"])
    assert chain.query(C, "schema") == {"version": 2, "from": "1.0.0"}  # the migration ran once, at install
    assert chain.query(C, "receipt", receipt_id=receipt["id"])["quantity"] == 5  # state stays
    old = chain.query("gov", "contract", name=C, version="1.0.0")
    assert old["source"] == V1 and old["shown_code_hash"] == record["code_hash"]

    chain.freeze(C)
    chain.refused("CONTRACT_FROZEN", "steelco", C, "pledge", receipt_id=receipt["id"], bank="ningbo-bank")
    chain.unfreeze(C)
    assert chain.ok("steelco", C, "pledge", receipt_id=receipt["id"], bank="ningbo-bank")["state"] == "pledged"
    listed = chain.query("gov", "contracts")
    assert [(c["name"], c["version"]) for c in listed] == [(C, "1.1.0")]


@pytest.mark.parametrize("override, source, code", [
    ({"code_hash": "sha-256:" + "00" * 32}, V1, "CODE_HASH_MISMATCH"),
    ({"version": "9.9"}, V1, "CONTRACT_MISMATCH"),
    ({"name": "kv"}, V1, "CONTRACT_EXISTS"),
    ({"name": "Bad Name"}, V1, "BAD_PARAMS"),
    ({"access": {"pledge": ["nobody"]}}, V1, "BAD_PARAMS"),
    ({"access": {"receipt": ["steelco"]}}, V1, "BAD_PARAMS"),  # a query cannot be restricted
    ({"extra": 1}, V1, "BAD_PARAMS"),
    ({}, V1.replace("from typing import Any", "import os\nfrom typing import Any"), "CONTRACT_REFUSED"),
])
def test_a_bad_deployment_is_refused_at_proposal(untouched: ContractChain, override: dict[str, object], source: str,
                                                 code: str) -> None:
    untouched.refused(code, "cosco-warehouse", "gov", "propose", action="install_contract",
                      params=params(untouched, source, **override))


def test_upgrades_name_an_installed_contract_and_a_new_version(chain: ContractChain) -> None:
    chain.refused("CONTRACT_NOT_FOUND", "steelco", "gov", "propose", action="upgrade_contract", params=params(chain, V2))
    chain.deploy(V1)
    chain.refused("CONTRACT_EXISTS", "steelco", "gov", "propose", action="install_contract", params=params(chain, V1))
    chain.refused("VERSION_EXISTS", "steelco", "gov", "propose", action="upgrade_contract", params=params(chain, V1))


def test_a_failing_migration_fails_the_proposal_and_installs_nothing(chain: ContractChain) -> None:
    chain.deploy(V1)
    broken = V2.replace('ctx.put("schema", {"version": 2, "from": from_version})',
                        'ctx.put("schema", 1)\n        require(False, refuse("NOPE", "cannot migrate"))')
    before = chain.snapshot()
    proposal = chain.govern("upgrade_contract", params(chain, broken))
    assert proposal["status"] == "failed" and "MIGRATION_FAILED" in proposal["outcome"]
    after = chain.snapshot()
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert all(k.startswith("sys/proposal/") for k in changed), changed  # only the proposal's own record
    assert chain.query("gov", "contract", name=C)["version"] == "1.0.0"


def test_a_proposal_receipt_names_the_source_by_size(chain: ContractChain) -> None:
    receipt = chain.call("steelco", "gov", "propose", action="install_contract", params=params(chain, V1))
    shown = receipt.result["params"]["archive"]["files"]["contract.py"]
    assert shown == f"{len(V1)} characters"
    whole = chain.query("gov", "proposal", proposal_id=receipt.result["id"])
    assert whole["params"]["archive"]["files"]["contract.py"] == V1


def test_installed_code_this_release_refuses_is_refused_as_unavailable(chain: ContractChain) -> None:
    """Should a later release's rules refuse code installed earlier, calls to it are rejected with
    a code (the node goes on) and listings leave it out, instead of a block failing to execute."""
    import sqlite3

    from consortia.contracts.usercode import make_archive
    from consortia.execution.executor import Executor
    from consortia.ledger.store import Store
    from consortia.node.node import default_contracts
    from consortia.types import codec

    record = chain.deploy(V1)
    chain.store.close()
    with sqlite3.connect(chain.path / "chain.db") as db:  # what an older release accepted
        db.execute("UPDATE state SET value = ? WHERE key = ?",
                   (codec.encode(make_archive(V1.replace("from typing import Any", "import os\nfrom typing import Any"))),
                    f"sys/code/{record['code_hash']}"))
    chain.store = Store(chain.path / "chain.db")
    chain.executor = Executor(chain.store, chain.suite, chain.genesis["chain_id"], default_contracts())
    receipt = chain.call("cosco-warehouse", C, "issue", owner="steelco", lot="L1", goods="coil", quantity=1, unit="t")
    assert (receipt.status, receipt.code) == ("rejected", "CONTRACT_UNAVAILABLE")
    assert chain.executor.installed_contracts() == []
    from consortia.errors import Revert

    with pytest.raises(Revert) as refused:
        chain.query(C, "holdings", owner="steelco")
    assert refused.value.code == "CONTRACT_UNAVAILABLE"
    assert chain.ok("steelco", "kv", "put", key="still", value="running") is None
