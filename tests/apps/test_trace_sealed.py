"""Sealed event payloads (ADR 0013), on both suites: what every node holds, who opens what,
trace and alerts over public parts, and every refusal changing nothing."""

from __future__ import annotations

import copy
import secrets
from decimal import Decimal
from typing import Any

import pytest

from consortia.apps.trace.eventhash import compute_event_hash
from consortia.apps.trace.jsonexact import dumps_exact, loads_exact
from consortia.apps.trace.sealing import Opener, public_part
from consortia.apps.trace.times import format_iso
from consortia.crypto import KeyUnwrapper
from tests.apps.test_trace_harness import (
    BARN,
    DL,
    FARM,
    LOIN,
    OUTSIDER,
    PLANT,
    PROC,
    REG,
    SHOP,
    Trace,
    event,
    loin,
    pig,
    place,
)

PO = "urn:epcglobal:cbv:bt:6921234000016:PO-SECRET-4711"
PRICE_NS = {"acme": "https://ns.acme.example/epcis/"}



@pytest.fixture
def keys(trace: Trace) -> dict[str, KeyUnwrapper]:
    return trace.publish_sealing_keys(FARM, PROC, SHOP, REG)


def shipment(t: int, **extra: Any) -> dict[str, Any]:
    """The farm commissions two pigs sold to the plant: an order number, quantities, a price extension."""
    return event("ObjectEvent", t, epcList=[pig(1), pig(2)], action="ADD", bizStep="commissioning",
                 readPoint=place(BARN), bizLocation={"id": f"{DL}/414/{BARN}", "acme:dock": "north"},
                 quantityList=[{"epcClass": f"{DL}/01/{LOIN}/10/L1", "quantity": Decimal("120.5"), "uom": "KGM"}],
                 bizTransactionList=[{"type": "po", "bizTransaction": PO}],
                 destinationList=[{"type": "location", "destination": f"{DL}/414/{PLANT}"}],
                 ilmd={"cbvmda:lotNumber": "F1", "acme:feed": "organic maize"}, **{"acme:price": "88000 CNY"},
                 **extra)


def opener(trace: Trace, org: str, key: KeyUnwrapper) -> Opener:
    return Opener(trace.chain.c.suite, trace.chain.c.chain_id, {org: key})


def everything_stored(trace: Trace) -> bytes:
    """Every byte the node's database files hold (state, blocks with their transactions, indexes),
    and the same content as the store reads it back (values and block bodies are compressed, ADR 0028)."""
    store = trace.chain.store
    files = b"".join(f.read_bytes() for f in sorted(store.path.parent.glob("chain.db*")))
    values = b"".join(value for _, value, _, _ in store.state_items())
    blocks = b"".join(b"".join(bodies) for h in range(store.height() + 1) if (bodies := store.get_block_bodies(h)))
    return files + values + blocks


def test_a_sealed_payload_is_on_no_node_in_clear_and_opens_for_its_parties(trace: Trace,
                                                                          keys: dict[str, KeyUnwrapper]) -> None:
    t = trace.now - 86_400_000
    original = shipment(t)
    [event_id] = trace.capture_sealed(FARM, [original], context=[*trace_context(), PRICE_NS])
    stored = everything_stored(trace)
    for secret in (b"PO-SECRET-4711", b"120.5", b"organic maize", b"88000 CNY", b"north"):
        assert secret not in stored, secret
    assert b"F1" in stored  # the lot number stays public: trace and recall need it
    full_text = dumps_exact(loads_exact(dumps_exact(original)))

    # the capturer, the destination's owner and the regulator open it; it hashes to its ID
    for org in (FARM, PROC, REG):
        view = opener(trace, org, keys[org]).open_view(trace.query(org, "event", {"event_id": event_id}))
        assert view["sealed"]["status"] == "opened", view["sealed"]
        assert loads_exact(view["text"]) == loads_exact(full_text)
        assert compute_event_hash(loads_exact(view["text"]), view["ns"]) == event_id
        assert view["sealed"]["recipients"] == sorted([FARM, PROC, REG])
    # the shop is no party to it: no payload from the contract, and its key opens nothing
    assert trace.query(SHOP, "event", {"event_id": event_id})["visible"] is False
    farm_view = trace.query(FARM, "event", {"event_id": event_id})
    assert opener(trace, SHOP, keys[SHOP]).open_view(farm_view)["sealed"]["status"] == "not-for-this-node"
    stolen = {**farm_view, "sealed": {**farm_view["sealed"], "wraps": {SHOP: farm_view["sealed"]["wraps"][PROC]}}}
    assert opener(trace, SHOP, keys[SHOP]).open_view(stolen)["sealed"]["status"] == "unreadable"
    # anyone holding the event can still check it is on the chain
    assert trace.query(None, "verify", {"event": full_text, "namespaces": PRICE_NS})["on_chain"] is True
    assert trace.query(None, "exists", {"event_id": event_id})["org"] == FARM


