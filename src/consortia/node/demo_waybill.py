"""Waybill demo data: a cold-chain consignment across two carriers, delivered and financed.

Jiangxi Lianhe Meat packs a lot of chilled pork loin onto two GS1-labelled pallets (EPCIS events
in ``trace``) and consigns them to Huaxin Mart's distribution centre in Shanghai on waybill
``WB-LH-2026-0326``: Shanghai Huafeng Cold Chain takes them over at Lianhe's cold store in
Nanchang and trucks them to its Hangzhou cross-dock, Shenzhen Yida Express takes them over
there and delivers them; each handover signed by both sides, every checkpoint with the reefer's
temperature. Huaxin counts the packages, accepts the goods and closes the waybill. The freight is
billed to Huaxin's parent, Shanghai Huaxin Commercial Group (the consortium's core enterprise in
retail): Huafeng registers the closed waybill's charges with supply chain finance, the group
issues a voucher against it, and Ningbo Haixin Bank factors it. A package of that lot shows the waybill's steps
in its consumer journey.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from consortia.errors import NotFound
from consortia.node.demo import Seeder
from consortia.node.demo_trace import (
    COLD_STORE,
    DC,
    DL,
    HOUR,
    PORK_LOIN,
    PROCESSOR,
    PROCESSOR_PREFIX,
    RETAILER,
    STORES,
    _event,
    _loc,
    _Recorder,
    sscc,
)
from consortia.node.home import APP_DEMO_ORGS
from consortia.node.node import Node

NUMBER = "WB-LH-2026-0326"
LOT = "LH260326C"
CARRIER1, CARRIER2, BANK, PAYER = "huafeng-logistics", "yida-express", "haixin-bank", "huaxin-group"
YUAN = 100
PER_PALLET = 40
PALLETS = 2


def seed_waybill_demo(node: Node, home: Path) -> dict[str, Any]:
    """Record the consignment; returns the number of transactions and links to try."""
    orgs = {o["id"] for o in node.genesis["orgs"]}
    missing = sorted({PROCESSOR, RETAILER, CARRIER1, CARRIER2, BANK, PAYER} - orgs)
    if missing:
        raise NotFound(f"the waybill demo needs organisations {', '.join(missing)} (the full demo consortium: "
                       "consortia up --init)", code="DEMO_ORGS_MISSING")
    s, r = Seeder(node, home), _Recorder(node, Path(home))
    start = int(time.time() * 1000) - 3 * 24 * HOUR
    packages = [f"{DL}/01/{PORK_LOIN}/10/{LOT}/21/9{n:04d}" for n in range(1, PALLETS * PER_PALLET + 1)]
    pallets = [sscc(PROCESSOR_PREFIX, 900 + p) for p in range(PALLETS)]
    # Packed at the plant and stored cold: the goods' own EPCIS events, captured once, in trace.
    plant = [_event("ObjectEvent", start, epcList=packages, action="ADD", bizStep="commissioning", disposition="active",
                    readPoint=_loc(COLD_STORE), bizLocation=_loc(COLD_STORE), ilmd={"cbvmda:lotNumber": LOT})]
    for p, pallet in enumerate(pallets):
        plant.append(_event("AggregationEvent", start + HOUR + p * 60_000, parentID=f"{DL}/00/{pallet}",
                            childEPCs=packages[p * PER_PALLET:(p + 1) * PER_PALLET], action="ADD", bizStep="packing",
                            disposition="in_progress", readPoint=_loc(COLD_STORE), bizLocation=_loc(COLD_STORE)))
    r.capture(PROCESSOR, plant)

    nanchang = {"name": "Lianhe cold store, chamber 2", "city": "Nanchang, Jiangxi", "country": "CN", "gln": COLD_STORE}
    jiading = {"name": "Huaxin Mart fresh distribution centre, Jiading", "city": "Shanghai", "country": "CN", "gln": DC}
    hangzhou = {"name": "Huafeng cold-chain cross-dock, Xiaoshan", "city": "Hangzhou, Zhejiang", "country": "CN"}
    certificate = hashlib.sha256(f"{LOT} animal quarantine certificate".encode()).hexdigest()
    invoice = hashlib.sha256(f"{NUMBER} commercial invoice".encode()).hexdigest()
    goods = [{"marks": f"LIANHE {LOT} {p + 1}/{PALLETS}", "packages": PER_PALLET, "packing": "carton on pallet",
              "description": "Chilled pork loin, 500 g vacuum packs, keep at -1 to 4 °C", "gross_weight_g": 436_000,
              "volume_cm3": 1_600_000, "sscc": pallet} for p, pallet in enumerate(pallets)]

    def wb(org: str, method: str, **args: Any) -> Any:
        return s.run(org, "waybill", method, {"number": NUMBER, **args})

    s.run(PROCESSOR, "waybill", "create", {
        "number": NUMBER, "consignee": RETAILER, "carriers": [CARRIER1, CARRIER2], "taking_over": nanchang,
        "delivery_place": jiading, "goods": goods, "planned_pickup_ms": start + 2 * HOUR,
        "charges": [{"item": "refrigerated carriage Nanchang-Shanghai", "amount": 6_800 * YUAN},
                    {"item": "reefer surcharge", "amount": 900 * YUAN}], "charges_payer": PAYER,
        "documents": [{"kind": "certificate", "digest": certificate, "algorithm": "sha-256"},
                      {"kind": "invoice", "digest": invoice, "algorithm": "sha-256"}],
        "temperature": {"min_c10": -10, "max_c10": 40}, "instructions": "Keep at -1 to 4 °C; do not stack pallets."})
    pickup = start + 2 * HOUR
    wb(PROCESSOR, "hand_over", at_ms=pickup)
    wb(CARRIER1, "take_over", packages=PALLETS * PER_PALLET, at_ms=pickup + 10 * 60_000)
    for hour, (name, city, reading) in enumerate([("G70 Nanchang east toll gate", "Nanchang, Jiangxi", 21),
                                                  ("G60 Shangrao service area", "Shangrao, Jiangxi", 26),
                                                  ("G60 Jinhua service area", "Jinhua, Zhejiang", 31)], 1):
        wb(CARRIER1, "checkpoint", place={"name": name, "city": city, "country": "CN"}, temperature_c10=reading,
           at_ms=pickup + hour * 2 * HOUR)
    handoff = pickup + 8 * HOUR
    wb(CARRIER1, "hand_over", place=hangzhou, at_ms=handoff)
    wb(CARRIER2, "take_over", packages=PALLETS * PER_PALLET, at_ms=handoff + 20 * 60_000)
    wb(CARRIER2, "checkpoint", place={"name": "G60 Jiaxing service area", "city": "Jiaxing, Zhejiang", "country": "CN"},
       temperature_c10=24, at_ms=handoff + 2 * HOUR)
    arrive = handoff + 4 * HOUR
    wb(CARRIER2, "hand_over", at_ms=arrive)
    wb(RETAILER, "take_over", packages=PALLETS * PER_PALLET, at_ms=arrive + 15 * 60_000)
    wb(RETAILER, "close")

    # The store unpacks the pallets and stocks the packs: the journey goes on after the waybill.
    store = []
    for p, pallet in enumerate(pallets):
        store.append(_event("AggregationEvent", arrive + HOUR + p * 60_000, parentID=f"{DL}/00/{pallet}",
                            childEPCs=packages[p * PER_PALLET:(p + 1) * PER_PALLET], action="DELETE",
                            bizStep="unpacking", disposition="in_progress", readPoint=_loc(DC), bizLocation=_loc(DC)))
    store.append(_event("ObjectEvent", arrive + 5 * HOUR, epcList=packages, action="OBSERVE", bizStep="stocking",
                        disposition="sellable_accessible", readPoint=_loc(STORES[0]), bizLocation=_loc(STORES[0])))
    r.capture(RETAILER, store)

    # Carrier financing: the closed waybill's charges become a receivable Huafeng factors with Haixin Bank.
    uscc = {o["id"]: o["uscc"] for o in APP_DEMO_ORGS}
    for org, role, name in ((PAYER, "core", "Shanghai Huaxin Commercial Group"),
                            (CARRIER1, "supplier", "Shanghai Huafeng Cold Chain Logistics"),
                            (BANK, "funder", "Ningbo Haixin Bank")):
        s.scf(org, "register_party", roles=[role], uscc=uscc[org], name=name)
    line = s.scf(BANK, "grant_credit_line", core=PAYER, limit=5_000_000 * YUAN,
                 expires_ms=int(time.time() * 1000) + 365 * 24 * HOUR)["id"]
    rec = _receivable(node)
    doc = s.scf(CARRIER1, "register_document", kind="waybill", number=NUMBER, digest=rec["digest"],
                algorithm=rec["algorithm"], amount=rec["amount"], counterparty=PAYER)["id"]
    voucher = s.scf(PAYER, "issue", to=CARRIER1, amount=rec["amount"],
                    due_ms=int(time.time() * 1000) + 60 * 24 * HOUR, credit_line=line, documents=[doc],
                    memo=f"freight, waybill {NUMBER}")["id"]
    s.scf(CARRIER1, "accept", voucher_id=voucher)
    financing = s.scf(CARRIER1, "apply_financing", voucher_id=voucher, funder=BANK, kind="factoring")["id"]
    s.scf(BANK, "approve_financing", financing_id=financing, rate_bp=420, fees=0)
    s.scf(BANK, "disburse", financing_id=financing)
    return {"transactions": s.sent + r.transactions, "waybill": NUMBER, "financing": financing,
            "consumer_page": f"/01/{PORK_LOIN}/10/{LOT}/21/90001", "note": f"/waybills/{NUMBER}/note"}


def _receivable(node: Node) -> dict[str, Any]:
    from consortia.types import codec

    raw = node.store.state_read(f"waybill/wb/{NUMBER}")
    if raw is None:
        raise RuntimeError(f"demo waybill {NUMBER} is missing")
    return codec.decode(raw.value)["receivable"]  # type: ignore[no-any-return]
