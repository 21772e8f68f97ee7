"""The capture path after its speed-up (issue 18): a transaction's events are read and hashed
before any is stored (their state reads warmed together), and refusals still name the first
event that fails, for the reason it fails, as when the events were taken one at a time;
``exists_many`` answers for a batch of IDs as ``exists`` does for each."""

from __future__ import annotations

import pytest

from consortia.apps.trace.contract import READ_AHEAD
from consortia.apps.trace.identifiers import _dl_escape
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.trace.times import BadTime, parse_time_ms
from consortia.errors import BadInput, NotFound
from tests.apps.test_trace_harness import BARN, FARM, Trace, event, pig, place


def _seen(trace: Trace, n: int, minutes: int = 0) -> str:
    return dumps_exact(event("ObjectEvent", trace.now - 86_400_000 + minutes * 60_000, epcList=[pig(n)],
                             action="OBSERVE", bizStep="shipping", readPoint=place(BARN)))


def test_refusals_name_the_first_failing_event_in_order(trace: Trace) -> None:
    stored = _seen(trace, 1)
    [first] = trace.ok(FARM, "capture", {"events": [stored]})["captured"]
    bad_json, bad_type = "{", dumps_exact({"type": "WeirdEvent"})
    # a duplicate (found in state) before a malformed event: the duplicate is what refuses
    refused = trace.refused(FARM, "capture", {"events": [_seen(trace, 2), stored, bad_json]}, "DUPLICATE_EVENT")
    assert "events[1]" in refused.message and first in refused.message
    # a malformed event before a duplicate: the malformed one is what refuses
    refused = trace.refused(FARM, "capture", {"events": [_seen(trace, 3), bad_type, stored]}, "UNSUPPORTED_EVENT_TYPE")
    assert "events[1]" in refused.message
    refused = trace.refused(FARM, "capture", {"events": [_seen(trace, 4), _seen(trace, 5), bad_json]}, "BAD_JSON")
    # the same event twice in one transaction: the second is the duplicate
    again = _seen(trace, 6)
    refused = trace.refused(FARM, "capture", {"events": [again, again]}, "DUPLICATE_EVENT")
    assert "events[1]" in refused.message
    # past the first read-ahead chunk (contract.READ_AHEAD events): still the first failing event
    many = [_seen(trace, 100 + n) for n in range(3 * READ_AHEAD)]
    refused = trace.refused(FARM, "capture", {"events": [*many[:READ_AHEAD + 2], bad_type, stored]},
                            "UNSUPPORTED_EVENT_TYPE")
    assert f"events[{READ_AHEAD + 2}]" in refused.message
    refused = trace.refused(FARM, "capture", {"events": [*many[:READ_AHEAD + 2], stored, bad_type]}, "DUPLICATE_EVENT")
    assert f"events[{READ_AHEAD + 2}]" in refused.message
    assert trace.query(None, "stats")["events"] == 1
    assert len(trace.ok(FARM, "capture", {"events": many})["captured"]) == 3 * READ_AHEAD


def test_many_events_of_one_identifier_in_one_transaction_are_all_indexed(trace: Trace) -> None:
    texts = [_seen(trace, 9, minutes) for minutes in (5, 1, 9, 3)]
    ids = trace.ok(FARM, "capture", {"events": texts})["captured"]
    assert len(ids) == 4
    journey = trace.query(FARM, "events", {"filters": {"MATCH_anyEPC": [pig(9)]}})["events"]
    assert sorted(e["id"] for e in journey) == sorted(ids)


def test_exists_many_answers_as_exists_does(trace: Trace) -> None:
    named = dumps_exact({**event("ObjectEvent", trace.now - 5000, epcList=[pig(11)], action="OBSERVE",
                                 bizStep="shipping", readPoint=place(BARN)), "eventID": "urn:uuid:fast-1"})
    ids = trace.ok(FARM, "capture", {"events": [_seen(trace, 10), named]})["captured"]
    absent = "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"
    asked = [absent, ids[1], "urn:uuid:fast-1", ids[0], ids[1], "urn:uuid:nobody"]
    found = trace.query(None, "exists_many", {"event_ids": asked})["found"]
    assert found == [ids[1], "urn:uuid:fast-1", ids[0]]
    for event_id in asked:
        if event_id in found:
            assert trace.query(None, "exists", {"event_id": event_id})["org"] == FARM
        else:
            with pytest.raises(NotFound):
                trace.query(None, "exists", {"event_id": event_id})
    assert trace.query(None, "exists_many", {"event_ids": []})["found"] == []
    for bad in ([1], ["x" * 2001], [""], ["a"] * 10_001):
        with pytest.raises(BadInput):
            trace.query(None, "exists_many", {"event_ids": bad})


def test_dl_escape_and_time_cache_match_the_plain_versions() -> None:
    from urllib.parse import quote

    for value in ("B000001", "a b", "lot/1", "中", "x%y", "", "!$'()*+,;=:@-._~", "é1"):
        assert _dl_escape(value) == quote(value, safe="-._~!$'()*+,;=:@")
    assert parse_time_ms("2026-03-04T11:00:30.000+08:00") == parse_time_ms(" 2026-03-04T11:00:30.000+08:00 ")
    for bad in ("2026-13-04T11:00:30Z", "yesterday", 7):
        for _ in range(2):  # a bad time is refused every time, naming the field it was given in
            with pytest.raises(BadTime, match="^when: "):
                parse_time_ms(bad, "when")  # type: ignore[arg-type]