def trace_context() -> list[Any]:
    return ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def test_trace_recall_and_cold_chain_alerts_run_on_public_parts(trace: Trace, keys: dict[str, KeyUnwrapper]) -> None:
    t = trace.now - 5 * 86_400_000
    trace.ok(PROC, "register_product", {"gtin": LOIN, "name": "Pork loin",
                                        "ranges": {"Temperature": {"min": "0", "max": "4", "uom": "CEL"}}})
    items = [loin("L9", n) for n in (1, 2)]
    trace.capture_sealed(FARM, [event("ObjectEvent", t, epcList=[pig(7)], action="ADD", bizStep="commissioning",
                                      readPoint=place(BARN), bizLocation=place(BARN))])
    trace.capture_sealed(PROC, [
        event("TransformationEvent", t + 3_600_000, inputEPCList=[pig(7)], outputEPCList=items, bizStep="commissioning",
              readPoint=place(PLANT), bizLocation=place(PLANT),
              outputQuantityList=[{"epcClass": f"{DL}/01/{LOIN}/10/L9", "quantity": Decimal("40"), "uom": "KGM"}]),
        event("ObjectEvent", t + 7_200_000, epcList=items, action="OBSERVE", bizStep="storing",
              readPoint=place(PLANT), sensorElementList=[{"sensorReport": [
                  {"type": "Temperature", "value": Decimal("9.5"), "uom": "CEL"}]}])])
    back = trace.query(OUTSIDER, "backward", {"id": items[0]})
    assert pig(7).split("/21/")[1] in str(back)  # the pig it came from, through the transformation
    assert any(a["value"] == "9.5" for a in trace.query(REG, "alerts", {}))
    trace.ok(PROC, "recall", {"gtin": LOIN, "lot": "L9", "reason": "temperature abuse"})
    report = trace.query(REG, "recall_report", {"gtin": LOIN, "lot": "L9"})
    assert {p["serial"] for p in report["packages"]} == {"0001", "0002"}
    assert {p["last_place"]["key"] for p in report["packages"]} == {f"414/{PLANT}"}


def test_sealed_refusals_change_nothing(trace: Trace, keys: dict[str, KeyUnwrapper]) -> None:
    t = trace.now - 86_400_000
    [good] = trace.sealed_args(FARM, [shipment(t)])

    def variant(change: Any) -> dict[str, Any]:
        args = copy.deepcopy(good)
        change(args)
        return args

    leaky = public_part(shipment(t))
    leaky["quantityList"][0]["quantity"] = Decimal("120.5")
    cases = {
        "NOT_PUBLIC": lambda a: a["events"][0].update(public=dumps_exact(leaky)),
        "MISSING_RECIPIENT": lambda a: a["keys"][0].pop(REG),
        "NO_SEALING_KEY": lambda a: a["keys"][0].update({OUTSIDER: "00" * 48}),
        "BAD_EVENT": lambda a: a["events"][0].update(id="ni:///sha-256;zz?ver=CBV2.0"),
    }
    for code, change in cases.items():
        trace.refused(FARM, "capture_sealed", variant(change), code, who="clerk")
    for bad in (lambda a: a["events"][0].update(key=1), lambda a: a["events"][0].update(sealed="XYZ"),
                lambda a: a["events"][0].pop("sealed"), lambda a: a.update(keys=[]),
                lambda a: a["keys"].append(dict(a["keys"][0])),
                lambda a: a["keys"][0].update({PROC: "not hex"})):
        _refused_any(trace, variant(bad))
    trace.refused(OUTSIDER, "capture_sealed", good, "NOT_A_PARTY", who="clerk")
    # the sealing key itself: an admin's, a real key of this suite
    trace.refused(FARM, "set_sealing_key", {"key": keys[FARM].public_key.hex()}, "NOT_ADMIN", who="clerk")
    for bad_key in ("", "zz", "00" * 32, "04" + "11" * 64, "ab" * 2000):
        trace.refused(FARM, "set_sealing_key", {"key": bad_key}, "BAD_KEY")
    trace.refused(OUTSIDER, "set_sealing_key", {"key": keys[FARM].public_key.hex()}, "NOT_A_PARTY")
    # the untouched transaction still goes through, once
    assert trace.ok(FARM, "capture_sealed", good, who="clerk")["captured"]
    trace.refused(FARM, "capture_sealed", good, "DUPLICATE_EVENT", who="clerk")


