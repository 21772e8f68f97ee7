"""Traceability demo data: a pork supply chain from farm to shelf, as standard EPCIS 2.0 events.

Ganzhou Green Valley Pig Farm raises pigs (each with an ear-tag serial, in farm lots); Jiangxi
Lianhe Meat slaughters them, packs chilled pork loin (every package a GTIN + lot + serial, the
Digital Link on its QR label), stores the pallets in its cold store and trucks them to Shanghai;
Huaxin Mart receives, unpacks, stocks and sells them in two stores. Three processing days make
three lots; one truck ran warm (a cold-chain alert) and one lot is recalled.

Every event is captured through the ``trace`` contract in transactions signed by the recording
organisation's clerk, exactly as ``POST /epcis/capture`` would.
"""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from consortia.apps.trace.document import capture_args, prepare_capture
from consortia.apps.trace.identifiers import compute_check_digit
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.trace.times import format_iso
from consortia.errors import NotFound
from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node.node import Node

HOUR = 3600 * 1000
DAY = 24 * HOUR
TZ = "+08:00"
FARM, PROCESSOR, RETAILER, REGULATOR = "green-valley-farm", "lianhe-foods", "huaxin-mart", "sh-regulator"
FARM_PREFIX, PROCESSOR_PREFIX, RETAILER_PREFIX = "6921234", "6925678", "6929999"
PACKAGES_PER_LOT = 240
PALLET_SIZE = 40
PIGS_PER_LOT = 8
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


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


def _loc(number: str) -> dict[str, str]:
    return {"id": f"{DL}/414/{number}"}


def _temps(start_ms: int, values: list[str], every_ms: int = HOUR) -> list[dict[str, Any]]:
    return [{"sensorMetadata": {"time": format_iso(start_ms + i * every_ms, TZ), "deviceID": f"{DL}/8004/{PROCESSOR_PREFIX}T01"},
             "sensorReport": [{"type": "Temperature", "value": Decimal(v), "uom": "CEL"}]} for i, v in enumerate(values)]


class _Recorder:
    """Signs ``trace`` transactions as each organisation's member and waits for their receipts."""

    def __init__(self, node: Node, home: Path) -> None:
        self.node, self.home = node, home
        self.transactions = self.events = 0
        self._wallets: dict[str, Any] = {}

    def _wallet(self, who: str) -> Any:
        if who not in self._wallets:
            self._wallets[who] = load_wallet(self.home, self.node.suite, who)
        return self._wallets[who]

    def _submit(self, who: str, batch: list[dict[str, Any]]) -> list[Any]:
        wallet = self._wallet(who)
        wires = []
        for args in batch:
            method = args.pop("_method", "capture") if "_method" in args else "capture"
            body = {"chain": self.node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63), "contract": "trace",
                    "method": method, "args": args, "not_after_height": None,
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
        return self._submit(f"{org}/admin", [{"_method": method, **args}])[0]

    def capture(self, org: str, events: list[dict[str, Any]]) -> None:
        document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                    "creationDate": format_iso(int(time.time() * 1000), TZ), "epcisBody": {"eventList": events}}
        prepared = prepare_capture(dumps_exact(document))
        self._submit(f"{org}/clerk", [capture_args(prepared.namespaces, batch) for batch in prepared.batches])
        self.events += prepared.count


def _event(kind: str, ms: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": format_iso(ms, TZ), "eventTimeZoneOffset": TZ, **fields}


def _register(r: _Recorder, orgs: set[str]) -> None:
    r.method(FARM, "register_party", roles=["farm", "brand_owner"], name="Ganzhou Green Valley Pig Farm",
             company_prefixes=[FARM_PREFIX])
    r.method(PROCESSOR, "register_party", roles=["processor", "warehouse", "carrier", "brand_owner"],
             name="Jiangxi Lianhe Meat Processing & Cold Chain", company_prefixes=[PROCESSOR_PREFIX])
    r.method(RETAILER, "register_party", roles=["retailer"], name="Shanghai Huaxin Supermarket",
             company_prefixes=[RETAILER_PREFIX])
    if REGULATOR in orgs:
        r.method(REGULATOR, "register_party", roles=["regulator"], name="Shanghai Market Supervision (demo)")
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


def seed_trace_demo(node: Node, home: Path) -> dict[str, Any]:
    """Record the pork chain in the demo consortium; returns what was recorded and a link to try."""
    orgs = {o["id"] for o in node.genesis["orgs"]}
    missing = sorted({FARM, PROCESSOR, RETAILER} - orgs)
    if missing:
        raise NotFound(f"the traceability demo needs organisations {', '.join(missing)} (a 10-organisation demo "
                       "consortium: consortia up --init)", code="DEMO_ORGS_MISSING")
    r = _Recorder(node, Path(home))
    _register(r, orgs)
    start = int(time.time() * 1000) - 175 * DAY
    for day, lot in enumerate(LOTS):
        events = _lot_events(day, lot, start + day * DAY)
        for org in (FARM, PROCESSOR, RETAILER):
            r.capture(org, events[org])
    r.method(PROCESSOR, "recall", gtin=PORK_LOIN, lot=RECALLED_LOT,
             reason="Listeria monocytogenes found in a retained sample; return packages to the store for a refund.")
    stats = node.query("trace", "stats", {})
    sample = f"/01/{PORK_LOIN}/10/{LOTS[0]}/21/00001"
    return {"events": stats["events"], "transactions": r.transactions, "alerts": stats["alerts"],
            "recalled_lot": RECALLED_LOT, "gtin": PORK_LOIN, "consumer_page": sample,
            "recalled_page": f"/01/{PORK_LOIN}/10/{RECALLED_LOT}/21/20001", "qr": f"/qr{sample}?format=svg"}
