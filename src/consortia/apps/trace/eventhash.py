"""The EPCIS event hash ID (CBV 2.0, section 8.9): ``ni:///sha-256;<hex>?ver=CBV2.0``.

The hash is over a *pre-hash string* that any serialisation of the same event produces: the
event's fields in the canonical property order, each ``name=value``, list members sorted, values
canonicalised (timestamps in UTC to the millisecond, numbers without trailing zeros, bare CBV
terms, old CBV URNs and CURIEs as Web URIs, EPC URNs and Digital Links on any domain as the
constrained canonical Digital Link), then ILMD and user extensions as ``{namespace}name=value``,
sorted. ``eventID``, ``recordTime`` and ``errorDeclaration`` are not part of it: an error
declaration added to an event later does not change the event's identity.

The event is given as read by ``jsonexact.loads_exact`` (numbers as ``Decimal`` / ``int``) with
the namespace prefixes of its document's ``@context``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from consortia.apps.trace.identifiers import BadIdentifier, canonical_uri
from consortia.apps.trace.jsonexact import number_text
from consortia.apps.trace.times import format_utc, parse_time_ms
from consortia.apps.trace.vocab import expand_term
from consortia.errors import BadInput

HASH_VERSION = "CBV2.0"
NOT_HASHED = frozenset({"eventID", "recordTime", "errorDeclaration", "type", "@context", "rdfs:comment", "comment"})
EPC_LISTS = ("epcList", "inputEPCList", "childEPCs", "outputEPCList")
QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
SENSOR_METADATA = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
                   "bizRules")
SENSOR_REPORT = ("type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
                 "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
                 "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue",
                 "uom", "coordinateReferenceSystem")
TIME_FIELDS = frozenset({"eventTime", "time", "startTime", "endTime", "declarationTime"})
NI_RE = re.compile(r"ni:///sha-256;([0-9a-f]{64})\?ver=CBV\d+\.\d+(\.\d+)?")


def compute_event_hash(event: dict[str, Any], namespaces: dict[str, str] | None = None) -> str:
    """The event hash ID of one EPCIS event."""
    digest = hashlib.sha256(compute_prehash(event, namespaces).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver={HASH_VERSION}"


def is_event_hash(text: object) -> bool:
    return isinstance(text, str) and NI_RE.fullmatch(text) is not None


def compute_prehash(event: dict[str, Any], namespaces: dict[str, str] | None = None) -> str:
    """The pre-hash string (the concatenation the hash is computed over)."""
    ns = namespaces or {}
    out = [f"eventType={event.get('type', '')}"]
    for name, render in _ORDER:
        if name in event and event[name] is not None:
            out.append(render(name, event[name], ns))
    extensions = [ext for key, value in event.items() if key not in KNOWN and key not in NOT_HASHED
                  for ext in _extension(key, value, ns)]
    out.extend(sorted(extensions))
    return "".join(out)


# -- values -----------------------------------------------------------------------------

def _value(field: str, value: Any, ns: dict[str, str]) -> str:
    """One value in canonical form (see the module docstring)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return number_text(value)
    if not isinstance(value, str):
        return ""
    return _text(field, value, ns) if ns else _plain_text(field, value)


@lru_cache(maxsize=1 << 16)
def _plain_text(field: str, value: str) -> str:
    """``_text`` without namespaces (memoised: pure)."""
    return _text(field, value, {})


def _text(field: str, value: str, ns: dict[str, str]) -> str:
    """One string value in canonical form: a timestamp in UTC, a term or identifier as its URI."""
    text = value.strip()
    if field in TIME_FIELDS:
        try:
            return format_utc(parse_time_ms(text, field))
        except BadInput:
            return text
    text = expand_term(field, text, ns)
    try:
        return canonical_uri(text)
    except BadIdentifier:
        return text


def _pair(field: str, value: Any, ns: dict[str, str], term: str | None = None) -> str:
    if not ns and type(value) is str:  # nearly every value: straight to the memoised canonical form
        text = _plain_text(term or field, value)
    else:
        text = _value(term or field, value, ns)
    return f"{field}={text}" if text != "" else ""


def _plain(name: str, value: Any, ns: dict[str, str]) -> str:
    return _pair(name, value, ns)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _uris(name: str, value: Any, ns: dict[str, str]) -> str:
    return "".join(sorted(_pair(name, v, ns) for v in _as_list(value)))


def _epcs(name: str, value: Any, ns: dict[str, str]) -> str:
    items = sorted(_pair("epc", v, ns) for v in _as_list(value))
    return name + "".join(items) if any(items) else ""


def _quantities(name: str, value: Any, ns: dict[str, str]) -> str:
    items = []
    for q in _as_list(value):
        if isinstance(q, dict):
            fields = "".join(_pair(f, q[f], ns) for f in ("epcClass", "quantity", "uom") if f in q)
            items.append("quantityElement" + fields)
    return name + "".join(sorted(items)) if items else ""


