"""What the trace contract keeps in state (ADR 0028): index keys name events by digest, only the
indexes a query reads, and the lookups a capture transaction makes once."""

from __future__ import annotations

from typing import Any

from consortia.apps.trace.document import capture_args, prepare_capture
from consortia.apps.trace.graph import event_of, event_ref
from consortia.types import codec
from tests.apps.test_trace_harness import BARN, FARM, PLANT, PROC, REG, SHOP, STORE, Trace, document, event, loin, place

DIGEST = "0123456789abcdef" * 4
REF_LENGTH = 43  # a 32-byte digest in unpadded base64url



def trace_keys(trace: Trace) -> list[str]:
    return [k[len("trace/"):] for k, _, _, _ in trace.chain.rows() if k.startswith("trace/")]


def test_event_refs_are_digests_for_cbv_2_0_ids_and_whole_ids_otherwise() -> None:
    standard = f"ni:///sha-256;{DIGEST}?ver=CBV2.0"
    ref = event_ref(standard)
    assert len(ref) == REF_LENGTH and event_of(ref) == standard and ":" not in ref and "/" not in ref
    for n in range(64):  # every digest, whatever its bytes, comes back
        digest = f"{n:02x}" * 32
        assert event_of(event_ref(f"ni:///sha-256;{digest}?ver=CBV2.0")) == f"ni:///sha-256;{digest}?ver=CBV2.0"
    for other in (f"ni:///sha-256;{DIGEST}?ver=CBV2.1", f"ni:///sha-256;{DIGEST}?ver=CBV2.0.1",
                  f"ni:///sha-256;{DIGEST.upper()}?ver=CBV2.0", f"ni:///sha-256;{'g' * 64}?ver=CBV2.0"):
        assert event_ref(other) == other and event_of(other) == other


def test_indexes_name_events_by_digest_and_queries_read_them_back(trace: Trace) -> None:
    ids = trace.farm_to_shelf("L1")
    keys = trace_keys(trace)
    assert not [k for k in keys if k.startswith(("by/", "rp/"))]  # never read by any query: not kept
    index = [k for k in keys if k.split("/", 1)[0] in ("t", "k", "bs", "dp", "bl")]
    assert index and all("ni:" not in k and len(k.rsplit("/", 1)[1]) == REF_LENGTH for k in index)
    captured = [e["id"] for e in trace.query(REG, "events", {"filters": {}})["events"]]
    assert len(captured) == 8 and all(event_ref(i) in {k.rsplit("/", 1)[1] for k in index} for i in captured)
    assert trace.query(REG, "events", {"filters": {"EQ_readPoint": [f"https://id.gs1.org/414/{STORE}"]}})["events"]
    assert [e["id"] for e in trace.query(REG, "events", {"filters": {"EQ_eventID": [captured[3]]}})["events"]] \
        == [captured[3]]
    walk = trace.query(SHOP, "backward", {"id": ids["items"][0]})
    assert {e["id"] for e in walk["events"]} <= set(captured) and len(walk["events"]) >= 5
    page = trace.query(REG, "events", {"filters": {}, "limit": 3})
    rest = trace.query(REG, "events", {"filters": {}, "limit": 10, "after": page["next"]})
    assert [e["id"] for e in page["events"] + rest["events"]] == captured


def test_a_sealed_event_with_another_hash_version_is_indexed_whole(trace: Trace) -> None:
    trace.publish_sealing_keys(FARM, PROC, SHOP, REG)
    observed = event("ObjectEvent", trace.now - 3_600_000, epcList=[loin("V", 1)], action="OBSERVE",
                     bizStep="inspecting", readPoint=place(BARN))
    [args] = trace.sealed_args(FARM, [observed])
    claimed = args["events"][0]["id"].replace("?ver=CBV2.0", "?ver=CBV2.1")
    args["events"][0]["id"] = claimed
    assert trace.ok(FARM, "capture_sealed", args, who="clerk")["captured"] == [claimed]
    assert any(k.endswith("/" + claimed) for k in trace_keys(trace) if k.startswith("k/"))
    assert [e["id"] for e in trace.query(REG, "events", {"filters": {"MATCH_epc": [loin("V", 1)]}})["events"]] \
        == [claimed]
    assert [e["id"] for e in trace.query(REG, "history", {"id": loin("V", 1)})] == [claimed]


def test_a_frozen_lot_is_refused_after_other_events_of_the_same_transaction(trace: Trace) -> None:
    ids = trace.farm_to_shelf("L9")
    rows: dict[str, Any] = {k: codec.decode(v) for k, v, _, _ in trace.chain.rows() if k.startswith("trace/lot/")}
    lot = next(v for v in rows.values() if v.endswith("/10/L9"))
    t = trace.now - 1000
    fresh = [event("ObjectEvent", t - 10, epcList=[loin("OK", n)], action="OBSERVE", bizStep="inspecting",
                   readPoint=place(STORE)) for n in range(1, 3)]
    frozen = event("ObjectEvent", t, epcList=[ids["items"][0]], action="OBSERVE", bizStep="inspecting",
                   readPoint=place(STORE))
    assert trace.chain.govern("freeze_object", {"contract": "trace", "id": lot}, yes=6)["status"] == "passed"
    prepared = prepare_capture(document([*fresh, frozen]))
    trace.refused(SHOP, "capture", capture_args(prepared.namespaces, prepared.batches[0], None), "LOT_FROZEN",
                  who="clerk")
    assert len(trace.capture(SHOP, fresh)) == 2  # the same place owners and unfrozen lots, in a new transaction


def test_last_place_is_written_once_per_transaction_by_the_same_rule(trace: Trace) -> None:
    t = trace.now - 86_400_000
    item = loin("LP", 1)
    seen = [(t + 2000, STORE), (t, BARN), (t + 1000, PLANT)]  # one transaction, not in time order
    trace.capture(SHOP, [event("ObjectEvent", at, epcList=[item], action="OBSERVE", bizStep="inspecting",
                               readPoint=place(gln)) for at, gln in seen])
    last = trace.query(REG, "last_place", {"id": item})
    assert (last["time_ms"], last["place"]["key"]) == (t + 2000, f"414/{STORE}")
    trace.capture(SHOP, [event("ObjectEvent", t + 1500, epcList=[item], action="OBSERVE", bizStep="inspecting",
                               readPoint=place(BARN))])  # older than what is known: no move
    assert trace.query(REG, "last_place", {"id": item})["time_ms"] == t + 2000
    [newest] = trace.capture(SHOP, [event("ObjectEvent", t + 3000, epcList=[item], action="OBSERVE",
                                          bizStep="inspecting", readPoint=place(BARN))])
    last = trace.query(REG, "last_place", {"id": item})
    assert (last["time_ms"], last["place"]["key"], last["event"]) == (t + 3000, f"414/{BARN}", newest)
