"""Drive the trace contract through a real executor and store (no tests here: the harness)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consortia.apps.trace.document import capture_args, prepare_capture
from consortia.apps.trace.identifiers import compute_check_digit
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.trace.sealing import seal_batches
from consortia.apps.trace.times import format_iso
from consortia.crypto import KeyUnwrapper
from consortia.execution.executor import Reader
from consortia.identity.x509 import Identity
from tests.apps.harness import AppHarness
from tests.unit.helpers import Consortium

FARM, PROC, SHOP, REG, OUTSIDER = "green-valley-farm", "lianhe-foods", "huaxin-mart", "sh-regulator", "hongqiao-auto"
FARM_PREFIX, PROC_PREFIX, SHOP_PREFIX = "6921234", "6925678", "6929999"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
DL = "https://id.gs1.org"


def with_check(body: str) -> str:
    return body + compute_check_digit(body)


PIG = with_check("0" + FARM_PREFIX + "00001")
LOIN = with_check("0" + PROC_PREFIX + "00001")
BARN, PLANT, STORE = with_check(FARM_PREFIX + "00002"), with_check(PROC_PREFIX + "00001"), with_check(SHOP_PREFIX + "00001")
PALLET = f"{DL}/00/{with_check('3' + PROC_PREFIX + '000000001')}"


def pig(n: int) -> str:
    return f"{DL}/01/{PIG}/21/P{n:03d}"


def loin(lot: str, n: int) -> str:
    return f"{DL}/01/{LOIN}/10/{lot}/21/{n:04d}"


def place(gln: str) -> dict[str, str]:
    return {"id": f"{DL}/414/{gln}"}


def event(kind: str, time_ms: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": format_iso(time_ms, "+08:00"), "eventTimeZoneOffset": "+08:00", **fields}


def document(events: list[dict[str, Any]], context: list[Any] | None = None) -> str:
    return dumps_exact({"@context": context or CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                        "creationDate": "2026-03-01T00:00:00Z", "epcisBody": {"eventList": events}})


class Trace(AppHarness):
    """A ten-organisation chain with the traceability parties registered."""

    contract = "trace"

    def __init__(self, consortium: Consortium, path: Path, register: bool = True) -> None:
        self.chain = consortium.chain(path)
        if register:
            self.ok(FARM, "register_party", {"roles": ["farm", "brand_owner"], "name": "Green Valley Farm",
                                             "company_prefixes": [FARM_PREFIX]})
            self.ok(PROC, "register_party", {"roles": ["processor", "carrier", "brand_owner"], "name": "Lianhe Foods",
                                             "company_prefixes": [PROC_PREFIX]})
            self.ok(SHOP, "register_party", {"roles": ["retailer"], "name": "Huaxin Mart",
                                             "company_prefixes": [SHOP_PREFIX]})
            self.ok(REG, "register_party", {"roles": ["regulator"], "name": "Regulator"})

    def capture(self, org: str, events: list[dict[str, Any]], share_with: list[str] | None = None,
                context: list[Any] | None = None) -> list[str]:
        prepared = prepare_capture(document(events, context))
        ids: list[str] = []
        for batch in prepared.batches:
            result = self.ok(org, "capture", capture_args(prepared.namespaces, batch, share_with), who="clerk")
            ids += result["captured"] + result["declared"]
        return ids

    def publish_sealing_keys(self, *orgs: str) -> dict[str, KeyUnwrapper]:
        """Give each organisation a sealing key pair and publish its public half."""
        suite = self.chain.c.suite
        keys = {org: suite.generate_unwrapper() for org in orgs}
        for org, key in keys.items():
            self.ok(org, "set_sealing_key", {"key": key.public_key.hex()})
        return keys

    def sealed_args(self, org: str, events: list[dict[str, Any]], share_with: list[str] | None = None,
                    context: list[Any] | None = None) -> list[dict[str, Any]]:
        prepared = prepare_capture(document(events, context))
        return seal_batches(self.chain.c.suite, self.chain.c.chain_id, org, prepared.namespaces, prepared.batches,
                            lambda places: self.query(None, "sealing_directory", {"places": places}), share_with or [])

    def capture_sealed(self, org: str, events: list[dict[str, Any]], share_with: list[str] | None = None,
                       context: list[Any] | None = None) -> list[str]:
        ids: list[str] = []
        for args in self.sealed_args(org, events, share_with, context):
            result = self.ok(org, "capture_sealed", args, who="clerk")
            ids += result["captured"] + result["declared"]
        return ids

    def identity(self, org: str, who: str = "admin") -> Identity:
        store = self.chain.store
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        return self.chain.executor.identity(reader, self.chain.c.wallet(f"{org}/{who}").sender, self.now)

    def query(self, org: str | None, method: str, args: dict[str, Any] | None = None) -> Any:
        caller = self.identity(org) if org else None
        return self.chain.executor.query("trace", method, args or {}, caller)

    def farm_to_shelf(self, lot: str = "L1", start: int | None = None, packages: int = 4, warm: bool = False,
                      first_pig: int = 0) -> dict[str, Any]:
        """Two pigs -> packages of one lot -> a pallet -> a store shelf; returns the identifiers."""
        t = start if start is not None else self.now - 30 * 86_400_000
        pigs = [pig(first_pig + i) for i in range(2)]
        items = [loin(lot, n) for n in range(1, packages + 1)]
        pallet = f"{DL}/00/{with_check('3' + PROC_PREFIX + f'{first_pig + 1:09d}')}"
        self.capture(FARM, [event("ObjectEvent", t, epcList=pigs, action="ADD", bizStep="commissioning",
                                  readPoint=place(BARN), bizLocation=place(BARN), ilmd={"cbvmda:lotNumber": "F1"}),
                            event("ObjectEvent", t + 3_600_000, epcList=pigs, action="OBSERVE", bizStep="shipping",
                                  readPoint=place(BARN),
                                  destinationList=[{"type": "location", "destination": f"{DL}/414/{PLANT}"}])])
        temp = "7.5" if warm else "2.5"
        self.capture(PROC, [
            event("TransformationEvent", t + 7_200_000, inputEPCList=pigs, outputEPCList=items, bizStep="commissioning",
                  readPoint=place(PLANT), bizLocation=place(PLANT)),
            event("AggregationEvent", t + 7_300_000, parentID=pallet, childEPCs=items, action="ADD", bizStep="packing",
                  readPoint=place(PLANT), bizLocation=place(PLANT)),
            event("ObjectEvent", t + 9_000_000, epcList=[pallet], action="OBSERVE", bizStep="transporting",
                  readPoint=place(PLANT), sensorElementList=[{"sensorReport": [
                      {"type": "Temperature", "value": _dec(temp), "uom": "CEL"}]}])])
        self.capture(SHOP, [
            event("ObjectEvent", t + 20_000_000, epcList=[pallet], action="OBSERVE", bizStep="receiving",
                  readPoint=place(STORE), bizLocation=place(STORE)),
            event("AggregationEvent", t + 20_100_000, parentID=pallet, childEPCs=items, action="DELETE",
                  bizStep="unpacking", readPoint=place(STORE), bizLocation=place(STORE)),
            event("ObjectEvent", t + 21_000_000, epcList=items, action="OBSERVE", bizStep="stocking",
                  disposition="sellable_accessible", readPoint=place(STORE), bizLocation=place(STORE))])
        return {"pigs": pigs, "items": items, "pallet": pallet, "lot": lot}


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)
