"""E-invoice invariants under random sequences of issue / deliver / claim / release / reimburse /
book / reverse (hypothesis), on both crypto suites, against a plain reference model.

Every step's outcome (its refusal code, or success) is what the model predicts, and a refused step
changes nothing at all. After every step:
- each invoice's status on the chain is the model's;
- an invoice is reimbursed at most once, whoever tries (events counted over the whole run);
- the reversals of an invoice never exceed its total, and equal its red-letter invoices' totals;
- totals are consistent (line sums, tax, total with tax, capital numerals) and nothing issued is
  ever edited: content and digest stay as issued.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from consortia.apps.invoice.model import check_invoice
from consortia.types import codec
from tests.apps.invoice_harness import BUYER, ORG_COUNT, OTHER, SELLER, InvoiceChain, make_invoice, red_lines
from tests.unit.helpers import Consortium

_CONSORTIA: dict[str, Consortium] = {}


def consortium(suite_name: str) -> Consortium:
    if suite_name not in _CONSORTIA:
        home = Path(tempfile.mkdtemp(prefix="invoice-prop-")) / "c"
        _CONSORTIA[suite_name] = Consortium(home, orgs=ORG_COUNT, suite_name=suite_name)
    return _CONSORTIA[suite_name]


class InvoiceMachine(RuleBasedStateMachine):
    suite_name: ClassVar[str] = "ed25519-sha256"

    def __init__(self) -> None:
        super().__init__()
        self.inv = InvoiceChain(consortium(self.suite_name), Path(tempfile.mkdtemp(prefix="invoice-chain-")))
        self.seq = 0
        self.model: dict[str, dict[str, Any]] = {}  # blue invoices: number -> expected record
        self.issued: dict[str, tuple[dict[str, Any], str]] = {}  # every invoice: (content, digest) as issued
        self.reimbursements: dict[str, int] = {}

    def teardown(self) -> None:
        self.inv.chain.close()

    def step(self, org: str, method: str, args: dict[str, Any], expect: str | None) -> Any:
        if expect is None:
            receipt = self.inv.run(org, method, args)
            assert receipt.code == "OK", receipt
            for event in receipt.events:
                if event.name == "InvoiceReimbursed":
                    number = event.data["number"]
                    self.reimbursements[number] = self.reimbursements.get(number, 0) + 1
            return receipt.result
        self.inv.refused(org, method, args, expect)
        return None

    def numbers(self) -> list[str]:
        return sorted(self.model)

    # -- rules ----------------------------------------------------------------------------

    @rule(amounts=st.lists(st.integers(1, 5_000_00), min_size=1, max_size=3), rate=st.sampled_from(["0", "6", "13"]))
    def issue(self, amounts: list[int], rate: str) -> None:
        self.seq += 1
        content = make_invoice(self.seq, lines=[{"item": f"*货物*{i}", "amount": a, "tax_rate": rate}
                                                for i, a in enumerate(amounts)])
        record = self.step(SELLER, "issue", {"content": content}, None)
        self.issued[content["number"]] = (content, record["digest"])
        self.model[content["number"]] = {"status": "issued", "total": content["totals"]["total"], "reversed": 0,
                                         "claimant": None, "reds": []}

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(self.numbers()))
        m = self.model[number]
        expect = None if m["status"] == "issued" else "NOT_ISSUED"
        self.step(SELLER, "deliver", {"number": number}, expect)
        if expect is None:
            m["status"] = "delivered"

    @precondition(lambda self: self.model)
    @rule(data=st.data(), org=st.sampled_from([BUYER, OTHER]), tamper=st.booleans())
    def claim(self, data: st.DataObject, org: str, tamper: bool) -> None:
        number = data.draw(st.sampled_from(self.numbers()))
        m = self.model[number]
        content = dict(self.issued[number][0])
        if tamper:
            content["remark"] = "altered"
        if m["status"] == "claimed":
            expect: str | None = "ALREADY_CLAIMED"
        elif m["status"] in ("reimbursed", "booked"):
            expect = "ALREADY_REIMBURSED"
        elif m["status"] == "reversed":
            expect = "INVOICE_REVERSED"
        elif m["status"] != "delivered":
            expect = "NOT_DELIVERED"
        elif org != BUYER:
            expect = "NOT_BUYER"
        else:
            expect = "CONTENT_MISMATCH" if tamper else None
        self.step(org, "claim", {"number": number, "content": content}, expect)
        if expect is None:
            m.update(status="claimed", claimant=org)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), org=st.sampled_from([BUYER, OTHER]))
    def release(self, data: st.DataObject, org: str) -> None:
        number = data.draw(st.sampled_from(self.numbers()))
        m = self.model[number]
        expect = "NOT_CLAIMED" if m["status"] != "claimed" else (None if org == m["claimant"] else "NOT_CLAIMANT")
        self.step(org, "release_claim", {"number": number}, expect)
        if expect is None:
            m.update(status="delivered", claimant=None)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), org=st.sampled_from([BUYER, OTHER]))
    def reimburse(self, data: st.DataObject, org: str) -> None:
        number = data.draw(st.sampled_from(self.numbers()))
        m = self.model[number]
        if m["status"] in ("reimbursed", "booked"):
            expect: str | None = "ALREADY_REIMBURSED"
        elif m["status"] != "claimed":
            expect = "NOT_CLAIMED"
        else:
            expect = None if org == m["claimant"] else "NOT_CLAIMANT"
        result = self.step(org, "reimburse", {"number": number}, expect)
        if expect is None:
            m["status"] = "reimbursed"
            assert result["reimbursed_amount"] == m["total"] - m["reversed"]

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def book(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(self.numbers()))
        m = self.model[number]
        expect = None if m["status"] == "reimbursed" else "NOT_REIMBURSED"
        self.step(BUYER, "book", {"number": number}, expect)
        if expect is None:
            m["status"] = "booked"

    @precondition(lambda self: self.model)
    @rule(data=st.data(), share=st.integers(1, 120))
    def reverse(self, data: st.DataObject, share: int) -> None:
        number = data.draw(st.sampled_from(self.numbers()))
        m = self.model[number]
        net = max(1, (m["total"] * share // 100) * 100 // 106)  # a net amount near `share` % of the total
        red = make_invoice(self.seq + 1, lines=red_lines(net, "6"), original=number)
        take = -red["totals"]["total"]
        if m["status"] == "claimed":
            expect: str | None = "INVOICE_LOCKED"
        elif take > m["total"] - m["reversed"]:
            expect = "OVER_REVERSAL"
        else:
            expect = None
        record = self.step(SELLER, "issue", {"content": red}, expect)
        if expect is None:
            self.seq += 1
            self.issued[red["number"]] = (red, record["digest"])
            m["reversed"] += take
            m["reds"].append(red["number"])
            if m["reversed"] == m["total"] and m["status"] in ("issued", "delivered"):
                m["status"] = "reversed"

    # -- invariants -------------------------------------------------------------------------

    def records(self) -> dict[str, dict[str, Any]]:
        prefix = "invoice/inv/"
        return {k[len(prefix):]: codec.decode(v) for k, v, _, _ in self.inv.chain.rows() if k.startswith(prefix)}

    @invariant()
    def the_chain_agrees_with_the_model(self) -> None:
        records = self.records()
        assert sorted(records) == sorted(self.issued)
        for number, m in self.model.items():
            record = records[number]
            assert (record["status"], record["reversed"], record["claimant"]) == (m["status"], m["reversed"],
                                                                                   m["claimant"])
            assert record["reversals"] == m["reds"]

    @invariant()
    def reimbursed_at_most_once(self) -> None:
        assert all(count == 1 for count in self.reimbursements.values())
        reimbursed = {n for n, m in self.model.items() if m["status"] in ("reimbursed", "booked")}
        assert set(self.reimbursements) == reimbursed

    @invariant()
    def reversals_are_bounded_by_the_original(self) -> None:
        records = self.records()
        for record in records.values():
            if record["kind"] == "blue":
                assert 0 <= record["reversed"] <= record["total"]
                assert record["reversed"] == -sum(records[r]["total"] for r in record["reversals"])

    @invariant()
    def nothing_issued_is_edited_and_totals_hold(self) -> None:
        for number, record in self.records().items():
            content, digest = self.issued[number]
            assert record["content"] == content and record["digest"] == digest
            check_invoice(record["content"])


SETTINGS = settings(max_examples=20, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Ed25519Machine(InvoiceMachine):
    suite_name = "ed25519-sha256"


class NationalMachine(InvoiceMachine):
    suite_name = "sm2-sm3"


Ed25519Machine.TestCase.settings = SETTINGS
NationalMachine.TestCase.settings = SETTINGS
TestInvoiceInvariantsEd25519 = Ed25519Machine.TestCase
TestInvoiceInvariantsNational = NationalMachine.TestCase