def _persistent(name: str, value: Any, ns: dict[str, str]) -> str:
    if not isinstance(value, dict):
        return ""
    parts = [part for f in ("set", "unset") for part in sorted(_pair(f, v, ns, "persistentDisposition")
                                                              for v in _as_list(value.get(f, [])))]
    return name + "".join(parts) if parts else ""


def _location(name: str, value: Any, ns: dict[str, str]) -> str:
    if not isinstance(value, dict):
        return ""
    extensions = sorted(e for k, v in value.items() if k != "id" for e in _extension(k, v, ns))
    return name + _pair("id", value.get("id"), ns) + "".join(extensions)


def _typed(child: str, term: str) -> Callable[[str, Any, dict[str, str]], str]:
    """A list of ``{child: id, type: term}`` entries: ``child=<id>type=<uri>``, sorted."""
    def render(name: str, value: Any, ns: dict[str, str]) -> str:
        items = []
        for entry in _as_list(value):
            if isinstance(entry, dict):
                text = _pair(child, entry.get(child), ns)
                if "type" in entry:
                    text += _pair("type", entry["type"], ns, term)
                items.append(text)
        return name + "".join(sorted(items)) if items else ""
    return render


def _fields(value: dict[str, Any], order: tuple[str, ...], ns: dict[str, str], terms: dict[str, str]) -> str:
    known = "".join(_pair(f, value[f], ns, terms.get(f)) for f in order if f in value)
    extensions = sorted(e for k, v in value.items() if k not in order for e in _extension(k, v, ns))
    return known + "".join(extensions)


def _sensors(name: str, value: Any, ns: dict[str, str]) -> str:
    elements = []
    for element in _as_list(value):
        if not isinstance(element, dict):
            continue
        text = "sensorElement"
        if isinstance(element.get("sensorMetadata"), dict):
            text += "sensorMetadata" + _fields(element["sensorMetadata"], SENSOR_METADATA, ns, {})
        reports = sorted("sensorReport" + _fields(r, SENSOR_REPORT, ns, {"type": "measurementType"})
                         for r in _as_list(element.get("sensorReport", [])) if isinstance(r, dict))
        text += "".join(reports)
        extensions = sorted(e for k, v in element.items() if k not in ("sensorMetadata", "sensorReport")
                            for e in _extension(k, v, ns))
        elements.append(text + "".join(extensions))
    return name + "".join(sorted(elements)) if elements else ""


def _ilmd(name: str, value: Any, ns: dict[str, str]) -> str:
    if not isinstance(value, dict):
        return ""
    parts = sorted(e for k, v in value.items() for e in _extension(k, v, ns))
    return name + "".join(parts) if parts else ""


def _extension_name(key: str, ns: dict[str, str]) -> str:
    """``example:myField`` -> ``{http://ns.example.com/epcis/}myField`` (the prefix's IRI in braces)."""
    prefix, sep, local = key.partition(":")
    if sep and prefix in ns and not local.startswith("//"):
        return "{" + ns[prefix] + "}" + local
    if key.startswith(("http://", "https://")):
        cut = max(key.rfind("/"), key.rfind("#")) + 1
        return "{" + key[:cut] + "}" + key[cut:]
    return key


def _extension(key: str, value: Any, ns: dict[str, str]) -> list[str]:
    """The substrings of one extension element: one per value when it is a list."""
    if key.startswith("@"):
        return []
    name = _extension_name(key, ns)
    out = []
    for item in _as_list(value):
        if isinstance(item, dict):
            children = sorted(e for k, v in item.items() for e in _extension(k, v, ns))
            out.append(name + "".join(children))
        else:
            text = _value(key, item, ns)
            out.append(f"{name}={text}" if text != "" else name)
    return out


_ORDER: list[tuple[str, Callable[[str, Any, dict[str, str]], str]]] = [
    ("eventTime", _plain), ("eventTimeZoneOffset", _plain), ("certificationInfo", _uris), ("parentID", _plain),
    ("epcList", _epcs), ("inputEPCList", _epcs), ("childEPCs", _epcs),
    ("quantityList", _quantities), ("childQuantityList", _quantities), ("inputQuantityList", _quantities),
    ("outputEPCList", _epcs), ("outputQuantityList", _quantities),
    ("action", _plain), ("transformationID", _plain), ("bizStep", _plain), ("disposition", _plain),
    ("persistentDisposition", _persistent), ("readPoint", _location), ("bizLocation", _location),
    ("bizTransactionList", _typed("bizTransaction", "bizTransactionType")),
    ("sourceList", _typed("source", "sourceType")), ("destinationList", _typed("destination", "destinationType")),
    ("sensorElementList", _sensors), ("ilmd", _ilmd),
]
KNOWN = frozenset(name for name, _ in _ORDER)
