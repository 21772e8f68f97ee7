"""Traceability end to end: a real node process, driven through the REST API, the CLI and a browser's view."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from consortia.apps.trace.capture import capture_epcis
from consortia.apps.trace.document import prepare_capture
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.trace.schema import SchemaError
from consortia.cli.main import cli
from consortia.client import Client
from consortia.errors import Conflict, Forbidden
from consortia.identity.read_auth import HEADER, sign_read
from consortia.node.home import DEMO_ORG_COUNT_WITH_TRACE
from tests.apps.test_trace_harness import (
    CONTEXT,
    FARM,
    LOIN,
    PROC,
    REG,
    SHOP,
    STORE,
    document,
    event,
    loin,
    place,
    with_check,
)
from tests.conftest import RunningNode, launch

TOKEN = "s3cret-gateway-token"
EXAMPLES = Path(__file__).resolve().parents[1] / "vectors" / "epcis-2.0" / "JSON"  # vendored official examples


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONSORTIA_EPCIS_GATEWAY", f"{PROC}/clerk")
        env.setenv("CONSORTIA_EPCIS_TOKEN", TOKEN)
        running = launch(tmp_path_factory.mktemp("trace-api") / "c", orgs=DEMO_ORG_COUNT_WITH_TRACE, suite_name=suite_name,
                         config={"block_timeout_ms": 10})
    with Client.from_home(running.home, f"{PROC}/admin", running.url) as admin:
        admin.call("trace", "register_party", {"roles": ["processor", "brand_owner"], "name": "Lianhe Foods",
                                               "company_prefixes": ["6925678"]})
    yield running
    running.stop()


def run(node: RunningNode, who: str | None, *args: str, ok: bool = True) -> Any:
    """``consortia trace ...`` against the node; parsed JSON when ``ok``, the output otherwise."""
    identity = ["--as", f"{who}/admin"] if who else []
    result = CliRunner().invoke(cli, ["trace", *args, "--dir", str(node.home), "--url", node.url, *identity]
                                + (["--json"] if ok else []))
    assert (result.exit_code == 0) is ok, result.output
    return json.loads(result.output) if ok else result.output


def offline(*args: str) -> Any:
    result = CliRunner().invoke(cli, ["trace", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def signed(node: RunningNode, who: str, method: str, path: str, body: bytes = b"") -> dict[str, str]:
    with Client.from_home(node.home, who, node.url) as c:
        return {HEADER: sign_read(c.wallet, c.suite.hash, c.chain_id, method, path, body)}  # type: ignore[arg-type]


def poll(http: httpx.Client, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = http.get(location).json()
        if not job["running"] or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_farm_to_shelf_through_the_cli_rest_and_consumer_page(node: RunningNode, tmp_path: Path) -> None:
    run(node, FARM, "party", "register", "--role", "farm", "--role", "brand_owner", "--name", "Green Valley Farm",
        "--prefix", "6921234")
    run(node, PROC, "party", "register", "--role", "processor", "--role", "brand_owner", "--name", "Lianhe Foods",
        "--prefix", "6925678")
    run(node, SHOP, "party", "register", "--role", "retailer", "--name", "Huaxin Mart", "--prefix", "6929999")
    run(node, REG, "party", "register", "--role", "regulator", "--name", "Regulator")
    run(node, SHOP, "location", "register", STORE, "--name", "Huaxin Xujiahui", "--kind", "shelf", "--city", "Shanghai")
    run(node, PROC, "product", "register", LOIN, "--name", "Pork loin 500 g", "--range", "Temperature:-1:4:CEL")
    assert "NOT_BRAND_OWNER" in run(node, SHOP, "product", "register", LOIN, "--name", "x", ok=False)
    assert {p["org"] for p in run(node, None, "party", "list")} >= {FARM, PROC, SHOP, REG}
    assert run(node, None, "location", "list")[0]["name"] == "Huaxin Xujiahui"
    assert run(node, None, "product", "list")[0]["gtin"] == LOIN

    t = int(time.time() * 1000) - 86_400_000
    items = [loin("API1", n) for n in range(1, 4)]
    pallet = "urn:epc:id:sscc:6925678.3000000077"
    made = tmp_path / "made.jsonld"
    made.write_text(document([
        event("ObjectEvent", t, epcList=items, action="ADD", bizStep="commissioning", readPoint=place("6925678000012"),
              ilmd={"cbvmda:lotNumber": "API1"}),
        event("AggregationEvent", t + 60_000, parentID=pallet, childEPCs=items, action="ADD", bizStep="packing"),
        event("ObjectEvent", t + 120_000, epcList=[pallet], action="OBSERVE", bizStep="transporting",
              sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": Decimal("9.5"), "uom": "CEL"}]}])]))
    job = run(node, PROC, "capture", str(made))
    assert (job["running"], job["success"], job["capturedCount"]) == (False, True, 3)
    assert run(node, PROC, "job", job["captureID"])["capturedCount"] == 3
    assert offline("hash", str(made)) == prepare_capture(made.read_bytes()).ids
    shelf = tmp_path / "shelf.jsonld"
    shelf.write_text(document([
        event("ObjectEvent", t + 3_600_000, epcList=[pallet], action="OBSERVE", bizStep="receiving",
              readPoint=place(STORE), bizLocation=place(STORE)),
        event("AggregationEvent", t + 3_700_000, parentID=pallet, childEPCs=items, action="DELETE", bizStep="unpacking",
              readPoint=place(STORE)),
        event("ObjectEvent", t + 3_800_000, epcList=items, action="OBSERVE", bizStep="stocking", readPoint=place(STORE),
              bizLocation=place(STORE))]))
    run(node, SHOP, "capture", str(shelf))
    assert "DUPLICATE_EVENT" in run(node, SHOP, "capture", str(shelf), ok=False)

    back = run(node, SHOP, "backward", items[0])
    assert [e["biz_step"] for e in back["events"]] == ["commissioning", "packing", "transporting", "receiving",
                                                        "unpacking", "stocking"]
    forward = run(node, REG, "forward", "urn:epc:class:lgtin:6925678.000001.API1")
    assert {p["serial"] for p in forward["packages"]} == {"0001", "0002", "0003"}
    [alert] = run(node, PROC, "alerts", "--gtin", LOIN)
    assert (alert["value"], alert["max"]) == ("9.5", "4")
    page = run(node, SHOP, "events", "--epc", items[1], "--limit", "10")
    assert page["type"] == "EPCISQueryDocument"
    listed = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["bizStep"] for e in listed] == ["unpacking", "stocking"]  # the processor's events stay private
    one = run(node, REG, "event", back["events"][0]["id"])
    assert one["visible"] and one["org"] == PROC

    assert "NOT_BRAND_OWNER" in run(node, SHOP, "recall", "issue", LOIN, "API1", "--reason", "x", ok=False)
    recall = run(node, PROC, "recall", "issue", LOIN, "API1", "--reason", "Listeria in a retained sample")
    assert recall["lot"] == "API1"
    assert run(node, None, "recall", "list")[0]["reason"] == "Listeria in a retained sample"
    report = run(node, REG, "recall", "report", LOIN, "API1")
    assert {p["last_place"]["name"] for p in report["packages"]} == {"Huaxin Xujiahui"}
    journey = run(node, None, "journey", LOIN, "--lot", "API1", "--serial", "0002")
    assert journey["recall"] and journey["steps"][-1]["stage"] == "recall"

    label = tmp_path / "label.png"
    assert offline("qr", LOIN, "--lot", "API1", "--serial", "0002", "--base", node.url, "-o", str(label))[
        "link"] == f"{node.url}/01/{LOIN}/10/API1/21/0002"
    assert label.read_bytes()[:4] == b"\x89PNG"

    with httpx.Client(base_url=node.url) as http:
        html = http.get(f"/01/{LOIN}/10/API1/21/0002", headers={"accept": "text/html"})
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "Pork loin 500 g" in html.text and "Recalled" in html.text and "✓ verified on chain" in html.text
        data = http.get(f"/01/{LOIN}/10/API1/21/0002?format=json").json()
        assert all(p["verified"] for p in data["proofs"].values()) and len(data["proofs"]) == 7
        bad = http.get(f"/01/{LOIN[:-1]}0/21/1", headers={"accept": "text/html"})
        assert bad.status_code == 400 and "Invalid code" in bad.text
        assert http.get(f"/01/{LOIN[:-1]}0/21/1").json()["error"]["code"] == "BAD_IDENTIFIER"
        assert http.get("/01/09506000134352/21/none").status_code == 404
        svg = http.get(f"/qr/01/{LOIN}/10/API1/21/0002")
        assert svg.headers["content-type"] == "image/svg+xml" and svg.text.startswith("<svg")
        assert svg.headers["x-digital-link"].endswith(f"/01/{LOIN}/10/API1/21/0002")
        assert http.get(f"/qr/01/{LOIN}?format=png").content[:4] == b"\x89PNG"


def test_standard_epcis_clients_capture_through_the_gateway_and_query(node: RunningNode) -> None:
    t = int(time.time() * 1000) - 3_600_000
    body = document([event("ObjectEvent", t + i * 1000, epcList=[loin("GW", i)], action="OBSERVE",
                           bizStep="shipping" if i % 2 else "receiving", readPoint=place("6925678000012"))
                     for i in range(1, 7)]).encode()
    headers = {"content-type": "application/ld+json", "GS1-Capture-Error-Behaviour": "rollback"}
    with httpx.Client(base_url=node.url, timeout=60) as http:
        assert http.post("/epcis/capture", content=body, headers=headers).json()["error"]["code"] == "UNAUTHENTICATED"
        other = signed(node, f"{SHOP}/admin", "POST", "/epcis/capture", body)
        refused = http.post("/epcis/capture", content=body, headers={**headers, **other})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "WRONG_ORGANISATION")
        invalid = body.replace(b'"OBSERVE"', b'"SHOUT"', 1)
        answer = http.post("/epcis/capture", content=invalid, headers={**headers, "authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 400 and answer.json()["error"]["details"]["field"] == "epcisBody.eventList[0].action"

        ours = signed(node, f"{PROC}/admin", "POST", "/epcis/capture", body)
        accepted = http.post("/epcis/capture", content=body, headers={**headers, **ours})
        assert accepted.status_code == 202 and accepted.headers["location"].startswith("/epcis/capture/cap")
        job = poll(http, accepted.headers["location"])
        assert (job["success"], job["capturedCount"], job["eventCount"]) == (True, 6, 6) and "finishedAt" in job
        again = http.post("/epcis/capture", content=body, headers={**headers, "authorization": f"Bearer {TOKEN}"})
        assert (again.status_code, again.json()["error"]["code"]) == (409, "DUPLICATE_EVENT")
        more = body.replace(b'"eventList":[', b'"eventList":[' + json.dumps(event(
            "ObjectEvent", t + 9_000, epcList=[loin("GW", 9)], action="OBSERVE", bizStep="shipping")).encode() + b",")
        proceed = http.post("/epcis/capture", content=more, headers={
            **headers, "GS1-Capture-Error-Behaviour": "proceed", "authorization": f"Bearer {TOKEN}"})
        job = poll(http, proceed.headers["location"])
        assert (job["capturedCount"], len(job["errors"]), job["success"]) == (1, 6, False)
        assert any(j["captureID"] == job["captureID"] for j in http.get("/epcis/capture").json())

        query = {"EQ_bizStep": "shipping|receiving", "MATCH_anyEPC": "|".join(loin("GW", i) for i in range(1, 10)),
                 "perPage": "4"}
        auth = {"authorization": f"Bearer {TOKEN}"}
        first = http.get("/epcis/events", params=query, headers=auth)
        assert first.status_code == 200 and first.json()["type"] == "EPCISQueryDocument"
        events = first.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert len(events) == 4 and all("recordTime" in e and e["eventID"].startswith("ni:///sha-256;") for e in events)
        link = first.headers["link"]
        assert link.endswith('rel="next"')
        second = http.get(link[1:link.index(">")], headers=auth).json()
        assert len(second["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 3
        assert http.get("/epcis/events", params={"EQ_colour": "red"}, headers=auth).json()["error"]["code"] == \
            "QUERY_PARAMETER_EXCEPTION"
        unsigned = http.get("/epcis/events")
        assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (403, "UNAUTHENTICATED")
        event_id = events[0]["eventID"]
        single = http.get(f"/epcis/events/{quote(event_id, safe='')}", headers=auth).json()
        assert single["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"] == event_id
        target = httpx.URL("/epcis/events", params={"EQ_eventID": event_id}).raw_path.decode()
        hidden = http.get(target, headers=signed(node, f"{FARM}/admin", "GET", target)).json()
        assert hidden["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []  # not the farm's business


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the vendored EPCIS examples are missing")
def test_official_examples_round_trip_through_rest(node: RunningNode) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=node.url, timeout=60) as http:
        for name in ("Example_9.6.1-ObjectEvent.jsonld", "WithSensorData/SensorDataExample1.jsonld",
                     "WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld"):
            text = (EXAMPLES / name).read_text()
            accepted = http.post("/epcis/capture", content=text, headers={**auth, "GS1-Capture-Error-Behaviour": "proceed"})
            assert accepted.status_code == 202, accepted.text
            poll(http, accepted.headers["location"])
            for original, event_id in zip(json.loads(text)["epcisBody"]["eventList"], prepare_capture(text).ids,
                                          strict=True):
                got = http.get(f"/epcis/events/{quote(event_id, safe='')}", headers=auth).json()
                [back] = got["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                assert {k: v for k, v in back.items() if k not in ("recordTime", "eventID")} == \
                    {k: v for k, v in original.items() if k != "eventID"}, name


def test_bulk_capture_of_ten_thousand_events_reports_progress(node: RunningNode, suite_name: str) -> None:
    if suite_name != "ed25519-sha256":
        pytest.skip("the bulk path is suite-independent; run once")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from trace_bench import synthetic_document

    body = synthetic_document(10_000, start_ms=int(time.time() * 1000) - 200 * 86_400_000)
    with httpx.Client(base_url=node.url, timeout=120) as http:
        accepted = http.post("/epcis/capture", content=body, headers={"authorization": f"Bearer {TOKEN}"})
        assert accepted.status_code == 202, accepted.text[:500]
        seen_running = accepted.json()["running"]
        job = poll(http, accepted.headers["location"])
    assert job["eventCount"] >= 10_000 and job["transactions"] >= 40
    assert (job["success"], job["capturedCount"]) == (True, job["eventCount"]), job
    assert seen_running or job["committedTransactions"] == job["transactions"]


def test_the_sdk_captures_like_the_cli_and_reads_events_back_by_hash_id(node: RunningNode) -> None:
    t = int(time.time() * 1000) - 7_200_000
    items = [loin("SDK", n) for n in range(1, 4)]
    events = [
        event("ObjectEvent", t, epcList=items, action="ADD", bizStep="commissioning", readPoint=place("6925678000012"),
              ilmd={"cbvmda:lotNumber": "SDK"}),
        event("ObjectEvent", t + 60_000, epcList=items, action="OBSERVE", bizStep="storing",
              readPoint=place("6925678000012"),
              sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": Decimal("2.50"), "uom": "CEL"}]}])]
    text = document(events)
    ids = prepare_capture(text).ids
    seen: list[dict[str, Any]] = []
    with Client.from_home(node.home, f"{PROC}/clerk", node.url) as clerk:
        with pytest.raises(SchemaError) as bad:  # checked here, before anything is signed or sent
            capture_epcis(clerk, text.replace('"OBSERVE"', '"SHOUT"'))
        assert bad.value.details["field"] == "epcisBody.eventList[1].action"
        job = capture_epcis(clerk, text, progress=seen.append)
        assert (job["running"], job["success"], job["capturedCount"], job["eventCount"]) == (False, True, 2, 2)
        assert seen[0]["captureID"] == job["captureID"] and seen[-1] == job
        assert clerk.capture_job(job["captureID"])["capturedCount"] == 2
        with pytest.raises(Conflict) as twice:
            capture_epcis(clerk, text)
        assert twice.value.code == "DUPLICATE_EVENT"
        later = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                 "creationDate": "2026-03-01T00:00:00Z", "epcisBody": {"eventList": [
                     event("ObjectEvent", t + 120_000, epcList=items, action="OBSERVE", bizStep="shipping")]}}
        queued = capture_epcis(clerk, later, wait=False)  # a mapping, Decimal numbers; the job is polled later
        assert queued["eventCount"] == 1
        deadline = time.monotonic() + 60
        while (done := clerk.capture_job(queued["captureID"]))["running"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done["success"] and done["capturedCount"] == 1

        for event_id in ids:  # ni:///sha-256;<hex>?ver=CBV2.0, URL-encoded in a signed GET
            assert event_id.endswith("?ver=CBV2.0")
            assert clerk.epcis_event(event_id)["eventID"] == event_id
        assert clerk.epcis_event(ids[1])["sensorElementList"][0]["sensorReport"][0]["value"] == 2.5
        found = clerk.epcis_events({"EQ_eventID": ids[0]})["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert [e["eventID"] for e in found] == [ids[0]]
    with Client.from_home(node.home, f"{REG}/admin", node.url) as regulator:
        regulator.call("trace", "register_party", {"roles": ["regulator"], "name": "Regulator"})
        assert regulator.epcis_event(ids[0])["ilmd"] == {"cbvmda:lotNumber": "SDK"}
    with Client.from_home(node.home, f"{FARM}/admin", node.url) as farm, pytest.raises(Forbidden) as hidden:
        farm.epcis_event(ids[0])  # signed and verified, but a competitor does not see the payload
    assert hidden.value.code == "NOT_VISIBLE"
    assert run(node, REG, "event", ids[0])["id"] == ids[0]


def test_a_signed_read_covers_the_event_path_as_sent(node: RunningNode) -> None:
    t = int(time.time() * 1000) - 5_400_000
    text = document([event("ObjectEvent", t + i, epcList=[loin("PATH", i)], action="OBSERVE", bizStep="inspecting",
                           readPoint=place("6925678000012")) for i in (1, 2)])
    with Client.from_home(node.home, f"{PROC}/clerk", node.url) as clerk:
        assert capture_epcis(clerk, text)["success"]
    first, second = prepare_capture(text).ids
    encoded = f"/epcis/events/{quote(first, safe='')}"
    bare = "/epcis/events/" + first.split("?")[0]  # a hash ID sent as is: its "?ver=CBV2.0" arrives as the query
    assert f"{bare}?ver=CBV2.0" != encoded
    with httpx.Client(base_url=node.url, timeout=30) as http:
        for sent in (encoded, bare + "?ver=CBV2.0"):  # the query is signed with the path
            got = http.get(sent, headers=signed(node, f"{PROC}/admin", "GET", sent))
            assert got.status_code == 200, got.text
            assert got.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"] == first
        decoded = http.get(encoded, headers=signed(node, f"{PROC}/admin", "GET", f"/epcis/events/{first}"))
        assert (decoded.status_code, decoded.json()["error"]["code"]) == (403, "BAD_AUTH")  # the encoded path is signed
        replayed = http.get(f"/epcis/events/{quote(second, safe='')}",
                            headers=signed(node, f"{PROC}/admin", "GET", encoded))
        assert (replayed.status_code, replayed.json()["error"]["code"]) == (403, "BAD_AUTH")


def master_data(*places: tuple[str, str, str]) -> dict[str, Any]:
    """An epcisHeader naming locations: (GLN, name, city)."""
    return {"epcisMasterData": {"vocabularyList": [{"type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                                                    "vocabularyElementList": [
        {"id": f"urn:epc:id:sgln:{gln[:7]}.{gln[7:12]}.0", "attributes": [
            {"id": "urn:epcglobal:cbv:mda#name", "attribute": name}, {"id": "urn:epcglobal:cbv:mda#city", "attribute": city},
            {"id": "urn:epcglobal:cbv:mda#latitude", "attribute": Decimal("28.68")}]} for gln, name, city in places]}]}}


def test_master_data_in_the_header_names_the_capturers_places_on_the_consumer_page(node: RunningNode) -> None:
    ours, gated, unnamed = (with_check("6925678" + ref) for ref in ("00081", "00082", "00084"))
    theirs = with_check("6929999" + "00083")  # the supermarket's
    t = int(time.time() * 1000) - 3_000_000
    items = [loin("MD", n) for n in (1, 2)]
    body = json.loads(document([
        event("ObjectEvent", t, epcList=items, action="ADD", bizStep="commissioning", readPoint=place(unnamed)),
        event("ObjectEvent", t + 60_000, epcList=items, action="OBSERVE", bizStep="storing", readPoint=place(ours),
              bizLocation=place(ours)),
        event("ObjectEvent", t + 120_000, epcList=items, action="OBSERVE", bizStep="receiving", bizLocation=place(theirs))]),
        parse_float=Decimal)
    body["epcisHeader"] = master_data((ours, "Lianhe chilled store 9", "Nanchang"), (theirs, "Not ours", "Shanghai"))
    with Client.from_home(node.home, f"{PROC}/clerk", node.url) as clerk:
        job = capture_epcis(clerk, body)
        assert job["success"] and job["masterData"] == {"registered": [f"414/{ours}"], "refused": []}
        named = {loc["key"]: loc for loc in clerk.query("trace", "locations")}
        assert (named[f"414/{ours}"]["kind"], named[f"414/{ours}"]["latitude"]) == ("storage", "28.68")
        assert f"414/{theirs}" not in named  # another organisation's place is its own to name
        again = capture_epcis(clerk, {**body, "epcisBody": {"eventList": [event(
            "ObjectEvent", t + 180_000, epcList=items, action="OBSERVE", bizStep="shipping", readPoint=place(ours))]}})
        assert again["masterData"] == {"registered": [], "refused": []}  # already described: left as it is
    with httpx.Client(base_url=node.url, timeout=60) as http:
        html = http.get(f"/01/{LOIN}/10/MD/21/0001", headers={"accept": "text/html"}).text
        assert "Lianhe chilled store 9, Nanchang" in html and f"GLN {unnamed}" in html
        gateway = json.loads(document([event("ObjectEvent", t + 240_000, epcList=items, action="OBSERVE",
                                             bizStep="storing", readPoint=place(gated))]), parse_float=Decimal)
        gateway["epcisHeader"] = master_data((gated, "Lianhe gateway dock", "Nanchang"))
        accepted = http.post("/epcis/capture", content=dumps_exact(gateway), headers={"authorization": f"Bearer {TOKEN}"})
        assert poll(http, accepted.headers["location"])["success"]
        assert "Lianhe gateway dock" in http.get(f"/01/{LOIN}/10/MD/21/0002", headers={"accept": "text/html"}).text
