"""SMEs hosted by an operator: onboarding all or nothing, their own holdings in scf and their own
name in trade; the operator's admin cannot move what an SME holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.errors import BadInput, Forbidden, NotFound
from consortia.identity.hosting import BadRows, SmeRow, check_rows, list_digest, make_csr, parse_csv, plan, read_csr
from consortia.identity.wallet import Wallet
from consortia.identity.x509 import issue_member, load_pem
from tests.apps.trade_harness import (
    BANK_A,
    CORE,
    CUSTOMS,
    DAY,
    IMPORTER,
    LC_BANK,
    OPERATOR,
    ORG_COUNT,
    REG,
    Trade,
    digest,
    sme_rows,
    sme_uscc,
)
from tests.unit.helpers import Consortium


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("hosted") / "c", orgs=ORG_COUNT, suite_name=suite_name)


@pytest.fixture
def t(consortium: Consortium, tmp_path: Path) -> Iterator[Trade]:
    harness = Trade(consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()


def scf_parties(t: Trade) -> str:
    """The automaker and the bank as scf parties, and a credit line; returns the line."""
    from consortia.node.home import DEMO_ORGS

    uscc = {o["id"]: o["uscc"] for o in DEMO_ORGS}
    t.call("scf", CORE, "register_party", {"roles": ["core"], "uscc": uscc[CORE], "name": CORE})
    t.call("scf", BANK_A, "register_party", {"roles": ["funder"], "uscc": uscc[BANK_A], "name": BANK_A})
    t.call("scf", REG, "register_party", {"roles": ["regulator"], "uscc": uscc[REG], "name": REG})
    return t.call("scf", BANK_A, "grant_credit_line", {"core": CORE, "limit": 10**10, "expires_ms": t.now + 300 * DAY})["id"]  # type: ignore[no-any-return]


def voucher_to(t: Trade, line: str, sme: str, amount: int) -> str:
    doc = t.call("scf", CORE, "register_document", {"kind": "contract", "number": f"PO-{t.nonce}", "digest": digest(str(t.nonce)),
                                                    "algorithm": "sha-256", "amount": amount, "counterparty": sme})["id"]
    return t.call("scf", CORE, "issue", {"to": sme, "amount": amount, "due_ms": t.now + 90 * DAY, "credit_line": line,  # type: ignore[no-any-return]
                                         "documents": [doc]})["id"]


def test_smes_hold_split_and_finance_vouchers_in_their_own_name(t: Trade) -> None:
    a, b = t.onboard(sme_rows(2))
    org, name_a = a.split("/")
    name_b = b.split("/")[1]
    line = scf_parties(t)
    voucher = voucher_to(t, line, a, 100_000_00)
    assert t.query(a, "inbox", contract="scf")["offered"][0]["id"] == voucher
    t.call("scf", org, "accept", {"voucher_id": voucher}, who=name_a)
    # The operator's admin and clerk act for the operator organisation, not for the SME.
    for staff in ("admin", "clerk"):
        t.refused_on("scf", org, "propose_transfer", {"voucher_id": voucher, "outputs": [{"to": b, "amount": 1}]},
                     "NOT_HOLDER", who=staff)
    moved = t.call("scf", org, "propose_transfer", {"voucher_id": voucher, "outputs": [{"to": b, "amount": 30_000_00}]},
                   who=name_a)
    assert t.query(b, "inbox", contract="scf")["transfers"][0]["id"] == moved["id"]
    t.refused_on("scf", org, "answer_transfer", {"transfer_id": moved["id"], "accept": True}, "NOT_RECEIVER")
    t.call("scf", org, "answer_transfer", {"transfer_id": moved["id"], "accept": True}, who=name_b)
    assert t.query(a, "holdings", {"org": a}, contract="scf")["total"] == 70_000_00
    piece_b = t.query(b, "holdings", {"org": b}, contract="scf")["pieces"][0]
    assert piece_b["holder"] == b and piece_b["amount"] == 30_000_00 and piece_b["tier"] == 2
    applied = t.call("scf", org, "apply_financing", {"voucher_id": piece_b["id"], "funder": BANK_A, "kind": "factoring"},
                     who=name_b)
    assert applied["applicant"] == b
    # The operator does not hold its SMEs' pieces, nor see them as its own; one SME cannot see another's.
    assert t.query(f"{org}/admin", "holdings", {"org": org}, contract="scf")["pieces"] == []
    with pytest.raises(Forbidden):
        t.query(f"{org}/admin", "holdings", {"org": a}, contract="scf")
    with pytest.raises(Forbidden):
        t.query(b, "holdings", {"org": a}, contract="scf")
    assert t.query(REG, "holdings", {"org": a}, contract="scf")["total"] == 70_000_00
    assert t.query(CORE, "member", {"identity": a}, contract="hosted")["uscc"] == sme_uscc(0)


def test_another_certificate_under_an_smes_name_is_refused(t: Trade) -> None:
    [a] = t.onboard(sme_rows(1))
    org, name = a.split("/")
    line = scf_parties(t)
    voucher = voucher_to(t, line, a, 5_000_00)
    c = t.chain.c
    home = c.home / "orgs" / org
    signer = c.suite.generate_signer()  # the operator's CA issues a second certificate, with its own key
    cert = issue_member(c.suite.load_signer((home / "ca.key").read_bytes()), load_pem((home / "ca.pem").read_bytes()),
                        name, ["client"], signer.public_key, t.now)
    c._wallets[f"{org}/{name}-forged"] = c._wallets[a]
    c._wallets[a], real = Wallet(org, name, signer, cert), c._wallets[a]
    try:
        t.refused_on("scf", org, "accept", {"voucher_id": voucher}, "NOT_HOSTED_KEY", who=name)
    finally:
        c._wallets[a] = real
    t.call("scf", org, "accept", {"voucher_id": voucher}, who=name)


def test_hosted_smes_act_in_their_own_name_in_trade_only_where_apps_know_them(t: Trade) -> None:
    [a] = t.onboard(sme_rows(1))
    org, name = a.split("/")
    decl = t.ok(CUSTOMS, "declare", {"number": "223320260000777777", "exporter": a, "exporter_uscc": sme_uscc(0),
                                     "lines": [{"hs_code": "940360", "description": "chairs", "quantity": 50, "unit": "pcs",
                                                "value": 1_000_000}], "currency": "USD", "port": "2248", "date": "2026-01-02"})
    assert decl["exporter"] == a
    t.refused(CUSTOMS, "declare", {**{k: decl[k] for k in ("exporter", "lines", "currency", "port", "date")},
                                   "number": "223320260000777778", "exporter_uscc": sme_uscc(1)}, "BAD_USCC")
    assert t.query(a, "declaration", {"number": "223320260000777777"})["left"] == 1_000_000
    with pytest.raises(Forbidden):  # the operator's own staff do not see the SME's declaration
        t.query(f"{org}/admin", "declaration", {"number": "223320260000777777"})
    applied = t.ok(org, "apply_credit", t.credit_terms(beneficiary=IMPORTER), who=name)
    assert applied["applicant"] == a
    t.refused(org, "issue_credit", {"credit_id": applied["id"]}, "NOT_ISSUING_BANK")
    t.ok(LC_BANK, "issue_credit", {"credit_id": applied["id"]})
    # Contracts that do not know hosted members are closed to them (they would act for the operator).
    receipt = t.chain.run(a, "kv", "put", {"key": "k", "value": 1})
    assert receipt.code == "NOT_FOR_HOSTED"


def test_onboarding_is_all_or_nothing(t: Trade) -> None:
    c = t.chain.c
    home = c.home / "orgs" / OPERATOR
    ca_signer, ca = c.suite.load_signer((home / "ca.key").read_bytes()), load_pem((home / "ca.pem").read_bytes())
    members = plan(c.suite, ca_signer, ca, OPERATOR, sme_rows(4), t.now)
    records = [m.record for m in members]
    batch = t.call("hosted", OPERATOR, "open_batch", {"count": 4, "digest": list_digest(c.suite, members)})
    for who, code in (("clerk", "NOT_ADMIN"),):
        t.refused_on("hosted", OPERATOR, "stage", {"batch_id": batch["id"], "members": records[:2]}, code, who=who)
    t.refused_on("hosted", BANK_A, "stage", {"batch_id": batch["id"], "members": records[:2]}, "NOT_OPERATOR")
    for change, code in [({"uscc": "91310000MA1HQ2026Y"}, "BAD_USCC"), ({"name": "admin"}, "BAD_MEMBER"),
                         ({"name": "Bad Name"}, "BAD_MEMBER"), ({"public_key": "zz"}, "BAD_KEY"),
                         ({"legal_rep_digest": "00"}, "BAD_DIGEST"), ({"company": ""}, "BAD_MEMBER")]:
        receipt = t.refused_on("hosted", OPERATOR, "stage", {"batch_id": batch["id"],
                                                             "members": [records[0], {**records[1], **change}]}, code)
        assert "members[1]" in receipt.message
    t.refused_on("hosted", OPERATOR, "stage", {"batch_id": batch["id"], "members": [records[0], records[0]]},
                 "DUPLICATE_MEMBER")
    t.refused_on("hosted", OPERATOR, "stage", {"batch_id": batch["id"], "members": records + records[:1]}, "BATCH_FULL")
    t.call("hosted", OPERATOR, "stage", {"batch_id": batch["id"], "members": records[:2]})
    t.refused_on("hosted", OPERATOR, "commit", {"batch_id": batch["id"]}, "BATCH_INCOMPLETE")
    # Staged but not committed: the SME counts for nothing, and cannot act for the operator either.
    first = f"{OPERATOR}/{members[0].row.name}"
    c._wallets[first] = Wallet(OPERATOR, members[0].row.name, c.suite.load_signer(members[0].key_pem or b""), members[0].cert)
    with pytest.raises(NotFound):
        t.query(REG, "member", {"identity": first}, contract="hosted")
    assert t.chain.run(first, "scf", "register_document", {
        "kind": "invoice", "number": "I-1", "digest": digest("I-1"), "algorithm": "sha-256", "amount": 1,
        "counterparty": CORE}).code == "NOT_HOSTED_YET"
    other = t.call("hosted", OPERATOR, "open_batch", {"count": 1, "digest": "0" * 64})
    receipt = t.refused_on("hosted", OPERATOR, "stage", {"batch_id": other["id"], "members": [records[1]]}, "MEMBER_EXISTS")
    assert "members[0]" in receipt.message
    t.call("hosted", OPERATOR, "abandon", {"batch_id": batch["id"]})
    t.refused_on("hosted", OPERATOR, "stage", {"batch_id": batch["id"], "members": records[2:]}, "BATCH_CLOSED")
    # The abandoned rows may be staged again; committed, all count at once.
    again = t.call("hosted", OPERATOR, "open_batch", {"count": 4, "digest": list_digest(c.suite, members)})
    t.call("hosted", OPERATOR, "stage", {"batch_id": again["id"], "members": records})
    assert t.query(REG, "batch", {"batch_id": again["id"]}, contract="hosted")["staged"] == 4
    t.call("hosted", OPERATOR, "commit", {"batch_id": again["id"]})
    listed = t.query(OPERATOR, "members_of", {"operator": OPERATOR}, contract="hosted")["members"]
    assert [m["identity"] for m in listed] == [f"{OPERATOR}/{m.row.name}" for m in members]
    with pytest.raises(Forbidden):
        t.query(BANK_A, "members_of", {"operator": OPERATOR}, contract="hosted")
    t.refused_on("hosted", OPERATOR, "commit", {"batch_id": again["id"]}, "BATCH_CLOSED")
    t.refused_on("hosted", OPERATOR, "stage", {"batch_id": other["id"], "members": [records[3]]}, "MEMBER_EXISTS")
    t.refused_on("hosted", f"{OPERATOR}", "open_batch", {"count": 0, "digest": "0" * 64}, "BAD_ARGS")
    t.refused_on("hosted", OPERATOR, "open_batch", {"count": 1, "digest": "xyz"}, "BAD_DIGEST")
    t.refused_on("hosted", OPERATOR, "commit", {"batch_id": "nope"}, "BATCH_NOT_FOUND")
    t.refused_on("hosted", OPERATOR, "stage", {"batch_id": other["id"], "members": []}, "BAD_ARGS")


def test_csv_rows_are_checked_by_line_before_anything_happens(t: Trade) -> None:
    good = "name,uscc,company,legal_rep\n" + "\n".join(f"sme-{i},{sme_uscc(i)},SME {i},Rep {i}" for i in range(3))
    assert [r.line for r in parse_csv(good)] == [2, 3, 4]
    bad = good + f"\nsme-1,{sme_uscc(9)},Again,Rep\nBAD,{sme_uscc(0)},X,Y\nsme-9,91310000MA1HQ2026Y,,Z\nshort,row"
    with pytest.raises(BadRows) as caught:
        parse_csv(bad)
    lines = [line for line, _ in caught.value.problems]
    assert lines == [5, 6, 6, 7, 7, 8] and "line 5: name repeats line 3" in caught.value.message
    with pytest.raises(BadRows):
        parse_csv("who,what\nx,y")
    # A certificate request proves the SME holds its key; the operator certifies that key.
    c = t.chain.c
    signer = c.suite.generate_signer()
    request = make_csr(signer, OPERATOR, "sme-own-key")
    assert read_csr(c.suite, request, OPERATOR, "sme-own-key") == signer.public_key
    for name, text in (("someone-else", request), ("sme-own-key", request.replace("A", "B", 3))):
        with pytest.raises(BadInput):
            read_csr(c.suite, text, OPERATOR, name)
    home = c.home / "orgs" / OPERATOR
    rows = check_rows([SmeRow(2, "sme-own-key", sme_uscc(5), "Own Key Co.", "Rep", request),
                       SmeRow(3, "sme-bad-key", sme_uscc(6), "Bad Key Co.", "Rep", request)])
    with pytest.raises(BadRows) as caught:
        plan(c.suite, c.suite.load_signer((home / "ca.key").read_bytes()), load_pem((home / "ca.pem").read_bytes()),
             OPERATOR, rows, t.now)
    assert [line for line, _ in caught.value.problems] == [3]
    [member] = plan(c.suite, c.suite.load_signer((home / "ca.key").read_bytes()), load_pem((home / "ca.pem").read_bytes()),
                    OPERATOR, rows[:1], t.now)
    assert member.key_pem is None and member.record["public_key"] == signer.public_key.hex()
    assert b"PRIVATE KEY" not in member.key_file() and b"CERTIFICATE" in member.key_file()


def test_smes_issue_and_claim_invoices_in_their_own_name(t: Trade) -> None:
    """An SME is a taxpayer by the USCC its operator verified: it issues invoices as the seller and
    claims those it bought; its operator's staff can do neither for it."""
    from consortia.node.home import DEMO_ORGS_FULL
    from tests.apps.invoice_harness import make_invoice

    a, b = t.onboard(sme_rows(2))
    org, name_a = a.split("/")
    name_b = b.split("/")[1]
    uscc = {o["id"]: o["uscc"] for o in DEMO_ORGS_FULL}
    t.call("invoice", CORE, "register_taxpayer", {"uscc": uscc[CORE], "name": CORE})
    t.refused_on("invoice", org, "register_taxpayer", {"uscc": sme_uscc(0), "name": "x"}, "HOSTED_TAXPAYER", who=name_a)
    assert t.query(CORE, "taxpayer", {"uscc": sme_uscc(0)}, contract="invoice")["hosted_by"] == OPERATOR

    sold = make_invoice(1)
    sold["seller"] = {"name": "SME No. 0 Co., Ltd.", "uscc": sme_uscc(0)}
    sold["buyer"] = {"name": CORE, "uscc": uscc[CORE]}
    t.refused_on("invoice", org, "issue", {"content": sold}, "NOT_SELLER")  # the operator's admin is not the SME
    record = t.call("invoice", org, "issue", {"content": sold}, who=name_a)
    assert (record["seller"], record["buyer"]) == (a, CORE)
    t.refused_on("invoice", org, "deliver", {"number": sold["number"]}, "NOT_SELLER", who="clerk")
    t.call("invoice", org, "deliver", {"number": sold["number"]}, who=name_a)
    t.call("invoice", CORE, "claim", {"number": sold["number"], "content": sold})

    bought = make_invoice(2)
    bought["seller"] = {"name": CORE, "uscc": uscc[CORE]}
    bought["buyer"] = {"name": "SME No. 1 Co., Ltd.", "uscc": sme_uscc(1)}
    t.call("invoice", CORE, "issue", {"content": bought})
    t.call("invoice", CORE, "deliver", {"number": bought["number"]})
    t.refused_on("invoice", org, "claim", {"number": bought["number"], "content": bought}, "NOT_BUYER")
    claimed = t.call("invoice", org, "claim", {"number": bought["number"], "content": bought}, who=name_b)
    assert claimed["claimant"] == b
    t.refused_on("invoice", org, "claim", {"number": bought["number"], "content": bought}, "ALREADY_CLAIMED", who=name_a)
    assert [i["number"] for i in t.query(b, "mine", {"role": "buyer"}, contract="invoice")["invoices"]] == \
        [bought["number"]]
    assert t.query(OPERATOR, "mine", {"role": "seller"}, contract="invoice")["invoices"] == []
