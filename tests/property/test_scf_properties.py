"""Supply chain finance invariants under random sequences of operations (hypothesis).

After every step:
- the leaves of every voucher tree add up to its face amount (live pieces + settled);
- every piece holds an integer number of fen, at least 1;
- a piece locked by a transfer or financing points at exactly one open request;
- financing against an underlying document never exceeds its amount, across funders;
- no credit line is used beyond its limit.
And in every step: only the holder moves a piece, nothing but settlement after the due date,
and a refused operation changes nothing at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from consortia.types import codec
from tests.apps.scf_harness import BANK, CORE, DAY, FACTOR, REG, T1, T2, T3, Scf
from tests.unit.helpers import Consortium

PARTIES = [CORE, T1, T2, T3, BANK, FACTOR, REG]
RECEIVERS = [T1, T2, T3, BANK, FACTOR]
_CONSORTIUM: Consortium | None = None


def consortium() -> Consortium:
    global _CONSORTIUM
    if _CONSORTIUM is None:
        _CONSORTIUM = Consortium(Path(tempfile.mkdtemp(prefix="scf-prop-")) / "c", orgs=7)
    return _CONSORTIUM


class ScfMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.scf = Scf(consortium(), Path(tempfile.mkdtemp(prefix="scf-chain-")))
        self.start_ms = self.scf.now
        self.lines = [self.scf.credit_line(limit=3_000_000, funder=f) for f in (BANK, FACTOR)]
        # one invoice per supplier, so different vouchers compete for what it can still finance
        self.docs = {to: self.scf.document(f"{to}-INV", 1_000_000, issuer=to) for to in (T1, T2)}

    def teardown(self) -> None:
        self.scf.chain.close()

    # -- reading the raw state ------------------------------------------------------------

    def table(self, prefix: str) -> dict[str, Any]:
        full = f"scf/{prefix}/"
        return {k[len(full):]: codec.decode(v) for k, v, _, _ in self.scf.chain.rows() if k.startswith(full)}

    def pieces(self) -> list[dict[str, Any]]:
        return sorted(self.table("v").values(), key=lambda p: p["id"])

    def run(self, org: str, method: str, args: dict[str, Any], expect: str | None = None) -> Any:
        """Run; a refusal must change nothing; ``expect`` is the code a model predicts (None: OK)."""
        before = self.scf.chain.rows()
        receipt = self.scf.run(org, method, args)
        if receipt.status != "ok":
            assert self.scf.chain.rows() == before, receipt
        if expect is not None:
            assert receipt.code == expect, (expect, receipt)
        return receipt

    # -- rules ----------------------------------------------------------------------------

    @rule(to=st.sampled_from([T1, T2]), amount=st.one_of(st.integers(1, 1_200_000), st.integers(300_000, 900_000)),
          line=st.integers(0, 1), days=st.integers(20, 200), accept=st.integers(0, 4))
    def issue(self, to: str, amount: int, line: int, days: int, accept: int) -> None:
        line_id = self.lines[line]
        line_rec = self.table("line")[line_id]
        expect = None
        if self.scf.now + 1000 >= line_rec["expires_ms"]:
            expect = "CREDIT_LINE_EXPIRED"
        elif line_rec["used"] + amount > line_rec["limit"]:
            expect = "OVER_LIMIT"
        elif amount > 1_000_000:
            expect = "OVER_DOCUMENT"
        issued = self.run(CORE, "issue", {"to": to, "amount": amount, "due_ms": self.scf.now + days * DAY,
                                          "credit_line": line_id, "documents": [self.docs[to]]}, expect)
        if issued.status == "ok" and accept:  # usually accepted at once, so there is something to use
            self.run(to, "accept", {"voucher_id": issued.result["id"]}, None)

    @precondition(lambda self: any(p["status"] == "offered" for p in self.pieces()))
    @rule(data=st.data(), accept=st.booleans())
    def answer_offer(self, data: st.DataObject, accept: bool) -> None:
        offered = data.draw(st.sampled_from([p for p in self.pieces() if p["status"] == "offered"]))
        expect = "PAST_DUE" if self.scf.now + 1000 >= offered["due_ms"] else None
        self.run(offered["holder"], "accept" if accept else "reject", {"voucher_id": offered["id"]}, expect)

    @precondition(lambda self: bool(self.pieces()))
    @rule(data=st.data(), caller_is_holder=st.integers(0, 4),
          outputs=st.lists(st.tuples(st.sampled_from(RECEIVERS), st.integers(1, 600_000)), min_size=1, max_size=3))
    def transfer(self, data: st.DataObject, caller_is_holder: int, outputs: list[tuple[str, int]]) -> None:
        piece = self.pick(data)
        caller = piece["holder"] if caller_is_holder else data.draw(st.sampled_from(
            [p for p in PARTIES if p != piece["holder"]]))
        outputs = [(to, amount) for to, amount in outputs if to != piece["holder"]] or [
            (T3 if piece["holder"] != T3 else T2, 1)]
        self.run(caller, "propose_transfer",
                 {"voucher_id": piece["id"], "outputs": [{"to": t, "amount": a} for t, a in outputs]},
                 self.expected_use(caller, piece) or (
                     "SPLIT_EXCEEDS_BALANCE" if sum(a for _, a in outputs) > piece["amount"] else None))

    def pick(self, data: st.DataObject) -> dict[str, Any]:
        """A piece: usually an active one (something can happen to it), sometimes any."""
        pieces = self.pieces()
        active = [p for p in pieces if p["status"] == "active"]
        return data.draw(st.sampled_from(active if active and data.draw(st.integers(0, 4)) else pieces))

    def expected_use(self, caller: str, piece: dict[str, Any]) -> str | None:
        """The refusal the contract must give to ``caller`` using ``piece`` in the next block."""
        if caller != piece["holder"]:
            return "NOT_HOLDER"
        if self.scf.now + 1000 >= piece["due_ms"]:
            return "PAST_DUE"
        if piece["status"] != "active":
            live = ("offered", "transferring", "financing", "pledged", "overdue")
            return "VOUCHER_LOCKED" if piece["status"] in live else "VOUCHER_NOT_LIVE"
        return None

    @precondition(lambda self: any(t["status"] == "proposed" for t in self.table("xfer").values()))
    @rule(data=st.data(), accept=st.integers(0, 3))
    def answer_transfer(self, data: st.DataObject, accept: int) -> None:
        transfer = data.draw(st.sampled_from(
            sorted((t for t in self.table("xfer").values() if t["status"] == "proposed"), key=lambda t: t["id"])))
        waiting = sorted({o["to"] for o in transfer["outputs"] if o["decision"] is None})
        org = data.draw(st.sampled_from(waiting))
        piece = self.table("v")[transfer["voucher"]]
        self.run(org, "answer_transfer", {"transfer_id": transfer["id"], "accept": bool(accept)},
                 "PAST_DUE" if self.scf.now + 1000 >= piece["due_ms"] else None)

    @precondition(lambda self: bool(self.pieces()))
    @rule(data=st.data(), funder=st.sampled_from([BANK, FACTOR]), kind=st.sampled_from(["factoring", "pledge"]),
          rate_bp=st.integers(0, 1200))
    def finance(self, data: st.DataObject, funder: str, kind: str, rate_bp: int) -> None:
        piece = self.pick(data)
        caller = piece["holder"] if data.draw(st.integers(0, 4)) else data.draw(st.sampled_from(PARTIES))
        expect = self.expected_use(caller, piece) or ("BAD_ARGS" if funder == piece["holder"] else None)
        applied = self.run(caller, "apply_financing", {"voucher_id": piece["id"], "funder": funder, "kind": kind},
                           expect)
        event(f"apply_financing: {applied.code}")
        if applied.status != "ok":
            return
        financing = applied.result
        root = self.table("v")[piece["root"]]
        docs = self.table("doc")
        short = any(docs[d]["financed"] + financing["face"] > docs[d]["amount"] for d in root["documents"])
        approved = self.run(funder, "approve_financing", {"financing_id": financing["id"], "rate_bp": rate_bp,
                                                          "fees": 0})
        event(f"approve_financing: {approved.code}")
        if short:
            assert approved.code == "DOUBLE_FINANCING", approved
        if approved.status == "ok" and data.draw(st.booleans()):
            self.run(funder, "disburse", {"financing_id": financing["id"]}, None)

    @precondition(lambda self: self.scf.now < self.start_ms + 300 * DAY)  # certificates last two years
    @rule(days=st.integers(1, 120))
    def advance_time(self, days: int) -> None:
        self.scf.chain.time_ms += days * DAY

    @precondition(lambda self: any(p["id"] == p["root"] for p in self.pieces()))
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        root = data.draw(st.sampled_from([p for p in self.pieces() if p["id"] == p["root"]]))
        settled = root["id"] in self.table("settled")
        expect = ("ALREADY_SETTLED" if settled and root["status"] not in ("offered", "rejected") else None)
        if root["status"] in ("offered", "rejected"):
            expect = "NOT_DUE" if self.scf.now + 1000 < root["due_ms"] else "VOUCHER_NOT_LIVE"
        elif not settled and self.scf.now + 1000 < root["due_ms"]:
            expect = "NOT_DUE"
        receipt = self.run(CORE, "settle", {"voucher_id": root["id"]}, expect)
        if receipt.status == "ok":
            assert receipt.result["total"] == root["face"]

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def leaves_add_up_to_the_face_amount(self) -> None:
        pieces = self.table("v")
        for root in (p for p in pieces.values() if p["id"] == p["root"] and p["status"] != "rejected"):
            leaves = [p for p in pieces.values() if p["root"] == root["id"] and not p["children"]]
            assert sum(p["amount"] for p in leaves) == root["face"]
            for parent in (p for p in pieces.values() if p["root"] == root["id"] and p["children"]):
                assert parent["status"] == "split"
                assert sum(pieces[c]["amount"] for c in parent["children"]) == parent["amount"]

    @invariant()
    def amounts_are_whole_fen_of_at_least_one(self) -> None:
        assert all(type(p["amount"]) is int and p["amount"] >= 1 for p in self.table("v").values())

    @invariant()
    def locks_point_at_one_open_request(self) -> None:
        transfers, financings = self.table("xfer"), self.table("fin")
        for piece in self.table("v").values():
            if piece["status"] == "transferring":
                assert transfers[piece["pending"]]["status"] == "proposed"
            elif piece["status"] == "financing":
                assert financings[piece["pending"]]["status"] in ("applied", "approved")
            else:
                assert piece["pending"] is None
        open_requests = [t["voucher"] for t in transfers.values() if t["status"] == "proposed"]
        open_requests += [f["voucher"] for f in financings.values() if f["status"] in ("applied", "approved")]
        assert len(open_requests) == len(set(open_requests))

    @invariant()
    def financing_never_exceeds_a_document(self) -> None:
        assert all(0 <= d["financed"] <= d["amount"] for d in self.table("doc").values())

    @invariant()
    def credit_lines_hold(self) -> None:
        pieces = self.table("v")
        for line_id, line in self.table("line").items():
            assert 0 <= line["used"] <= line["limit"]
            outstanding = sum(p["face"] for p in pieces.values() if p["id"] == p["root"]
                              and p.get("credit_line") == line_id and p["status"] != "rejected"
                              and p["id"] not in self.table("settled"))
            assert line["used"] == outstanding


ScfMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=40, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestScfInvariants = ScfMachine.TestCase
