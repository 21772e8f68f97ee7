"""The trade finance and hosted-SME demo data, on an in-process node."""

from __future__ import annotations

from pathlib import Path

from consortia.node.demo import Seeder
from consortia.node.demo_trade import DECLARATION, SMES, seed_trade_demo
from consortia.node.home import DEMO_ORGS_FULL, init_consortium
from consortia.node.node import Node
from consortia.types import codec


def test_demo_finances_a_declaration_twice_refuses_a_third_pays_a_credit_and_hosts_smes(tmp_path: Path,
                                                                                          suite_name: str) -> None:
    home = tmp_path / "c"
    node = Node(init_consortium(home, orgs=len(DEMO_ORGS_FULL), suite_name=suite_name,
                                config={"block_timeout_ms": 10}), tmp_path / "node")
    node.start()
    try:
        parties = Seeder(node, home)
        for org in DEMO_ORGS_FULL[:4]:
            parties.scf(org["id"], "register_party", roles=[org["kind"]], uscc=org["uscc"], name=org["name"])
        made = seed_trade_demo(node, home)

        def state(key: str) -> dict:  # type: ignore[type-arg]
            found = node.store.state_read(key)
            assert found is not None, key
            return codec.decode(found.value)  # type: ignore[no-any-return]

        declaration = state(f"trade/decl/{DECLARATION}")
        assert declaration["drawn"] == 11_000_000 and declaration["value"] == 12_000_000
        assert [a["org"] for a in node.alerts.list(rule="over_quota")] == ["pudong-bank"]
        assert state(f"trade/lc/{made['credit']}")["status"] == "paid"
        first, second = made["smes"][:2]
        held = {p["holder"]: p["amount"] for p in (codec.decode(v) for k, v, *_ in node.store.state_items()
                                                  if k.startswith("scf/v/")) if p["status"] == "active"}
        assert held == {first: 68_000_00, second: 12_000_00} and len(made["smes"]) == len(SMES)
    finally:
        node.stop()
