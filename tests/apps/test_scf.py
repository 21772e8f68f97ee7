"""Supply chain finance: the lifecycle, every refused action, and who may see what."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.apps.scf.codes import fen_to_yuan, is_valid_uscc, make_uscc, yuan_to_fen
from consortia.errors import BadInput, Forbidden, NotFound
from tests.apps.scf_harness import BANK, CORE, DAY, FACTOR, REG, T1, T2, T3, USCC, Scf, digest
from tests.unit.helpers import Consortium

YUAN = 100


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    """Seven organisations on each crypto suite (the ``suite_name`` fixture runs both)."""
    return Consortium(tmp_path_factory.mktemp("scf") / "c", orgs=7, suite_name=suite_name)


@pytest.fixture
def scf(consortium: Consortium, tmp_path: Path) -> Iterator[Scf]:
    harness = Scf(consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()


def test_uscc_check_characters_and_yuan_parsing() -> None:
    assert is_valid_uscc("91350100M000100Y43")  # the sample code printed with GB 32100-2015
    assert not is_valid_uscc("91350100M000100Y44")
    assert not is_valid_uscc("91350100M000100Y4")
    assert not is_valid_uscc("91350100M0001O0Y43")  # O is not a USCC character
    assert all(is_valid_uscc(code) for code in USCC.values())
    assert make_uscc("91350100M000100Y4") == "91350100M000100Y43"
    assert yuan_to_fen("1,250,000.05") == 125_000_005 and yuan_to_fen("0.01") == 1
    for bad in ("0.001", "abc", "1e3.5", "NaN"):
        with pytest.raises(ValueError):
            yuan_to_fen(bad)
    assert fen_to_yuan(125_000_005) == "1,250,000.05"


def test_full_lifecycle_down_three_tiers_with_factoring_and_a_pledge(scf: Scf) -> None:
    line = scf.credit_line(limit=50_000_000 * YUAN)
    contract = scf.document("HQ-PC-2026-118", 1_000_000 * YUAN, kind="contract", issuer=CORE, counterparty=T1)
    invoice = scf.document("JL-INV-2026-0417", 1_000_000 * YUAN)
    root = scf.voucher(1_000_000 * YUAN, line=line, docs=[contract, invoice], days=90)
    split1 = scf.transfer(T1, root, [(T2, 400_000 * YUAN)])
    assert split1["status"] == "completed"
    t2_piece, t1_rest = scf.piece(root)["children"]
    split2 = scf.transfer(T2, t2_piece, [(T3, 150_000 * YUAN)])
    assert split2["status"] == "completed"
    t3_piece, t2_rest = scf.piece(t2_piece)["children"]
    factored = scf.finance(T3, t3_piece, funder=FACTOR, kind="factoring", rate_bp=560, fees=0)
    pledged = scf.finance(T1, t1_rest, funder=BANK, kind="pledge", rate_bp=500, fees=200 * YUAN)
    assert factored["advance"] == 150_000 * YUAN - 150_000 * YUAN * 560 * 90 // 3_600_000
    assert pledged["advance"] == 600_000 * YUAN - 7_500 * YUAN - 200 * YUAN  # 5 % a year for 90 of 360 days
    assert scf.piece(t3_piece)["holder"] == FACTOR and scf.piece(t1_rest)["lien"] == BANK

    tree = scf.query(CORE, "lineage", {"voucher_id": t3_piece})
    assert tree["root"] == root and len(tree["pieces"]) == 5 and tree["live"] == 1_000_000 * YUAN
    # depth-first: root, T2's piece, its two children (T3's, T2's rest), then T1's rest
    assert [(p["depth"], p["tier"]) for p in tree["pieces"]] == [(0, 1), (1, 2), (2, 3), (2, 2), (1, 1)]
    assert [p["parent"] for p in tree["pieces"][1:]] == [root, t2_piece, t2_piece, root]
    assert scf.query(T2, "holdings", {"org": T2})["total"] == 250_000 * YUAN
    assert scf.query(FACTOR, "financed_by", {"funder": FACTOR})["outstanding"] == 150_000 * YUAN
    exposure = scf.query(BANK, "exposure", {"core": CORE})
    assert (exposure["outstanding"], exposure["financed"], exposure["used"]) == (
        1_000_000 * YUAN, 750_000 * YUAN, 1_000_000 * YUAN)
    assert scf.query(REG, "document", {"document_id": invoice})["financed"] == 750_000 * YUAN

    scf.refused(CORE, "settle", {"voucher_id": root}, "NOT_DUE")
    settled = scf.ok(CORE, "settle", {"voucher_id": root}, at=scf.now + 90 * DAY)
    payees = {(p["holder"], p["payee"], p["amount"]) for p in settled["payments"]}
    assert payees == {(FACTOR, FACTOR, 150_000 * YUAN), (T2, T2, 250_000 * YUAN), (T1, BANK, 600_000 * YUAN)}
    assert settled["total"] == 1_000_000 * YUAN
    exposure = scf.query(CORE, "exposure", {"core": CORE})
    assert (exposure["outstanding"], exposure["financed"], exposure["used"], exposure["settled"]) == (
        0, 0, 0, 1_000_000 * YUAN)
    statuses = {f["kind"]: f["status"] for f in scf.query(REG, "lineage", {"voucher_id": root})["financings"]}
    assert statuses == {"factoring": "collected", "pledge": "repaid"}
    assert scf.query(T2, "holdings", {"org": T2})["total"] == 0
    scf.refused(CORE, "settle", {"voucher_id": root}, "ALREADY_SETTLED")


def test_rejected_issue_returns_the_credit(scf: Scf) -> None:
    line = scf.credit_line(limit=1_000 * YUAN)
    voucher = scf.voucher(800 * YUAN, line=line, accept=False)
    scf.refused(CORE, "issue", {"to": T1, "amount": 300 * YUAN, "due_ms": scf.now + DAY, "credit_line": line,
                                "documents": [scf.document("INV-X", 300 * YUAN)]}, "OVER_LIMIT")
    scf.refused(T2, "accept", {"voucher_id": voucher}, "NOT_HOLDER")
    scf.ok(T1, "reject", {"voucher_id": voucher, "reason": "wrong quantity"})
    assert scf.query(CORE, "exposure", {"core": CORE})["used"] == 0
    scf.refused(T1, "accept", {"voucher_id": voucher}, "NOT_OFFERED")
    scf.refused(T1, "propose_transfer", {"voucher_id": voucher, "outputs": [{"to": T2, "amount": 1}]},
                "VOUCHER_NOT_LIVE")


def test_transfer_refusals_and_two_step_answers(scf: Scf) -> None:
    root = scf.voucher(10_000 * YUAN)
    out = [{"to": T2, "amount": 3_000 * YUAN}, {"to": T3, "amount": 2_000 * YUAN}]
    scf.refused(T2, "propose_transfer", {"voucher_id": root, "outputs": out}, "NOT_HOLDER")
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T2, "amount": 10_001 * YUAN}]},
                "SPLIT_EXCEEDS_BALANCE")
    for bad in ([{"to": T2, "amount": 0}], [{"to": T2, "amount": -5}], [{"to": T2, "amount": "5"}]):
        scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": bad}, "BAD_AMOUNT")
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T1, "amount": 5}]}, "BAD_OUTPUTS")
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T2}]}, "BAD_OUTPUTS")
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": CORE, "amount": 5}]}, "WRONG_ROLE")
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": "nobody", "amount": 5}]}, "NOT_A_PARTY")
    transfer = scf.ok(T1, "propose_transfer", {"voucher_id": root, "outputs": out})
    # a locked piece cannot be used again
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": out}, "VOUCHER_LOCKED")
    scf.refused(T1, "apply_financing", {"voucher_id": root, "funder": BANK, "kind": "factoring"}, "VOUCHER_LOCKED")
    scf.refused(FACTOR, "answer_transfer", {"transfer_id": transfer["id"], "accept": True}, "NOT_RECEIVER")
    partial = scf.ok(T2, "answer_transfer", {"transfer_id": transfer["id"], "accept": True})
    assert partial["status"] == "proposed" and scf.piece(root)["status"] == "transferring"
    scf.refused(T2, "answer_transfer", {"transfer_id": transfer["id"], "accept": False}, "NOT_RECEIVER")
    scf.refused(T1, "cancel_transfer", {"transfer_id": transfer["id"]}, "TRANSFER_ANSWERED")
    done = scf.ok(T3, "answer_transfer", {"transfer_id": transfer["id"], "accept": False})
    assert done["status"] == "completed"
    holders = sorted((scf.piece(c)["holder"], scf.piece(c)["amount"]) for c in scf.piece(root)["children"])
    assert holders == sorted([(T2, 3_000 * YUAN), (T1, 7_000 * YUAN)])  # T3 said no: its part stays with T1
    scf.refused(T2, "answer_transfer", {"transfer_id": transfer["id"], "accept": True}, "TRANSFER_CLOSED")


def test_cancel_and_all_rejected_leave_the_piece_whole(scf: Scf) -> None:
    root = scf.voucher(500 * YUAN)
    transfer = scf.ok(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T2, "amount": 100}]})
    scf.refused(T2, "cancel_transfer", {"transfer_id": transfer["id"]}, "NOT_HOLDER")
    scf.ok(T1, "cancel_transfer", {"transfer_id": transfer["id"]})
    assert scf.piece(root)["status"] == "active" and scf.query(T2, "inbox")["transfers"] == []
    scf.transfer(T1, root, [(T2, 100)], accept=False)
    assert scf.piece(root)["status"] == "active" and scf.piece(root)["children"] == []


def test_double_financing_of_one_invoice_is_refused_across_funders(scf: Scf) -> None:
    invoice = scf.document("JL-INV-DOUBLE", 1_000 * YUAN)
    first = scf.voucher(800 * YUAN, docs=[invoice])
    second = scf.voucher(800 * YUAN, docs=[invoice])
    scf.finance(T1, first, funder=BANK)
    applied = scf.ok(T1, "apply_financing", {"voucher_id": second, "funder": FACTOR, "kind": "factoring"})
    scf.refused(FACTOR, "approve_financing", {"financing_id": applied["id"], "rate_bp": 500, "fees": 0},
                "DOUBLE_FINANCING")
    scf.ok(T1, "withdraw_financing", {"financing_id": applied["id"]})
    # splitting does not help: the invoice has 200 yuan left to finance, whoever holds which piece
    scf.transfer(T1, second, [(T2, 300 * YUAN)])
    to_t2, kept = scf.piece(second)["children"]
    again = scf.ok(T2, "apply_financing", {"voucher_id": to_t2, "funder": FACTOR, "kind": "factoring"})
    scf.refused(FACTOR, "approve_financing", {"financing_id": again["id"], "rate_bp": 500, "fees": 0},
                "DOUBLE_FINANCING")
    scf.transfer(T1, kept, [(T3, 200 * YUAN)])
    small = scf.piece(kept)["children"][0]
    assert scf.piece(small)["amount"] == 200 * YUAN
    scf.finance(T3, small, funder=BANK)  # exactly what is left
    assert scf.query(REG, "document", {"document_id": invoice})["financed"] == 1_000 * YUAN


def test_financing_refusals(scf: Scf) -> None:
    root = scf.voucher(1_000 * YUAN)
    scf.refused(T2, "apply_financing", {"voucher_id": root, "funder": BANK, "kind": "factoring"}, "NOT_HOLDER")
    scf.refused(T1, "apply_financing", {"voucher_id": root, "funder": T2, "kind": "factoring"}, "WRONG_ROLE")
    scf.refused(T1, "apply_financing", {"voucher_id": root, "funder": BANK, "kind": "loan"}, "BAD_ARGS")
    applied = scf.ok(T1, "apply_financing", {"voucher_id": root, "funder": BANK, "kind": "pledge"})
    scf.refused(FACTOR, "approve_financing", {"financing_id": applied["id"], "rate_bp": 500, "fees": 0}, "NOT_FUNDER")
    scf.refused(BANK, "approve_financing", {"financing_id": applied["id"], "rate_bp": 20_000, "fees": 0}, "BAD_RATE")
    scf.refused(BANK, "approve_financing", {"financing_id": applied["id"], "rate_bp": 500, "fees": 1_000 * YUAN},
                "BAD_AMOUNT")
    scf.refused(BANK, "disburse", {"financing_id": applied["id"]}, "FINANCING_CLOSED")
    scf.ok(BANK, "approve_financing", {"financing_id": applied["id"], "rate_bp": 500, "fees": 0})
    scf.refused(T1, "withdraw_financing", {"financing_id": applied["id"]}, "FINANCING_CLOSED")
    scf.ok(BANK, "decline_financing", {"financing_id": applied["id"], "reason": "limit reached"})
    assert scf.piece(root)["status"] == "active"
    assert scf.query(REG, "document", {"document_id": scf.query(REG, "lineage", {"voucher_id": root})["documents"][0]}
                     )["financed"] == 0
    pledge = scf.finance(T1, root, funder=BANK, kind="pledge")
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T2, "amount": 1}]}, "VOUCHER_LOCKED")
    scf.ok(BANK, "release_pledge", {"financing_id": pledge["id"]})
    assert scf.piece(root)["status"] == "active" and scf.piece(root)["lien"] is None


def test_nothing_but_settlement_after_the_due_date(scf: Scf) -> None:
    root = scf.voucher(1_000 * YUAN, days=30)
    pending = scf.ok(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T2, "amount": 100 * YUAN}]})
    due = scf.now + 30 * DAY
    scf.refused(T2, "answer_transfer", {"transfer_id": pending["id"], "accept": True}, "PAST_DUE", at=due)
    scf.refused(T1, "apply_financing", {"voucher_id": root, "funder": BANK, "kind": "factoring"}, "PAST_DUE")
    marked = scf.ok(REG, "mark_overdue", {"voucher_id": root})
    assert marked["pieces_marked"] == 1 and scf.piece(root)["status"] == "overdue"
    assert scf.query(REG, "exposure", {"core": CORE})["overdue_vouchers"] == [root]
    scf.refused(REG, "mark_overdue", {"voucher_id": root}, "ALREADY_OVERDUE")
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T2, "amount": 1}]}, "PAST_DUE")
    scf.refused(T1, "settle", {"voucher_id": root}, "NOT_ISSUER")
    settled = scf.ok(CORE, "settle", {"voucher_id": root})
    assert settled["payments"] == [{"piece": root, "holder": T1, "payee": T1, "amount": 1_000 * YUAN}]
    assert scf.query(REG, "exposure", {"core": CORE})["overdue_vouchers"] == []


def test_settlement_closes_pending_requests(scf: Scf) -> None:
    root = scf.voucher(1_000 * YUAN, days=10)
    transfer = scf.ok(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T2, "amount": 1}]})
    settled = scf.ok(CORE, "settle", {"voucher_id": root}, at=scf.now + 10 * DAY)
    assert settled["total"] == 1_000 * YUAN
    lineage = scf.query(REG, "lineage", {"voucher_id": root})
    assert lineage["settled"] == 1_000 * YUAN and lineage["live"] == 0
    assert scf.query(T2, "inbox")["transfers"] == [] and transfer["status"] == "proposed"


def test_issue_refusals(scf: Scf) -> None:
    line = scf.credit_line(limit=5_000 * YUAN)
    invoice = scf.document("INV-ISSUE", 1_000 * YUAN)
    base = {"to": T1, "amount": 1_000 * YUAN, "due_ms": scf.now + 30 * DAY, "credit_line": line, "documents": [invoice]}
    scf.refused(T1, "issue", base, "WRONG_ROLE")
    scf.refused(CORE, "issue", {**base, "to": BANK}, "WRONG_ROLE")
    scf.refused(CORE, "issue", {**base, "due_ms": scf.now + 400 * DAY}, "BAD_TENOR")
    scf.refused(CORE, "issue", {**base, "due_ms": scf.now - 1}, "BAD_TENOR")
    scf.refused(CORE, "issue", {**base, "amount": 1_001 * YUAN}, "OVER_DOCUMENT")
    scf.refused(CORE, "issue", {**base, "documents": ["nope"]}, "DOCUMENT_NOT_FOUND")
    scf.refused(CORE, "issue", {**base, "documents": []}, "BAD_DOCUMENT")
    scf.refused(CORE, "issue", {**base, "credit_line": "nope"}, "CREDIT_LINE_NOT_FOUND")
    scf.refused(CORE, "issue", {**base, "amount": 0}, "BAD_AMOUNT")
    unrelated = scf.document("T2-INV", 1_000 * YUAN, issuer=T2)
    scf.refused(CORE, "issue", {**base, "documents": [unrelated]}, "BAD_DOCUMENT")
    scf.refused(CORE, "issue", {**base, "due_ms": scf.now + 500 * DAY}, "BAD_TENOR")
    # malformed input is rejected before the contract runs
    for args in ({**base, "amount": "1000"}, {k: v for k, v in base.items() if k != "to"}, {**base, "extra": 1},
                 {**base, "amount": True}):
        receipt = scf.refused(CORE, "issue", args, "BAD_ARGS")
        assert receipt.status == "rejected"
    scf.ok(CORE, "issue", base)
    expired = scf.credit_line(limit=5_000 * YUAN)
    scf.refused(CORE, "issue", {**base, "credit_line": expired, "due_ms": scf.now + 500 * DAY}, "CREDIT_LINE_EXPIRED",
                at=scf.now + 401 * DAY)


def test_parties_documents_and_credit_lines_refusals(scf: Scf) -> None:
    scf.refused(T1, "register_party", {"roles": ["supplier"], "uscc": "91350100M000100Y44", "name": "x"}, "BAD_USCC")
    scf.refused(T1, "register_party", {"roles": ["banker"], "uscc": USCC[T1], "name": "x"}, "BAD_ROLE")
    scf.refused(T1, "register_party", {"roles": ["supplier"], "uscc": USCC[T2], "name": "x"}, "USCC_TAKEN")
    scf.refused(T1, "register_party", {"roles": ["supplier"], "uscc": USCC[T1], "name": "x"}, "NOT_ADMIN", who="clerk")
    # the regulator's view of everything is not something an organisation can give itself
    scf.refused(T1, "register_party", {"roles": ["supplier", "regulator"], "uscc": USCC[T1], "name": "x"},
                "NOT_REGULATOR")
    scf.refused(T1, "grant_credit_line", {"core": CORE, "limit": 1, "expires_ms": scf.now + DAY}, "WRONG_ROLE")
    scf.refused(BANK, "grant_credit_line", {"core": T1, "limit": 1, "expires_ms": scf.now + DAY}, "WRONG_ROLE")
    scf.refused(BANK, "grant_credit_line", {"core": CORE, "limit": 1, "expires_ms": scf.now - 1}, "BAD_EXPIRY")
    args = {"kind": "invoice", "number": "INV-1", "digest": digest("INV-1"), "algorithm": "sha-256",
            "amount": 100, "counterparty": CORE}
    scf.ok(T1, "register_document", args)
    scf.refused(T1, "register_document", args, "DOCUMENT_EXISTS")
    scf.refused(T2, "register_document", {**args, "number": "OTHER"}, "DOCUMENT_EXISTS")  # same digest
    scf.refused(T1, "register_document", {**args, "number": "INV-2", "algorithm": "md5"}, "BAD_DIGEST")
    scf.refused(T1, "register_document", {**args, "number": "INV-2", "digest": "ABC"}, "BAD_DIGEST")
    scf.refused(T1, "register_document", {**args, "number": "INV-2", "kind": "poem"}, "BAD_DOCUMENT")


def test_who_may_see_what(scf: Scf) -> None:
    root = scf.voucher(1_000 * YUAN)
    assert scf.query(T1, "holdings", {"org": T1})["total"] == 1_000 * YUAN
    assert scf.query(REG, "holdings", {"org": T1})["total"] == 1_000 * YUAN
    with pytest.raises(Forbidden) as err:
        scf.query(T2, "holdings", {"org": T1})
    assert err.value.code == "NOT_VISIBLE"
    with pytest.raises(Forbidden):
        scf.query(T2, "lineage", {"voucher_id": root})
    with pytest.raises(Forbidden):
        scf.query(T1, "overview")
    with pytest.raises(Forbidden):
        scf.query(T2, "exposure", {"core": CORE})
    assert scf.query(FACTOR, "exposure", {"core": CORE})["outstanding"] == 1_000 * YUAN
    overview = scf.query(REG, "overview")
    assert overview["parties"] == 7 and overview["exposure"][0]["outstanding"] == 1_000 * YUAN
    with pytest.raises(Forbidden) as anon:
        scf.chain.executor.query("scf", "holdings", {"org": T1}, None)
    assert anon.value.code == "UNAUTHENTICATED"
    with pytest.raises(NotFound):
        scf.query(REG, "voucher", {"voucher_id": "missing"})
    with pytest.raises(BadInput):
        scf.query(REG, "holdings", {"org": 5})


def test_lineage_of_a_voucher_split_again_and_again(scf: Scf) -> None:
    # Found by the lineage benchmark: a holder splitting its remainder 40 times makes a tree 40
    # levels deep, deeper than a nested result could carry (the codec stops at 32).
    root = scf.voucher(1_000 * YUAN)
    piece = root
    for _ in range(40):
        scf.transfer(T1, piece, [(T2, 1)])
        piece = scf.piece(piece)["children"][-1]  # the remainder, still T1's
    lineage = scf.query(REG, "lineage", {"voucher_id": piece})
    assert len(lineage["pieces"]) == 81 and max(p["depth"] for p in lineage["pieces"]) == 40
    assert sum(p["amount"] for p in lineage["pieces"] if not p["children"]) == 1_000 * YUAN
    assert scf.query(T2, "holdings", {"org": T2})["total"] == 40


def test_a_voucher_frozen_by_a_vote_including_the_regulator_refuses_every_change(scf: Scf) -> None:
    root = scf.voucher(1_000 * YUAN, days=30)
    chain = scf.chain
    core, tier1, bank, regulator, tier2, tier3, _ = chain.c.org_ids

    def gov(org: str, method: str, args: dict[str, object]) -> dict[str, object]:
        tx = chain.tx(f"{org}/admin", "gov", method, args, ttl_ms=0, not_after_height=10**9)
        receipt = chain.block(tx).receipts[0]
        assert receipt.code == "OK", receipt
        return receipt.result  # type: ignore[no-any-return]

    def vote(proposal: dict[str, object], org: str, approve: bool) -> dict[str, object]:
        return gov(org, "vote", {"proposal_id": proposal["id"], "approve": approve})

    params = {"contract": "scf", "id": root}
    proposal = gov(core, "propose", {"action": "freeze_object", "params": params})
    for org in (tier1, bank, tier2, tier3):  # a majority, but without the regulator
        proposal = vote(proposal, org, True)
    assert proposal["status"] == "open"
    assert vote(proposal, regulator, True)["status"] == "passed"
    assert chain.executor.query("gov", "frozen", {}, None)["objects"] == [f"scf/{root}"]
    scf.refused(T1, "propose_transfer", {"voucher_id": root, "outputs": [{"to": T2, "amount": 1}]}, "VOUCHER_FROZEN")
    scf.refused(T1, "apply_financing", {"voucher_id": root, "funder": BANK, "kind": "factoring"}, "VOUCHER_FROZEN")
    scf.refused(CORE, "settle", {"voucher_id": root}, "VOUCHER_FROZEN", at=scf.now + 30 * DAY)
    veto = gov(core, "propose", {"action": "unfreeze_object", "params": params})
    assert vote(veto, regulator, False)["status"] == "rejected"  # the regulator's no vetoes enforcement
    again = gov(core, "propose", {"action": "unfreeze_object", "params": params})
    for org in (tier1, bank, regulator):
        again = vote(again, org, True)
    assert again["status"] == "passed"
    assert scf.ok(CORE, "settle", {"voucher_id": root})["total"] == 1_000 * YUAN
