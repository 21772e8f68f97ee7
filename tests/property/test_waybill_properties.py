"""Waybill custody and conservation invariants under random sequences of operations (hypothesis).

A small model predicts who holds each waybill's goods and how many packages it carries; the
contract is driven with random callers, counts and exceptions. After every step:
- every waybill has exactly one custodian, the one the model expects, and it fits the status
  (the consignor before pickup, the carrier of the current leg on the road, the consignee after);
- the package count is the declared count plus the recorded exceptions, never negative;
- a pending handover is proposed by the custodian to the next party in order;
- nothing of a delivered waybill changes afterwards but its status, closing and dispute notes;
- a refused operation changes nothing at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from consortia.types import codec
from tests.apps.waybill_harness import (
    CARRIER1,
    CARRIER2,
    CONSIGNEE,
    CONSIGNOR,
    FUNDER2,
    HANGZHOU,
    ORG_COUNT,
    OUTSIDER,
    Waybill,
    goods,
)
from tests.unit.helpers import Consortium

CARRIERS = [CARRIER1, CARRIER2, FUNDER2]
CALLERS = [CONSIGNOR, CONSIGNEE, *CARRIERS, OUTSIDER]
AFTER_DELIVERY = ("delivered", "closed", "disputed")
MUTABLE_AFTER_DELIVERY = ("status", "closed_ms", "dispute", "receivable")
_CONSORTIUM: Consortium | None = None


def consortium() -> Consortium:
    global _CONSORTIUM
    if _CONSORTIUM is None:
        _CONSORTIUM = Consortium(Path(tempfile.mkdtemp(prefix="waybill-prop-")) / "c", orgs=ORG_COUNT)
    return _CONSORTIUM


class WaybillMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.wb = Waybill(consortium(), Path(tempfile.mkdtemp(prefix="waybill-chain-")))
        self.model: dict[str, dict[str, Any]] = {}  # number -> custodian, leg, packages, status, pending
        self.sealed: dict[str, dict[str, Any]] = {}  # number -> the record as delivered

    def teardown(self) -> None:
        self.wb.chain.close()

    def table(self, prefix: str) -> dict[str, Any]:
        full = f"waybill/{prefix}/"
        return {k[len(full):]: codec.decode(v) for k, v, _, _ in self.wb.chain.rows() if k.startswith(full)}

    def run(self, org: str, method: str, args: dict[str, Any], ok: bool) -> Any:
        before = self.wb.chain.rows()
        receipt = self.wb.run(org, method, args)
        if receipt.status != "ok":
            assert self.wb.chain.rows() == before, receipt
        assert (receipt.status == "ok") == ok, (method, org, args, receipt)
        return receipt

    def next_party(self, number: str) -> tuple[str, str]:
        m = self.model[number]
        if m["status"] == "created":
            return "pickup", m["carriers"][0]
        if m["leg"] + 1 < len(m["carriers"]):
            return "handoff", m["carriers"][m["leg"] + 1]
        return "delivery", CONSIGNEE

    def pick(self, data: st.DataObject, right: str) -> str:
        """Half the time the party the next step expects, otherwise anyone."""
        return data.draw(st.one_of(st.just(right), st.sampled_from(CALLERS)))

    # -- rules ----------------------------------------------------------------------------

    @initialize(carriers=st.integers(1, 3), pallets=st.integers(1, 3), per=st.integers(1, 50))
    def first(self, carriers: int, pallets: int, per: int) -> None:
        self.create(carriers, pallets, per)

    @precondition(lambda self: len(self.model) < 3)
    @rule(carriers=st.integers(1, 3), pallets=st.integers(1, 3), per=st.integers(1, 50))
    def create(self, carriers: int, pallets: int, per: int) -> None:
        number = f"WB-{len(self.model) + 1}"
        chosen = CARRIERS[:carriers]
        self.run(CONSIGNOR, "create", {"number": number, "consignee": CONSIGNEE, "carriers": chosen,
                                       "taking_over": HANGZHOU, "delivery_place": HANGZHOU,
                                       "goods": goods(pallets, per, labelled=False),
                                       "charges": [{"item": "carriage", "amount": 1000}]}, ok=True)
        self.model[number] = {"custodian": CONSIGNOR, "leg": -1, "packages": pallets * per, "status": "created",
                              "pending": None, "carriers": chosen}

    @rule(data=st.data())
    def hand_over(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(sorted(self.model)))
        m = self.model[number]
        caller = self.pick(data, m["custodian"])
        kind, to = self.next_party(number) if m["status"] not in AFTER_DELIVERY else ("", "")
        ok = m["status"] not in AFTER_DELIVERY and caller == m["custodian"] and m["pending"] is None
        self.run(caller, "hand_over", {"number": number, "place": HANGZHOU}, ok=ok)
        if ok:
            m["pending"] = (caller, to, kind)

    @rule(data=st.data(), miscount=st.one_of(st.just(0), st.integers(-3, 3)),
          exception=st.one_of(st.none(), st.sampled_from([None, "shortage", "surplus", "damage"])))
    def take_over(self, data: st.DataObject, miscount: int, exception: str | None) -> None:
        number = data.draw(st.sampled_from(sorted(self.model)))
        m = self.model[number]
        caller = self.pick(data, m["pending"][1] if m["pending"] else CONSIGNEE)
        count = max(0, m["packages"] + miscount)
        delta = count - m["packages"]
        args: dict[str, Any] = {"number": number, "packages": count}
        if exception:
            args["exception"] = {"kind": exception, "note": "counted at the dock"}
        fits = (exception is None and delta == 0) or (exception == "shortage" and delta < 0) or \
            (exception == "surplus" and delta > 0) or (exception == "damage" and delta == 0)
        ok = m["status"] not in AFTER_DELIVERY and m["pending"] is not None and caller == m["pending"][1] and fits
        self.run(caller, "take_over", args, ok=ok)
        if ok:
            _, to, kind = m["pending"]
            m.update(custodian=to, pending=None, packages=count,
                     status={"pickup": "picked_up", "handoff": "in_transit", "delivery": "delivered"}[kind])
            m["leg"] += 1 if kind != "delivery" else 0
            event(f"taken over: {kind}")
            if kind == "delivery":
                self.sealed[number] = self.table("wb")[number]

    @rule(data=st.data())
    def cancel_handover(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(sorted(self.model)))
        m = self.model[number]
        caller = self.pick(data, m["pending"][0] if m["pending"] else CONSIGNOR)
        ok = m["status"] not in AFTER_DELIVERY and m["pending"] is not None and caller in m["pending"][:2]
        self.run(caller, "cancel_handover", {"number": number}, ok=ok)
        if ok:
            m["pending"] = None

    @rule(data=st.data(), reading=st.integers(-50, 120))
    def checkpoint(self, data: st.DataObject, reading: int) -> None:
        number = data.draw(st.sampled_from(sorted(self.model)))
        m = self.model[number]
        caller = self.pick(data, m["custodian"])
        ok = m["status"] in ("picked_up", "in_transit") and caller == m["custodian"]
        self.run(caller, "checkpoint", {"number": number, "place": HANGZHOU, "temperature_c10": reading}, ok=ok)
        if ok:
            m["status"] = "in_transit"

    @rule(data=st.data(), delta=st.integers(-60, 3))
    def record_exception(self, data: st.DataObject, delta: int) -> None:
        number = data.draw(st.sampled_from(sorted(self.model)))
        m = self.model[number]
        caller = self.pick(data, m["custodian"])
        kind = "shortage" if delta < 0 else "surplus" if delta > 0 else "damage"
        ok = m["status"] in ("picked_up", "in_transit") and caller == m["custodian"] and m["packages"] + delta >= 0
        self.run(caller, "record_exception", {"number": number, "kind": kind, "packages_delta": delta, "note": "road"}, ok=ok)
        if ok:
            m["packages"] += delta

    @rule(data=st.data(), dispute=st.booleans())
    def settle(self, data: st.DataObject, dispute: bool) -> None:
        number = data.draw(st.sampled_from(sorted(self.model)))
        m = self.model[number]
        caller = self.pick(data, CONSIGNEE)
        party = caller in (CONSIGNOR, CONSIGNEE, *m["carriers"])
        if dispute:
            ok = m["status"] == "delivered" and party
            self.run(caller, "dispute", {"number": number, "note": "claim"}, ok=ok)
        else:  # within the window only the consignee closes
            ok = m["status"] == "delivered" and caller == CONSIGNEE
            self.run(caller, "close", {"number": number}, ok=ok)
        if ok:
            m["status"] = "disputed" if dispute else "closed"

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def one_custodian_as_modelled(self) -> None:
        for number, wb in self.table("wb").items():
            m = self.model[number]
            assert isinstance(wb["custodian"], str) and wb["custodian"] == m["custodian"]
            assert wb["status"] == m["status"]
            if wb["status"] == "created":
                assert wb["custodian"] == wb["consignor"]
            elif wb["status"] in AFTER_DELIVERY:
                assert wb["custodian"] == wb["consignee"]
            else:
                assert wb["custodian"] == wb["carriers"][wb["leg"]]
            pending = wb["pending"]
            if pending is not None:
                assert pending["from"] == wb["custodian"] and (pending["from"], pending["to"]) == m["pending"][:2]
            else:
                assert m["pending"] is None

    @invariant()
    def packages_are_conserved(self) -> None:
        for number, wb in self.table("wb").items():
            assert wb["packages"] == wb["packages_declared"] + sum(e["delta"] for e in wb["exceptions"]) >= 0
            assert wb["packages"] == self.model[number]["packages"]

    @invariant()
    def delivered_waybills_stay_as_delivered(self) -> None:
        records = self.table("wb")
        for number, sealed in self.sealed.items():
            now = records[number]
            assert {k: v for k, v in now.items() if k not in MUTABLE_AFTER_DELIVERY} == \
                {k: v for k, v in sealed.items() if k not in MUTABLE_AFTER_DELIVERY}

    @invariant()
    def steps_are_numbered_and_in_time_order(self) -> None:
        steps = self.table("step")
        for number, wb in self.table("wb").items():
            mine = [steps[k] for k in sorted(steps) if k.startswith(number + "/")]
            assert [s["seq"] for s in mine] == list(range(wb["steps"]))
            assert [s["at_ms"] for s in mine] == sorted(s["at_ms"] for s in mine)


WaybillMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=100, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
TestWaybillInvariants = WaybillMachine.TestCase
