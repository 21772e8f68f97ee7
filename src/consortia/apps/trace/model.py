"""One EPCIS event, checked and summarised into the float-free record the indexes use.

``summarise`` is the contract's own structural check (deterministic, no schema library): the
fields the trace graph and the query filters rely on must be there and well formed, identifiers
must parse and their check digits hold. The full official JSON schema is applied earlier, at the
capture edge (``schema.py``); see ADR 0007.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from consortia.apps.trace.identifiers import BadIdentifier, key_of, parse_gs1
from consortia.apps.trace.jsonexact import number_text, to_plain
from consortia.apps.trace.times import check_offset, parse_time_ms
from consortia.apps.trace.vocab import bare_term, expand_term
from consortia.errors import BadInput

EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
ACTIONS = ("ADD", "OBSERVE", "DELETE")
NEEDS_ACTION = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "AssociationEvent")
LOT_NUMBER_KEYS = ("cbvmda:lotNumber", "urn:epcglobal:cbv:mda:lotNumber", "gs1:lotNumber", "lotNumber")
MAX_IDS = 10_000


class BadEvent(BadInput):
    code = "BAD_EVENT"

    def __init__(self, message: str, *, field: str = "", **details: Any) -> None:
        super().__init__(f"{field}: {message}" if field else message, field=field, **details)


def _where(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _ids(event: dict[str, Any], name: str, where: str) -> list[str]:
    if name not in event:
        return []
    value = event[name]
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise BadEvent(f"expected a list of at most {MAX_IDS} identifiers", field=_where(where, name))
    out = []
    for i, item in enumerate(value):
        if type(item) is str and 0 < len(item) <= 2000:  # the usual case, without naming the field
            try:
                out.append(key_of(item.strip()))
                continue
            except BadIdentifier:
                pass
        out.append(_key(item, f"{_where(where, name)}[{i}]"))  # raises, naming the field
    return out


def _key(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 2000:
        raise BadEvent(f"expected an identifier URI, got {value!r:.60}", field=field)
    try:
        return key_of(value.strip())
    except BadIdentifier as exc:
        raise BadEvent(exc.message, field=field, code="BAD_IDENTIFIER") from None


def _quantities(event: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    if name not in event:
        return []
    value = event[name]
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise BadEvent("expected a list of quantity elements", field=_where(where, name))
    out = []
    for i, q in enumerate(value):
        field = f"{_where(where, name)}[{i}]"
        if not isinstance(q, dict) or "epcClass" not in q:
            raise BadEvent("expected an object with epcClass", field=field)
        quantity = q.get("quantity")
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, Decimal | int)):
            raise BadEvent(f"quantity: expected a number, got {quantity!r:.40}", field=field)
        out.append({"key": _key(q["epcClass"], field + ".epcClass"),
                    "quantity": None if quantity is None else number_text(quantity),
                    "uom": q.get("uom") if isinstance(q.get("uom"), str) else None})
    return out


def _place(event: dict[str, Any], name: str, where: str) -> str | None:
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or "id" not in value:
        raise BadEvent("expected an object with an id", field=_where(where, name))
    return _key(value["id"], _where(where, name) + ".id")


def _parties(event: dict[str, Any], name: str, child: str, where: str) -> list[dict[str, str]]:
    if name not in event:
        return []
    value = event[name]
    if not isinstance(value, list):
        raise BadEvent("expected a list", field=_where(where, name))
    out = []
    for i, entry in enumerate(value):
        field = f"{_where(where, name)}[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get(child), str):
            raise BadEvent(f"expected an object with {child}", field=field)
        kind = entry.get("type")
        out.append({"type": _bare(name[:-4] + "Type", kind) if isinstance(kind, str) else "",
                    "key": _key(entry[child], f"{field}.{child}")})
    return out


def _decimal_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return None
    return number_text(value)


def _sensors(event: dict[str, Any], where: str) -> list[dict[str, Any]]:
    value = event.get("sensorElementList", [])
    if not isinstance(value, list):
        raise BadEvent("expected a list", field=_where(where, "sensorElementList"))
    readings = []
    for i, element in enumerate(value):
        field = f"{_where(where, 'sensorElementList')}[{i}]"
        if not isinstance(element, dict) or not isinstance(element.get("sensorReport"), list):
            raise BadEvent("expected an object with a sensorReport list", field=field)
        meta: dict[str, Any] = element["sensorMetadata"] if isinstance(element.get("sensorMetadata"), dict) else {}
        for j, report in enumerate(element["sensorReport"]):
            rfield = f"{field}.sensorReport[{j}]"
            if not isinstance(report, dict):
                raise BadEvent("expected an object", field=rfield)
            kind = report.get("type")
            reading: dict[str, Any] = {"type": _bare("measurementType", kind) if isinstance(kind, str) else ""}
            for name in ("value", "minValue", "maxValue", "meanValue"):
                text = _decimal_text(report.get(name))
                if text is not None:
                    reading[name] = text
            for name in ("uom", "stringValue", "exception"):
                if isinstance(report.get(name), str):
                    reading[name] = report[name]
            if isinstance(report.get("booleanValue"), bool):
                reading["booleanValue"] = report["booleanValue"]
            moment = report.get("time") or meta.get("time") or meta.get("endTime")
            if isinstance(moment, str):
                reading["time_ms"] = parse_time_ms(moment, rfield + ".time")
            device = report.get("deviceID") or meta.get("deviceID")
            if isinstance(device, str):
                reading["device"] = device
            readings.append(reading)
    return readings


@lru_cache(maxsize=1 << 16)
def _lot_link(identifier: str) -> tuple[str, str] | None:
    """``(instance key, lot key)`` of an identifier that names an instance of a lot (memoised: pure)."""
    parsed = parse_gs1(identifier)
    if parsed is not None and parsed.lot_key and parsed.key != parsed.lot_key:
        return parsed.key, parsed.lot_key
    return None


@lru_cache(maxsize=4096)
def _bare(field: str, value: str) -> str:
    """The bare standard term of a value of ``field`` (memoised: pure)."""
    return bare_term(field, expand_term(field, value))


def _lots(summary: dict[str, Any], event: dict[str, Any]) -> dict[str, str]:
    """Instance key -> lot key: from Digital Links that carry both (10) and (21), and from the ILMD
    lot number of a commissioning event whose instances share one GTIN."""
    lots: dict[str, str] = {}
    for name in ("epcList", "childEPCs", "outputEPCList", "inputEPCList"):
        for raw in event.get(name, []):
            link = _lot_link(raw.strip()) if isinstance(raw, str) else None
            if link is not None:
                lots[link[0]] = link[1]
    ilmd = event.get("ilmd")
    if isinstance(ilmd, dict):
        lot = next((ilmd[k] for k in LOT_NUMBER_KEYS if isinstance(ilmd.get(k), str)), None)
        if lot is not None:
            for key in summary["epc"] + summary["out"]:
                if key.startswith("01/") and "/21/" in key and key not in lots:
                    gtin = key.split("/")[1]
                    lots[key] = f"01/{gtin}/10/{lot}"
    return lots


def summarise(event: Any, where: str = "") -> dict[str, Any]:
    """Check one event (as read by ``loads_exact``) and return its float-free summary."""
    if not isinstance(event, dict):
        raise BadEvent("expected an event object", field=where or "event")
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        raise BadEvent(f"expected one of {', '.join(EVENT_TYPES)}, got {kind!r:.40}", field=_where(where, "type"),
                       code="UNSUPPORTED_EVENT_TYPE")
    if "eventTime" not in event:
        raise BadEvent("is required", field=_where(where, "eventTime"))
    time_ms = parse_time_ms(event["eventTime"], _where(where, "eventTime"))
    if "eventTimeZoneOffset" not in event:
        raise BadEvent("is required", field=_where(where, "eventTimeZoneOffset"))
    tz = check_offset(event["eventTimeZoneOffset"], _where(where, "eventTimeZoneOffset"))
    action = event.get("action")
    if kind in NEEDS_ACTION and action not in ACTIONS:
        raise BadEvent(f"expected one of {', '.join(ACTIONS)}, got {action!r:.40}", field=_where(where, "action"))
    if kind in ("AggregationEvent", "AssociationEvent") and action != "OBSERVE" and action != "DELETE" \
            and "parentID" not in event:
        raise BadEvent("is required for ADD", field=_where(where, "parentID"))
    for name in ("bizStep", "disposition"):
        if name in event and not isinstance(event[name], str):
            raise BadEvent("expected a string", field=_where(where, name))
    parent = _key(event["parentID"], _where(where, "parentID")) if "parentID" in event else None
    summary: dict[str, Any] = {
        "type": kind, "action": action, "time_ms": time_ms, "tz": tz,
        "biz_step": _bare("bizStep", event["bizStep"]) if "bizStep" in event else None,
        "disposition": _bare("disposition", event["disposition"]) if "disposition" in event else None,
        "read_point": _place(event, "readPoint", where), "biz_location": _place(event, "bizLocation", where),
        "parent": parent,
        "epc": _ids(event, "epcList", where), "class": _quantities(event, "quantityList", where),
        "child": _ids(event, "childEPCs", where), "child_class": _quantities(event, "childQuantityList", where),
        "in": _ids(event, "inputEPCList", where), "in_class": _quantities(event, "inputQuantityList", where),
        "out": _ids(event, "outputEPCList", where), "out_class": _quantities(event, "outputQuantityList", where),
        "sources": _parties(event, "sourceList", "source", where),
        "destinations": _parties(event, "destinationList", "destination", where),
        "sensors": _sensors(event, where),
    }
    if kind == "TransformationEvent" and not (summary["in"] or summary["in_class"] or summary["out"]
                                              or summary["out_class"] or "transformationID" in event):
        raise BadEvent("a transformation needs inputs, outputs or a transformationID", field=where or "event")
    summary["lots"] = _lots(summary, event)
    return summary


def keys_with_roles(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Every identifier the event names, with its role in the event (sorted, no repeats)."""
    pairs = {(k, "epc") for k in summary["epc"]} | {(q["key"], "epc") for q in summary["class"]}
    pairs |= {(k, "child") for k in summary["child"]} | {(q["key"], "child") for q in summary["child_class"]}
    pairs |= {(k, "in") for k in summary["in"]} | {(q["key"], "in") for q in summary["in_class"]}
    pairs |= {(k, "out") for k in summary["out"]} | {(q["key"], "out") for q in summary["out_class"]}
    if summary["parent"]:
        pairs.add((summary["parent"], "parent"))
    return sorted(pairs)


def decimal_of(text: str) -> Decimal | None:
    """A stored decimal text back as a ``Decimal`` (for comparisons; never a float)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        return None
    return value if value.is_finite() else None


def plain_event(event: dict[str, Any]) -> Any:
    return to_plain(event)