def _refused_any(trace: Trace, args: dict[str, Any]) -> None:
    before = trace.chain.rows()
    receipt = trace.run(FARM, "capture_sealed", args, who="clerk")
    assert receipt.status in ("reverted", "rejected") and receipt.code in ("BAD_ARGS", "BAD_EVENT"), receipt
    assert trace.chain.rows() == before


def test_a_reader_sees_when_a_capturer_sealed_something_else(trace: Trace, keys: dict[str, KeyUnwrapper]) -> None:
    """The contract cannot read a payload; the reader's node checks it against the chain."""
    t = trace.now - 86_400_000
    honest = shipment(t)
    forged = shipment(t, disposition="damaged")  # sealed under the honest event's ID and public part
    [args] = trace.sealed_args(FARM, [forged])
    [honest_args] = trace.sealed_args(FARM, [honest])
    args["events"][0].update(id=honest_args["events"][0]["id"], public=honest_args["events"][0]["public"])
    # re-seal the forged payload under the claimed ID, as a dishonest capturer could
    suite, chain_id = trace.chain.c.suite, trace.chain.c.chain_id
    from consortia.apps.trace.sealing import associated_data, event_key
    from consortia.types import codec

    group_key = secrets.token_bytes(32)
    claimed = honest_args["events"][0]["id"]
    args["keys"] = [{org: suite.wrap(keys[org].public_key, group_key).hex() for org in (FARM, PROC, REG)}]
    payload = codec.encode({"ns": {}, "text": dumps_exact(forged)})
    args["events"][0]["sealed"] = suite.seal(event_key(suite, group_key, claimed), payload,
                                             associated_data(chain_id, claimed)).hex()
    [event_id] = trace.ok(FARM, "capture_sealed", args, who="clerk")["captured"]
    view = opener(trace, PROC, keys[PROC]).open_view(trace.query(PROC, "event", {"event_id": event_id}))
    assert view["sealed"]["status"] == "mismatch" and "does not hash" in view["sealed"]["reason"]
    assert loads_exact(view["text"]) == loads_exact(honest_args["events"][0]["public"])  # never the forged text


def test_a_sealed_event_is_corrected_by_a_sealed_error_declaration(trace: Trace, keys: dict[str, KeyUnwrapper]) -> None:
    t = trace.now - 86_400_000
    [event_id] = trace.capture_sealed(FARM, [shipment(t)])
    declared = shipment(t, errorDeclaration={"declarationTime": format_iso(trace.now), "reason": "incorrect_data"})
    assert trace.capture_sealed(FARM, [declared]) == [event_id]  # the same hash ID: a declaration, not a new event
    view = opener(trace, REG, keys[REG]).open_view(trace.query(REG, "event", {"event_id": event_id}))
    assert view["sealed"]["status"] == "opened" and view["error"]["by"] == FARM
    assert "incorrect_data" in view["error"]["declaration"]
    [args] = trace.sealed_args(SHOP, [declared])  # only its capturer or a regulator may declare it erroneous
    trace.refused(SHOP, "capture_sealed", args, "NOT_CAPTURER", who="clerk")
