"""A waybill's steps as GS1 EPCIS 2.0 events and as steps of the goods' consumer journey (ADR 0017).

Nothing is captured twice: the steps live once, in the ``waybill`` contract; for goods labelled
with SSCCs they are *rendered* on read as EPCIS ObjectEvents with the waybill as a business
transaction (CBV type ``bol``, bill of lading / consignment note), and merged into the journey
of every package that travelled inside those logistic units.

Mapping (CBV 2.0): pickup -> ``shipping`` / ``in_transit``; checkpoint -> ``transporting`` /
``in_transit`` (with the reefer's temperature as a sensor report); hand-off to the next carrier
-> ``accepting`` / ``in_transit``; delivery -> ``receiving`` / ``in_progress``. Each event gets
its standard hash ID, so a consumer of the EPCIS rendering can tell two renderings of one step
are the same event.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from consortia.apps.trace.eventhash import compute_event_hash
from consortia.apps.trace.jsonexact import dumps_exact, loads_exact
from consortia.apps.trace.times import format_iso
from consortia.apps.trace.vocab import CONTEXT_URL
from consortia.apps.waybill.fields import format_c10

DL = "https://id.gs1.org"
NAMESPACE = "https://consortia.example/waybill/"
NAMESPACES = {"cw": NAMESPACE}
BIZ_STEPS = {"pickup": ("shipping", "in_transit"), "checkpoint": ("transporting", "in_transit"),
             "handoff": ("accepting", "in_transit"), "delivery": ("receiving", "in_progress")}
STAGES = {"pickup": "transport", "checkpoint": "transport", "handoff": "transport", "delivery": "storage"}


def waybill_uri(number: str) -> str:
    return f"urn:consortia:waybill:{number}"


def _location(place: dict[str, Any] | None) -> dict[str, str] | None:
    return {"id": f"{DL}/414/{place['gln']}"} if place and place.get("gln") else None


def step_event(wb: dict[str, Any], step: dict[str, Any], ssccs: list[str]) -> dict[str, Any]:
    """One step as an EPCIS ObjectEvent (JSON-LD, numbers as Decimal), with its hash ID as eventID."""
    biz_step, disposition = BIZ_STEPS[step["kind"]]
    event: dict[str, Any] = {
        "type": "ObjectEvent", "eventTime": format_iso(step["at_ms"]), "eventTimeZoneOffset": "+00:00",
        "epcList": [f"{DL}/00/{s}" for s in ssccs], "action": "OBSERVE", "bizStep": biz_step,
        "disposition": disposition,
        "bizTransactionList": [{"type": "bol", "bizTransaction": waybill_uri(wb["number"])}],
    }
    where = _location(step["place"])
    if where:
        event["readPoint"] = where
        if step["kind"] == "delivery":
            event["bizLocation"] = where
    if step.get("temperature_c10") is not None:
        event["sensorElementList"] = [{"sensorReport": [
            {"type": "Temperature", "value": Decimal(format_c10(step["temperature_c10"])), "uom": "CEL"}]}]
    event["cw:step"] = step["kind"]
    event["cw:seq"] = step["seq"]
    if step["place"]:
        event["cw:place"] = step["place"]["name"]
    event["cw:tx"] = step["tx"]
    event["eventID"] = compute_event_hash(loads_exact(dumps_exact(event)), NAMESPACES)
    return event


def waybill_events(wb: dict[str, Any], steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The EPCIS events of a waybill's SSCC-labelled goods, one per step, oldest first."""
    ssccs = [line["sscc"] for line in wb["goods"] if line["sscc"]]
    if not ssccs:
        return []
    return [step_event(wb, s, ssccs) for s in steps if s["kind"] in BIZ_STEPS]


def epcis_document(events: list[dict[str, Any]], created_ms: int) -> dict[str, Any]:
    return {"@context": [CONTEXT_URL, NAMESPACES], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": format_iso(created_ms), "epcisBody": {"eventList": events}}


def journey_step(step: dict[str, Any], carrier_name: str) -> dict[str, Any]:
    """A public waybill step in the shape of a trace journey step (``apps/trace`` ``_step``)."""
    biz_step, disposition = BIZ_STEPS[step["kind"]]
    reading = step.get("temperature_c10")
    place = dict(step["place"] or {}) or None
    if place is not None:
        place.setdefault("key", f"414/{place['gln']}" if place.get("gln") else f"place:{place['name']}|{place.get('city', '')}")
    return {"stage": STAGES[step["kind"]], "step": biz_step, "disposition": disposition, "type": "ObjectEvent",
            "time_ms": step["at_ms"], "tz": "+00:00", "place": place, "by": carrier_name,
            "sensors": [{"type": "Temperature", "value": format_c10(reading), "uom": "CEL"}] if reading is not None else [],
            "event": f"waybill:{step['waybill']}:{step['seq']}", "height": step["height"], "tx": step["tx"],
            "declared_erroneous": False, "source": "waybill", "waybill": step["waybill"], "seq": step["seq"],
            "sscc": step["sscc"], "excursion": step["excursion"]}
