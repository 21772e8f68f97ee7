"""Traceability demo data: a pork chain and a vegetables chain from farm to shelf, as EPCIS 2.0 events.

Pork: Ganzhou Green Valley Farm raises pigs (each with an ear-tag serial, in farm lots); Jiangxi
Lianhe Meat slaughters them, packs chilled pork loin (every package a GTIN + lot + serial, the
Digital Link on its QR label), stores the pallets in its cold store and trucks them to Shanghai;
Huaxin Mart receives, unpacks, stocks and sells them in two stores. Three processing days make
three lots; one truck ran warm (a cold-chain alert) and one lot is recalled.

Vegetables: the same farm grows cherry tomatoes in three greenhouses fed by its biogas digester
(Ganzhou's pig-biogas-fruit model). Each day's harvest lots are commissioned by quantity (kg) with
their lot, harvest date, greenhouse bed and pesticide-residue test as ILMD; the farm's packhouse
washes and packs them into serialised 250 g clamshells (a TransformationEvent), cases and pallets;
Lianhe's cold chain trucks them to Huaxin's distribution centre with temperature and humidity
readings (one reefer failure: an alert); the centre picks cases into roll cages for two stores,
which unpack, stock and sell them. About 2,400 events in all.

Every event is captured through the ``trace`` contract in transactions signed by the recording
organisation's clerk, as ``POST /epcis/capture`` submits them (its schema check is optional here,
see ``_Recorder``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from consortia.apps.trace.document import batch_texts, namespaces_of, prepare_capture
from consortia.apps.trace.identifiers import compute_check_digit
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.trace.sealing import capture_calls
from consortia.apps.trace.times import format_iso
from consortia.errors import NotFound
from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node.home import create_sealing_key
from consortia.node.node import Node

HOUR = 3600 * 1000
DAY = 24 * HOUR
TZ = "+08:00"
FARM, PROCESSOR, RETAILER, REGULATOR = "green-valley-farm", "lianhe-foods", "huaxin-mart", "sh-regulator"
FARM_PREFIX, PROCESSOR_PREFIX, RETAILER_PREFIX = "6921234", "6925678", "6929999"
PACKAGES_PER_LOT = 240
PALLET_SIZE = 40
PIGS_PER_LOT = 8
VEG_NS = "https://greenvalley.example/epcis/"
CONTEXT: list[Any] = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"gv": VEG_NS}]


def gln(prefix: str, ref: str) -> str:
    body = prefix + ref
    return body + compute_check_digit(body)


def gtin(prefix: str, ref: str) -> str:
    body = "0" + prefix + ref
    return body + compute_check_digit(body)


def sscc(prefix: str, serial: int) -> str:
    body = "3" + prefix + f"{serial:09d}"
    return body + compute_check_digit(body)


PIG = gtin(FARM_PREFIX, "00001")
PORK_LOIN = gtin(PROCESSOR_PREFIX, "00001")
BARN = gln(FARM_PREFIX, "00002")
ABATTOIR = gln(PROCESSOR_PREFIX, "00001")
COLD_STORE = gln(PROCESSOR_PREFIX, "00002")
TRUCK = gln(PROCESSOR_PREFIX, "00003")
STORES = (gln(RETAILER_PREFIX, "00001"), gln(RETAILER_PREFIX, "00002"))
LOTS = ("LH260316A", "LH260317A", "LH260318A")
RECALLED_LOT = LOTS[2]
DL = "https://id.gs1.org"

TOMATOES = gtin(FARM_PREFIX, "00002")  # harvested by weight, a class (GTIN + lot) per greenhouse and day
CLAMSHELL = gtin(FARM_PREFIX, "00003")
GREENHOUSES = (gln(FARM_PREFIX, "00003"), gln(FARM_PREFIX, "00004"), gln(FARM_PREFIX, "00005"))
PACKHOUSE = gln(FARM_PREFIX, "00006")
REEFER = gln(PROCESSOR_PREFIX, "00004")
DC = gln(RETAILER_PREFIX, "00003")
VEG_LOTS = ("GV260320T", "GV260321T", "GV260322T", "GV260323T", "GV260324T")
WARM_VEG_LOT = VEG_LOTS[3]
CLAMSHELLS_PER_LOT = 360
CASE_SIZE = 12
CASES_PER_PALLET = 15
TOMATO_RANGE = {"min": "7", "max": "13", "uom": "CEL"}


def _loc(number: str) -> dict[str, str]:
    return {"id": f"{DL}/414/{number}"}


def _temps(start_ms: int, values: list[str], every_ms: int = HOUR, device: str = f"{PROCESSOR_PREFIX}T01",
           humidity: list[str] | None = None) -> list[dict[str, Any]]:
    """Hourly (or ``every_ms``) readings of one logger: temperature, and relative humidity when given."""
    out = []
    for i, value in enumerate(values):
        report: list[dict[str, Any]] = [{"type": "Temperature", "value": Decimal(value), "uom": "CEL"}]
        if humidity:
            report.append({"type": "RelativeHumidity", "value": Decimal(humidity[i % len(humidity)]), "uom": "P1"})
        out.append({"sensorMetadata": {"time": format_iso(start_ms + i * every_ms, TZ), "deviceID": f"{DL}/8004/{device}"},
                    "sensorReport": report})
    return out


class _Recorder:
    """Signs ``trace`` transactions as each organisation's member and waits for each receipt.

    One transaction at a time, so each is its own block (``consortia up --init`` reports the height
    as the number of demo transactions). ``validate`` checks every document against the official
    schema first, as ``POST /epcis/capture`` would; the seeding skips it (the demo's documents are
    checked by a test, and the contract re-checks every event's structure anyway) to stay fast."""

    def __init__(self, node: Node, home: Path, validate: bool = False) -> None:
        self.node, self.home, self.validate = node, home, validate
        self.transactions = self.events = 0
        self._wallets: dict[str, Any] = {}
        self._pending: list[tuple[str, str, dict[str, Any]]] | None = None

    def _wallet(self, who: str) -> Any:
        if who not in self._wallets:
            self._wallets[who] = load_wallet(self.home, self.node.suite, who)
        return self._wallets[who]

    def _run(self, who: str, method: str, args: dict[str, Any]) -> Any:
        return self.batch([(who, method, args)])[0]

    @contextmanager
    def together(self) -> Iterator[None]:
        """Calls made inside go to the node together when it ends, in order, sharing blocks as
        a consortium's organisations' transactions do (their results are not returned)."""
        self._pending = []
        try:
            yield
            calls = self._pending
        finally:
            self._pending = None
        self.batch(calls)

    def batch(self, calls: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
        """Submit calls together (several organisations' in one block, as on a consortium's chain);
        they are ordered as given. Inside ``together()`` they wait for the others (results None)."""
        if self._pending is not None:
            self._pending.extend(calls)
            return [None] * len(calls)
        wires = []
        for who, method, args in calls:
            wallet = self._wallet(who)
            body = {"chain": self.node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63),
                    "contract": "trace", "method": method, "args": args, "not_after_height": None,
                    "not_after_ms": int(time.time() * 1000) + 600_000}
            wires.append(SignedTx.create(self.node.suite, wallet.signer, body).to_wire())
        results = []
        for _, future in self.node.submit(wires):
            receipt = future.result(60).receipt
            if receipt["status"] != "ok":
                raise RuntimeError(f"demo trace transaction failed: {receipt['code']} {receipt['message']}")
            self.transactions += 1
            results.append(receipt["result"])
        return results

    def method(self, org: str, method: str, **args: Any) -> Any:
        return self._run(f"{org}/admin", method, args)

    def capture(self, org: str, events: list[dict[str, Any]]) -> None:
        document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                    "creationDate": format_iso(int(time.time() * 1000), TZ), "epcisBody": {"eventList": events}}
        if self.validate:
            prepared = prepare_capture(dumps_exact(document))
            namespaces, batches = prepared.namespaces, prepared.batches
        else:
            namespaces, batches = namespaces_of(CONTEXT), batch_texts([dumps_exact(e) for e in events])
        method, calls = capture_calls(self.node.suite, self.node.chain_id, org, namespaces, batches,
                                      lambda places: self.node.query("trace", "sealing_directory", {"places": places}),
                                      seal=True)
        self.batch([(f"{org}/clerk", method, args) for args in calls])
        self.events += len(events)

    def publish_sealing_key(self, org: str) -> None:
        key = create_sealing_key(self.home, self.node.suite, org)
        self.method(org, "set_sealing_key", key=key.public_key.hex())


