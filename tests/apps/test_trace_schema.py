"""The compiled EPCIS validator never accepts what the reference refuses (ADR 0029), and the
exact JSON writer's fast path writes what the slow one does."""

from __future__ import annotations

import copy
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortia.apps.trace import schema
from consortia.apps.trace.document import prepare_capture
from consortia.apps.trace.jsonexact import BadJson, _write, dumps_exact, dumps_loaded, loads_exact
from consortia.apps.trace.schema import EVENT_DEFINITIONS, SchemaError, validate_document, validate_event
from tests.apps.test_trace_harness import document, event, pig

EXAMPLES = Path(__file__).resolve().parents[1] / "vectors" / "epcis-2.0" / "JSON"  # vendored official examples
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.jsonld")) if EXAMPLES.is_dir() else []
LEAVES: list[Any] = [5, -1, Decimal("1.5"), True, None, [], {}, "", "SHOUT", "yesterday", "not a uri", "urn:x", "ADD",
                     "ADD\n", "DELETE", "OBSERVE", "١٢", "12", "\ud800", "2026-01-01T00:00:00Z", "2026-01-01 00:00:00z",
                     "+08:00", "+8:00", "https://gs1.org/voc/Bad", "https://ref.gs1.org/cbv/BizStep-shipping",
                     "shipping", "in_transit", "gs1:x", "urn:epc:id:sgtin:0614141.107346.2017",
                     "https://id.gs1.org/01/09521141012345/21/1", "urn:x:中文", "a:\u3000b", "a:%zz", "1a:b", "a:"]
URI_TRIALS = ["urn:x", "a:", "A1+.-:x", "https://id.gs1.org/01/09521141012345/21/1", "urn:epc:id:sgln:0614141.07346.1234",
              "http://[::1]:80/p?q#f", "a:é", "urn:x:中文", "a:\u3000b", "a:\u00a0b", "a:b c", "a:\x1fb", "a:\tb", "a:b\n",
              "a:%zz", "a:b#c#d", "a:b\\c", 'a:"b"', "a:<b>", "a:{b}", "a:b|c", "a:^`", "1a:b", "+a:b", ":b", "ab", "",
              "http://x:99999999/", "http://[zz]/", "mailto:a@b", "a:\ud800"]
KEYS = ["foo", "gs1:bar", "https://gs1.org/voc/x", "http://ns.gs1.org/cbv/x", "example:ext", "action", "quantity",
        "uom", "epcList", "type", "id", "value", "bizTransaction", "@context", "eventID", "sensorReport"]


def events_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    body = doc["epcisBody"]
    return body.get("eventList") or body["queryResults"]["resultsBody"]["eventList"]


def reference_accepts(kind: str, value: Any) -> bool:
    return schema._first_error(schema._validators()[1][kind], value, "event") is None


def compiled_accepts(kind: str, value: Any) -> bool:
    return schema._is_valid_compiled(schema._compiled()[1][kind], value)


def containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every dict and list in ``value`` with its path, ``value`` first."""
    found = [(path, value)] if isinstance(value, dict | list) else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found += containers(item, (*path, key))
    return found


def mutate(original: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One to three random edits: drop a key or item, replace a value, add a key, repeat an item."""
    out = copy.deepcopy(original)
    for _ in range(rng.randint(1, 3)):
        _, node = rng.choice(containers(out))
        edit = rng.randrange(4)
        if isinstance(node, dict) and node and edit == 0:
            del node[rng.choice(sorted(node))]
        elif isinstance(node, dict) and (edit == 1 or not node):
            node[rng.choice(KEYS)] = copy.deepcopy(rng.choice(LEAVES))
        elif isinstance(node, dict):
            node[rng.choice(sorted(node))] = copy.deepcopy(rng.choice(LEAVES))
        elif isinstance(node, list) and node and edit == 0:
            node.pop(rng.randrange(len(node)))
        elif isinstance(node, list) and node and edit == 1:
            node.append(copy.deepcopy(rng.choice(node)))
        elif isinstance(node, list) and node:
            node[rng.randrange(len(node))] = copy.deepcopy(rng.choice(LEAVES))
        else:
            node.append(copy.deepcopy(rng.choice(LEAVES)))
    return out


def sample_events() -> list[dict[str, Any]]:
    found = [e for path in EXAMPLE_FILES for e in events_of(loads_exact(path.read_text()))]
    return [e for e in found if e.get("type") in EVENT_DEFINITIONS]


@pytest.mark.skipif(not EXAMPLE_FILES, reason="the vendored EPCIS examples are missing")
def test_both_validators_accept_every_official_example() -> None:
    for path in EXAMPLE_FILES:
        document_ = loads_exact(path.read_text())
        assert validate_document(document_) == events_of(document_), path.name
        for item in events_of(document_):
            assert compiled_accepts(item["type"], item) and reference_accepts(item["type"], item), path.name


