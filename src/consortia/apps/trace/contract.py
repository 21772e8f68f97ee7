"""The ``trace`` contract: GS1 EPCIS 2.0 events on the chain, trace and recall, cold-chain alerts.

Events arrive as their JSON text (numbers exact; see ``jsonexact``) and are stored under their
standard event hash ID with the capturing organisation, the block height and the transaction.
Records are append-only: a second copy of an event is refused (``DUPLICATE_EVENT``); the only
way to correct one is an EPCIS ``errorDeclaration`` (the event repeated with the declaration,
which has the same hash ID), by the organisation that captured it or a regulator.

Who sees what: every member can see that an event exists, who captured it and where it is on
the chain (``exists``), and the trace skeleton (identifiers, steps, places, times). The payload
(the event as captured: business transactions, quantities, sensor data, extensions) is visible
to the capturing organisation, its trading partners on that event (the owners of the parties
and locations it names, and any it shares with) and regulators. The consumer ``journey`` of one
package is public by design: steps, places, times and sensor summaries, no commercial data.

Sealed capture (``capture_sealed``, ADR 0013) keeps the payload off every other node as well:
the chain then holds the event's public part in clear and the whole event encrypted to its
recipients' organisation keys (``set_sealing_key``); see ``sealing.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from consortia.apps.trace.eventhash import compute_event_hash, is_event_hash
from consortia.apps.trace.graph import (
    MAX_ROWS,
    NEVER,
    TIME_OFFSET,
    Walk,
    backward,
    event_of,
    event_ref,
    forward,
    index_rows,
    last_seen,
    time_key,
)
from consortia.apps.trace.identifiers import BadIdentifier, describe_key, key_of, normalise_gtin, parse_gs1
from consortia.apps.trace.jsonexact import dumps_exact, loads_exact
from consortia.apps.trace.model import decimal_of, keys_with_roles, summarise
from consortia.apps.trace.sealing import MAX_RECIPIENTS, MAX_WRAPPED_BYTES, place_keys, public_part
from consortia.apps.trace.times import BadTime, format_iso, parse_time_ms
from consortia.apps.trace.vocab import CONTEXT_URL
from consortia.contracts.sdk import Context, Contract, method, query, refuse, require
from consortia.crypto import get_suite
from consortia.errors import BadInput, ConsortiaError, NotFound

PARTY_ROLES = ("farm", "processor", "warehouse", "carrier", "retailer", "brand_owner", "regulator", "other")
LOCATION_KINDS = ("farm", "processing", "storage", "transport", "shelf", "other")
STAGE_OF_STEP = {
    "commissioning": "processing", "killing": "processing", "packing": "processing", "repackaging": "processing",
    "assembling": "processing", "creating_class_instance": "processing", "transforming": "processing",
    "shipping": "transport", "departing": "transport", "arriving": "transport", "transporting": "transport",
    "loading": "transport", "unloading": "transport", "receiving": "storage", "storing": "storage",
    "holding": "storage", "staging_outbound": "storage", "picking": "storage", "stocking": "shelf",
    "retail_selling": "shelf", "dispensing": "shelf", "inspecting": "processing", "sensor_reporting": "transport",
}
MAX_EVENTS_PER_TX = 1000
MAX_PUBLIC_BYTES = 256 * 1024
MAX_SEALED_BYTES = 300 * 1024
MAX_PAGE = 1000
MAX_EXISTS = 10_000  # event IDs per exists_many query
READ_AHEAD = 10  # events read and hashed ahead of storing them, their state reads warmed in one query (more keeps
#                 more parsed events alive at once, which the garbage collector then scans as long-lived: it costs more)
MAX_NAMESPACES = 50
SCAN_PAGE = 2000
TOKEN_ID = 17  # a page token is "<16-digit time>/<event ref>" (graph.event_ref); whole event ids contain slashes
SENSOR_BOUNDS = ("value", "minValue", "maxValue", "meanValue")


class Traceability(Contract):
    name = "trace"
    description = ("GS1 EPCIS 2.0 traceability: capture events by their hash ID, query them, trace back and "
                   "forward through aggregations and transformations, recall lots, cold-chain alerts.")

    # -- parties and master data -----------------------------------------------------------

    def _party(self, ctx: Context, org: str) -> dict[str, Any]:
        party = ctx.get(f"party/{org}")
        require(party is not None, refuse("NOT_A_PARTY", f"{org} is not registered as a traceability party"))
        return party  # type: ignore[no-any-return]

    def _is_regulator(self, ctx: Context, org: str) -> bool:
        party = ctx.get(f"party/{org}")  # the seat holds while governance keeps the organisation a regulator
        return party is not None and "regulator" in party["roles"] and ctx.org_kind(org) == "regulator"

    def _owner_of_number(self, ctx: Context, number: str) -> str | None:
        """The organisation whose GS1 company prefix starts ``number`` (a GLN, a GTIN without its indicator)."""
        for length in range(6, 13):
            owner = ctx.get(f"gcp/{number[:length]}")
            if owner is not None:
                return owner  # type: ignore[no-any-return]
        return None

    def _owner_of_key(self, ctx: Context, key: str) -> str | None:
        parts = key.split("/")
        if len(parts) >= 2 and parts[0] in ("414", "417"):
            return ctx.get(f"gln/{parts[1]}") or self._owner_of_number(ctx, parts[1])
        if len(parts) >= 2 and parts[0] == "01":
            return self._owner_of_number(ctx, parts[1][1:])
        return None

    @method
    def register_party(self, ctx: Context, roles: list[str], name: str, company_prefixes: list[str] | None = None,
                       glns: list[str] | None = None) -> dict[str, Any]:
        """Register the caller's organisation: its roles, GS1 company prefixes and GLNs (its admin signs)."""
        caller = ctx.require_caller()
        require(caller.has_role("admin"), refuse("NOT_ADMIN", "an organisation admin registers the party"))
        require(roles and all(r in PARTY_ROLES for r in roles) and len(set(roles)) == len(roles),
                refuse("BAD_ROLE", f"roles: expected a non-empty subset of {PARTY_ROLES}, got {roles}"))
        ctx.require_regulator_kind(roles)
        require(0 < len(name) <= 200, refuse("BAD_ARGS", "name: 1 to 200 characters"))
        prefixes, numbers = sorted(set(company_prefixes or [])), sorted(set(glns or []))
        require(len(prefixes) <= 20 and len(numbers) <= 200, refuse("BAD_ARGS", "at most 20 prefixes and 200 GLNs"))
        for prefix in prefixes:
            require(prefix.isascii() and prefix.isdigit() and 6 <= len(prefix) <= 12,
                    refuse("BAD_PREFIX", f"company prefix {prefix!r}: expected 6 to 12 digits"))
            clash = self._owner_of_number(ctx, prefix) or next(
                (owner for _, owner in ctx.range(f"gcp/{prefix}", limit=1)), None)
            require(clash in (None, caller.org), refuse("PREFIX_TAKEN", f"company prefix {prefix} overlaps one of {clash}"))
        for gln in numbers:
            try:
                parse_gs1(f"https://id.gs1.org/414/{gln}")
            except BadIdentifier as exc:
                raise refuse("BAD_IDENTIFIER", exc.message) from None
            owner = ctx.get(f"gln/{gln}")
            require(owner in (None, caller.org), refuse("GLN_TAKEN", f"GLN {gln} is registered to {owner}"))
        previous = ctx.get(f"party/{caller.org}")
        if previous is not None:
            for prefix in set(previous["company_prefixes"]) - set(prefixes):
                ctx.delete(f"gcp/{prefix}")
            for gln in set(previous["glns"]) - set(numbers):
                ctx.delete(f"gln/{gln}")
        for prefix in prefixes:
            ctx.put(f"gcp/{prefix}", caller.org)
        for gln in numbers:
            ctx.put(f"gln/{gln}", caller.org)
        party = {"org": caller.org, "roles": sorted(roles), "name": name, "company_prefixes": prefixes, "glns": numbers,
                 "since_ms": previous["since_ms"] if previous else ctx.time_ms}
        ctx.put(f"party/{caller.org}", party)
        ctx.emit("PartyRegistered", org=caller.org, roles=party["roles"])
        return party

    @method
    def set_sealing_key(self, ctx: Context, key: str) -> dict[str, Any]:
        """Publish the caller's organisation key for sealed payloads (hex; its admin signs). Events
        sealed to it from now on are readable with the private half, which its node holds."""
        caller = ctx.require_caller()
        require(caller.has_role("admin"), refuse("NOT_ADMIN", "an organisation admin publishes the sealing key"))
        party = self._party(ctx, caller.org)
        suite = get_suite(ctx.suite)
        try:
            raw = suite.check_wrap_key(bytes.fromhex(key)) if len(key) <= 2 * MAX_WRAPPED_BYTES else b""
        except (ValueError, BadInput):
            raw = b""
        require(raw, refuse("BAD_KEY", f"key: expected a {suite.wrap_name} public key in hex"))
        party = {**party, "sealing_key": raw.hex(), "sealing_key_since": ctx.height}
        ctx.put(f"party/{caller.org}", party)
        ctx.emit("SealingKeySet", org=caller.org)
        return party

    @query
    def sealing_directory(self, ctx: Context, places: list[str] | None = None) -> dict[str, Any]:
        """Public: what a sealed capture needs: every party's sealing key, the regulators, and
        the owner of each place key in ``places`` (read point, business location, sources...)."""
        wanted = places or []
        require(len(wanted) <= 10_000, BadInput("places: at most 10,000", code="BAD_ARGS"))
        keys, regulators = {}, []
        for _, party in ctx.range("party/", limit=10_000):
            if party.get("sealing_key"):
                keys[party["org"]] = party["sealing_key"]
            if "regulator" in party["roles"] and ctx.org_kind(party["org"]) == "regulator":
                regulators.append(party["org"])
        owners = {p: self._owner_of_key(ctx, p) for p in wanted if isinstance(p, str) and len(p) <= 300}
        return {"keys": keys, "regulators": regulators, "owners": {p: o for p, o in owners.items() if o}}

    def _place_key(self, place: str) -> str:
        """A GLN, an SGLN URN or a Digital Link (414) as a location key."""
        text = place.strip()
        if text.isascii() and text.isdigit() and len(text) == 13:
            text = f"https://id.gs1.org/414/{text}"
        try:
            key = key_of(text)
        except BadIdentifier as exc:
            raise refuse("BAD_IDENTIFIER", exc.message) from None
        require(key.startswith("414/"), refuse("BAD_IDENTIFIER", f"{place!r} is not a GLN, SGLN or (414) Digital Link"))
        return key

    @method
    def register_location(self, ctx: Context, location: str, name: str, kind: str, address: str = "", city: str = "",
                          country: str = "", latitude: str = "", longitude: str = "") -> dict[str, Any]:
        """Master data for one of the caller's locations (GLN, with an optional extension)."""
        org = self._party(ctx, ctx.require_caller().org)["org"]
        key = self._place_key(location)
        require(self._owner_of_key(ctx, key) == org, refuse("NOT_OWNER", f"location {key} is not registered to {org}"))
        require(kind in LOCATION_KINDS, refuse("BAD_ARGS", f"kind: expected one of {LOCATION_KINDS}, got {kind!r}"))
        require(0 < len(name) <= 200 and len(address) <= 300 and len(city) <= 100 and len(country) <= 60,
                refuse("BAD_ARGS", "name 1-200, address up to 300, city up to 100, country up to 60 characters"))
        for label, value in (("latitude", latitude), ("longitude", longitude)):
            require(value == "" or decimal_of(value) is not None, refuse("BAD_ARGS", f"{label}: a decimal number as text"))
        record = {"key": key, "name": name, "kind": kind, "address": address, "city": city, "country": country,
                  "latitude": latitude, "longitude": longitude, "org": org}
        ctx.put(f"loc/{key}", record)
        ctx.emit("LocationRegistered", key=key, org=org, kind=kind)
        return record

    @method
    def register_product(self, ctx: Context, gtin: str, name: str, category: str = "", description: str = "",
                         ranges: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
        """Product master data by its brand owner, with the sensor ranges it must be kept in
        (``{"Temperature": {"min": "-1", "max": "4", "uom": "CEL"}}``, decimals as text)."""
        org = self._party(ctx, ctx.require_caller().org)["org"]
        try:
            number = normalise_gtin(gtin)
        except BadIdentifier as exc:
            raise refuse("BAD_IDENTIFIER", exc.message) from None
        require(self._owner_of_number(ctx, number[1:]) == org,
                refuse("NOT_BRAND_OWNER", f"GTIN {number} is not under a company prefix of {org}"))
        require(0 < len(name) <= 200 and len(category) <= 100 and len(description) <= 1000,
                refuse("BAD_ARGS", "name 1-200, category up to 100, description up to 1000 characters"))
        checked: dict[str, dict[str, str]] = {}
        for kind, bounds in sorted((ranges or {}).items()):
            low, high = decimal_of(bounds.get("min", "")), decimal_of(bounds.get("max", ""))
            require(low is not None and high is not None and low <= high and set(bounds) <= {"min", "max", "uom"},
                    refuse("BAD_RANGE", f"ranges.{kind}: expected min <= max as decimal text, and an optional uom"))
            checked[kind] = {"min": bounds["min"], "max": bounds["max"], "uom": bounds.get("uom", "")}
        product = {"gtin": number, "name": name, "category": category, "description": description, "ranges": checked,
                   "brand_owner": org}
        ctx.put(f"prod/{number}", product)
        ctx.emit("ProductRegistered", gtin=number, brand_owner=org)
        return product

    # -- capture ---------------------------------------------------------------------------

    @method
    def capture(self, ctx: Context, events: list[str], namespaces: dict[str, str] | None = None,
                share_with: list[str] | None = None) -> dict[str, Any]:
        """Capture EPCIS events (each its JSON text). All or nothing: one bad event refuses the lot."""
        org = self._party(ctx, ctx.require_caller().org)["org"]
        require(0 < len(events) <= MAX_EVENTS_PER_TX,
                refuse("BAD_ARGS", f"events: 1 to {MAX_EVENTS_PER_TX} event texts per transaction"))
        ns = self._namespaces(namespaces)
        shared = self._shared(ctx, share_with)
        captured: list[str] = []
        declared: list[str] = []
        memo = _TxMemo()
        for start in range(0, len(events), READ_AHEAD):
            chunk = range(start, min(start + READ_AHEAD, len(events)))
            read = [_read_event(events[i], ns, f"events[{i}]") for i in chunk]
            _prefetch(ctx, read)
            for i, found in zip(chunk, read, strict=True):
                event_id, was_declaration = self._capture_one(ctx, org, events[i], ns, shared, f"events[{i}]",
                                                              memo=memo, read=found)
                (declared if was_declaration else captured).append(event_id)
        memo.write_last_places(ctx)
        self._count(ctx, events=len(captured), declarations=len(declared))
        return {"captured": captured, "declared": declared, "org": org, "height": ctx.height}

    @method
    def capture_sealed(self, ctx: Context, events: list[dict[str, Any]], keys: list[dict[str, str]],
                       namespaces: dict[str, str] | None = None, share_with: list[str] | None = None) -> dict[str, Any]:
        """Capture events whose payloads are sealed to their recipients (``sealing.py``): each
        ``{"id", "public", "sealed", "key"}``, ``keys`` the wrapped group keys by organisation.
        All or nothing, like ``capture``."""
        org = self._party(ctx, ctx.require_caller().org)["org"]
        require(0 < len(events) <= MAX_EVENTS_PER_TX,
                refuse("BAD_ARGS", f"events: 1 to {MAX_EVENTS_PER_TX} sealed events per transaction"))
        require(0 < len(keys) <= len(events), refuse("BAD_ARGS", "keys: 1 key group per event at most"))
        ns = self._namespaces(namespaces)
        shared = self._shared(ctx, share_with)
        directory = self.sealing_directory(ctx, [])
        for i, group in enumerate(keys):
            require(0 < len(group) <= MAX_RECIPIENTS,
                    refuse("BAD_ARGS", f"keys[{i}]: 1 to {MAX_RECIPIENTS} organisations"))
            for recipient, wrapped in group.items():
                require(recipient in directory["keys"],
                        refuse("NO_SEALING_KEY", f"keys[{i}]: {recipient} has no sealing key on the chain"))
                require(type(wrapped) is str and 0 < len(wrapped) <= 2 * MAX_WRAPPED_BYTES and _is_hex(wrapped),
                        refuse("BAD_ARGS", f"keys[{i}].{recipient}: expected a wrapped key in hex"))
        captured: list[str] = []
        declared: list[str] = []
        refs = [f"{ctx.tx_id.hex()}/{i}" for i in range(len(keys))]
        used = [False] * len(keys)
        memo = _TxMemo()
        for i, item in enumerate(events):
            where = f"events[{i}]"
            require(set(item) == {"id", "public", "sealed", "key"},
                    refuse("BAD_ARGS", f"{where}: expected id, public, sealed and key"))
            event_id, public, sealed, group = item["id"], item["public"], item["sealed"], item["key"]
            require(type(event_id) is str and is_event_hash(event_id),
                    refuse("BAD_EVENT", f"{where}.id: expected an event hash ID (ni:///sha-256;...)"))
            require(type(public) is str and len(public.encode()) <= MAX_PUBLIC_BYTES,
                    refuse("BAD_EVENT", f"{where}.public: the public part's JSON text, at most {MAX_PUBLIC_BYTES} bytes"))
            require(type(sealed) is str and 0 < len(sealed) <= 2 * MAX_SEALED_BYTES and _is_hex(sealed),
                    refuse("BAD_EVENT", f"{where}.sealed: the sealed payload in hex, at most {MAX_SEALED_BYTES} bytes"))
            require(type(group) is int and 0 <= group < len(keys),
                    refuse("BAD_ARGS", f"{where}.key: expected an index into keys (0 to {len(keys) - 1})"))
            used[group] = True
            seal = {"id": event_id, "ct": sealed, "ref": refs[group], "recipients": sorted(keys[group]),
                    "regulators": directory["regulators"]}
            event_id, was_declaration = self._capture_one(ctx, org, public, ns, shared, where, seal=seal, memo=memo)
            (declared if was_declaration else captured).append(event_id)
        require(all(used), refuse("BAD_ARGS", "keys: every key group must be used by an event"))
        memo.write_last_places(ctx)
        for ref, group in zip(refs, keys, strict=True):
            ctx.put(f"seal/{ref}", dict(sorted(group.items())))
        self._count(ctx, events=len(captured), declarations=len(declared))
        return {"captured": captured, "declared": declared, "org": org, "height": ctx.height}

    def _namespaces(self, namespaces: dict[str, str] | None) -> dict[str, str]:
        ns = namespaces or {}
        require(len(ns) <= MAX_NAMESPACES and all(0 < len(k) <= 64 and 0 < len(v) <= 500 for k, v in ns.items()),
                refuse("BAD_ARGS", f"namespaces: at most {MAX_NAMESPACES} prefixes of up to 64 characters"))
        return ns

    def _shared(self, ctx: Context, share_with: list[str] | None) -> list[str]:
        shared = sorted(set(share_with or []))
        for partner in shared:
            require(ctx.has(f"party/{partner}"), refuse("UNKNOWN_PARTY", f"share_with: {partner} is not a party"))
        return shared

    @staticmethod
    def _count(ctx: Context, **counts: int) -> None:
        stats = ctx.get("stats", {"events": 0, "declarations": 0, "recalls": 0, "alerts": 0})
        for name, n in counts.items():
            stats[name] += n
        ctx.put("stats", stats)

    def _capture_one(self, ctx: Context, org: str, text: str, ns: dict[str, str], shared: list[str],
                     where: str, seal: dict[str, Any] | None = None, memo: _TxMemo | None = None,
                     read: _Read | None = None) -> tuple[str, bool]:
        """Check, store and index one event; ``seal`` (its claimed ID, sealed payload, key group,
        recipients and the chain's regulators) when ``text`` is only its public part; ``memo``
        what this transaction already looked up and the last places it is still to write;
        ``read`` what ``_read_event`` made of ``text`` already (for an event without ``seal``)."""
        if memo is None:  # one event on its own (a recall's)
            memo = _TxMemo()
            found = self._capture_one(ctx, org, text, ns, shared, where, seal, memo)
            memo.write_last_places(ctx)
            return found
        if seal is None:
            if read is None:
                read = _read_event(text, ns, where)
            if isinstance(read, Exception):
                raise read  # the refusal (or fault) reading it gave, at the same point as before
            event, summary, event_id, keys = read
        else:
            event, summary = _summary(text, where)
            keys = keys_with_roles(summary)
            event_id = seal["id"]
            public = public_part(event)
            if public != event:
                extra = sorted(set(_flat_names(event)) - set(_flat_names(public)))
                raise refuse("NOT_PUBLIC", f"{where}.public: carries what a sealed event keeps sealed "
                                           f"({', '.join(extra) or 'quantities, place details or ILMD'})")
        existing = ctx.get(f"ev/{event_id}")
        if existing is not None:
            require("errorDeclaration" in event,
                    refuse("DUPLICATE_EVENT", f"{where}: event {event_id} is already on the chain (height "
                                              f"{existing['height']}); correct it with an errorDeclaration"))
            self._declare_error(ctx, org, existing, event, where)
            return event_id, True
        supplied = event.get("eventID")
        if isinstance(supplied, str) and supplied != event_id:
            require(len(supplied) <= 500, refuse("BAD_EVENT", f"{where}.eventID: at most 500 characters"))
            owner = ctx.get(f"eid/{supplied}")
            require(owner is None, refuse("DUPLICATE_EVENT_ID", f"{where}.eventID {supplied} already names event {owner}"))
            ctx.put(f"eid/{supplied}", event_id)
        partners = set(shared)
        for place in place_keys(summary):
            if place not in memo.owners:  # place owners change only by register_party
                memo.owners[place] = self._owner_of_key(ctx, place)
            owner = memo.owners[place]
            if owner is not None:
                partners.add(owner)
        if seal is not None:
            recipients = seal["recipients"]
            missing = sorted((partners | {org} | set(seal["regulators"])) - set(recipients))
            require(not missing, refuse("MISSING_RECIPIENT", f"{where}: the payload is not sealed to "
                                                             f"{', '.join(missing)}, who may read this event"))
            partners |= set(recipients)
        partners.discard(org)
        used = {p: v for p, v in ns.items() if p + ":" in text}
        record = {"id": event_id, "eid": supplied if isinstance(supplied, str) else None, "org": org,
                  "partners": sorted(partners), "height": ctx.height, "tx": ctx.tx_id.hex(), "record_ms": ctx.time_ms,
                  **{k: v for k, v in summary.items() if k != "lots"}, "text": text, "ns": used, "error": None}
        if seal is not None:
            record["sealed"] = {"ct": seal["ct"], "ref": seal["ref"]}
        ctx.put(f"ev/{event_id}", record)
        self._index(ctx, record, summary["lots"], memo, keys)
        if "errorDeclaration" in event:
            self._declare_error(ctx, org, record, event, where)
        ctx.emit("EventCaptured", id=event_id, type=record["type"], org=org, biz_step=record["biz_step"])
        return event_id, False

    def _index(self, ctx: Context, rec: dict[str, Any], lots: dict[str, str], memo: _TxMemo,
               keys: list[tuple[str, str]]) -> None:
        """The indexes a query starts from (``_candidates``, ``graph.index_rows``); ADR 0028 keeps
        only those a query reads, each naming the event by its ``event_ref``."""
        stamp = time_key(rec["time_ms"])
        suffix = f"{stamp}/{event_ref(rec['id'])}"
        ctx.put(f"t/{suffix}", 1)
        for name, value in (("bs", rec["biz_step"]), ("dp", rec["disposition"]), ("bl", rec["biz_location"])):
            if value:
                ctx.put(f"{name}/{value}|{suffix}", 1)
        watched: dict[str, None] = {}  # a lot frozen by a governance vote takes no new events, nor do its packages
        for key, _ in keys:
            watched[key] = None
            lot_of_key = lots.get(key) or ctx.get(f"lot/{key}")
            if lot_of_key:
                watched[lot_of_key] = None
        for frozen in watched:  # in first-seen order, each once (these checks run per identifier)
            if frozen not in memo.checked:  # a vote cannot freeze anything in the middle of this transaction
                if ctx.is_frozen(frozen):
                    raise refuse("LOT_FROZEN", f"{frozen} is frozen by a governance vote")
                memo.checked.add(frozen)
        for key, role in keys:
            if "|" in key:
                raise refuse("BAD_IDENTIFIER", f"identifier {key!r} contains '|'")
            ctx.put(f"k/{key}|{suffix}", role)
        for instance, lot in sorted(lots.items()):
            if instance in memo.lotted:  # an instance's lot is written once and never changes
                continue
            if not ctx.has(f"lot/{instance}"):
                ctx.put(f"lot/{instance}", lot)
                ctx.put(f"lotm/{lot}|{instance}", 1)
            memo.lotted.add(instance)
        place = rec["biz_location"] or rec["read_point"]
        if rec["type"] in ("AggregationEvent", "AssociationEvent") and rec["parent"]:
            self._track_packing(ctx, rec)
        if place:
            for key, _ in keys:
                last = memo.last[key] if key in memo.last else ctx.get(f"last/{key}")
                memo.last[key] = last
                if last is None or last["time_ms"] <= rec["time_ms"]:
                    memo.last[key] = {"time_ms": rec["time_ms"], "place": place, "event": rec["id"]}
                    memo.moved.add(key)
        if rec["sensors"]:
            self._check_sensors(ctx, rec, [k for k, _ in keys])

    def _track_packing(self, ctx: Context, rec: dict[str, Any]) -> None:
        """The current contents of each container (for alerts on what a pallet carries)."""
        parent, children = rec["parent"], rec["child"] + [q["key"] for q in rec["child_class"]]
        contents = set(ctx.get(f"contents/{parent}", []))
        if rec["action"] == "ADD":
            contents |= set(children)
        elif rec["action"] == "DELETE":
            contents = contents - set(children) if children else set()
        else:
            return
        if contents:
            ctx.put(f"contents/{parent}", sorted(contents))
        elif ctx.has(f"contents/{parent}"):
            ctx.delete(f"contents/{parent}")

    def _gtins_of(self, ctx: Context, keys: list[str]) -> list[str]:
        """The GTINs among ``keys`` and in what they carry (three levels of packing)."""
        found: set[str] = set()
        frontier, depth = list(keys), 0
        while frontier and depth < 3:
            nxt: list[str] = []
            for key in frontier:
                if key.startswith("01/"):
                    found.add(key.split("/")[1])
                elif key.startswith(("00/", "8003/", "8004/", "u:")):
                    nxt += ctx.get(f"contents/{key}", [])
            frontier, depth = nxt, depth + 1
        return sorted(found)

    def _check_sensors(self, ctx: Context, rec: dict[str, Any], keys: list[str]) -> None:
        """Raise an alert for each reading outside the declared range of a product it concerns."""
        products = [p for p in (ctx.get(f"prod/{g}") for g in self._gtins_of(ctx, keys)) if p and p["ranges"]]
        alerts = 0
        for n, reading in enumerate(rec["sensors"]):
            for product in products:
                bounds = product["ranges"].get(reading["type"])
                if bounds is None or (bounds["uom"] and reading.get("uom") not in (None, bounds["uom"])):
                    continue
                low, high = Decimal(bounds["min"]), Decimal(bounds["max"])
                for name in SENSOR_BOUNDS:
                    value = decimal_of(reading[name]) if name in reading else None
                    if value is None or low <= value <= high:
                        continue
                    alert = {"event": rec["id"], "gtin": product["gtin"], "type": reading["type"], "field": name,
                             "value": reading[name], "uom": reading.get("uom"), "min": bounds["min"], "max": bounds["max"],
                             "time_ms": reading.get("time_ms", rec["time_ms"]), "org": rec["org"],
                             "place": rec["biz_location"] or rec["read_point"], "brand_owner": product["brand_owner"]}
                    suffix = f"{time_key(rec['time_ms'])}/{rec['id']}/{n:04d}{name}"
                    ctx.put(f"alert/{suffix}", alert)
                    ctx.put(f"alerts_of/{product['gtin']}|{suffix}", 1)
                    ctx.emit("SensorAlert", event=rec["id"], gtin=product["gtin"], type=reading["type"],
                             value=reading[name], min=bounds["min"], max=bounds["max"])
                    alerts += 1
                    break
        if alerts:
            self._count(ctx, alerts=alerts)

    def _declare_error(self, ctx: Context, org: str, rec: dict[str, Any], event: dict[str, Any], where: str) -> None:
        """Attach an EPCIS errorDeclaration to a stored event (once; by its capturer or a regulator)."""
        declaration = event["errorDeclaration"]
        require(isinstance(declaration, dict) and isinstance(declaration.get("declarationTime"), str),
                refuse("BAD_EVENT", f"{where}.errorDeclaration: expected an object with declarationTime"))
        try:
            parse_time_ms(declaration["declarationTime"], f"{where}.errorDeclaration.declarationTime")
        except BadTime as exc:
            raise refuse("BAD_EVENT", exc.message) from None
        require(rec["org"] == org or self._is_regulator(ctx, org),
                refuse("NOT_CAPTURER", f"{where}: event {rec['id']} was captured by {rec['org']}; only it or a "
                                       "regulator may declare it erroneous"))
        require(not ctx.has(f"err/{rec['id']}"),
                refuse("ALREADY_DECLARED", f"{where}: event {rec['id']} already carries an error declaration"))
        corrective = declaration.get("correctiveEventIDs", [])
        require(isinstance(corrective, list) and all(isinstance(c, str) for c in corrective),
                refuse("BAD_EVENT", f"{where}.errorDeclaration.correctiveEventIDs: expected a list of event IDs"))
        ctx.put(f"err/{rec['id']}", {"declaration": dumps_exact(declaration), "by": org, "height": ctx.height,
                                     "tx": ctx.tx_id.hex(), "record_ms": ctx.time_ms, "corrective": corrective})
        ctx.emit("ErrorDeclared", id=rec["id"], by=org, corrective=corrective)

    # -- recall ----------------------------------------------------------------------------

    @method
    def recall(self, ctx: Context, gtin: str, lot: str, reason: str) -> dict[str, Any]:
        """The brand owner or a regulator recalls a lot: an EPCIS ObjectEvent with disposition
        ``recalled`` is captured for the lot, and the recall is recorded."""
        org = self._party(ctx, ctx.require_caller().org)["org"]
        try:
            number = normalise_gtin(gtin)
        except BadIdentifier as exc:
            raise refuse("BAD_IDENTIFIER", exc.message) from None
        require(0 < len(lot) <= 20, refuse("BAD_ARGS", "lot: 1 to 20 characters"))
        require(0 < len(reason) <= 500, refuse("BAD_ARGS", "reason: 1 to 500 characters"))
        require(self._owner_of_number(ctx, number[1:]) == org or self._is_regulator(ctx, org),
                refuse("NOT_BRAND_OWNER", f"only the brand owner of {number} or a regulator may recall it"))
        lot_key = key_of(f"https://id.gs1.org/01/{number}/10/{lot}")
        require(not ctx.has(f"recall/{lot_key}"), refuse("ALREADY_RECALLED", f"lot {lot} of {number} is already recalled"))
        event = {"type": "ObjectEvent", "eventTime": format_iso(ctx.time_ms), "eventTimeZoneOffset": "+00:00",
                 "quantityList": [{"epcClass": f"https://id.gs1.org/{lot_key}"}], "action": "OBSERVE",
                 "bizStep": "holding", "disposition": "recalled"}
        event_id, _ = self._capture_one(ctx, org, dumps_exact(event), {}, [], "recall")
        record = {"lot_key": lot_key, "gtin": number, "lot": lot, "reason": reason, "by": org, "time_ms": ctx.time_ms,
                  "event": event_id, "height": ctx.height, "tx": ctx.tx_id.hex()}
        ctx.put(f"recall/{lot_key}", record)
        self._count(ctx, events=1, recalls=1)
        ctx.emit("LotRecalled", gtin=number, lot=lot, reason=reason, by=org, event=event_id)
        return record

    # -- reading ---------------------------------------------------------------------------

    def _viewer(self, ctx: Context) -> tuple[str, bool]:
        org = ctx.require_caller().org
        return org, self._is_regulator(ctx, org)

    @staticmethod
    def _visible(rec: dict[str, Any], org: str, regulator: bool) -> bool:
        return regulator or rec["org"] == org or org in rec["partners"]

    def _view(self, ctx: Context, rec: dict[str, Any], org: str, regulator: bool) -> dict[str, Any]:
        """An event as a member sees it: the skeleton always, the payload if visible."""
        view = {k: rec[k] for k in ("id", "type", "org", "height", "tx", "record_ms", "time_ms", "tz", "action",
                                    "biz_step", "disposition", "biz_location", "read_point")}
        view["visible"] = self._visible(rec, org, regulator)
        if view["visible"]:
            view.update(text=rec["text"], ns=rec["ns"], eid=rec["eid"], partners=rec["partners"],
                        sensors=rec["sensors"], sources=rec["sources"], destinations=rec["destinations"])
            sealed = rec.get("sealed")
            if sealed is not None:  # the reader's node opens it if its organisation is a recipient
                view["sealed"] = {**sealed, "wraps": ctx.get(f"seal/{sealed['ref']}")}
            error = ctx.get(f"err/{rec['id']}")
            if error is not None:
                view["error"] = error
        return view

    def _event_record(self, ctx: Context, event_id: str) -> dict[str, Any]:
        found = ctx.get(f"ev/{event_id}")
        if found is None and not is_event_hash(event_id):
            alias = ctx.get(f"eid/{event_id}")
            found = ctx.get(f"ev/{alias}") if alias else None
        if found is None:
            raise NotFound(f"no event {event_id!r:.120}", code="EVENT_NOT_FOUND")
        return found  # type: ignore[no-any-return]

    @query
    def exists(self, ctx: Context, event_id: str) -> dict[str, Any]:
        """Public: whether an event (by hash ID or its own eventID) is on the chain, where, and by whom."""
        rec = self._event_record(ctx, event_id)
        return {"id": rec["id"], "org": rec["org"], "height": rec["height"], "tx": rec["tx"],
                "record_ms": rec["record_ms"], "declared_erroneous": ctx.has(f"err/{rec['id']}")}

    @query
    def exists_many(self, ctx: Context, event_ids: list[str]) -> dict[str, Any]:
        """Public: which of ``event_ids`` (hash IDs or events' own eventIDs, at most
        ``MAX_EXISTS``) are on the chain, in the order given, each once: ``exists`` for a batch,
        as the capture edge checks a document for duplicates."""
        require(type(event_ids) is list and len(event_ids) <= MAX_EXISTS
                and all(type(e) is str and 0 < len(e) <= 2000 for e in event_ids),
                BadInput(f"event_ids: expected a list of at most {MAX_EXISTS} event IDs", code="BAD_ARGS"))
        found = []
        for event_id in dict.fromkeys(event_ids):
            try:
                self._event_record(ctx, event_id)
            except NotFound:
                continue
            found.append(event_id)
        return {"found": found}

    @query
    def verify(self, ctx: Context, event: str, namespaces: dict[str, str] | None = None) -> dict[str, Any]:
        """Public: hash an event (its JSON text) and say whether exactly that event is on the chain."""
        try:
            parsed = loads_exact(event)
            summarise(parsed)
        except ConsortiaError as exc:
            raise BadInput(exc.message, code=exc.code) from None
        event_id = compute_event_hash(parsed, namespaces or {})
        rec = ctx.get(f"ev/{event_id}")
        return {"id": event_id, "on_chain": rec is not None, "height": rec["height"] if rec else None,
                "tx": rec["tx"] if rec else None, "org": rec["org"] if rec else None}

    @query
    def event(self, ctx: Context, event_id: str) -> dict[str, Any]:
        """One event as the caller may see it (payload for its capturer, partners and regulators)."""
        org, regulator = self._viewer(ctx)
        return self._view(ctx, self._event_record(ctx, event_id), org, regulator)

    @query
    def events(self, ctx: Context, filters: dict[str, Any] | None = None, limit: int = 100,
               after: str = "") -> dict[str, Any]:
        """The EPCIS simple event query: events visible to the caller matching every filter,
        oldest first, ``limit`` at a time; ``next`` continues. Filters: ``MATCH_anyEPC``,
        ``MATCH_epc``, ``MATCH_parentID``, ``MATCH_inputEPC``, ``MATCH_outputEPC``, ``MATCH_epcClass``
        (lists of EPCs, Digital Links or keys), ``EQ_bizStep``, ``EQ_disposition``, ``EQ_bizLocation``,
        ``EQ_readPoint``, ``EQ_action``, ``eventType`` (lists), ``GE_eventTime``, ``LT_eventTime``,
        ``GE_recordTime``, ``LT_recordTime`` (timestamps), ``EQ_eventID`` (list)."""
        org, regulator = self._viewer(ctx)
        require(type(limit) is int and 0 < limit <= MAX_PAGE, refuse("BAD_ARGS", f"limit: 1 to {MAX_PAGE}"))
        require(type(after) is str and len(after) <= 200, refuse("BAD_ARGS", "after: a page token"))
        wanted = _Filters(filters or {})
        out: list[dict[str, Any]] = []
        last_token = ""
        for token, event_id in self._candidates(ctx, wanted, after):
            if wanted.lt_time is not None and int(token[:16]) - TIME_OFFSET >= wanted.lt_time:
                break
            rec = ctx.get(f"ev/{event_id}")
            if rec is None or not self._visible(rec, org, regulator) or not wanted.match(rec):
                continue
            if len(out) == limit:
                return {"events": out, "next": last_token}
            out.append(self._view(ctx, rec, org, regulator))
            last_token = token
        return {"events": out, "next": None}

    def _candidates(self, ctx: Context, wanted: _Filters, after: str) -> Iterator[tuple[str, str]]:
        """``(page token, event id)`` in event-time order, from the most selective index."""
        if wanted.event_ids is not None:
            hits: set[tuple[str, str]] = set()
            for eid in wanted.event_ids:
                alias = ctx.get(f"eid/{eid}")
                rec = ctx.get(f"ev/{eid}") or (ctx.get(f"ev/{alias}") if alias else None)
                if rec is not None:
                    hits.add((f"{time_key(rec['time_ms'])}/{event_ref(rec['id'])}", rec["id"]))
            yield from sorted(t for t in hits if t[0] > after)
            return
        if wanted.epc_keys is not None:
            prefixes = [f"k/{k}|" for k in wanted.epc_keys] + [f"k/{k}/" for k in wanted.epc_patterns]
        elif wanted.locations is not None:
            prefixes = [f"bl/{k}|" for k in wanted.locations]
        elif wanted.steps is not None:
            prefixes = [f"bs/{s}|" for s in wanted.steps]
        elif wanted.dispositions is not None:
            prefixes = [f"dp/{d}|" for d in wanted.dispositions]
        else:
            cursor = max(f"t/{after}" if after else "", f"t/{time_key(wanted.ge_time)}" if wanted.ge_time is not None else "")
            while True:
                rows = ctx.range("t/", limit=SCAN_PAGE, after=cursor)
                for full, _ in rows:
                    yield full[2:], event_of(full[2 + TOKEN_ID:])
                if len(rows) < SCAN_PAGE:
                    return
                cursor = rows[-1][0]
        found: dict[str, str] = {}
        for prefix in prefixes:
            for full, _ in ctx.range(prefix, limit=MAX_ROWS):
                token = full.split("|", 1)[1]
                if token > after:
                    found[token] = event_of(token[TOKEN_ID:])
        yield from sorted(found.items())

    @query
    def backward(self, ctx: Context, id: str) -> dict[str, Any]:
        """Everything a product, lot or pallet came from, with the events that prove it."""
        org, regulator = self._viewer(ctx)
        return self._walk_view(ctx, backward(ctx, self._trace_key(id)), org, regulator)

    @query
    def forward(self, ctx: Context, id: str) -> dict[str, Any]:
        """Every package, container, location and holder a product or lot reached, with proofs."""
        org, regulator = self._viewer(ctx)
        walk = forward(ctx, self._trace_key(id))
        view = self._walk_view(ctx, walk, org, regulator)
        view["packages"] = self._packages(ctx, walk)
        return view

    @staticmethod
    def _trace_key(identifier: str) -> str:
        require(type(identifier) is str and 0 < len(identifier) <= 2000, refuse("BAD_ARGS", "id: an identifier"))
        if identifier.startswith(("urn:", "http://", "https://")):
            try:
                return key_of(identifier)
            except BadIdentifier as exc:
                raise BadInput(exc.message, code="BAD_IDENTIFIER") from None
        if identifier[:3] in ("01/", "00/") or identifier[:4] in ("414/", "417/"):
            try:
                return key_of("https://id.gs1.org/" + identifier)
            except BadIdentifier as exc:
                raise BadInput(exc.message, code="BAD_IDENTIFIER") from None
        return identifier

    def _walk_view(self, ctx: Context, walk: Walk, org: str, regulator: bool) -> dict[str, Any]:
        events = sorted(walk.events.values(), key=lambda r: (r["time_ms"], r["id"]))
        places = sorted({p for r in events for p in (r["biz_location"], r["read_point"]) if p})
        holders = {r["org"] for r in events} | {self._owner_of_key(ctx, p["key"]) for r in events
                                                for p in r["sources"] + r["destinations"]
                                                if p["type"] in ("owning_party", "possessing_party")}
        nodes = [{"key": n["key"], "kind": n["kind"], **describe_key(n["key"])} for n in walk.nodes.values()]
        return {"nodes": nodes, "edges": walk.edges, "events": [self._view(ctx, r, org, regulator) for r in events],
                "locations": [self._location_view(ctx, p) for p in places],
                "holders": sorted(h for h in holders if h), "truncated": walk.truncated}

    def _location_view(self, ctx: Context, key: str) -> dict[str, Any]:
        found = ctx.get(f"loc/{key}") or ctx.get(f"loc/{key.split('/254/')[0]}")
        return {"key": key, **(found or {"name": None, "kind": None, "city": None, "org": self._owner_of_key(ctx, key)})}

    def _packages(self, ctx: Context, walk: Walk) -> list[dict[str, Any]]:
        """Affected packages (instances and lots reached) with their last known place and holder."""
        out = []
        for node in walk.nodes.values():
            key = node["key"]
            if node["kind"] == "container" or not key.startswith("01/") or ("/21/" not in key and node["kind"] != "output"):
                continue  # packages are serialised items (and lots made by a transformation)
            seen = last_seen(walk, key)
            last = walk.record(seen[1]) if seen else None
            out.append({"key": key, **describe_key(key), "kind": node["kind"],
                        "last_seen_ms": seen[0] if seen else None,
                        "last_place": self._location_view(ctx, last["biz_location"] or last["read_point"]) if last else None,
                        "last_step": last["biz_step"] if last else None, "holder": last["org"] if last else None,
                        "last_event": seen[1] if seen else None})
        return sorted(out, key=lambda p: p["key"])

    @query
    def recall_report(self, ctx: Context, gtin: str, lot: str) -> dict[str, Any]:
        """A recalled (or suspect) lot: every affected package, where it was last seen and who holds it."""
        org, regulator = self._viewer(ctx)
        try:
            lot_key = key_of(f"https://id.gs1.org/01/{normalise_gtin(gtin)}/10/{lot}")
        except BadIdentifier as exc:
            raise BadInput(exc.message, code="BAD_IDENTIFIER") from None
        walk = forward(ctx, lot_key)
        view = self._walk_view(ctx, walk, org, regulator)
        return {"lot": lot_key, "recall": ctx.get(f"recall/{lot_key}"), "packages": self._packages(ctx, walk),
                "locations": view["locations"], "holders": view["holders"], "events": len(view["events"]),
                "truncated": walk.truncated}

    @query
    def recalls(self, ctx: Context) -> list[dict[str, Any]]:
        """Every recalled lot (public: recalls are meant to be seen)."""
        return [r for _, r in ctx.range("recall/", limit=10_000)]

    @query
    def alerts(self, ctx: Context, gtin: str = "", limit: int = 200) -> list[dict[str, Any]]:
        """Cold-chain alerts (readings outside a product's range), newest last: a regulator sees all,
        a brand owner its products', a capturer those its events raised."""
        org, regulator = self._viewer(ctx)
        require(type(limit) is int and 0 < limit <= 10_000, refuse("BAD_ARGS", "limit: 1 to 10000"))
        prefix = f"alerts_of/{normalise_gtin(gtin)}|" if gtin else "alert/"
        out = []
        for full, value in ctx.range(prefix, limit=100_000):
            alert = ctx.get("alert/" + full.split("|", 1)[1]) if gtin else value
            if regulator or org in (alert["brand_owner"], alert["org"]):
                out.append(alert)
        return out[-limit:]

    @query
    def journey(self, ctx: Context, gtin: str, lot: str = "", serial: str = "") -> dict[str, Any]:
        """Public, for consumers: the verified journey of one package (or lot) from farm to shelf."""
        try:
            number = normalise_gtin(gtin)
            link = f"https://id.gs1.org/01/{number}" + (f"/10/{lot}" if lot else "") + (f"/21/{serial}" if serial else "")
            parsed = parse_gs1(link)
        except BadIdentifier as exc:
            raise BadInput(exc.message, code="BAD_IDENTIFIER") from None
        require(parsed is not None, refuse("BAD_IDENTIFIER", f"{link} is not a Digital Link"))
        assert parsed is not None  # for the type checker; require() raised otherwise
        key = parsed.key
        product = ctx.get(f"prod/{number}")
        lot_key = parsed.lot_key or ctx.get(f"lot/{key}")
        walk = backward(ctx, key) if (lot or serial) else None
        steps = [self._step(ctx, r) for r in sorted(walk.events.values(), key=lambda r: (r["time_ms"], r["id"]))] \
            if walk else []
        if product is None and not steps:
            raise NotFound(f"nothing is known about {link}", code="PRODUCT_NOT_FOUND")
        brand = ctx.get(f"party/{product['brand_owner']}") if product else None
        return {"link": link, "key": key, "gtin": number, "lot": describe_key(lot_key).get("lot") if lot_key else None,
                "serial": serial or None,
                "product": ({k: product[k] for k in ("name", "category", "description", "ranges")} |
                            {"brand": brand["name"] if brand else product["brand_owner"]}) if product else None,
                "recall": ctx.get(f"recall/{lot_key}") if lot_key else None, "steps": steps,
                "containers": _containers(walk) if walk else [], "truncated": bool(walk and walk.truncated)}

    def _step(self, ctx: Context, rec: dict[str, Any]) -> dict[str, Any]:
        place_key = rec["biz_location"] or rec["read_point"]
        place = self._location_view(ctx, place_key) if place_key else None
        stage = (place or {}).get("kind") or STAGE_OF_STEP.get(rec["biz_step"] or "", "other")
        if rec["disposition"] == "recalled":
            stage = "recall"
        party = ctx.get(f"party/{rec['org']}")
        return {"stage": stage, "step": rec["biz_step"], "disposition": rec["disposition"], "type": rec["type"],
                "time_ms": rec["time_ms"], "tz": rec["tz"], "place": place, "by": party["name"] if party else rec["org"],
                "sensors": [{k: v for k, v in s.items() if k != "device"} for s in rec["sensors"]],
                "event": rec["id"], "height": rec["height"], "tx": rec["tx"],
                "declared_erroneous": ctx.has(f"err/{rec['id']}")}

    @query
    def party(self, ctx: Context, org: str) -> dict[str, Any]:
        found = ctx.get(f"party/{org}")
        if found is None:
            raise NotFound(f"{org} is not a registered traceability party", code="NOT_A_PARTY")
        return found  # type: ignore[no-any-return]

    @query
    def parties(self, ctx: Context) -> list[dict[str, Any]]:
        return [p for _, p in ctx.range("party/", limit=10_000)]

    @query
    def locations(self, ctx: Context) -> list[dict[str, Any]]:
        return [loc for _, loc in ctx.range("loc/", limit=100_000)]

    @query
    def products(self, ctx: Context) -> list[dict[str, Any]]:
        return [p for _, p in ctx.range("prod/", limit=100_000)]

    @query
    def stats(self, ctx: Context) -> dict[str, Any]:
        """Counts: events, error declarations, recalls, alerts (public)."""
        return ctx.get("stats", {"events": 0, "declarations": 0, "recalls": 0, "alerts": 0})  # type: ignore[no-any-return]

    @query
    def last_place(self, ctx: Context, id: str) -> dict[str, Any]:
        """Where an identifier was last seen by its own events (members only)."""
        self._viewer(ctx)
        key = self._trace_key(id)
        last = ctx.get(f"last/{key}")
        if last is None:
            raise NotFound(f"{id} has no located event", code="NOT_SEEN")
        return {"key": key, **last, "place": self._location_view(ctx, last["place"])}

    @query
    def history(self, ctx: Context, id: str) -> list[dict[str, Any]]:
        """The events naming one identifier, oldest first (skeleton for all, payload if visible)."""
        org, regulator = self._viewer(ctx)
        key = self._trace_key(id)
        return [self._view(ctx, ctx.get(f"ev/{event_id}"), org, regulator)
                for _, event_id, _ in index_rows(ctx, key)]

    @query
    def context_url(self, ctx: Context) -> str:
        return CONTEXT_URL


_Read = tuple[dict[str, Any], dict[str, Any], str, list[tuple[str, str]]] | Exception


def _summary(text: str, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An event text read and checked (``loads_exact``, ``summarise``), or its refusal raised."""
    try:
        event = loads_exact(text)
        return event, summarise(event, where)
    except ConsortiaError as exc:
        message = exc.message if exc.message.startswith(where) else f"{where}: {exc.message}"
        raise refuse(exc.code if exc.code != "BAD_INPUT" else "BAD_EVENT", message) from None


def _read_event(text: str, ns: dict[str, str], where: str) -> _Read:
    """``(event, summary, hash ID, keys_with_roles)`` of an event text, or what reading it raised (kept to be raised
    when the capture reaches it, so that a transaction is refused for the same event and reason as
    when each event was read in turn). Pure: it depends on the text and namespaces only."""
    try:
        event, summary = _summary(text, where)
        return event, summary, compute_event_hash(event, ns), keys_with_roles(summary)
    except Exception as exc:  # noqa: BLE001 - re-raised as it is, later
        return exc


def _prefetch(ctx: Context, read: list[_Read]) -> None:
    """Warm, in one read of storage per 500 keys, what the capture will look up for these events:
    each event's record (a duplicate?), and each identifier's lot and last place. Changes nothing
    any read returns."""
    keys: list[str] = []
    for item in read:
        if isinstance(item, Exception):
            break  # the capture stops there
        _, summary, event_id, named = item
        keys.append(f"ev/{event_id}")
        for key, _ in named:
            keys.append(f"lot/{key}")
            if summary["biz_location"] or summary["read_point"]:
                keys.append(f"last/{key}")
    ctx.prefetch(list(dict.fromkeys(keys)))


class _TxMemo:
    """What one capture transaction already looked up: the owners of places, the identifiers
    checked against governance freezes (neither changes while it runs), the instances whose lot
    is recorded (written once); and each identifier's last place, written once at the end
    (``write_last_places``) however many of its events the transaction holds (the same rule as
    writing it per event, so the same final state)."""

    def __init__(self) -> None:
        self.owners: dict[str, str | None] = {}
        self.checked: set[str] = set()
        self.lotted: set[str] = set()  # instances whose lot is on record
        self.last: dict[str, dict[str, Any] | None] = {}
        self.moved: set[str] = set()

    def write_last_places(self, ctx: Context) -> None:
        for key in sorted(self.moved):
            ctx.put(f"last/{key}", self.last[key])
        self.moved.clear()


def _containers(walk: Walk) -> list[dict[str, Any]]:
    """The containers (pallets, cases) the package travelled in and when: what other records of
    those containers, such as a waybill's steps, may add to its journey (ADR 0017)."""
    spans = sorted({span for carried in walk.carriers.values() for span in carried})
    return [{"key": key, "from_ms": lo, "to_ms": None if hi >= NEVER else hi} for key, lo, hi in spans]


_HEX = re.compile(r"(?:[0-9a-f]{2})+")


def _is_hex(text: str) -> bool:
    return _HEX.fullmatch(text) is not None


def _flat_names(value: Any, prefix: str = "") -> Iterator[str]:
    """Dotted names of every field in a parsed event (to name what a public part must not carry)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{prefix}{k}"
            yield from _flat_names(v, f"{prefix}{k}.")
    elif isinstance(value, list):
        for v in value:
            yield from _flat_names(v, f"{prefix}[].")


class _Filters:
    """The EPCIS simple event query parameters, parsed once."""

    LISTS = ("MATCH_anyEPC", "MATCH_epc", "MATCH_parentID", "MATCH_inputEPC", "MATCH_outputEPC", "MATCH_epcClass",
             "EQ_bizStep", "EQ_disposition", "EQ_bizLocation", "EQ_readPoint", "EQ_action", "eventType", "EQ_eventID")
    TIMES = ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime")
    ROLES = {"MATCH_epc": ("epc",), "MATCH_parentID": ("parent",), "MATCH_inputEPC": ("in",),
             "MATCH_outputEPC": ("out",), "MATCH_epcClass": ("epc", "child", "in", "out")}

    def __init__(self, raw: dict[str, Any]) -> None:
        unknown = sorted(set(raw) - set(self.LISTS) - set(self.TIMES))
        if unknown:
            raise BadInput(f"unknown query parameter(s) {', '.join(unknown)}", code="QUERY_PARAMETER_EXCEPTION")
        lists: dict[str, list[str]] = {}
        for name in self.LISTS:
            if name in raw:
                value = raw[name]
                if isinstance(value, str):
                    value = [v for v in value.split("|") if v]
                if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                    raise BadInput(f"{name}: expected a list of strings", code="QUERY_PARAMETER_EXCEPTION")
                lists[name] = value
        times: dict[str, int] = {}
        for name in self.TIMES:
            if name in raw:
                try:
                    times[name] = parse_time_ms(raw[name], name)
                except BadTime as exc:
                    raise BadInput(exc.message, code="QUERY_PARAMETER_EXCEPTION") from None
        self.role_filters: list[tuple[set[str], set[str], list[str]]] = []
        any_epc, patterns = set(), []
        for name in ("MATCH_anyEPC", *self.ROLES):
            if name in lists:
                keys, pats = _match_keys(lists[name])
                self.role_filters.append((keys, set(self.ROLES.get(name, ())), pats))
                any_epc |= keys
                patterns += pats
        self.epc_keys = sorted(any_epc) if self.role_filters else None
        self.epc_patterns = sorted(set(patterns))
        self.steps = [_bare("bizStep", s) for s in lists["EQ_bizStep"]] if "EQ_bizStep" in lists else None
        self.dispositions = [_bare("disposition", d) for d in lists["EQ_disposition"]] \
            if "EQ_disposition" in lists else None
        self.locations = [_place(p) for p in lists["EQ_bizLocation"]] if "EQ_bizLocation" in lists else None
        self.read_points = [_place(p) for p in lists["EQ_readPoint"]] if "EQ_readPoint" in lists else None
        self.actions = lists.get("EQ_action")
        self.types = lists.get("eventType")
        self.event_ids = lists.get("EQ_eventID")
        self.ge_time, self.lt_time = times.get("GE_eventTime"), times.get("LT_eventTime")
        self.ge_record, self.lt_record = times.get("GE_recordTime"), times.get("LT_recordTime")

    def match(self, rec: dict[str, Any]) -> bool:
        if self.steps is not None and rec["biz_step"] not in self.steps:
            return False
        if self.dispositions is not None and rec["disposition"] not in self.dispositions:
            return False
        if self.locations is not None and rec["biz_location"] not in self.locations:
            return False
        if self.read_points is not None and rec["read_point"] not in self.read_points:
            return False
        if self.actions is not None and rec["action"] not in self.actions:
            return False
        if self.types is not None and rec["type"] not in self.types:
            return False
        if self.ge_time is not None and rec["time_ms"] < self.ge_time:
            return False
        if self.lt_time is not None and rec["time_ms"] >= self.lt_time:
            return False
        if self.ge_record is not None and rec["record_ms"] < self.ge_record:
            return False
        if self.lt_record is not None and rec["record_ms"] >= self.lt_record:
            return False
        if self.role_filters:
            named = keys_with_roles(rec)
            for keys, roles, patterns in self.role_filters:
                if not any((k in keys or any(k.startswith(p + "/") for p in patterns)) and (not roles or r in roles)
                           for k, r in named):
                    return False
        return True


def _match_keys(values: list[str]) -> tuple[set[str], list[str]]:
    """Identifiers to keys; whole-GTIN patterns (``urn:epc:idpat:sgtin:...*``, ``01/<gtin>``) kept apart."""
    keys, patterns = set(), []
    for value in values:
        try:
            key = key_of(value) if value.startswith(("urn:", "http://", "https://")) else key_of(
                "https://id.gs1.org/" + value) if value[:3] in ("01/", "00/") or value[:4] in ("414/", "417/") else value
        except BadIdentifier as exc:
            raise BadInput(exc.message, code="QUERY_PARAMETER_EXCEPTION") from None
        keys.add(key)
        if key.startswith("01/") and key.count("/") == 1:
            patterns.append(key)
    return keys, patterns


def _bare(field: str, value: str) -> str:
    from consortia.apps.trace.vocab import bare_term, expand_term

    return bare_term(field, expand_term(field, value))


def _place(value: str) -> str:
    try:
        return key_of(value if not (value.isdigit() and len(value) == 13) else f"https://id.gs1.org/414/{value}")
    except BadIdentifier as exc:
        raise BadInput(exc.message, code="QUERY_PARAMETER_EXCEPTION") from None
