"""Trade finance and hosted-SME invariants under random sequences of operations (hypothesis).

Quota: whatever banks draw and release, at whatever stated rates and currencies, the open draws
counted against a declaration never add up above its value, each draw is counted as the model
computes it with exact integers, and a refused draw changes nothing.

SME holdings: vouchers held by SMEs hosted by a platform are moved by random callers (the SMEs
themselves, the platform's admin and clerk, other organisations); a piece only ever moves when
its holder signed, and the leaves of the voucher always add up to its face amount.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from consortia.apps.trade.money import EXPONENTS
from consortia.node.home import DEMO_ORGS
from consortia.types import codec
from tests.apps.trade_harness import BANK_A, BANK_B, CORE, DAY, LC_BANK, OPERATOR, ORG_COUNT, REG, Trade, digest, sme_rows
from tests.unit.helpers import Consortium

BANKS = [BANK_A, BANK_B, LC_BANK]
DECLARATIONS = {"223320260000000001": ("USD", 1_000_000), "223320260000000002": ("EUR", 250_000),
                "223320260000000003": ("JPY", 9_000_000)}
RATES = ["1", "7.1025", "0.9", "150.25", "0.0068", "7.8"]
_CONSORTIUM: Consortium | None = None


def consortium() -> Consortium:
    global _CONSORTIUM
    if _CONSORTIUM is None:
        _CONSORTIUM = Consortium(Path(tempfile.mkdtemp(prefix="trade-prop-")) / "c", orgs=ORG_COUNT)
    return _CONSORTIUM


class Machine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = Trade(consortium(), Path(tempfile.mkdtemp(prefix="trade-chain-")))

    def teardown(self) -> None:
        self.t.chain.close()

    def table(self, contract: str, prefix: str) -> dict[str, Any]:
        full = f"{contract}/{prefix}/"
        return {k[len(full):]: codec.decode(v) for k, v, _, _ in self.t.chain.rows() if k.startswith(full)}

    def run(self, contract: str, org: str, method: str, args: dict[str, Any], who: str = "admin") -> Any:
        before = self.t.chain.rows()
        self.t.contract = contract  # type: ignore[misc]
        receipt = self.t.run(org, method, args, who=who)
        if receipt.status != "ok":
            assert self.t.chain.rows() == before, receipt
        return receipt


class QuotaMachine(Machine):
    def __init__(self) -> None:
        super().__init__()
        for number, (currency, value) in DECLARATIONS.items():
            self.t.declaration(number, value=value, currency=currency)
        self.open: dict[str, int] = {}  # draw id -> what the model counted

    @rule(bank=st.sampled_from(BANKS), number=st.sampled_from(sorted(DECLARATIONS)),
          currency=st.sampled_from(["USD", "CNY", "EUR", "JPY", "KWD"]), rate=st.sampled_from(RATES),
          amount=st.one_of(st.integers(1, 400_000), st.integers(1, 5_000_000)))
    def draw(self, bank: str, number: str, currency: str, rate: str, amount: int) -> None:
        decl_currency, value = DECLARATIONS[number]
        same = currency == decl_currency
        # What the model expects, with exact fractions: amount / 10^e_from / rate * 10^e_to, rounded up.
        counted = -(-Fraction(amount * 10 ** EXPONENTS[decl_currency]) // (Fraction(rate) * 10 ** EXPONENTS[currency]))
        drawn = self.table("trade", "decl")[number]["drawn"]
        expect = "BAD_RATE" if same and rate != "1" else "QUOTA_EXCEEDED" if drawn + counted > value else "OK"
        receipt = self.run("trade", bank, "draw", {"declaration": number, "amount": amount, "currency": currency,
                                                   "fx_rate": rate, "kind": "export_financing"})
        assert receipt.code == expect, (expect, receipt)
        if receipt.code == "OK":
            assert receipt.result["counted"] == counted
            self.open[receipt.result["id"]] = int(counted)

    @rule(data=st.data(), bank=st.sampled_from(BANKS))
    def release(self, data: st.DataObject, bank: str) -> None:
        if not self.open:
            return
        draw_id = data.draw(st.sampled_from(sorted(self.open)))
        owner = self.table("trade", "draw")[draw_id]["bank"]
        receipt = self.run("trade", bank, "release", {"draw_id": draw_id})
        assert receipt.code == ("OK" if bank == owner else "NOT_DRAWER")
        if receipt.code == "OK":
            del self.open[draw_id]

    @invariant()
    def quota_holds_across_banks(self) -> None:
        draws = self.table("trade", "draw").values()
        for number, record in self.table("trade", "decl").items():
            counted = sum(d["counted"] for d in draws if d["declaration"] == number and d["status"] == "open")
            assert record["drawn"] == counted <= record["value"]
        assert {d["id"] for d in draws if d["status"] == "open"} == set(self.open)


class SmeHoldingsMachine(Machine):
    def __init__(self) -> None:
        super().__init__()
        uscc = {o["id"]: o["uscc"] for o in DEMO_ORGS}
        self.smes = self.t.onboard(sme_rows(3))
        for org, role in ((CORE, "core"), (BANK_A, "funder"), (REG, "regulator")):
            self.t.call("scf", org, "register_party", {"roles": [role], "uscc": uscc[org], "name": org})
        line = self.t.call("scf", BANK_A, "grant_credit_line",
                           {"core": CORE, "limit": 10**9, "expires_ms": self.t.now + 300 * DAY})["id"]
        doc = self.t.call("scf", CORE, "register_document", {"kind": "contract", "number": "PO-1", "digest": digest("PO-1"),
                                                            "algorithm": "sha-256", "amount": 1_000_000,
                                                            "counterparty": self.smes[0]})["id"]
        self.root = self.t.call("scf", CORE, "issue", {"to": self.smes[0], "amount": 1_000_000, "due_ms": self.t.now + 90 * DAY,
                                                       "credit_line": line, "documents": [doc]})["id"]
        self.t.call("scf", OPERATOR, "accept", {"voucher_id": self.root}, who=self.smes[0].split("/")[1])
        self.callers = [(OPERATOR, s.split("/")[1]) for s in self.smes] + [(OPERATOR, "admin"), (OPERATOR, "clerk"),
                                                                          (CORE, "admin"), (BANK_A, "admin")]

    def live(self) -> list[dict[str, Any]]:
        return [p for p in self.table("scf", "v").values() if p["status"] == "active"]

    @rule(data=st.data(), caller=st.integers(0, 6), to=st.integers(0, 2), amount=st.integers(1, 600_000))
    def split(self, data: st.DataObject, caller: int, to: int, amount: int) -> None:
        # Ids derive from transactions signed by SME keys made afresh for each run: order by what the run decides.
        pieces = sorted(self.live(), key=lambda p: (p["height"], p["holder"], p["amount"]))
        if not pieces:
            return
        piece = data.draw(st.sampled_from(pieces))
        org, who = self.callers[caller]
        signer = f"{org}/{who}"
        before = {p["id"]: p["holder"] for p in self.table("scf", "v").values()}
        receipt = self.run("scf", org, "propose_transfer", {"voucher_id": piece["id"],
                                                            "outputs": [{"to": self.smes[to], "amount": amount}]}, who=who)
        if signer != piece["holder"]:
            assert receipt.code == "NOT_HOLDER", receipt  # the platform's own staff included
            return
        if receipt.code != "OK":
            return
        receiver = self.smes[to]
        answer = self.run("scf", OPERATOR, "answer_transfer", {"transfer_id": receipt.result["id"], "accept": True},
                          who=receiver.split("/")[1])
        assert answer.code == "OK", answer
        after = {p["id"]: p["holder"] for p in self.table("scf", "v").values()}
        assert all(after[k] == v for k, v in before.items())  # pieces never change holder: they split
        assert {after[k] for k in after.keys() - before.keys()} <= {receiver, piece["holder"]}

    @invariant()
    def leaves_add_up_and_only_smes_hold(self) -> None:
        pieces = self.table("scf", "v").values()
        leaves = [p for p in pieces if not p["children"]]
        assert sum(p["amount"] for p in leaves) == 1_000_000
        assert {p["holder"] for p in leaves} <= set(self.smes)


SETTINGS = settings(max_examples=20, stateful_step_count=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
QuotaMachine.TestCase.settings = SETTINGS
SmeHoldingsMachine.TestCase.settings = SETTINGS
TestQuotaAcrossBanks = QuotaMachine.TestCase
TestSmeHoldings = SmeHoldingsMachine.TestCase