def _event(kind: str, ms: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": format_iso(ms, TZ), "eventTimeZoneOffset": TZ, **fields}


def _register(r: _Recorder, orgs: set[str]) -> None:
    parties: list[tuple[str, str, dict[str, Any]]] = [
        (f"{FARM}/admin", "register_party", {"roles": ["farm", "processor", "brand_owner"],
                                             "name": "Ganzhou Green Valley Farm", "company_prefixes": [FARM_PREFIX]}),
        (f"{PROCESSOR}/admin", "register_party", {"roles": ["processor", "warehouse", "carrier", "brand_owner"],
                                                  "name": "Jiangxi Lianhe Meat Processing & Cold Chain",
                                                  "company_prefixes": [PROCESSOR_PREFIX]}),
        (f"{RETAILER}/admin", "register_party", {"roles": ["retailer", "warehouse"], "name": "Shanghai Huaxin Supermarket",
                                                 "company_prefixes": [RETAILER_PREFIX]})]
    if REGULATOR in orgs:
        parties.append((f"{REGULATOR}/admin", "register_party", {"roles": ["regulator"],
                                                                 "name": "Shanghai Market Supervision (demo)"}))
    r.batch(parties)  # the parties register together: one block, several organisations
    # every event's payload is sealed to its parties (ADR 0013); the keys are published together
    r.batch([(f"{org}/admin", "set_sealing_key", {"key": create_sealing_key(r.home, r.node.suite, org).public_key.hex()})
             for org in ((FARM, PROCESSOR, RETAILER, REGULATOR) if REGULATOR in orgs else (FARM, PROCESSOR, RETAILER))])
    with r.together():
        _register_places(r)


def _register_places(r: _Recorder) -> None:
    r.method(FARM, "register_location", location=BARN, name="Green Valley Farm, fattening barn 3", kind="farm",
             address="Shangyou County", city="Ganzhou, Jiangxi", country="CN", latitude="25.785", longitude="114.551")
    for number, name, kind, city in ((ABATTOIR, "Lianhe slaughter and cutting plant", "processing", "Nanchang, Jiangxi"),
                                     (COLD_STORE, "Lianhe cold store, chamber 2 (0-4 °C)", "storage", "Nanchang, Jiangxi"),
                                     (TRUCK, "Lianhe refrigerated truck 赣A·C7312", "transport", "Nanchang → Shanghai")):
        r.method(PROCESSOR, "register_location", location=number, name=name, kind=kind, city=city, country="CN")
    for number, name in ((STORES[0], "Huaxin Mart Xujiahui"), (STORES[1], "Huaxin Mart Lujiazui")):
        r.method(RETAILER, "register_location", location=number, name=name, kind="shelf", city="Shanghai", country="CN")
    r.method(FARM, "register_product", gtin=PIG, name="Live pig (Duroc × Landrace × Yorkshire)", category="livestock",
             description="Raised on Green Valley Farm, Ganzhou, on grain feed without growth promoters.")
    r.method(PROCESSOR, "register_product", gtin=PORK_LOIN, name="Chilled pork loin, 500 g", category="fresh meat",
             description="Cut and packed within 24 hours of slaughter; keep at -1 to 4 °C.",
             ranges={"Temperature": {"min": "-1", "max": "4", "uom": "CEL"}})


def _register_vegetables(r: _Recorder) -> None:
    with r.together():
        _register_vegetable_places(r)


def _register_vegetable_places(r: _Recorder) -> None:
    for n, number in enumerate(GREENHOUSES, 1):
        r.method(FARM, "register_location", location=number, name=f"Green Valley greenhouse {n} (cherry tomatoes)",
                 kind="farm", address="Shangyou County", city="Ganzhou, Jiangxi", country="CN")
    r.method(FARM, "register_location", location=PACKHOUSE, name="Green Valley packhouse: washing, grading, packing",
             kind="processing", address="Shangyou County", city="Ganzhou, Jiangxi", country="CN")
    r.method(PROCESSOR, "register_location", location=REEFER, name="Lianhe refrigerated truck 赣A·D2046 (produce)",
             kind="transport", city="Ganzhou → Shanghai", country="CN")
    r.method(RETAILER, "register_location", location=DC, name="Huaxin Mart fresh distribution centre, Jiading",
             kind="storage", city="Shanghai", country="CN")
    r.method(FARM, "register_product", gtin=TOMATOES, name="Cherry tomatoes, greenhouse harvest (by weight)",
             category="fresh produce", description="Harvested into crates and weighed; packed the same day.")
    r.method(FARM, "register_product", gtin=CLAMSHELL, name="Green Valley cherry tomatoes, 250 g clamshell",
             category="fresh produce", description="Vine-ripened in greenhouses warmed by the farm's biogas; every lot "
             "tested for pesticide residues before packing. Keep at 7 to 13 °C; do not refrigerate below 7 °C.",
             ranges={"Temperature": TOMATO_RANGE})


def _lot_events(day: int, lot: str, start: int) -> dict[str, list[dict[str, Any]]]:
    """One processing day: the farm's pigs, the plant's packages and pallets, the stores' shelves."""
    pigs = [f"{DL}/01/{PIG}/21/GV26-{day}{i:03d}" for i in range(PIGS_PER_LOT)]
    packages = [f"{DL}/01/{PORK_LOIN}/10/{lot}/21/{day}{n:04d}" for n in range(1, PACKAGES_PER_LOT + 1)]
    pallets = [f"{DL}/00/{sscc(PROCESSOR_PREFIX, day * 100 + p)}" for p in range(PACKAGES_PER_LOT // PALLET_SIZE)]
    slaughter = start + 160 * DAY
    farm = [
        _event("ObjectEvent", start, epcList=pigs, action="ADD", bizStep="commissioning", disposition="active",
               readPoint=_loc(BARN), bizLocation=_loc(BARN), ilmd={"cbvmda:lotNumber": f"GV26-{day}"}),
        _event("ObjectEvent", slaughter - 26 * HOUR, epcList=pigs, action="OBSERVE", bizStep="inspecting",
               disposition="conformant", readPoint=_loc(BARN), bizLocation=_loc(BARN),
               bizTransactionList=[{"type": "cert", "bizTransaction": f"urn:example:quarantine:JX-2026-{day:04d}"}]),
        _event("ObjectEvent", slaughter - 8 * HOUR, epcList=pigs, action="OBSERVE", bizStep="shipping",
               disposition="in_transit", readPoint=_loc(BARN),
               sourceList=[{"type": "owning_party", "source": f"{DL}/417/{gln(FARM_PREFIX, '00001')}"}],
               destinationList=[{"type": "owning_party", "destination": f"{DL}/417/{gln(PROCESSOR_PREFIX, '00000')}"},
                                {"type": "location", "destination": f"{DL}/414/{ABATTOIR}"}]),
    ]
    plant = [
        _event("ObjectEvent", slaughter - 3 * HOUR, epcList=pigs, action="OBSERVE", bizStep="receiving",
               disposition="in_progress", readPoint=_loc(ABATTOIR), bizLocation=_loc(ABATTOIR)),
        _event("TransformationEvent", slaughter, inputEPCList=pigs, outputEPCList=packages, bizStep="commissioning",
               disposition="active", readPoint=_loc(ABATTOIR), bizLocation=_loc(ABATTOIR),
               sensorElementList=_temps(slaughter - 2 * HOUR, ["1.8", "2.1"]), ilmd={"cbvmda:lotNumber": lot}),
    ]
    for p, pallet in enumerate(pallets):
        plant.append(_event("AggregationEvent", slaughter + HOUR + p * 60_000, parentID=pallet,
                            childEPCs=packages[p * PALLET_SIZE:(p + 1) * PALLET_SIZE], action="ADD", bizStep="packing",
                            disposition="in_progress", readPoint=_loc(ABATTOIR), bizLocation=_loc(ABATTOIR)))
    warm = day == 1  # the second day's truck lost cooling for an hour
    plant += [
        _event("ObjectEvent", slaughter + 3 * HOUR, epcList=pallets, action="OBSERVE", bizStep="storing",
               disposition="in_progress", readPoint=_loc(COLD_STORE), bizLocation=_loc(COLD_STORE),
               sensorElementList=_temps(slaughter + 3 * HOUR, ["1.9", "2.3", "2.0", "2.2"], 3 * HOUR)),
        _event("ObjectEvent", slaughter + 16 * HOUR, epcList=pallets, action="OBSERVE", bizStep="departing",
               disposition="in_transit", readPoint=_loc(COLD_STORE),
               destinationList=[{"type": "owning_party", "destination": f"{DL}/417/{gln(RETAILER_PREFIX, '00000')}"}]),
        _event("ObjectEvent", slaughter + 22 * HOUR, epcList=pallets, action="OBSERVE", bizStep="transporting",
               disposition="in_transit", readPoint=_loc(TRUCK),
               sensorElementList=_temps(slaughter + 17 * HOUR, ["2.6", "3.1", "7.8" if warm else "3.4", "3.0", "2.9"])),
    ]
    shop: list[dict[str, Any]] = []
    for p, pallet in enumerate(pallets):
        store = STORES[p % 2]
        contents = packages[p * PALLET_SIZE:(p + 1) * PALLET_SIZE]
        arrive = slaughter + 26 * HOUR + p * 10 * 60_000
        shop += [
            _event("ObjectEvent", arrive, epcList=[pallet], action="OBSERVE", bizStep="receiving",
                   disposition="in_progress", readPoint=_loc(store), bizLocation=_loc(store)),
            _event("AggregationEvent", arrive + 20 * 60_000, parentID=pallet, childEPCs=contents, action="DELETE",
                   bizStep="unpacking", disposition="in_progress", readPoint=_loc(store), bizLocation=_loc(store)),
            _event("ObjectEvent", arrive + 40 * 60_000, epcList=contents, action="OBSERVE", bizStep="stocking",
                   disposition="sellable_accessible", readPoint=_loc(store), bizLocation=_loc(store),
                   sensorElementList=_temps(arrive + 40 * 60_000, ["2.8"])),
        ]
        for n, package in enumerate(contents[: PALLET_SIZE * 2 // 3]):  # two thirds sold
            shop.append(_event("ObjectEvent", arrive + 5 * HOUR + n * 7 * 60_000, epcList=[package], action="OBSERVE",
                               bizStep="retail_selling", disposition="retail_sold", readPoint=_loc(store),
                               bizLocation=_loc(store)))
    return {FARM: farm, PROCESSOR: plant, RETAILER: shop}


def _day(ms: int) -> str:
    return format_iso(ms, TZ)[:10]


def _harvest(day: int, lot: str, start: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Three greenhouses' harvest lots (by weight, ILMD: lot, date, bed, residue test); what of each went to packing."""
    events, inputs = [], []
    for g, house in enumerate(GREENHOUSES):
        harvest_lot = f"{lot[:-1]}H{g + 1}"
        kilos = 30 + 3 * g + day
        inhibition = f"{8 + (day * 7 + g * 5) % 17}.{(day + g) % 10}"  # enzyme inhibition %, pass below 50
        events.append(_event(
            "ObjectEvent", start + g * 40 * 60_000, action="ADD", bizStep="commissioning", disposition="active",
            quantityList=[{"epcClass": f"{DL}/01/{TOMATOES}/10/{harvest_lot}", "quantity": Decimal(f"{kilos}.5"),
                           "uom": "KGM"}],
            readPoint=_loc(house), bizLocation=_loc(house),
            ilmd={"cbvmda:lotNumber": harvest_lot, "cbvmda:harvestStartDate": _day(start),
                  "cbvmda:countryOfOrigin": "CN", "gv:plot": f"greenhouse {g + 1}, beds {g * 6 + 1}-{g * 6 + 6}",
                  "gv:pesticideTest": {"gv:method": "GB/T 5009.199-2003 rapid enzyme inhibition",
                                       "gv:inhibitionPercent": Decimal(inhibition), "gv:limitPercent": 50,
                                       "gv:result": "pass", "gv:tester": "Green Valley farm laboratory"}}))
        inputs.append({"epcClass": f"{DL}/01/{TOMATOES}/10/{harvest_lot}", "quantity": Decimal(f"{kilos}.5"),
                       "uom": "KGM"})
    return events, inputs


def _vegetable_events(day: int, lot: str, start: int) -> dict[str, list[dict[str, Any]]]:
    """One harvest day of cherry tomatoes: greenhouse, packhouse, reefer truck, distribution centre, two stores."""
    farm, inputs = _harvest(day, lot, start)
    packed = start + 4 * HOUR
    clamshells = [f"{DL}/01/{CLAMSHELL}/10/{lot}/21/{day + 1}{n:04d}" for n in range(1, CLAMSHELLS_PER_LOT + 1)]
    cases = [f"{DL}/00/{sscc(FARM_PREFIX, 500_000 + day * 100 + c)}"
             for c in range(CLAMSHELLS_PER_LOT // CASE_SIZE)]
    pallets = [f"{DL}/00/{sscc(FARM_PREFIX, 600_000 + day * 10 + p)}" for p in range(len(cases) // CASES_PER_PALLET)]
    cases_on = {pallet: cases[p * CASES_PER_PALLET:(p + 1) * CASES_PER_PALLET] for p, pallet in enumerate(pallets)}
    farm.append(_event("TransformationEvent", packed, inputQuantityList=inputs, outputEPCList=clamshells,
                       bizStep="commissioning", disposition="active", readPoint=_loc(PACKHOUSE),
                       bizLocation=_loc(PACKHOUSE),
                       ilmd={"cbvmda:lotNumber": lot, "cbvmda:harvestStartDate": _day(start),
                             "cbvmda:bestBeforeDate": _day(start + 8 * DAY), "cbvmda:countryOfOrigin": "CN"}))
    for c, case in enumerate(cases):
        farm.append(_event("AggregationEvent", packed + 20 * 60_000 + c * 30_000, parentID=case,
                           childEPCs=clamshells[c * CASE_SIZE:(c + 1) * CASE_SIZE], action="ADD", bizStep="packing",
                           disposition="in_progress", readPoint=_loc(PACKHOUSE), bizLocation=_loc(PACKHOUSE)))
    for p, pallet in enumerate(pallets):
        farm.append(_event("AggregationEvent", packed + 2 * HOUR + p * 5 * 60_000, parentID=pallet,
                           childEPCs=cases_on[pallet], action="ADD", bizStep="packing", disposition="in_progress",
                           readPoint=_loc(PACKHOUSE), bizLocation=_loc(PACKHOUSE)))
    farm += [
        _event("ObjectEvent", packed + 2 * HOUR + 30 * 60_000, epcList=pallets, action="OBSERVE", bizStep="storing",
               disposition="in_progress", readPoint=_loc(PACKHOUSE), bizLocation=_loc(PACKHOUSE),
               sensorElementList=_temps(packed + 2 * HOUR + 30 * 60_000, ["10.8", "10.1", "9.9"],
                                        device=f"{FARM_PREFIX}C01", humidity=["91", "92"])),
        _event("ObjectEvent", packed + 6 * HOUR, epcList=pallets, action="OBSERVE", bizStep="shipping",
               disposition="in_transit", readPoint=_loc(PACKHOUSE),
               sourceList=[{"type": "owning_party", "source": f"{DL}/417/{gln(FARM_PREFIX, '00001')}"}],
               destinationList=[{"type": "owning_party", "destination": f"{DL}/417/{gln(RETAILER_PREFIX, '00000')}"},
                                {"type": "location", "destination": f"{DL}/414/{DC}"}]),
    ]
    depart = packed + 6 * HOUR + 15 * 60_000
    warm = lot == WARM_VEG_LOT  # the reefer unit stalled for an hour near Hangzhou
    truck = ["10.4", "10.1", "9.8", "9.9", "10.2", "10.0", "9.7", "15.6" if warm else "10.1", "11.9" if warm else "9.9",
             "10.3", "10.0"]
    carrier = [_event("ObjectEvent", depart + 11 * HOUR, epcList=pallets, action="OBSERVE", bizStep="transporting",
                      disposition="in_transit", readPoint=_loc(REEFER),
                      sensorElementList=_temps(depart, truck, device=f"{PROCESSOR_PREFIX}T02", humidity=["90", "89", "91"]))]
    arrive = depart + 11 * HOUR + 20 * 60_000
    cages = [f"{DL}/00/{sscc(RETAILER_PREFIX, 700_000 + day * 10 + s)}" for s in range(len(STORES))]
    per_cage = len(cases) // len(cages)
    shop = [
        _event("ObjectEvent", arrive, epcList=pallets, action="OBSERVE", bizStep="receiving", disposition="in_progress",
               readPoint=_loc(DC), bizLocation=_loc(DC)),
        _event("ObjectEvent", arrive + 30 * 60_000, epcList=pallets, action="OBSERVE", bizStep="storing",
               disposition="in_progress", readPoint=_loc(DC), bizLocation=_loc(DC),
               sensorElementList=_temps(arrive + 30 * 60_000, ["10.6", "10.2", "10.4"], device=f"{RETAILER_PREFIX}D01")),
    ]
    for p, pallet in enumerate(pallets):
        shop.append(_event("AggregationEvent", arrive + 3 * HOUR + p * 5 * 60_000, parentID=pallet,
                           childEPCs=cases_on[pallet], action="DELETE", bizStep="unpacking", disposition="in_progress",
                           readPoint=_loc(DC), bizLocation=_loc(DC)))
    for s, cage in enumerate(cages):
        shop.append(_event("AggregationEvent", arrive + 3 * HOUR + 30 * 60_000 + s * 5 * 60_000, parentID=cage,
                           childEPCs=cases[s * per_cage:(s + 1) * per_cage], action="ADD", bizStep="picking",
                           disposition="in_progress", readPoint=_loc(DC), bizLocation=_loc(DC)))
    shop.append(_event("ObjectEvent", arrive + 4 * HOUR + 30 * 60_000, epcList=cages, action="OBSERVE",
                       bizStep="departing", disposition="in_transit", readPoint=_loc(DC)))
    for s, (store, cage) in enumerate(zip(STORES, cages, strict=True)):
        here = arrive + 6 * HOUR + s * 40 * 60_000
        contents = cases[s * per_cage:(s + 1) * per_cage]
        packs = clamshells[s * per_cage * CASE_SIZE:(s + 1) * per_cage * CASE_SIZE]
        shop += [
            _event("ObjectEvent", here, epcList=[cage], action="OBSERVE", bizStep="receiving", disposition="in_progress",
                   readPoint=_loc(store), bizLocation=_loc(store)),
            _event("AggregationEvent", here + 10 * 60_000, parentID=cage, childEPCs=contents, action="DELETE",
                   bizStep="unpacking", disposition="in_progress", readPoint=_loc(store), bizLocation=_loc(store)),
        ]
        for c, case in enumerate(contents):
            shop.append(_event("AggregationEvent", here + 20 * 60_000 + c * 60_000, parentID=case, action="DELETE",
                               childEPCs=packs[c * CASE_SIZE:(c + 1) * CASE_SIZE], bizStep="unpacking",
                               disposition="in_progress", readPoint=_loc(store), bizLocation=_loc(store)))
        shop.append(_event("ObjectEvent", here + HOUR, epcList=packs, action="OBSERVE", bizStep="stocking",
                           disposition="sellable_accessible", readPoint=_loc(store), bizLocation=_loc(store),
                           sensorElementList=_temps(here + HOUR, ["11.4"], device=f"{RETAILER_PREFIX}S0{s + 1}")))
        for n, package in enumerate(packs[: len(packs) * 4 // 5]):  # four in five sold
            shop.append(_event("ObjectEvent", here + 2 * HOUR + n * 4 * 60_000, epcList=[package], action="OBSERVE",
                               bizStep="retail_selling", disposition="retail_sold", readPoint=_loc(store),
                               bizLocation=_loc(store)))
    return {FARM: farm, PROCESSOR: carrier, RETAILER: shop}


def _capture_days(r: _Recorder, days: list[dict[str, list[dict[str, Any]]]]) -> None:
    """Each organisation uploads all its days in one document, upstream first (a pallet's contents
    are known before the truck's readings are checked against them)."""
    with r.together():  # in one go, in this order: the block runs them upstream first
        for org in (FARM, PROCESSOR, RETAILER):
            r.capture(org, [event for day in days for event in day[org]])


def seed_trace_demo(node: Node, home: Path, *, validate: bool = False) -> dict[str, Any]:
    """Record the pork and vegetables chains in the demo consortium; returns what was recorded and
    links to try. ``validate`` checks every document against the EPCIS schema first (slower)."""
    orgs = {o["id"] for o in node.genesis["orgs"]}
    missing = sorted({FARM, PROCESSOR, RETAILER} - orgs)
    if missing:
        raise NotFound(f"the traceability demo needs organisations {', '.join(missing)} (the demo "
                       "consortium: consortia up --init)", code="DEMO_ORGS_MISSING")
    r = _Recorder(node, Path(home), validate)
    _register(r, orgs)
    start = int(time.time() * 1000) - 175 * DAY
    _capture_days(r, [_lot_events(day, lot, start + day * DAY) for day, lot in enumerate(LOTS)])
    r.method(PROCESSOR, "recall", gtin=PORK_LOIN, lot=RECALLED_LOT,
             reason="Listeria monocytogenes found in a retained sample; return packages to the store for a refund.")
    _register_vegetables(r)
    harvest = int(time.time() * 1000) - 12 * DAY
    _capture_days(r, [_vegetable_events(day, lot, harvest + day * DAY) for day, lot in enumerate(VEG_LOTS)])
    stats = node.query("trace", "stats", {})
    sample = f"/01/{PORK_LOIN}/10/{LOTS[0]}/21/00001"
    warm = VEG_LOTS.index(WARM_VEG_LOT) + 1
    return {"events": stats["events"], "transactions": r.transactions, "alerts": stats["alerts"],
            "recalled_lot": RECALLED_LOT, "gtin": PORK_LOIN, "consumer_page": sample,
            "recalled_page": f"/01/{PORK_LOIN}/10/{RECALLED_LOT}/21/20001", "qr": f"/qr{sample}?format=svg",
            "vegetables": {"gtin": CLAMSHELL, "lots": list(VEG_LOTS), "warm_lot": WARM_VEG_LOT,
                           "consumer_page": f"/01/{CLAMSHELL}/10/{VEG_LOTS[0]}/21/10001",
                           "warm_page": f"/01/{CLAMSHELL}/10/{WARM_VEG_LOT}/21/{warm}0001"}}
