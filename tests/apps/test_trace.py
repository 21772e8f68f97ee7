"""Traceability: every official example captured and read back, trace and recall, refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consortia.apps.trace.document import capture_args, namespaces_of, prepare_capture
from consortia.apps.trace.eventhash import compute_event_hash
from consortia.apps.trace.jsonexact import dumps_exact, loads_exact
from consortia.apps.trace.schema import SchemaError
from consortia.errors import BadInput, Forbidden, NotFound
from consortia.node.home import DEMO_ORG_COUNT_WITH_TRACE
from tests.apps.test_trace_harness import (
    BARN,
    DL,
    FARM,
    LOIN,
    OUTSIDER,
    PIG,
    PROC,
    REG,
    SHOP,
    STORE,
    Trace,
    document,
    event,
    loin,
    pig,
    place,
)
from tests.unit.helpers import Consortium

EXAMPLES = Path(__file__).resolve().parents[1] / "vectors" / "epcis-2.0" / "JSON"  # vendored official examples
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.jsonld")) if EXAMPLES.is_dir() else []


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("trace") / "c", orgs=DEMO_ORG_COUNT_WITH_TRACE)


@pytest.fixture
def trace(consortium: Consortium, tmp_path: Path) -> Iterator[Trace]:
    harness = Trace(consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()


def events_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    body = doc["epcisBody"]
    return body.get("eventList") or body["queryResults"]["resultsBody"]["eventList"]


@pytest.mark.skipif(not EXAMPLE_FILES, reason="the vendored EPCIS examples are missing")
def test_every_official_example_is_captured_queried_back_and_compared(consortium: Consortium, tmp_path: Path) -> None:
    assert len(EXAMPLE_FILES) >= 40
    for n, path in enumerate(EXAMPLE_FILES):
        trace = Trace(consortium, tmp_path / f"chain{n}", register=False)
        trace.ok(PROC, "register_party", {"roles": ["other"], "name": "capturer"})
        trace.ok(REG, "register_party", {"roles": ["regulator"], "name": "regulator"})
        original = loads_exact(path.read_text())
        ids = trace.capture(PROC, events_of(original), context=original.get("@context"))
        ns = namespaces_of(original.get("@context"))
        assert len(ids) == len(events_of(original)), path.name
        for event_id, sent in zip(ids, events_of(original), strict=True):
            assert event_id == compute_event_hash(sent, ns)
            [found] = trace.query(REG, "events", {"filters": {"EQ_eventID": [event_id]}})["events"]
            stored = loads_exact(found["text"])
            if stored != sent:  # an error declaration for an event already stored: the original stays
                assert stored == {k: v for k, v in sent.items() if k != "errorDeclaration"}, path.name
                assert found["error"]["by"] == PROC
            assert trace.query(None, "exists", {"event_id": event_id})["org"] == PROC
            if "errorDeclaration" in sent:
                assert trace.query(PROC, "event", {"event_id": event_id})["error"]["by"] == PROC
        trace.chain.close()


def test_schema_errors_name_the_field() -> None:
    good = event("ObjectEvent", 1_700_000_000_000, epcList=[pig(1)], action="OBSERVE", bizStep="shipping")
    assert prepare_capture(document([good])).count == 1
    cases = [({**good, "action": "SHOUT"}, "epcisBody.eventList[0].action"),
             ({**good, "epcList": [5]}, "epcisBody.eventList[0].epcList[0]"),
             ({k: v for k, v in good.items() if k != "eventTime"}, "epcisBody.eventList[0].eventTime"),
             ({**good, "eventTime": "yesterday"}, "epcisBody.eventList[0].eventTime"),
             ({**good, "readPoint": {"idx": "a"}}, "epcisBody.eventList[0].readPoint.id"),
             ({**good, "bizStep": "dancing"}, "epcisBody.eventList[0].bizStep")]
    for bad, field in cases:
        with pytest.raises(SchemaError) as err:
            prepare_capture(document([good, good | {"eventTime": "2026-01-01T00:00:00Z"}, bad][2:]))
        assert err.value.code == "SCHEMA_INVALID" and err.value.details["field"] == field, err.value.message
        assert err.value.message.startswith(field)
    with pytest.raises(SchemaError) as err:
        prepare_capture(json.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": []}}))
    assert err.value.details["field"] in ("@context", "schemaVersion", "creationDate")
    with pytest.raises(BadInput) as bad_json:
        prepare_capture("{")
    assert bad_json.value.code == "BAD_JSON"
    with pytest.raises(BadInput) as dup:
        prepare_capture(document([good, dict(reversed(list(good.items())))]))
    assert dup.value.code == "DUPLICATE_EVENT" and "eventList[1]" in dup.value.message
    with pytest.raises(BadInput) as check:
        prepare_capture(document([{**good, "epcList": [f"{DL}/01/{PIG[:-1]}0/21/1"]}]))
    assert check.value.code == "BAD_IDENTIFIER" and "epcList[0]" in check.value.message


def test_every_refused_capture_changes_nothing(trace: Trace) -> None:
    good = event("ObjectEvent", trace.now - 1000, epcList=[pig(1)], action="OBSERVE", bizStep="shipping",
                 readPoint=place(BARN))
    text = dumps_exact(good)
    trace.refused(OUTSIDER, "capture", {"events": [text]}, "NOT_A_PARTY")
    trace.refused(FARM, "capture", {"events": ["{"]}, "BAD_JSON")
    trace.refused(FARM, "capture", {"events": [dumps_exact({**good, "type": "WeirdEvent"})]}, "UNSUPPORTED_EVENT_TYPE")
    trace.refused(FARM, "capture", {"events": [dumps_exact({k: v for k, v in good.items() if k != "eventTime"})]},
                  "BAD_EVENT")
    trace.refused(FARM, "capture", {"events": [dumps_exact({**good, "action": "SHOUT"})]}, "BAD_EVENT")
    trace.refused(FARM, "capture", {"events": [dumps_exact({**good, "epcList": [f"{DL}/01/{PIG[:-1]}0/21/1"]})]},
                  "BAD_IDENTIFIER")
    trace.refused(FARM, "capture", {"events": [text], "share_with": ["nobody"]}, "UNKNOWN_PARTY")
    trace.refused(FARM, "capture", {"events": []}, "BAD_ARGS")
    trace.refused(FARM, "capture", {"events": [text, "{"]}, "BAD_JSON")  # all or nothing
    first = trace.ok(FARM, "capture", {"events": [text]})["captured"]
    # the same event, written differently (keys reordered, URN instead of Digital Link, another offset)
    same = {**dict(reversed(list(good.items()))), "epcList": [f"urn:epc:id:sgtin:{PIG[1:8]}.{PIG[0]}{PIG[8:13]}.P001"],
            "eventTime": good["eventTime"].replace("+08:00", "+08:00")}
    refused = trace.refused(FARM, "capture", {"events": [dumps_exact(same)]}, "DUPLICATE_EVENT")
    assert first[0] in refused.message
    named = dumps_exact({**good, "eventTime": "2026-01-01T00:00:00Z", "eventID": "urn:uuid:1"})
    trace.ok(FARM, "capture", {"events": [named]})
    trace.refused(FARM, "capture", {"events": [dumps_exact({**good, "eventTime": "2026-01-02T00:00:00Z",
                                                            "eventID": "urn:uuid:1"})]}, "DUPLICATE_EVENT_ID")
    assert trace.query(None, "stats")["events"] == 2


def test_corrections_only_by_error_declaration(trace: Trace) -> None:
    wrong = event("ObjectEvent", trace.now - 5000, epcList=[pig(7)], action="OBSERVE", bizStep="shipping",
                  readPoint=place(BARN))
    [event_id] = trace.capture(FARM, [wrong])
    declaration = {**wrong, "errorDeclaration": {"declarationTime": "2026-03-02T00:00:00Z", "reason": "incorrect_data",
                                                 "correctiveEventIDs": []}}
    trace.refused(PROC, "capture", {"events": [dumps_exact(declaration)]}, "NOT_CAPTURER")
    assert trace.ok(FARM, "capture", {"events": [dumps_exact(declaration)]})["declared"] == [event_id]
    trace.refused(FARM, "capture", {"events": [dumps_exact(declaration)]}, "ALREADY_DECLARED")
    view = trace.query(FARM, "event", {"event_id": event_id})
    assert loads_exact(view["text"]) == wrong  # the original is never edited
    assert view["error"]["by"] == FARM and trace.query(None, "exists", {"event_id": event_id})["declared_erroneous"]


def test_parties_and_master_data_refusals(trace: Trace) -> None:
    trace.refused(OUTSIDER, "register_party", {"roles": ["farm"], "name": "x"}, "NOT_ADMIN", who="clerk")
    trace.refused(OUTSIDER, "register_party", {"roles": ["pirate"], "name": "x"}, "BAD_ROLE")
    trace.refused(OUTSIDER, "register_party", {"roles": ["farm"], "name": "x", "company_prefixes": ["12"]}, "BAD_PREFIX")
    trace.refused(OUTSIDER, "register_party", {"roles": ["farm"], "name": "x", "company_prefixes": ["69212345"]},
                  "PREFIX_TAKEN")
    trace.refused(OUTSIDER, "register_party", {"roles": ["farm"], "name": "x", "glns": ["6921234000010"]},
                  "BAD_IDENTIFIER")
    trace.ok(SHOP, "register_party", {"roles": ["retailer"], "name": "Huaxin", "company_prefixes": ["6929999"],
                                      "glns": ["6901234000016"]})
    trace.refused(OUTSIDER, "register_party", {"roles": ["farm"], "name": "x", "glns": ["6901234000016"]}, "GLN_TAKEN")
    trace.refused(FARM, "register_location", {"location": STORE, "name": "not mine", "kind": "farm"}, "NOT_OWNER")
    trace.refused(FARM, "register_location", {"location": BARN, "name": "barn", "kind": "castle"}, "BAD_ARGS")
    trace.refused(FARM, "register_location", {"location": "6921234000010", "name": "barn", "kind": "farm"},
                  "BAD_IDENTIFIER")
    trace.ok(FARM, "register_location", {"location": BARN, "name": "Barn 3", "kind": "farm", "city": "Ganzhou"})
    trace.refused(FARM, "register_product", {"gtin": LOIN, "name": "not mine"}, "NOT_BRAND_OWNER")
    trace.refused(FARM, "register_product", {"gtin": PIG, "name": "pig", "ranges": {"Temperature": {"min": "5",
                                                                                                  "max": "1"}}},
                  "BAD_RANGE")
    trace.refused(FARM, "register_product", {"gtin": PIG[:-1] + "0", "name": "pig"}, "BAD_IDENTIFIER")
    assert trace.query(None, "locations")[0]["name"] == "Barn 3"


def test_farm_to_shelf_backward_forward_recall_and_alerts(trace: Trace) -> None:
    trace.ok(PROC, "register_product", {"gtin": LOIN, "name": "Pork loin 500 g",
                                        "ranges": {"Temperature": {"min": "-1", "max": "4", "uom": "CEL"}}})
    trace.ok(SHOP, "register_location", {"location": STORE, "name": "Huaxin Xujiahui", "kind": "shelf",
                                         "city": "Shanghai"})
    trace.ok(FARM, "register_location", {"location": BARN, "name": "Barn 3", "kind": "farm"})
    ids = trace.farm_to_shelf("L1", warm=True)
    package = ids["items"][0]

    back = trace.query(SHOP, "backward", {"id": package})
    keys = {n["key"] for n in back["nodes"]}
    assert {f"01/{PIG}/21/P000", f"01/{PIG}/21/P001", ids["pallet"][len(DL) + 1:]} <= keys
    assert [e["biz_step"] for e in back["events"]][:2] == ["commissioning", "shipping"]  # it starts at the farm
    assert f"414/{BARN}" in {loc["key"] for loc in back["locations"]}
    assert {FARM, PROC, SHOP} <= set(back["holders"])
    assert all(e["tx"] and e["height"] > 0 for e in back["events"])  # every step names its proof

    forward = trace.query(REG, "forward", {"id": f"urn:epc:id:sgtin:{PIG[1:8]}.{PIG[0]}{PIG[8:13]}.P000"})
    reached = {p["key"]: p for p in forward["packages"]}
    assert set(reached) == {f"01/{LOIN}/21/{n:04d}" for n in range(1, 5)} | {f"01/{PIG}/21/P000"}
    assert reached.pop(f"01/{PIG}/21/P000")["kind"] == "start"
    assert all(p["last_place"]["name"] == "Huaxin Xujiahui" and p["holder"] == SHOP for p in reached.values())

    alerts = trace.query(PROC, "alerts", {"gtin": LOIN})
    assert [(a["type"], a["value"], a["max"]) for a in alerts] == [("Temperature", "7.5", "4")]
    assert trace.query(REG, "alerts") == alerts
    assert trace.query(OUTSIDER, "alerts") == []

    trace.refused(SHOP, "recall", {"gtin": LOIN, "lot": "L1", "reason": "x"}, "NOT_BRAND_OWNER")
    recall = trace.ok(PROC, "recall", {"gtin": LOIN, "lot": "L1", "reason": "Listeria in a retained sample"})
    trace.refused(REG, "recall", {"gtin": LOIN, "lot": "L1", "reason": "again"}, "ALREADY_RECALLED")
    recalled = trace.query(REG, "events", {"filters": {"EQ_disposition": ["recalled"]}})["events"]
    assert [e["id"] for e in recalled] == [recall["event"]]
    report = trace.query(SHOP, "recall_report", {"gtin": LOIN, "lot": "L1"})
    assert report["recall"]["reason"] == "Listeria in a retained sample"
    assert {p["serial"] for p in report["packages"]} == {"0001", "0002", "0003", "0004"}
    assert {p["last_place"]["key"] for p in report["packages"]} == {f"414/{STORE}"}

    journey = trace.query(None, "journey", {"gtin": LOIN, "lot": "L1", "serial": "0002"})
    stages = [s["stage"] for s in journey["steps"]]
    assert stages[0] == "farm" and "shelf" in stages and stages[-1] == "recall"
    assert journey["recall"]["lot"] == "L1" and journey["product"]["name"] == "Pork loin 500 g"
    assert any(s["sensors"] and s["sensors"][0]["value"] == "7.5" for s in journey["steps"])
    with pytest.raises(NotFound):
        trace.query(None, "journey", {"gtin": PIG, "serial": "nothing-here"})
    with pytest.raises(BadInput):
        trace.query(None, "journey", {"gtin": "123"})


def test_payloads_are_for_the_capturer_its_partners_and_regulators(trace: Trace) -> None:
    shipped = event("ObjectEvent", trace.now - 10_000, epcList=[pig(3)], action="OBSERVE", bizStep="shipping",
                    readPoint=place(BARN), bizTransactionList=[{"type": "po", "bizTransaction": "urn:po:secret-price"}],
                    destinationList=[{"type": "owning_party", "destination": f"{DL}/417/6925678000005"}])
    [event_id] = trace.capture(FARM, [shipped])
    for org, sees in ((FARM, True), (PROC, True), (REG, True), (SHOP, False), (OUTSIDER, False)):
        view = trace.query(org, "event", {"event_id": event_id})
        assert view["visible"] is sees and ("text" in view) is sees, org
    assert trace.query(SHOP, "events", {"filters": {"MATCH_anyEPC": [pig(3)]}})["events"] == []
    assert trace.query(None, "exists", {"event_id": event_id})["org"] == FARM
    checked = trace.query(None, "verify", {"event": dumps_exact(shipped)})
    assert checked == {"id": event_id, "on_chain": True, "height": checked["height"], "tx": checked["tx"], "org": FARM}
    assert not trace.query(None, "verify", {"event": dumps_exact({**shipped, "bizStep": "receiving"})})["on_chain"]
    with pytest.raises(NotFound):
        trace.query(None, "exists", {"event_id": "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"})


def test_event_query_filters_and_paging(trace: Trace) -> None:
    t = trace.now - 86_400_000
    events = [event("ObjectEvent", t + i * 60_000, epcList=[loin("Q", i)], action="OBSERVE",
                    bizStep="receiving" if i % 2 else "shipping", disposition="in_transit" if i % 2 else "in_progress",
                    readPoint=place(STORE), bizLocation=place(STORE) if i < 3 else place(BARN)) for i in range(6)]
    ids = trace.capture(SHOP, events)

    def ask(filters: dict[str, Any], **kw: Any) -> list[str]:
        return [e["id"] for e in trace.query(REG, "events", {"filters": filters, **kw})["events"]]

    assert ask({}) == ids
    assert ask({"EQ_bizStep": ["receiving"]}) == ids[1::2]
    assert ask({"EQ_bizStep": ["https://ref.gs1.org/cbv/BizStep-shipping"]}) == ids[0::2]
    assert ask({"EQ_disposition": ["in_transit"]}) == ids[1::2]
    assert ask({"EQ_bizLocation": [f"urn:epc:id:sgln:{STORE[:7]}.{STORE[7:12]}.0"]}) == ids[:3]
    assert ask({"MATCH_anyEPC": [f"urn:epc:id:sgtin:{LOIN[1:8]}.{LOIN[0]}{LOIN[8:13]}.0004"]}) == [ids[4]]
    assert ask({"MATCH_anyEPC": [f"urn:epc:idpat:sgtin:{LOIN[1:8]}.{LOIN[0]}{LOIN[8:13]}.*"]}) == ids
    assert ask({"GE_eventTime": events[2]["eventTime"], "LT_eventTime": events[4]["eventTime"]}) == ids[2:4]
    assert ask({"EQ_bizStep": "receiving|shipping", "eventType": ["ObjectEvent"]}) == ids
    page = trace.query(REG, "events", {"filters": {}, "limit": 4})
    rest = trace.query(REG, "events", {"filters": {}, "limit": 4, "after": page["next"]})
    assert [e["id"] for e in page["events"] + rest["events"]] == ids and rest["next"] is None
    with pytest.raises(BadInput) as err:
        trace.query(REG, "events", {"filters": {"EQ_colour": ["red"]}})
    assert err.value.code == "QUERY_PARAMETER_EXCEPTION"
    with pytest.raises(Forbidden):
        trace.query(None, "events", {})
    assert [e["id"] for e in trace.query(SHOP, "history", {"id": loin("Q", 1)})] == [ids[1]]


def test_the_demo_pork_chain_seeds_a_journey_an_alert_and_a_recall(consortium: Consortium, tmp_path: Path) -> None:
    from consortia.node.demo_trace import seed_trace_demo
    from consortia.node.node import Node

    node = Node(consortium.genesis, tmp_path / "node")
    node.start()
    try:
        seeded = seed_trace_demo(node, consortium.home)
        assert seeded["events"] > 500 and seeded["alerts"] == 2
        gtin, lot, serial = seeded["consumer_page"].split("/")[2::2]
        journey = node.query("trace", "journey", {"gtin": gtin, "lot": lot, "serial": serial})
        stages = [s["stage"] for s in journey["steps"]]
        assert stages[0] == "farm" and stages[-1] == "shelf"
        assert {"processing", "storage", "transport"} <= set(stages)
        assert journey["recall"] is None and journey["product"]["name"] == "Chilled pork loin, 500 g"
        assert node.query("trace", "recalls", {})[0]["lot"] == seeded["recalled_lot"]
    finally:
        node.stop()


def test_a_lot_frozen_by_governance_takes_no_new_events(trace: Trace) -> None:
    from consortia.types import codec

    ids = trace.farm_to_shelf("L9")
    rows = {k: codec.decode(v) for k, v, _, _ in trace.chain.rows() if k.startswith("trace/lot/")}
    instance, lot = next((k[len("trace/lot/"):], v) for k, v in rows.items() if v.endswith("/10/L9"))
    item = next(i for i in ids["items"] if i.endswith(instance.split("/21/")[-1]))
    observe = [event("ObjectEvent", trace.now - 1000, epcList=[item], action="OBSERVE", bizStep="inspecting",
                     readPoint=place(STORE))]
    assert trace.chain.govern("freeze_object", {"contract": "trace", "id": lot}, yes=6)["status"] == "passed"
    prepared = prepare_capture(document(observe))
    args = capture_args(prepared.namespaces, prepared.batches[0], None)
    trace.refused(SHOP, "capture", args, "LOT_FROZEN", who="clerk")
    assert trace.chain.govern("unfreeze_object", {"contract": "trace", "id": lot}, yes=6)["status"] == "passed"
    assert trace.capture(SHOP, observe)
