"""E-invoices: the form's sums, the capital numerals, the lifecycle, every refusal (with its code
and no state change), red-letter reversals, the tax authority and who may see what."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consortia.apps.invoice.model import (
    InvoiceInvalid,
    check_invoice,
    compute_capital_numerals,
    compute_line_amount,
    parse_decimal,
)
from consortia.errors import Forbidden, NotFound
from tests.apps.invoice_harness import (
    BANK,
    BUYER,
    ORG_COUNT,
    OTHER,
    REG,
    SELLER,
    TAX,
    InvoiceChain,
    make_invoice,
    number,
    party,
    red_lines,
)
from tests.unit.helpers import Consortium


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("invoice") / "c", orgs=ORG_COUNT, suite_name=suite_name)


@pytest.fixture
def inv(consortium: Consortium, tmp_path: Path) -> Iterator[InvoiceChain]:
    harness = InvoiceChain(consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()


# -- the form -------------------------------------------------------------------------------

@pytest.mark.parametrize(("fen", "words"), [
    (0, "零圆整"), (5, "伍分"), (50, "伍角"), (100, "壹圆整"), (1005, "壹拾圆零伍分"), (1050, "壹拾圆伍角"),
    (1_000_00, "壹仟圆整"), (1_005_30, "壹仟零伍圆叁角"), (1_234_567, "壹万贰仟叁佰肆拾伍圆陆角柒分"),
    (100_000_500, "壹佰万零伍圆整"), (1_005_000_000, "壹仟零伍万圆整"), (10_000_000_000, "壹亿圆整"),
    (10_000_100_000, "壹亿零壹仟圆整"), (11_614_140_00, "壹仟壹佰陆拾壹万肆仟壹佰肆拾圆整"),
    (-12_00, "负壹拾贰圆整"), (20_030_040_000, "贰亿零叁拾万零肆佰圆整"),
])
def test_capital_numerals(fen: int, words: str) -> None:
    assert compute_capital_numerals(fen) == words


def test_a_consistent_invoice_passes_and_exact_products() -> None:
    content = make_invoice(1)
    assert check_invoice(content) is content
    assert content["totals"] == {"amount": 10_398_000, "tax": 1_346_940, "total": 11_744_940,
                                 "total_in_words": "壹拾壹万柒仟肆佰肆拾玖圆肆角"}
    # No float rounding anywhere: 0.1 x 3 is exactly 0.30, and half a fen rounds away from zero.
    assert compute_line_amount(parse_decimal("3", "q"), parse_decimal("0.1", "p")) == 30
    assert compute_line_amount(parse_decimal("1", "q"), parse_decimal("0.005", "p")) == 1
    assert compute_line_amount(parse_decimal("-1", "q"), parse_decimal("0.005", "p")) == -1
    big = compute_line_amount(parse_decimal("999999999999999.99999999", "q"), parse_decimal("0.00000001", "p"))
    assert big == 10_000_000_00  # 9,999,999.99999999... yuan, rounded to the fen


def mutate(path: str, value: Any) -> dict[str, Any]:
    content = copy.deepcopy(make_invoice(1))
    target: Any = content
    keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]
    for key in keys[:-1]:
        target = target[key]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return content


@pytest.mark.parametrize(("path", "value", "field", "code"), [
    ("lines.0.amount", 10_278_001, "lines[0].amount", "BAD_TOTALS"),
    ("lines.0.tax_amount", 1, "lines[0].tax_amount", "BAD_TOTALS"),
    ("totals.amount", 1, "totals.amount", "BAD_TOTALS"),
    ("totals.tax", 1, "totals.tax", "BAD_TOTALS"),
    ("totals.total", 1, "totals.total", "BAD_TOTALS"),
    ("totals.total_in_words", "壹圆整", "totals.total_in_words", "BAD_TOTALS"),
    ("lines.0.quantity", 120.0, "lines[0].quantity", "BAD_INVOICE"),
    ("lines.0.unit_price", "-1", "lines[0].unit_price", "BAD_INVOICE"),
    ("lines.0.unit_price", KeyError, "lines[0].unit_price", "BAD_INVOICE"),
    ("lines.0.tax_rate", "17", "lines[0].tax_rate", "BAD_INVOICE"),
    ("lines.0.amount", 1.5, "lines[0].amount", "BAD_INVOICE"),
    ("lines.0.colour", "red", "lines[0].colour", "BAD_INVOICE"),
    ("buyer.uscc", "91310000MA1HQ2026Y", "buyer.uscc", "BAD_USCC"),
    ("seller.name", "", "seller.name", "BAD_INVOICE"),
    ("number", "2644200000000000001", "number", "BAD_NUMBER"),
    ("number", "25442000000000000001", "number", "BAD_NUMBER"),  # year 25 on an invoice dated 2026
    ("number", "26992000000000000001", "number", "BAD_NUMBER"),  # no region 99
    ("issue_date", "2026-13-01", "issue_date", "BAD_INVOICE"),
    ("type", "blue", "type", "BAD_INVOICE"),
    ("lines", [], "lines", "BAD_INVOICE"),
    ("totals", KeyError, "totals", "BAD_INVOICE"),
    ("reason", "why not", "reason", "BAD_INVOICE"),
])
def test_bad_invoices_are_refused_naming_the_field(path: str, value: Any, field: str, code: str) -> None:
    with pytest.raises(InvoiceInvalid) as caught:
        check_invoice(mutate(path, value))
    assert (caught.value.field, caught.value.code) == (field, code), caught.value.message


# -- lifecycle ------------------------------------------------------------------------------

def test_issue_deliver_claim_reimburse_book(inv: InvoiceChain) -> None:
    content = make_invoice(1)
    issued = inv.issue(content)
    assert (issued["status"], issued["seller"], issued["buyer"], issued["total"]) == ("issued", SELLER, BUYER, 11_744_940)
    assert inv.ok(SELLER, "deliver", {"number": content["number"]})["status"] == "delivered"
    claimed = inv.ok(BUYER, "claim", {"number": content["number"], "content": content}, who="clerk")
    assert (claimed["status"], claimed["claimant"], claimed["claimed_by"]) == ("claimed", BUYER, "clerk")
    paid = inv.ok(BUYER, "reimburse", {"number": content["number"]})
    assert (paid["status"], paid["reimbursed_amount"]) == ("reimbursed", 11_744_940)
    booked = inv.ok(BUYER, "book", {"number": content["number"]})
    assert booked["status"] == "booked" and booked["content"] == content and booked["digest"] == issued["digest"]
    public = inv.query(None, "verify", {"number": content["number"], "digest": issued["digest"]})
    assert (public["status"], public["matches"], public["reimbursed"]) == ("reimbursed", True, True)
    assert "content" not in public and inv.query(None, "verify", {"number": number(99)}) == {"number": number(99),
                                                                                             "exists": False}


def test_reimbursed_at_most_once_across_the_chain(inv: InvoiceChain) -> None:
    content = inv.delivered(2)
    args = {"number": content["number"], "content": content}
    inv.ok(BUYER, "claim", args)
    inv.refused(BUYER, "claim", args, "ALREADY_CLAIMED")
    inv.refused(OTHER, "claim", args, "ALREADY_CLAIMED")  # another organisation: the same refusal
    inv.refused(OTHER, "reimburse", {"number": content["number"]}, "NOT_CLAIMANT")
    inv.ok(BUYER, "reimburse", {"number": content["number"]})
    inv.refused(BUYER, "reimburse", {"number": content["number"]}, "ALREADY_REIMBURSED")
    inv.refused(BUYER, "claim", args, "ALREADY_REIMBURSED")
    inv.refused(OTHER, "claim", args, "ALREADY_REIMBURSED")
    inv.ok(BUYER, "book", {"number": content["number"]})
    inv.refused(BUYER, "claim", args, "ALREADY_REIMBURSED")


def test_claims_need_the_buyer_and_the_content_as_issued(inv: InvoiceChain) -> None:
    content = make_invoice(3)
    inv.issue(content)
    args = {"number": content["number"], "content": content}
    inv.refused(BUYER, "claim", args, "NOT_DELIVERED")
    inv.ok(SELLER, "deliver", {"number": content["number"]})
    inv.refused(OTHER, "claim", args, "NOT_BUYER")
    inv.refused(SELLER, "claim", args, "NOT_BUYER")
    altered = copy.deepcopy(content)
    altered["remark"] = "PO HQ-PO-2026-0002"
    inv.refused(BUYER, "claim", {**args, "content": altered}, "CONTENT_MISMATCH")
    inv.refused(BUYER, "claim", {**args, "content": {}}, "CONTENT_MISMATCH")
    inv.refused(BUYER, "reimburse", {"number": content["number"]}, "NOT_CLAIMED")
    inv.refused(BUYER, "book", {"number": content["number"]}, "NOT_REIMBURSED")
    inv.ok(BUYER, "claim", args)
    inv.refused(OTHER, "release_claim", {"number": content["number"]}, "NOT_CLAIMANT")
    assert inv.ok(BUYER, "release_claim", {"number": content["number"]})["status"] == "delivered"
    inv.ok(BUYER, "claim", args)


def test_issue_refusals(inv: InvoiceChain) -> None:
    content = make_invoice(4)
    inv.refused(BUYER, "issue", {"content": content}, "NOT_SELLER")  # the buyer cannot issue the seller's invoice
    inv.refused(SELLER, "issue", {"content": make_invoice(4, buyer=REG)}, "UNKNOWN_BUYER")  # not a taxpayer
    inv.refused(SELLER, "issue", {"content": mutate("totals.tax", 0)}, "BAD_TOTALS")
    inv.refused(SELLER, "issue", {"content": "not an invoice"}, "BAD_ARGS")
    inv.refused(SELLER, "issue", {"content": content, "extra": 1}, "BAD_ARGS")
    inv.issue(content)
    inv.refused(SELLER, "issue", {"content": content}, "DUPLICATE_NUMBER")
    inv.refused(SELLER, "deliver", {"number": "123"}, "BAD_NUMBER")
    inv.refused(SELLER, "deliver", {"number": number(404)}, "INVOICE_NOT_FOUND")
    inv.refused(BUYER, "deliver", {"number": content["number"]}, "NOT_SELLER")
    inv.ok(SELLER, "deliver", {"number": content["number"]})
    inv.refused(SELLER, "deliver", {"number": content["number"]}, "NOT_ISSUED")


def test_taxpayer_registration(inv: InvoiceChain) -> None:
    inv.refused(BANK, "register_taxpayer", party(SELLER), "USCC_TAKEN")
    inv.refused(BANK, "register_taxpayer", {"uscc": party(SELLER)["uscc"], "name": "x"}, "USCC_TAKEN")
    inv.refused(REG, "register_taxpayer", {"uscc": "91310000MA1HQ2026Y", "name": "x"}, "BAD_USCC")
    inv.refused(REG, "register_taxpayer", party(REG), "NOT_ADMIN", who="clerk")
    inv.refused(BUYER, "register_taxpayer", party(REG), "TAXPAYER_EXISTS")
    assert inv.query(BANK, "taxpayer", {"uscc": party(BUYER)["uscc"]})["org"] == BUYER
    with pytest.raises(NotFound):
        inv.query(BANK, "taxpayer", {"uscc": party(REG)["uscc"]})


# -- red-letter invoices ----------------------------------------------------------------------

def test_red_letter_invoices_reverse_part_then_the_rest(inv: InvoiceChain) -> None:
    blue = inv.delivered(10, lines=[{"item": "*汽车零配件*制动钳", "quantity": "10", "unit_price": "100",
                                     "tax_rate": "13"}])
    assert blue["totals"]["total"] == 1_130_00
    first = make_invoice(11, lines=red_lines(300_00), original=blue["number"])
    assert first["totals"]["total"] == -339_00 and first["totals"]["total_in_words"] == "负叁佰叁拾玖圆整"
    red = inv.issue(first)
    assert red["kind"] == "red"
    after = inv.query(SELLER, "get", {"number": blue["number"]})
    assert (after["status"], after["reversed"], after["reversals"]) == ("delivered", 339_00, [first["number"]])
    assert inv.query(None, "verify", {"number": blue["number"]})["status"] == "partly reversed"
    inv.refused(SELLER, "issue", {"content": make_invoice(12, lines=red_lines(800_00), original=blue["number"])},
                "OVER_REVERSAL")
    inv.refused(SELLER, "issue", {"content": make_invoice(12, lines=red_lines(100), original=number(404))},
                "ORIGINAL_NOT_FOUND")
    inv.refused(SELLER, "issue", {"content": make_invoice(12, lines=red_lines(100), original=first["number"])},
                "BAD_REVERSAL")
    inv.refused(BUYER, "claim", {"number": first["number"], "content": first}, "NOT_CLAIMABLE")
    # The rest reverses the invoice in full: it can no longer be claimed.
    inv.issue(make_invoice(12, lines=red_lines(700_00), original=blue["number"]))
    assert inv.query(TAX, "get", {"number": blue["number"]})["status"] == "reversed"
    inv.refused(BUYER, "claim", {"number": blue["number"], "content": blue}, "INVOICE_REVERSED")
    inv.refused(SELLER, "issue", {"content": make_invoice(13, lines=red_lines(1), original=blue["number"])},
                "OVER_REVERSAL")


def test_a_claimed_invoice_is_not_reversed_and_reimbursement_pays_what_is_left(inv: InvoiceChain) -> None:
    blue = inv.delivered(20, lines=[{"item": "*服务*检测", "amount": 1_000_00, "tax_rate": "6"}])
    inv.issue(make_invoice(21, lines=red_lines(200_00, "6"), original=blue["number"]))
    inv.ok(BUYER, "claim", {"number": blue["number"], "content": blue})
    inv.refused(SELLER, "issue", {"content": make_invoice(22, lines=red_lines(100_00, "6"), original=blue["number"])},
                "INVOICE_LOCKED")
    assert inv.ok(BUYER, "reimburse", {"number": blue["number"]})["reimbursed_amount"] == 1_060_00 - 212_00


# -- the tax authority, and who sees what -------------------------------------------------------

def test_the_tax_authority_voids_and_flags(inv: InvoiceChain) -> None:
    content = inv.delivered(30)
    inv.refused(REG, "flag", {"number": content["number"], "reason": "odd"}, "NOT_TAX_AUTHORITY")
    inv.refused(BUYER, "void", {"number": content["number"], "reason": "mine"}, "NOT_TAX_AUTHORITY")
    inv.refused(TAX, "flag", {"number": content["number"], "reason": ""}, "BAD_ARGS")
    receipt = inv.run(TAX, "flag", {"number": content["number"], "reason": "price far above the market"})
    assert receipt.events[0].name == "InvoiceFlagged" and receipt.result["flags"][0]["by"] == TAX
    inv.ok(TAX, "void", {"number": content["number"], "reason": "issued without a sale"})
    inv.refused(TAX, "void", {"number": content["number"], "reason": "again"}, "INVOICE_VOID")
    inv.refused(BUYER, "claim", {"number": content["number"], "content": content}, "INVOICE_VOID")
    inv.refused(SELLER, "issue", {"content": make_invoice(31, lines=red_lines(1), original=content["number"])},
                "INVOICE_VOID")
    assert inv.query(None, "verify", {"number": content["number"]})["status"] == "void"


def test_who_sees_what(inv: InvoiceChain) -> None:
    content = inv.delivered(40)
    for org in (SELLER, BUYER, TAX, REG):
        assert inv.query(org, "get", {"number": content["number"]})["content"] == content
    with pytest.raises(Forbidden):
        inv.query(OTHER, "get", {"number": content["number"]})
    with pytest.raises(Forbidden):
        inv.query(BANK, "all")
    with pytest.raises(NotFound):
        inv.query(BUYER, "get", {"number": number(404)})
    assert [r["number"] for r in inv.query(BUYER, "mine", {"role": "buyer"})["invoices"]] == [content["number"]]
    assert inv.query(OTHER, "mine", {"role": "seller"})["invoices"] == []
    assert [r["number"] for r in inv.query(TAX, "all")["invoices"]] == [content["number"]]
    overview = inv.query(REG, "overview")
    assert overview["by_status"] == {"delivered": {"count": 1, "total": content["totals"]["total"]}}
    assert overview["taxpayers"] == 4


def test_a_frozen_invoice_refuses_every_change(inv: InvoiceChain) -> None:
    content = inv.delivered(50)
    key = f"sys/frozen/object/invoice/{content['number']}"
    proposal = inv.chain.govern("freeze_object", {"contract": "invoice", "id": content["number"]}, yes=6)
    assert proposal["status"] == "passed", proposal
    assert inv.chain.store.state_read(key) is not None
    inv.refused(BUYER, "claim", {"number": content["number"], "content": content}, "INVOICE_FROZEN")


def test_a_second_claim_and_the_tax_authoritys_flag_raise_alerts(inv: InvoiceChain, tmp_path: Path) -> None:
    from consortia.node.alerts import Alerts

    content = inv.delivered(60)
    args = {"number": content["number"], "content": content}
    inv.ok(BUYER, "claim", args)
    inv.ok(BUYER, "reimburse", {"number": content["number"]})
    inv.refused(OTHER, "claim", args, "ALREADY_REIMBURSED")
    inv.ok(TAX, "flag", {"number": content["number"], "reason": "claimed twice"})
    alerts = Alerts(tmp_path / "alerts.db")
    try:
        for block in inv.chain.store.iter_blocks(1):
            alerts.on_block(block.height, block.header.time_ms, [w["tx"] for w in block.txs],
                            [r.to_dict() for r in block.receipts], lambda tx: "sender")
        found = [(a["rule"], a["detail"].get("code") or a["detail"].get("reason")) for a in alerts.list()]
    finally:
        alerts.close()
    assert found == [("double_reimbursement", "ALREADY_REIMBURSED"), ("invoice_flagged", "claimed twice")]


def test_a_full_red_letter_invoice_from_the_sdk_negates_every_line(inv: InvoiceChain) -> None:
    from consortia.apps.invoice.sdk import compute_red_letter

    blue = inv.delivered(70, lines=[{"item": "*货物*样品", "quantity": "0.00000001", "unit_price": "99999999",
                                     "tax_rate": "13"}, *make_invoice(70)["lines"]])
    red = compute_red_letter(blue, number(71), "2026-12-04", "开票有误")
    assert red["totals"]["total"] == -blue["totals"]["total"]
    assert red["lines"][0]["quantity"] == "-0.00000001"  # written out, never as -1E-8
    inv.issue(red)
    assert inv.query(TAX, "get", {"number": blue["number"]})["status"] == "reversed"
