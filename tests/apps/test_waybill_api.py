"""Waybills end to end: the demo as `consortia up --init` seeds it, served by a real node process,
read through the REST routes and the SDK, the consumer journey with the waybill's steps, and a
lifecycle driven through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from consortia.apps.trace.schema import validate_document
from consortia.cli.main import cli
from consortia.client import Client
from consortia.errors import Forbidden
from consortia.node.demo_trace import PROCESSOR, RETAILER, _Recorder, _register
from consortia.node.demo_waybill import BANK, CARRIER1, CARRIER2, NUMBER, seed_waybill_demo
from consortia.node.home import DEMO_ORG_COUNT_FULL, init_consortium, load_genesis
from consortia.node.node import Node
from tests.conftest import RunningNode, launch

Demo = tuple[RunningNode, dict[str, Any]]
REGULATOR, OUTSIDER = "sh-regulator", "hengtai-castings"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("waybill-demo") / "c"
    init_consortium(home, orgs=DEMO_ORG_COUNT_FULL, suite_name=suite_name, config={"block_timeout_ms": 10})
    node = Node(load_genesis(home), home / "node")
    node.start()
    try:
        recorder = _Recorder(node, home)
        _register(recorder, {o["id"] for o in node.genesis["orgs"]})  # the trace parties, places and products
        seeded = seed_waybill_demo(node, home)
    finally:
        node.stop()
    running = launch(home)
    yield running, seeded
    running.stop()


def client(node: RunningNode, org: str) -> Client:
    return Client.from_home(node.home, f"{org}/admin", node.url)


def test_the_demo_waybill_was_delivered_closed_and_financed(demo: Demo) -> None:
    node, seeded = demo
    with client(node, CARRIER1) as huafeng:
        wb = huafeng.waybill(NUMBER)
        assert (wb["status"], wb["custodian"], wb["packages"]) == ("closed", RETAILER, 80)
        assert [s["kind"] for s in wb["step_list"]] == ["pickup", "checkpoint", "checkpoint", "checkpoint", "handoff",
                                                        "checkpoint", "delivery"]
        assert [w["number"] for w in huafeng.waybills("closed")] == [NUMBER]
        receivable = huafeng.waybill_receivable(NUMBER)
        assert receivable["amount"] == 7_700_00 and receivable["carrier"] == CARRIER1
    with client(node, BANK) as bank:
        book = bank.query("scf", "financed_by", {"funder": BANK}, signed=True)
        assert [f["status"] for f in book["financings"]] == ["disbursed"]
        assert book["financings"][0]["id"] == seeded["financing"]
        assert bank.waybill(NUMBER)["receivable"]["digest"] == receivable["digest"]  # a funder sees what it finances
    with client(node, REGULATOR) as regulator:
        overview = regulator.query("waybill", "overview", {}, signed=True)
        assert overview["by_status"]["closed"] == 1
    with client(node, OUTSIDER) as outsider, pytest.raises(Forbidden):
        outsider.waybill(NUMBER)
    assert httpx.get(f"{node.url}/waybills/{NUMBER}").status_code == 403
    assert httpx.get(f"{node.url}/waybills").json()["error"]["code"] == "UNAUTHENTICATED"


def test_the_consumer_journey_shows_the_waybill_steps_verified(demo: Demo) -> None:
    node, seeded = demo
    journey = httpx.get(node.url + seeded["consumer_page"], params={"format": "json"}).json()
    kinds = [(s.get("source", "trace"), s["step"]) for s in journey["steps"]]
    assert kinds == [("trace", "commissioning"), ("trace", "packing"), ("waybill", "shipping"),
                     ("waybill", "transporting"), ("waybill", "transporting"), ("waybill", "transporting"),
                     ("waybill", "accepting"), ("waybill", "transporting"), ("waybill", "receiving"),
                     ("trace", "unpacking"), ("trace", "stocking")]
    assert all(journey["proofs"][s["event"]]["verified"] for s in journey["steps"]), journey["proofs"]
    waybill_steps = [s for s in journey["steps"] if s.get("source") == "waybill"]
    assert {s["by"] for s in waybill_steps} == {"Shanghai Huafeng Cold Chain Logistics Co., Ltd.",
                                                 "Shenzhen Yida Express Co., Ltd.", "Shanghai Huaxin Supermarket Co., Ltd."}
    assert waybill_steps[1]["sensors"] == [{"type": "Temperature", "value": "2.1", "uom": "CEL"}]
    assert not any("charges" in json.dumps(s) for s in waybill_steps)
    html = httpx.get(node.url + seeded["consumer_page"], headers={"accept": "text/html"}).text
    assert "Shanghai Huafeng Cold Chain" in html and "11 of 11 steps verified" in html
    # The same steps, as EPCIS 2.0 events with the waybill as business transaction: valid, and the
    # journey names each by the event's hash ID.
    with client(node, CARRIER2) as yida:
        document = yida.waybill_epcis(NUMBER)
    events = validate_document(document)
    assert [e["bizStep"] for e in events] == ["shipping", "transporting", "transporting", "transporting", "accepting",
                                              "transporting", "receiving"]
    assert events[0]["bizTransactionList"] == [{"type": "bol", "bizTransaction": f"urn:consortia:waybill:{NUMBER}"}]
    assert [e["eventID"] for e in events] == [s["event"] for s in waybill_steps]


def test_the_printable_note(demo: Demo) -> None:
    node, seeded = demo
    with client(node, PROCESSOR) as lianhe:
        page = lianhe._request("GET", seeded["note"], signed=True).text
    assert f"Consignment note {NUMBER}" in page and "7,700.00" in page and "Yida Express" in page


def cli_json(node: RunningNode, who: str, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["waybill", *args, "--dir", str(node.home), "--url", node.url,
                                      "--as", f"{who}/admin", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cli_fails(node: RunningNode, who: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["waybill", *args, "--dir", str(node.home), "--url", node.url, "--as", f"{who}/admin"])
    assert result.exit_code != 0, result.output
    return result.output


def test_a_lifecycle_through_the_cli(demo: Demo, tmp_path: Path) -> None:
    node, _ = demo
    spec = tmp_path / "wb.json"
    spec.write_text(json.dumps({
        "number": "WB-CLI-1", "consignee": RETAILER, "carriers": [CARRIER2], "goods": [
            {"packages": 12, "packing": "carton", "description": "frozen dumplings", "gross_weight_g": 96_000}],
        "taking_over": {"name": "Lianhe plant", "city": "Nanchang"}, "delivery_place": {"name": "Huaxin DC"},
        "charges": [{"item": "carriage", "amount": 1_200_00}], "temperature": {"min_c10": -250, "max_c10": -180}}))
    assert cli_json(node, PROCESSOR, "create", str(spec))["status"] == "created"
    evidence = tmp_path / "cert.pdf"
    evidence.write_bytes(b"%PDF-1.7 certificate")
    assert len(cli_json(node, PROCESSOR, "attach", "WB-CLI-1", "certificate", "--file", str(evidence))["documents"]) == 1
    cli_json(node, PROCESSOR, "hand-over", "WB-CLI-1")
    assert "PACKAGE_MISMATCH" in cli_fails(node, CARRIER2, "take-over", "WB-CLI-1", "--packages", "11")
    taken = cli_json(node, CARRIER2, "take-over", "WB-CLI-1", "--packages", "11", "--exception", "shortage:one carton short")
    assert taken["packages"] == 11
    step = cli_json(node, CARRIER2, "checkpoint", "WB-CLI-1", "--place", "G60 Jinhua", "--temp", "-15.5")
    assert step["excursion"] and step["temperature_c10"] == -155
    assert "NOT_CUSTODIAN" in cli_fails(node, CARRIER1, "exception", "WB-CLI-1", "damage", "0", "x")
    cli_json(node, CARRIER2, "exception", "WB-CLI-1", "damage", "0", "one carton dented")
    cli_json(node, CARRIER2, "hand-over", "WB-CLI-1")
    cli_json(node, RETAILER, "take-over", "WB-CLI-1", "--packages", "11", "--reservation", "carton dented")
    cli_json(node, RETAILER, "dispute", "WB-CLI-1", "thawed on arrival", "--file", str(evidence))
    assert cli_json(node, CARRIER2, "note", "WB-CLI-1", "reefer log shows -15.5 °C once")["status"] == "disputed"
    shown = cli_json(node, REGULATOR, "show", "WB-CLI-1")
    assert [s["kind"] for s in shown["step_list"]] == ["pickup", "checkpoint", "delivery"]
    assert "WB-CLI-1" in [w["number"] for w in cli_json(node, CARRIER2, "list")]
    assert "NO_RECEIVABLE" in cli_fails(node, CARRIER2, "receivable", "WB-CLI-1", "--register")
    document = cli_json(node, CARRIER2, "epcis", "WB-CLI-1")
    assert document["epcisBody"]["eventList"] == []  # no SSCC-labelled goods on this one
    with client(node, REGULATOR) as regulator:  # the regulator's alerts name each risk
        alerts = regulator._request("GET", "/alerts", params={"limit": 1000}, signed=True).json()["alerts"]
    raised = [(a["rule"], a["detail"].get("kind")) for a in alerts if a["detail"].get("number") == "WB-CLI-1"]
    assert raised == [("waybill_exception", "shortage"), ("waybill_temperature", None), ("waybill_exception", "damage"),
                      ("waybill_disputed", None)]
    second = json.loads(spec.read_text()) | {"number": "WB-CLI-2"}
    spec.write_text(json.dumps(second))
    cli_json(node, PROCESSOR, "create", str(spec))
    cli_json(node, PROCESSOR, "hand-over", "WB-CLI-2", "--note", "dock 4")
    assert cli_json(node, CARRIER2, "cancel-handover", "WB-CLI-2", "--reason", "no reefer free")["pending"] is None
    assert cli_json(node, PROCESSOR, "cancel", "WB-CLI-2", "--reason", "order moved")["status"] == "cancelled"
    assert "NOT_DELIVERED" in cli_fails(node, RETAILER, "close", "WB-CLI-2")
