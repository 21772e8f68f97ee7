"""Traceability invariants (hypothesis).

- The event hash is a function of the event, not of how it is written: key order, list order,
  the offset a time is written in, EPC URN or Digital Link, ``26`` or ``26.0``; and any change
  of a value changes it.
- Trace closure: over random transformation and packing graphs, ``y`` is reached forward from
  ``x`` exactly when ``x`` is reached backward from ``y``, and both agree with a reference model
  of reachability.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consortia.apps.trace.eventhash import compute_event_hash
from consortia.apps.trace.times import format_iso
from consortia.node.home import DEMO_ORG_COUNT_WITH_TRACE
from tests.apps.test_trace_harness import LOIN, PROC, Trace, event
from tests.unit.helpers import Consortium

_CONSORTIUM: Consortium | None = None
CP, REF = LOIN[1:8], LOIN[0] + LOIN[8:13]


def consortium() -> Consortium:
    global _CONSORTIUM
    if _CONSORTIUM is None:
        _CONSORTIUM = Consortium(Path(tempfile.mkdtemp(prefix="trace-prop-")) / "c", orgs=DEMO_ORG_COUNT_WITH_TRACE)
    return _CONSORTIUM


serials = st.lists(st.integers(0, 10_000), min_size=1, max_size=6, unique=True)
offsets = st.sampled_from(["+00:00", "+08:00", "-06:00", "+05:30"])


@settings(max_examples=60, deadline=None)
@given(serials=serials, moment=st.integers(0, 4_000_000_000_000), shown_in=offsets, value=st.integers(-300, 300),
       order=st.randoms(use_true_random=False))
def test_the_hash_ignores_how_an_event_is_written(serials: list[int], moment: int, shown_in: str, value: int,
                                                   order: Any) -> None:
    urns = [f"urn:epc:id:sgtin:{CP}.{REF}.{s}" for s in serials]
    links = [f"https://brand.example.cn/01/{LOIN}/21/{s}" for s in serials]
    base = {"type": "ObjectEvent", "eventTime": format_iso(moment, "+08:00"), "eventTimeZoneOffset": "+08:00",
            "epcList": urns, "action": "OBSERVE", "bizStep": "shipping",
            "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": Decimal(value), "uom": "CEL"}]}]}
    shuffled = list(links)
    order.shuffle(shuffled)
    keys = list(base)
    order.shuffle(keys)
    rewritten = {k: base[k] for k in keys}
    rewritten.update(epcList=shuffled, eventTime=format_iso(moment, shown_in), bizStep="urn:epcglobal:cbv:bizstep:shipping",
                     sensorElementList=[{"sensorReport": [{"uom": "CEL", "value": Decimal(f"{value}.000"),
                                                           "type": "gs1:Temperature"}]}])
    assert compute_event_hash(rewritten) == compute_event_hash(base)
    changed = {**base, "epcList": urns[:-1] + [f"urn:epc:id:sgtin:{CP}.{REF}.{serials[-1] + 10_001}"]}
    assert compute_event_hash(changed) != compute_event_hash(base)
    assert compute_event_hash({**base, "eventTime": format_iso(moment + 1, "+08:00")}) != compute_event_hash(base)


def item(n: int) -> str:
    return f"https://id.gs1.org/01/{LOIN}/21/N{n}"


def key(n: int) -> str:
    return f"01/{LOIN}/21/N{n}"


@st.composite
def graphs(draw: Any) -> list[tuple[str, list[int], list[int]]]:
    """Steps over items 0..n: ("make", inputs, outputs) or ("pack", [parent], children), in time order."""
    n = draw(st.integers(3, 9))
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["make", "pack"]))
        chosen = draw(st.lists(st.integers(0, n), min_size=2, max_size=4, unique=True))
        split = draw(st.integers(1, len(chosen) - 1))
        steps.append((kind, chosen[:split] if kind == "make" else chosen[:1], chosen[split:] if kind == "make"
                      else chosen[1:]))
    return steps


def reachable(steps: list[tuple[str, list[int], list[int]]], start: int) -> set[int]:
    """The model: what ``start`` flows into, forward in time (outputs made from it; for a packing,
    the parent it went into is a container, not a product, so only outputs count)."""
    seen, frontier = {start}, [(start, -1)]
    while frontier:
        node, after = frontier.pop()
        for t, (kind, sources, targets) in enumerate(steps):
            if t > after and kind == "make" and node in sources:
                for target in targets:
                    if target not in seen:
                        seen.add(target)
                    frontier.append((target, t))
    return seen


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=graphs())
def test_forward_and_backward_trace_agree_with_reachability(steps: list[tuple[str, list[int], list[int]]]) -> None:
    trace = Trace(consortium(), Path(tempfile.mkdtemp(prefix="trace-prop-chain-")))
    try:
        t0 = trace.now - 10_000_000
        events = []
        for t, (kind, sources, targets) in enumerate(steps):
            if kind == "make":
                events.append(event("TransformationEvent", t0 + t * 60_000, inputEPCList=[item(s) for s in sources],
                                    outputEPCList=[item(x) for x in targets], bizStep="commissioning"))
            else:
                events.append(event("AggregationEvent", t0 + t * 60_000, parentID=item(sources[0]),
                                    childEPCs=[item(x) for x in targets], action="ADD", bizStep="packing"))
        trace.capture(PROC, events)
        named = sorted({n for _, a, b in steps for n in a + b})
        forward = {n: {node["key"] for node in trace.query(PROC, "forward", {"id": item(n)})["nodes"]
                       if node["kind"] != "container"} for n in named}
        backward = {n: {node["key"] for node in trace.query(PROC, "backward", {"id": item(n)})["nodes"]}
                    for n in named}
        for x in named:
            made_from_x = {key(y) for y in reachable(steps, x)}
            assert made_from_x <= forward[x], (x, steps)
            for y in named:
                if key(y) in made_from_x:
                    assert key(x) in backward[y], (x, y, steps)  # closure: forward x ∋ y => backward y ∋ x
    finally:
        trace.chain.close()
