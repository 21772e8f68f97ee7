"""Sealed traceability payloads across a replicated consortium (four nodes on NATS JetStream):
no node's disk holds a payload in clear, each party's own node opens it for its members, the
other nodes cannot, and a competitor sees nothing. Both crypto suites."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from consortia.apps.trace.capture import capture_epcis
from consortia.apps.trace.document import prepare_capture
from consortia.apps.trace.identifiers import compute_check_digit
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.trace.times import format_iso
from consortia.cli.main import cli
from consortia.client import Client
from consortia.errors import BadInput, Forbidden
from consortia.ledger.store import Store
from consortia.node.network import LocalNetwork

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs nats-server")]
SUPPLIER, BUYER, OUTSIDER, REGULATOR = "jinglian-parts", "hongqiao-auto", "pudong-bank", "sh-regulator"
SUPPLIER_PREFIX, BUYER_PREFIX = "6931234", "6935678"
SECRET_PO = "PO-HQ-2026-99173"
DL = "https://id.gs1.org"


def with_check(body: str) -> str:
    return body + compute_check_digit(body)


PART, WORKS, PLANT = with_check("0" + SUPPLIER_PREFIX + "00007"), with_check(SUPPLIER_PREFIX + "00001"), \
    with_check(BUYER_PREFIX + "00001")


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[LocalNetwork]:
    network = LocalNetwork(tmp_path_factory.mktemp("trace-net") / "n")
    network.create(orgs=4, servers=3, chain_id="trace-net", suite_name=suite_name, config={"block_timeout_ms": 30})
    network.up()
    yield network
    network.down()


def register(net: LocalNetwork) -> None:
    parties = {SUPPLIER: (["processor"], [SUPPLIER_PREFIX]), BUYER: (["processor", "brand_owner"], [BUYER_PREFIX]),
               OUTSIDER: (["other"], []), REGULATOR: (["regulator"], [])}
    for org, (roles, prefixes) in parties.items():
        with Client.from_home(net.home, f"{org}/admin", net.node(org).url) as c:
            c.call("trace", "register_party", {"roles": roles, "name": org, "company_prefixes": prefixes})
    runner = CliRunner()
    for org in parties:  # the CLI publishes the key `network create` made for each organisation
        result = runner.invoke(cli, ["trace", "sealing-key", "--as", f"{org}/admin", "--dir", str(net.home),
                                     "--url", net.node(org).url])
        assert result.exit_code == 0 and "published the sealing key" in result.output, result.output


def shipment() -> str:
    t = int(time.time() * 1000) - 3_600_000
    parts = [f"{DL}/01/{PART}/21/BC400-{n}" for n in range(3)]
    return dumps_exact({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": format_iso(t),
                        "epcisBody": {"eventList": [{
                            "type": "ObjectEvent", "eventTime": format_iso(t, "+08:00"), "eventTimeZoneOffset": "+08:00",
                            "epcList": parts, "action": "OBSERVE", "bizStep": "shipping",
                            "readPoint": {"id": f"{DL}/414/{WORKS}"},
                            "bizTransactionList": [{"type": "po", "bizTransaction": f"urn:x:{SECRET_PO}"}],
                            "quantityList": [{"epcClass": f"{DL}/01/{PART}", "quantity": Decimal("1250.75"),
                                              "uom": "KGM"}],
                            "destinationList": [{"type": "location", "destination": f"{DL}/414/{PLANT}"}]}]}})


def wait_everywhere(net: LocalNetwork, height: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(httpx.get(n.url + "/health", timeout=3).json()["height"] >= height for n in net.state.nodes):
            return
        time.sleep(0.2)
    raise AssertionError("the nodes did not all reach the capture's block")


def test_only_the_parties_nodes_open_a_sealed_payload(net: LocalNetwork) -> None:
    register(net)
    text = shipment()
    [event_id] = prepare_capture(text).ids
    with Client.from_home(net.home, f"{SUPPLIER}/clerk", net.node(SUPPLIER).url) as clerk:
        job = capture_epcis(clerk, text)  # sealed: the supplier published its key
        assert job["success"] and job["capturedCount"] == 1, job
        height = clerk.query("trace", "exists", {"event_id": event_id})["height"]
    wait_everywhere(net, height)

    for node in net.state.nodes:  # sealed at rest on every node, the parties' own included
        stored = b"".join(f.read_bytes() for f in sorted((net.home / "nodes" / node.org).glob("chain.db*")))
        store = Store(net.home / "nodes" / node.org / "chain.db")  # and as read back (compressed at rest, ADR 0028)
        try:
            stored += b"".join(value for _, value, _, _ in store.state_items())
            stored += b"".join(b"".join(store.get_block_bodies(h) or ()) for h in range(store.height() + 1))
        finally:
            store.close()
        assert SECRET_PO.encode() not in stored and b"1250.75" not in stored, node.org
        assert event_id.encode() in stored

    def read(who: str, at: str) -> dict[str, Any]:
        with Client.from_home(net.home, f"{who}/admin", net.node(at).url) as c:
            return c.epcis_event(event_id)

    for org in (SUPPLIER, BUYER, REGULATOR):  # each party's own node opens it for its members
        opened = read(org, org)
        assert opened["bizTransactionList"][0]["bizTransaction"].endswith(SECRET_PO), org
        assert opened["quantityList"][0]["quantity"] == 1250.75 and "consortia:sealed" not in opened
    elsewhere = read(BUYER, OUTSIDER)  # a party asking another organisation's node: the public part only
    assert elsewhere["consortia:sealed"] == "not-for-this-node"
    assert "bizTransactionList" not in elsewhere and elsewhere["quantityList"] == [{"epcClass": f"{DL}/01/{PART}"}]
    assert elsewhere["bizStep"] == "shipping" and elsewhere["epcList"]
    with pytest.raises(Forbidden) as hidden:
        read(OUTSIDER, OUTSIDER)
    assert hidden.value.code == "NOT_VISIBLE"
    with Client.from_home(net.home, f"{OUTSIDER}/admin", net.node(OUTSIDER).url) as c:  # but it can trace the parts
        [step] = c.query("trace", "history", {"id": f"{DL}/01/{PART}/21/BC400-1"}, signed=True)
        assert (step["id"], step["biz_step"], step["visible"]) == (event_id, "shipping", False) and "text" not in step


def test_sealing_to_a_party_without_a_key_is_refused_before_signing(net: LocalNetwork) -> None:
    """The directory names each place's owner, the regulators and their keys; a recipient with
    no key is named, and nothing is sent."""
    with Client.from_home(net.home, f"{BUYER}/clerk", net.node(BUYER).url) as clerk:
        directory = clerk.query("trace", "sealing_directory", {"places": [f"414/{PLANT}"]})
        assert directory["owners"] == {f"414/{PLANT}": BUYER} and REGULATOR in directory["regulators"]
        assert set(directory["keys"]) >= {SUPPLIER, BUYER, OUTSIDER, REGULATOR}
        height = clerk.chain()["height"]
        with pytest.raises(BadInput) as refused:
            capture_epcis(clerk, shipment(), share_with=["nobody-org"])
        assert refused.value.code == "NO_SEALING_KEY" and refused.value.details["orgs"] == ["nobody-org"]
        assert clerk.chain()["height"] == height


def test_a_malformed_sealed_capture_is_refused_whole_at_the_edge(net: LocalNetwork) -> None:
    with Client.from_home(net.home, f"{SUPPLIER}/clerk", net.node(SUPPLIER).url) as clerk:
        height = clerk.chain()["height"]
        bad = clerk.build("trace", "capture_sealed", {"events": [{"id": "x"}], "keys": [{}]})
        job = httpx.post(net.node(SUPPLIER).url + "/epcis/capture", json={"transactions": [bad.to_wire()]}, timeout=10)
        assert job.status_code == 400 and job.json()["error"]["code"] == "BAD_CAPTURE", job.text
        assert "sealed event" in job.json()["error"]["message"]
        assert clerk.chain()["height"] == height
