"""Sealed event payloads: every node holds an event's public part, only its parties its payload (ADR 0013).

A sealed capture (``trace.capture_sealed``) carries, for each event:

- ``id``: its EPCIS event hash ID, computed by the capturer from the full event;
- ``public``: the event's *public part* (``public_part``), the JSON text every member node
  stores and indexes: what, when, where and why (identifiers by role, time, business step,
  disposition, read point and business location, sensor readings, the ILMD lot number, an
  error declaration). Trace, recall, cold-chain alerts and the consumer page run on it;
- ``sealed``: the whole event and its namespaces, encrypted with the suite's AEAD under a key
  of its own, ``event_key(group key, id)``, with the chain id and the event id as associated
  data. Quantities, business transactions, sources and destinations, the rest of the ILMD,
  certifications and extensions travel only here;
- ``key``: the index of its *key group* in the transaction's ``keys``: one random group key
  wrapped (``CryptoSuite.wrap``) to the organisation key of every recipient. Events of a
  transaction with the same recipients share a group; each still has its own event key, so
  one event's key can be disclosed (to a court, say) without the others.

Recipients: the capturer, every regulator, the owners of the places the event names (read
point, business location, sources, destinations) and whoever the capturer shares with. The
contract checks the public part and that the required recipients hold a wrapped key; it cannot
check what it cannot read. The reader does: ``open_view`` checks that the opened event hashes
to its ID and that its public part is exactly what the chain holds, and says so when not.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from consortia.apps.trace.eventhash import compute_event_hash
from consortia.apps.trace.jsonexact import dumps_exact, loads_exact
from consortia.apps.trace.model import LOT_NUMBER_KEYS, summarise
from consortia.crypto import CryptoSuite, KeyUnwrapper
from consortia.errors import BadInput, ConsortiaError
from consortia.types import codec

PUBLIC_FIELDS = frozenset({
    "type", "eventTime", "eventTimeZoneOffset", "eventID", "action", "bizStep", "disposition", "persistentDisposition",
    "readPoint", "bizLocation", "parentID", "epcList", "childEPCs", "inputEPCList", "outputEPCList",
    "transformationID", "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList",
    "sensorElementList", "ilmd", "errorDeclaration"})
QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
PLACES = ("readPoint", "bizLocation")
KEY_LABEL = b"consortia/trace/event-key\x00"
GROUP_KEY_BYTES = 32
MAX_RECIPIENTS = 50
MAX_WRAPPED_BYTES = 512


def public_part(event: dict[str, Any]) -> dict[str, Any]:
    """What of an event every member may see (see the module docstring): the rest is sealed."""
    out: dict[str, Any] = {}
    for name, value in event.items():
        if name not in PUBLIC_FIELDS:
            continue
        if name in QUANTITY_LISTS and isinstance(value, list):
            value = [{"epcClass": q["epcClass"]} if isinstance(q, dict) and "epcClass" in q else q for q in value]
        elif name in PLACES and isinstance(value, dict) and "id" in value:
            value = {"id": value["id"]}
        elif name == "ilmd":
            if not isinstance(value, dict):
                continue
            value = {k: value[k] for k in LOT_NUMBER_KEYS if k in value}
            if not value:
                continue
        out[name] = value
    return out


def event_key(suite: CryptoSuite, group_key: bytes, event_id: str) -> bytes:
    """The AEAD key of one event: a hash of its group key and its ID."""
    return suite.hash(KEY_LABEL + group_key + event_id.encode())[:suite.seal_key_bytes]


def associated_data(chain_id: str, event_id: str) -> bytes:
    return f"consortia/trace/sealed\x00{chain_id}\x00{event_id}".encode()


def place_keys(summary: dict[str, Any]) -> list[str]:
    """The places an event names whose owners are its trading partners."""
    keys = [summary["read_point"], summary["biz_location"], *[p["key"] for p in summary["sources"]],
            *[p["key"] for p in summary["destinations"]]]
    return list(dict.fromkeys(k for k in keys if k))


def required_recipients(org: str, places: Iterable[str], directory: dict[str, Any], share_with: Iterable[str]) -> set[str]:
    owners = directory["owners"]
    return {org, *directory["regulators"], *(owners[p] for p in places if owners.get(p)), *share_with}


# -- the capturer's side -----------------------------------------------------------------

Directory = Callable[[list[str]], dict[str, Any]]


def seal_batches(suite: CryptoSuite, chain_id: str, org: str, namespaces: dict[str, str], batches: list[list[str]],
                 directory: Directory, share_with: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The arguments of one ``trace.capture_sealed`` transaction per batch of event texts.

    ``directory(places)`` answers the contract's ``trace.sealing_directory``: organisation keys,
    regulators and the owners of ``places``. A recipient without a registered key is refused
    (``NO_SEALING_KEY``): the event would be unreadable to it."""
    shared = sorted(set(share_with))
    parsed = [[loads_exact(text) for text in batch] for batch in batches]
    summaries = [[summarise(event) for event in batch] for batch in parsed]
    places = sorted({p for batch in summaries for s in batch for p in place_keys(s)})
    found = directory(places)
    keys: dict[str, str] = found["keys"]
    out = []
    for texts, events, batch_summaries in zip(batches, parsed, summaries, strict=True):
        if not texts:
            continue
        groups: dict[tuple[str, ...], int] = {}
        wrapped: list[dict[str, str]] = []
        group_keys: list[bytes] = []
        sealed_events = []
        for text, event, summary in zip(texts, events, batch_summaries, strict=True):
            recipients = tuple(sorted(required_recipients(org, place_keys(summary), found, shared)))
            missing = [r for r in recipients if r not in keys]
            if missing:
                raise BadInput(f"{', '.join(missing)} registered no sealing key, so could not read the event; "
                               "it must run `consortia trace sealing-key`, or capture in clear", code="NO_SEALING_KEY",
                               orgs=missing)
            if recipients not in groups:
                group_key = secrets.token_bytes(GROUP_KEY_BYTES)
                groups[recipients] = len(wrapped)
                group_keys.append(group_key)
                wrapped.append({r: suite.wrap(bytes.fromhex(keys[r]), group_key).hex() for r in recipients})
            index = groups[recipients]
            event_id = compute_event_hash(event, namespaces)
            used = {p: v for p, v in namespaces.items() if p + ":" in text}
            payload = codec.encode({"ns": used, "text": text})
            sealed = suite.seal(event_key(suite, group_keys[index], event_id), payload, associated_data(chain_id, event_id))
            sealed_events.append({"id": event_id, "key": index, "public": dumps_exact(public_part(event)),
                                  "sealed": sealed.hex()})
        args: dict[str, Any] = {"events": sealed_events, "keys": wrapped, "namespaces": namespaces}
        if shared:
            args["share_with"] = shared
        out.append(args)
    return out