@pytest.mark.skipif(not EXAMPLE_FILES, reason="the vendored EPCIS examples are missing")
def test_what_the_reference_refuses_the_compiled_validator_refuses() -> None:
    rng = random.Random(29)
    originals = sample_events()
    verdicts = {"both accept": 0, "both refuse": 0, "only the reference accepts": 0}
    for _ in range(2500):
        mutant = mutate(rng.choice(originals), rng)
        kind = mutant.get("type")
        if not isinstance(kind, str) or kind not in EVENT_DEFINITIONS:  # a list as type was a TypeError once
            with pytest.raises(SchemaError):
                validate_event(mutant)
            continue
        reference, compiled = reference_accepts(kind, mutant), compiled_accepts(kind, mutant)
        assert reference or not compiled, f"the compiled validator accepts what the reference refuses: {mutant!r:.2000}"
        verdicts["both accept" if compiled else "only the reference accepts" if reference else "both refuse"] += 1
        if reference:
            validate_event(mutant)  # the reference has the last word
        else:
            with pytest.raises(SchemaError) as refused:
                validate_event(mutant)
            assert refused.value.message.startswith(refused.value.details["field"])
    assert verdicts["both accept"] > 200 and verdicts["both refuse"] > 1000, verdicts


def test_the_envelope_is_checked_by_both() -> None:
    good = event("ObjectEvent", 1_700_000_000_000, epcList=[pig(1)], action="OBSERVE", bizStep="shipping")
    shell = loads_exact(document([good]))
    cases: list[tuple[str, Any]] = [("schemaVersion", 2), ("creationDate", "yesterday"), ("@context", 5),
                                    ("epcisHeader", "x"), ("epcisHeader", {"x": 1}), ("sender", 5)]
    for name, value in cases:
        bad = {**shell, name: value}
        with pytest.raises(SchemaError) as refused:
            validate_document(bad)
        assert refused.value.details["field"].startswith(name), (name, refused.value.message)
        assert not schema._is_valid_compiled(schema._compiled()[0], {**bad, "epcisBody": {"eventList": []}})
    assert validate_document(shell) == [good]


def test_the_compiled_uri_check_is_never_looser_than_the_reference() -> None:
    """The compiled validator checks ``uri`` with its own RFC 3986 parser (ADR 0029): whatever it
    accepts, the reference expression accepts too, and the URIs events carry pass both."""
    good = event("AggregationEvent", 1_700_000_000_000, parentID=pig(9), childEPCs=[pig(1)], action="ADD",
                 bizStep="packing", readPoint={"id": "urn:x"})

    def placed(uri: str) -> list[dict[str, Any]]:
        return [{**good, "readPoint": {"id": uri}}, {**good, "parentID": uri}, {**good, "childEPCs": [uri]},
                {**good, "bizLocation": {"id": uri}}, {**good, "disposition": uri}]

    for uri in URI_TRIALS:
        for bad in placed(uri):
            assert reference_accepts("AggregationEvent", bad) or not compiled_accepts("AggregationEvent", bad), uri
    for uri in URI_TRIALS[:6]:
        assert all(compiled_accepts("AggregationEvent", ok) for ok in placed(uri)[:4]), uri


def test_what_the_compiled_validator_cannot_read_goes_to_the_reference() -> None:
    good = event("ObjectEvent", 1_700_000_000_000, epcList=[pig(1)], action="OBSERVE", bizStep="shipping")
    surrogate = {**good, "readPoint": {"id": "urn:x:\ud800"}}
    assert not schema._is_valid_compiled(schema._compiled()[1]["ObjectEvent"], surrogate)
    validate_event(surrogate)  # the reference accepts it, so it is valid
    trailing_newline = {**good, "eventTimeZoneOffset": "+08:00\n"}  # Python's $ matches before a final newline
    assert not compiled_accepts("ObjectEvent", trailing_newline) and reference_accepts("ObjectEvent", trailing_newline)
    validate_event(trailing_newline)
    with pytest.raises(SchemaError) as refused:
        prepare_capture(document([{**good, "action": "SHOUT"}]))
    assert refused.value.details["field"] == "epcisBody.eventList[0].action"


def slow_write(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


@pytest.mark.skipif(not EXAMPLE_FILES, reason="the vendored EPCIS examples are missing")
def test_the_fast_writer_writes_what_the_slow_one_does() -> None:
    for path in EXAMPLE_FILES:
        value = loads_exact(path.read_text())
        assert dumps_exact(value) == dumps_loaded(value) == slow_write(value), path.name
        for item in events_of(value):
            assert dumps_loaded(item) == slow_write(item) and loads_exact(dumps_loaded(item)) == item
    tricky = {"a": Decimal("26.0"), "b": [Decimal("1E+3"), 7, "\ue0000\ue001", {"\ue0001\ue001": Decimal("-0.50")}],
              "c": "quote \" and \\ and \u2028 and 中文", "d": [None, True, False, 2**70]}
    assert dumps_exact(tricky) == dumps_loaded(tricky) == slow_write(tricky)
    assert dumps_exact({"n": Decimal("2.50"), "s": "\ue0000\ue001"}) == '{"n":2.50,"s":"\ue0000\ue001"}'
    for floats in ({"t": 2.5}, [1, {"x": float("nan")}], {"x": Decimal("1.5"), "y": 1e300}, [float("-inf")], [3.0]):
        with pytest.raises(BadJson, match="floats cannot be written exactly"):
            dumps_exact(floats)
    with pytest.raises(TypeError):
        dumps_exact({"x": {1, 2}})


TEXT = st.text(st.sampled_from(list("a\"\\\n\u2028中\ue000\ue0010123456789.eE")), max_size=8)
DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=None)
VALUES = st.recursive(st.none() | st.booleans() | st.integers(-(2**80), 2**80) | DECIMALS | TEXT,
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_the_fast_writer_agrees_on_any_value(value: Any) -> None:
    assert dumps_exact(value) == dumps_loaded(value) == slow_write(value)
