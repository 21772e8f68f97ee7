"""Charity money invariants under random sequences of operations (hypothesis).

A reference model keeps, per pool (each need's earmarked money, the general fund), how much
matched money is left, and predicts whether each grant is refused. After every step, from the
raw state:
- grants per need never exceed its matched donations: what a need granted from earmarked money
  is at most what it raised, and the rest came from the general fund;
- an earmarked donation is used only for its need; a grant's sources add up to its amount;
- each donation's remaining amount plus its live (not returned) uses equals its amount, and only
  matched donations are used;
- every grant is disbursed, confirmed or in an exception, and the need's totals agree;
- a grant still disbursed past its deadline (block time) raised a ``grant_unconfirmed`` alert,
  and no other grant did.
And in every step a refused operation changes nothing at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from consortia.apps.charity.donor import anonymous_donation_args
from consortia.node.alerts import Alerts
from tests.apps.charity_harness import CHARITY, DAY, DONORS, VERIFIER, CharityChain, full_consortium, proof
from tests.unit.helpers import Consortium

GENERAL = "_general"
_CONSORTIUM: Consortium | None = None


def consortium() -> Consortium:
    global _CONSORTIUM
    if _CONSORTIUM is None:
        _CONSORTIUM = full_consortium(Path(tempfile.mkdtemp(prefix="charity-prop-")) / "c", "ed25519-sha256")
    return _CONSORTIUM


class CharityMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        scratch = Path(tempfile.mkdtemp(prefix="charity-chain-"))
        self.ch = CharityChain(consortium(), scratch / "chain")
        self.alerts = Alerts(scratch / "alerts.db")
        self.fed = 0
        self.alerted: set[str] = set()
        self.needs = [self.ch.open_need(confirm_days=3) for _ in range(2)]
        self.pool: dict[str, int] = {GENERAL: 0, **{n: 0 for n in self.needs}}  # matched money left
        self.recorded: list[str] = []  # organisations' donations not matched yet
        self.granted: list[str] = []  # grant ids in the order they were made (ids vary with the sealed bytes)
        self.feed()

    def teardown(self) -> None:
        self.alerts.close()
        self.ch.chain.close()

    # -- plumbing -------------------------------------------------------------------------------

    def run(self, org: str, method: str, args: dict[str, Any], expect: str = "OK", who: str = "admin") -> Any:
        before = self.ch.chain.rows()
        receipt = self.ch.run(org, method, args, who=who)
        if receipt.status != "ok":
            assert self.ch.chain.rows() == before, receipt
        assert receipt.code == expect, (expect, receipt)
        self.feed()
        return receipt.result

    def feed(self) -> None:
        store = self.ch.chain.store
        for height in range(self.fed + 1, store.height() + 1):
            block = store.get_block(height)
            assert block is not None
            for alert in self.alerts.on_block(height, block.header.time_ms, [w["tx"] for w in block.txs],
                                              [r.to_dict() for r in block.receipts], lambda tx: "org"):
                if alert["rule"] == "grant_unconfirmed":
                    assert alert["detail"]["grant"] not in self.alerted
                    self.alerted.add(alert["detail"]["grant"])
        self.fed = store.height()

    def open_code(self, need: str) -> str:
        return "OK" if not need or self.ch.table("need")[need]["status"] == "open" else "NEED_NOT_OPEN"

    def grants(self) -> list[dict[str, Any]]:
        return sorted(self.ch.table("grant").values(), key=lambda g: g["id"])

    def disbursed(self) -> list[str]:
        grants = self.ch.table("grant")
        return [g for g in self.granted if grants[g]["status"] == "disbursed"]

    # -- rules ----------------------------------------------------------------------------------

    @rule(donor=st.sampled_from(DONORS), to=st.integers(0, 2), amount=st.integers(1, 50_000), match=st.booleans())
    def company_donation(self, donor: str, to: int, amount: int, match: bool) -> None:
        need = self.needs[to] if to < 2 else ""
        donation = self.run(donor, "donate", {"charity": CHARITY, "amount": amount, "need": need},
                            expect=self.open_code(need))
        if donation is None:
            return
        if match:
            self.run(CHARITY, "match_donation", {"donation_id": donation["id"]})
            self.pool[need or GENERAL] += amount
        else:
            self.recorded.append(donation["id"])

    @rule(to=st.integers(0, 2), amount=st.integers(1, 30_000))
    def anonymous_donation(self, to: int, amount: int) -> None:
        need = self.needs[to] if to < 2 else ""
        args, _ = anonymous_donation_args(self.ch.suite, self.ch.keys(), f"donor {amount}", amount, need=need,
                                          salt=f"{amount:032x}")
        if self.run(CHARITY, "record_donation", args, expect=self.open_code(need)) is not None:
            self.pool[need or GENERAL] += amount

    @precondition(lambda self: self.recorded)
    @rule(data=st.data(), accept=st.booleans())
    def settle_recorded(self, data: st.DataObject, accept: bool) -> None:
        donation_id = data.draw(st.sampled_from(self.recorded))
        self.recorded.remove(donation_id)
        donation = self.ch.table("don")[donation_id]
        if accept:
            self.run(CHARITY, "match_donation", {"donation_id": donation_id})
            self.pool[donation["need"] or GENERAL] += donation["amount"]
        else:
            self.run(CHARITY, "decline_donation", {"donation_id": donation_id, "reason": "never arrived"})
        self.run(CHARITY, "match_donation", {"donation_id": donation_id}, expect="NOT_RECORDED")

    @rule(to=st.integers(0, 1), amount=st.one_of(st.integers(1, 20_000), st.integers(1, 200_000)),
          use_general=st.booleans(), goods=st.booleans())
    def grant(self, to: int, amount: int, use_general: bool, goods: bool) -> None:
        need = self.needs[to]
        available = self.pool[need] + (self.pool[GENERAL] if use_general else 0)
        expect = "OK" if amount <= available else "OVER_MATCHED"
        args = {"need_id": need, "kind": "goods" if goods else "funds", "amount": amount, "use_general": use_general,
                **({"items": [{"name": "jacket", "quantity": 1}], "waybill": "YD1", "vendor": "huaxin-mart"}
                   if goods else {})}
        grant = self.run(CHARITY, "grant", args, expect=expect)
        if grant is not None:
            self.granted.append(grant["id"])
            earmarked = min(amount, self.pool[need])
            self.pool[need] -= earmarked
            self.pool[GENERAL] -= amount - earmarked
            assert sum(s["amount"] for s in grant["sources"] if s["general"]) == amount - earmarked

    @precondition(lambda self: self.disbursed())
    @rule(data=st.data(), how=st.sampled_from(["confirm", "exception", "returned"]))
    def close_grant(self, data: st.DataObject, how: str) -> None:
        grant_id = data.draw(st.sampled_from(self.disbursed()))
        if how == "confirm":
            self.run(VERIFIER, "confirm_receipt", {"grant_id": grant_id, "evidence": proof("receipt")})
        else:
            self.run(CHARITY, "record_exception", {"grant_id": grant_id, "reason": "lost", "note": "not delivered",
                                                   "returned": how == "returned"})
            if how == "returned":
                for source in self.ch.table("grant")[grant_id]["sources"]:
                    self.pool[GENERAL if source["general"] else self.ch.table("grant")[grant_id]["need"]] += \
                        source["amount"]
        self.run(VERIFIER, "confirm_receipt", {"grant_id": grant_id, "evidence": proof("again")}, expect="NOT_DISBURSED")

    @rule(days=st.integers(1, 4))
    def time_passes(self, days: int) -> None:
        self.ch.chain.block(time_ms=self.ch.now + days * DAY)
        self.feed()

    @precondition(lambda self: self.ch.table("need")[self.needs[0]]["status"] == "open")
    @rule()
    def close_first_need(self) -> None:
        self.run(CHARITY, "close_need", {"need_id": self.needs[0]})
        self.run(DONORS[0], "donate", {"charity": CHARITY, "amount": 1, "need": self.needs[0]}, expect="NEED_NOT_OPEN")

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def grants_never_exceed_matched_donations(self) -> None:
        donations = self.ch.table("don")
        for need_id, need in self.ch.table("need").items():
            grants = [g for g in self.grants() if g["need"] == need_id]
            live = [g for g in grants if not (g["exception"] or {}).get("returned")]
            assert need["granted"] == sum(g["amount"] for g in live)
            assert need["general_used"] == sum(s["amount"] for g in live for s in g["sources"] if s["general"])
            assert need["granted"] - need["general_used"] <= need["raised"]
            assert need["raised"] == sum(d["amount"] for d in donations.values()
                                         if d["need"] == need_id and d["status"] == "matched")
            assert need["raised"] - (need["granted"] - need["general_used"]) == self.pool[need_id]
            assert need["confirmed"] == sum(g["amount"] for g in grants if g["status"] == "confirmed")
            assert need["exceptions"] == sum(g["amount"] for g in grants if g["status"] == "exception")

    @invariant()
    def earmarked_money_serves_only_its_need(self) -> None:
        donations = self.ch.table("don")
        for grant in self.grants():
            assert sum(s["amount"] for s in grant["sources"]) == grant["amount"]
            for source in grant["sources"]:
                donation = donations[source["donation"]]
                assert donation["status"] == "matched"
                assert donation["need"] in (None, grant["need"]) and source["general"] == (donation["need"] is None)

    @invariant()
    def each_donation_is_conserved(self) -> None:
        general_left = 0
        for donation in self.ch.table("don").values():
            used = sum(u["amount"] for u in donation["uses"] if not u["returned"])
            assert donation["remaining"] >= 0 and donation["remaining"] + used == donation["amount"]
            assert donation["status"] == "matched" or not donation["uses"]
            assert all(donation["need"] in (None, u["need"]) for u in donation["uses"])
            if donation["need"] is None and donation["status"] == "matched":
                general_left += donation["remaining"]
        assert general_left == self.pool[GENERAL]
        waiting = set(self.ch.table("pool").values())  # what a grant may draw on: matched, money left
        assert waiting == {d["id"] for d in self.ch.table("don").values() if d["status"] == "matched" and d["remaining"]}
        fund = self.ch.table("fund").get(CHARITY, {"raised": 0, "granted": 0})
        assert fund["raised"] - fund["granted"] == general_left

    @invariant()
    def every_grant_ends_confirmed_or_in_an_exception_and_late_ones_raise_an_alert(self) -> None:
        now = self.ch.now
        for grant in self.grants():
            assert grant["status"] in ("disbursed", "confirmed", "exception")
            assert (grant["status"] == "confirmed") == (grant["confirmation"] is not None)
            assert (grant["status"] == "exception") == (grant["exception"] is not None)
            if grant["status"] == "disbursed" and grant["confirm_by_ms"] < now:
                assert grant["id"] in self.alerted
            if grant["id"] in self.alerted:
                assert grant["confirm_by_ms"] < now
                closed = (grant["confirmation"] or grant["exception"] or {}).get("at_ms")
                assert closed is None or closed > grant["confirm_by_ms"]


CharityMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
TestCharityInvariants = CharityMachine.TestCase