def capture_calls(suite: CryptoSuite, chain_id: str, org: str, namespaces: dict[str, str], batches: list[list[str]],
                  directory: Directory, share_with: Iterable[str] = (), seal: bool | None = None
                  ) -> tuple[str, list[dict[str, Any]]]:
    """The method and the per-batch arguments that capture ``batches`` as ``org``: sealed when
    ``seal`` is true, or, left at None, when ``org`` has published a sealing key (publishing
    it turns sealing on for the organisation's captures); else ``trace.capture`` in clear."""
    from consortia.apps.trace.document import capture_args

    if seal is None:
        seal = org in directory([])["keys"]
    if seal:
        return "capture_sealed", seal_batches(suite, chain_id, org, namespaces, batches, directory, share_with)
    return "capture", [capture_args(namespaces, batch, list(share_with)) for batch in batches if batch]


# -- the reader's side -------------------------------------------------------------------

class Opener:
    """Opens sealed event views with the organisation keys a node holds (its own organisation's;
    a one-node local consortium holds every organisation's). Group keys are kept for the last
    few thousand key groups, as a trace touches many events of one capture."""

    def __init__(self, suite: CryptoSuite, chain_id: str, keys: dict[str, KeyUnwrapper]) -> None:
        self.suite, self.chain_id, self.keys = suite, chain_id, keys
        self._groups: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()  # API requests open views on several threads

    def _group_key(self, ref: str, org: str, wrapped_hex: str) -> bytes:
        with self._lock:
            key = self._groups.get(ref)
        if key is None:
            key = self.keys[org].unwrap(bytes.fromhex(wrapped_hex))
            with self._lock:
                self._groups[ref] = key
                if len(self._groups) > 4096:
                    self._groups.popitem(last=False)
        return key

    def open_view(self, view: dict[str, Any]) -> dict[str, Any]:
        """``view`` with ``text`` and ``ns`` of the whole event, when a key held here is among its
        recipients and the payload checks out; ``sealed.status`` says what happened."""
        sealed = view.get("sealed")
        if not isinstance(sealed, dict) or not isinstance(sealed.get("wraps"), dict):
            return view
        recipients = sorted(sealed["wraps"])
        org = next((r for r in recipients if r in self.keys), None)
        if org is None:
            return {**view, "sealed": {"status": "not-for-this-node", "recipients": recipients}}
        try:
            group_key = self._group_key(sealed["ref"], org, sealed["wraps"][org])
            payload = self.suite.open(event_key(self.suite, group_key, view["id"]), bytes.fromhex(sealed["ct"]),
                                      associated_data(self.chain_id, view["id"]))
            opened = codec.decode(payload)
            text, ns = opened["text"], opened["ns"]
            problem = check_opened(loads_exact(text), ns, view["id"], loads_exact(view["text"]))
        except (ConsortiaError, ValueError, KeyError, TypeError) as exc:
            message = exc.message if isinstance(exc, ConsortiaError) else type(exc).__name__
            return {**view, "sealed": {"status": "unreadable", "reason": message, "recipients": recipients}}
        if problem:
            return {**view, "sealed": {"status": "mismatch", "reason": problem, "recipients": recipients}}
        return {**view, "text": text, "ns": ns, "sealed": {"status": "opened", "recipients": recipients}}

    def open_all(self, value: Any) -> Any:
        """Every sealed view inside a query result, opened (lists and dicts walked)."""
        if isinstance(value, list):
            return [self.open_all(v) for v in value]
        if isinstance(value, dict):
            if isinstance(value.get("sealed"), dict) and "text" in value:
                return self.open_view(value)
            return {k: self.open_all(v) for k, v in value.items()}
        return value


def check_opened(event: Any, ns: dict[str, str], event_id: str, public: dict[str, Any]) -> str:
    """Why an opened payload does not belong where it was found ('' when it does)."""
    if compute_event_hash(event, ns) != event_id:
        return f"the sealed event does not hash to {event_id}: its capturer sealed another event"
    if public_part(event) != public:  # numbers compare by value: Decimal("26.0") == Decimal("26.00")
        return "the sealed event's public part differs from the one on the chain"
    return ""
