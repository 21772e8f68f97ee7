"""A waybill on a replicated consortium (four nodes on NATS JetStream): each party signs through its
own node, every node computes the same waybill and the same receivable digest, and scf's check of
the waybill (a read of another contract's state) gives the same answer everywhere, on both suites."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from consortia.client import Client
from consortia.node.network import LocalNetwork

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs nats-server")]
CONSIGNOR, CARRIER, CONSIGNEE, REGULATOR = "hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator"
PLACE = {"name": "Jiading cross-dock", "city": "Shanghai", "country": "CN"}


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[LocalNetwork]:
    network = LocalNetwork(tmp_path_factory.mktemp("waybill-net") / "n")
    network.create(orgs=4, servers=3, chain_id="waybill-net", suite_name=suite_name, config={"block_timeout_ms": 30})
    network.up()
    yield network
    network.down()


def test_every_node_agrees_on_the_waybill_and_its_receivable(net: LocalNetwork) -> None:
    def send(org: str, method: str, args: dict[str, object], contract: str = "waybill") -> dict[str, object]:
        with Client.from_home(net.home, f"{org}/admin", net.node(org).url) as c:  # each party through its own node
            view = c.send(contract, method, args, final=True)
        assert view["receipt"]["status"] == "ok", view["receipt"]
        return view["receipt"]["result"]  # type: ignore[no-any-return]

    send(CONSIGNOR, "create", {"number": "WB-NET-1", "consignee": CONSIGNEE, "carriers": [CARRIER], "taking_over": PLACE,
                               "delivery_place": PLACE, "charges": [{"item": "carriage", "amount": 150_000}],
                               "goods": [{"packages": 12, "packing": "crate", "description": "brake calipers",
                                          "gross_weight_g": 180_000}]})
    send(CONSIGNOR, "hand_over", {"number": "WB-NET-1"})
    send(CARRIER, "take_over", {"number": "WB-NET-1", "packages": 12})
    send(CARRIER, "checkpoint", {"number": "WB-NET-1", "place": PLACE, "temperature_c10": 180})
    send(CARRIER, "hand_over", {"number": "WB-NET-1"})
    send(CONSIGNEE, "take_over", {"number": "WB-NET-1", "packages": 12})
    closed = send(CONSIGNEE, "close", {"number": "WB-NET-1"})
    views = []
    for org in (CONSIGNOR, CARRIER, CONSIGNEE, REGULATOR):
        with Client.from_home(net.home, f"{REGULATOR}/admin", net.node(org).url) as c:
            views.append(c.waybill("WB-NET-1"))
    assert all(v == views[0] for v in views) and views[0]["receivable"] == closed["receivable"]
    uscc = {o["id"]: o["uscc"] for o in json.loads((net.home / "genesis.json").read_text())["orgs"]}
    for org, role in ((CONSIGNOR, "core"), (CARRIER, "supplier")):
        send(org, "register_party", {"roles": [role], "uscc": uscc[org], "name": org}, contract="scf")
    rec = closed["receivable"]
    assert isinstance(rec, dict)
    doc = send(CARRIER, "register_document", {"kind": "waybill", "number": "WB-NET-1", "digest": rec["digest"],
                                              "algorithm": rec["algorithm"], "amount": rec["amount"],
                                              "counterparty": CONSIGNOR}, contract="scf")
    assert doc["id"] == f"{CARRIER}:waybill:WB-NET-1"
