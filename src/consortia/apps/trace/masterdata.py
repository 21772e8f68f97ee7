"""Location master data from an EPCIS document's header, for the location registry.

A standard EPCIS document may name its places in ``epcisHeader.epcisMasterData.vocabularyList``
(vocabularies ``urn:epcglobal:epcis:vtype:BusinessLocation`` and ``...:ReadPoint``; attributes
``urn:epcglobal:cbv:mda#name``, ``streetAddressOne``, ``city``, ``countryCode``, ``latitude``,
``longitude``). At capture, the capture edge (``POST /epcis/capture`` as a gateway, the SDK and
the CLI) turns the entries for the capturer's own GLNs that the chain does not describe yet into
``trace.register_location`` transactions, signed by the same member as the events: the consumer
page then shows "Huaxin Mart Xujiahui" rather than a bare GLN. A location already registered is
left as its owner described it; another organisation's GLN is never named by the capturer.

The registry needs a kind (farm, processing, storage, transport, shelf), which CBV master data
does not carry: it is the stage most of the document's events at that place belong to.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from consortia.apps.trace.contract import LOCATION_KINDS, STAGE_OF_STEP
from consortia.apps.trace.identifiers import BadIdentifier, key_of
from consortia.apps.trace.jsonexact import number_text
from consortia.apps.trace.model import decimal_of
from consortia.apps.trace.vocab import bare_term, expand_term

LOCATION_VOCABULARIES = ("urn:epcglobal:epcis:vtype:BusinessLocation", "urn:epcglobal:epcis:vtype:ReadPoint")
FIELDS = {"name": ("name", 200), "streetAddressOne": ("address", 300), "city": ("city", 100),
          "countryCode": ("country", 60), "latitude": ("latitude", 40), "longitude": ("longitude", 40)}


def _attribute_name(attribute_id: str) -> str:
    """``urn:epcglobal:cbv:mda#name``, ``cbvmda:name`` or a Web URI ending in ``name`` -> ``name``."""
    for separator in ("#", "/", ":"):
        attribute_id = attribute_id.rsplit(separator, 1)[-1]
    return attribute_id


def _location_key(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) == 13:
        text = f"https://id.gs1.org/414/{text}"
    try:
        key = key_of(text)
    except BadIdentifier:
        return None
    return key if key.startswith("414/") else None


def _text(name: str, value: Any, limit: int) -> str | None:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        value = number_text(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if name in ("latitude", "longitude") and decimal_of(value.strip()) is None:
        return None
    return value.strip()[:limit]


def compute_place_kinds(events: list[Any]) -> dict[str, str]:
    """Location key -> the stage (a registry kind) most events at that place belong to."""
    votes: dict[str, Counter[str]] = {}
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("bizStep"), str):
            continue
        stage = STAGE_OF_STEP.get(bare_term("bizStep", expand_term("bizStep", event["bizStep"])) or "")
        for field in ("bizLocation", "readPoint"):
            place = event.get(field)
            key = _location_key(place.get("id")) if isinstance(place, dict) else None
            if key is not None and stage in LOCATION_KINDS:
                votes.setdefault(key, Counter())[stage] += 1
    return {key: counter.most_common(1)[0][0] for key, counter in votes.items()}


def get_locations(document: Any) -> list[dict[str, str]]:
    """The header's location entries as ``trace.register_location`` arguments (kind left out)."""
    header = document.get("epcisHeader") if isinstance(document, dict) else None
    master = header.get("epcisMasterData") if isinstance(header, dict) else None
    vocabularies = master.get("vocabularyList") if isinstance(master, dict) else None
    found: dict[str, dict[str, str]] = {}
    for vocabulary in vocabularies if isinstance(vocabularies, list) else []:
        if not isinstance(vocabulary, dict) or vocabulary.get("type") not in LOCATION_VOCABULARIES:
            continue
        for element in vocabulary.get("vocabularyElementList") or []:
            key = _location_key(element.get("id")) if isinstance(element, dict) else None
            if key is None or key in found:
                continue
            entry = {"location": f"https://id.gs1.org/{key}"}
            for attribute in element.get("attributes") or []:
                if not isinstance(attribute, dict) or not isinstance(attribute.get("id"), str):
                    continue
                field = FIELDS.get(_attribute_name(attribute["id"]))
                value = _text(field[0], attribute.get("attribute"), field[1]) if field else None
                if field and value is not None:
                    entry.setdefault(field[0], value)
            if "name" in entry:
                found[key] = entry
    return list(found.values())


def _owner(number: str, parties: list[dict[str, Any]]) -> str | None:
    """Who owns a GLN: the party that registered it, else the one whose company prefix starts it
    (the contract's rule)."""
    for party in parties:
        if number in party.get("glns", []):
            return str(party["org"])
    for length in range(6, 13):
        for party in parties:
            if number[:length] in party.get("company_prefixes", []):
                return str(party["org"])
    return None


def compute_registrations(document: Any, org: str, parties: list[dict[str, Any]],
                          known: set[str]) -> list[dict[str, str]]:
    """``trace.register_location`` arguments for the header's locations that ``org`` owns and
    the chain does not describe yet (``known``: the registered location keys)."""
    kinds = compute_place_kinds(document["epcisBody"].get("eventList", []) if isinstance(document, dict)
                                and isinstance(document.get("epcisBody"), dict) else [])
    out = []
    for entry in get_locations(document):
        key = _location_key(entry["location"])
        if key is None or key in known or key.split("/254/")[0] in known:
            continue
        if _owner(key.split("/")[1], parties) != org:
            continue
        out.append({**entry, "kind": kinds.get(key, "other")})
    return out
