"""The traceability demo as `consortia up --init` seeds it (pork and vegetables), served by a real node."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from consortia.client import Client
from consortia.node.demo_trace import (
    CLAMSHELL,
    DL,
    PORK_LOIN,
    REEFER,
    RETAILER,
    TOMATOES,
    VEG_LOTS,
    seed_trace_demo,
)
from consortia.node.home import DEMO_ORG_COUNT_WITH_TRACE, init_consortium, load_genesis
from consortia.node.node import Node
from tests.conftest import RunningNode, launch

Demo = tuple[RunningNode, dict[str, Any]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("trace-demo") / "c"
    init_consortium(home, orgs=DEMO_ORG_COUNT_WITH_TRACE)
    node = Node(load_genesis(home), home / "node")
    node.start()
    try:
        seeded = seed_trace_demo(node, home, validate=True)  # every document against the official schema too
    finally:
        node.stop()
    running = launch(home)  # resumes from the seeded data, as `consortia up` does after --init
    yield running, seeded
    running.stop()


def test_two_chains_thousands_of_events_one_alert_each_and_one_recall(demo: Demo) -> None:
    node, seeded = demo
    assert seeded["events"] >= 2000 and seeded["alerts"] == 2
    with Client.from_home(node.home, "sh-regulator/admin", node.url) as regulator:
        regulator.call("trace", "register_party", {"roles": ["regulator"], "name": "Shanghai Market Supervision (demo)"})
        alerts = {a["gtin"]: a for a in regulator.query("trace", "alerts", {}, signed=True)}
        assert [r["lot"] for r in regulator.query("trace", "recalls", {})] == [seeded["recalled_lot"]]
        assert regulator.query("trace", "stats", {})["events"] == seeded["events"]
    assert set(alerts) == {PORK_LOIN, CLAMSHELL}
    assert (alerts[CLAMSHELL]["value"], alerts[CLAMSHELL]["max"], alerts[CLAMSHELL]["place"]) == ("15.6", "13",
                                                                                                   f"414/{REEFER}")


def test_a_vegetables_package_shows_its_journey_from_greenhouse_to_shelf(demo: Demo) -> None:
    node, seeded = demo
    page = seeded["vegetables"]["consumer_page"]
    with httpx.Client(base_url=node.url, timeout=60) as http:
        journey = http.get(page, params={"format": "json"}).json()
        html = http.get(page, headers={"accept": "text/html"}).text
        warm = http.get(seeded["vegetables"]["warm_page"], headers={"accept": "text/html"}).text
    stages = [s["stage"] for s in journey["steps"]]
    assert stages[:3] == ["farm"] * 3 and stages[-1] == "shelf"  # three greenhouses' harvest lots went into it
    assert stages.index("processing") < stages.index("transport") < stages.index("storage") < stages.index("shelf")
    assert journey["steps"][-1]["step"] == "retail_selling" and journey["recall"] is None
    assert journey["product"]["name"] == "Green Valley cherry tomatoes, 250 g clamshell"
    assert all(p["verified"] for p in journey["proofs"].values())
    for text in ("Green Valley cherry tomatoes", "Green Valley greenhouse 2", "Lianhe refrigerated truck",
                 "Huaxin Mart fresh distribution centre", "Huaxin Mart Xujiahui", "✓ verified on chain"):
        assert text in html, text
    assert "outside" not in html and "Temperature 15.6°C" not in html
    assert "Temperature 9.7–15.6°C <span class=\"alert\">outside 7–13°C</span>" in warm


def test_harvest_lots_carry_their_ilmd_and_reach_both_stores(demo: Demo) -> None:
    node, _ = demo
    harvest_lot = f"{DL}/01/{TOMATOES}/10/{VEG_LOTS[0][:-1]}H2"
    with Client.from_home(node.home, "green-valley-farm/admin", node.url) as farm:
        found = farm.epcis_events({"MATCH_epcClass": harvest_lot, "eventType": "ObjectEvent"})
        forward = farm.query("trace", "forward", {"id": harvest_lot}, signed=True)
    [harvest] = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert {"gv": "https://greenvalley.example/epcis/"} in found["@context"]
    assert harvest["ilmd"]["cbvmda:lotNumber"] == f"{VEG_LOTS[0][:-1]}H2"
    assert harvest["ilmd"]["gv:pesticideTest"]["gv:result"] == "pass" and "gv:plot" in harvest["ilmd"]
    assert harvest["quantityList"][0]["uom"] == "KGM"
    packages = forward["packages"]
    assert len(packages) == 360 and {p["holder"] for p in packages} == {RETAILER}
    assert {p["last_place"]["name"] for p in packages} == {"Huaxin Mart Xujiahui", "Huaxin Mart Lujiazui"}
