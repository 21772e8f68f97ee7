"""Trade finance: customs declarations, quota drawn across banks, documentary credits; every
refusal with its code and no state change; who sees what."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.apps.trade.money import block_date, convert_up, format_minor, parse_major, parse_rate
from consortia.errors import Forbidden, NotFound
from tests.apps.trade_harness import (
    BANK_A,
    BANK_B,
    CUSTOMS,
    EXPORTER,
    IMPORTER,
    LC_BANK,
    ORG_COUNT,
    REG,
    USCC,
    Trade,
)
from tests.unit.helpers import Consortium

NUMBER = "223320260000123456"


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("trade") / "c", orgs=ORG_COUNT, suite_name=suite_name)


@pytest.fixture
def trade(consortium: Consortium, tmp_path: Path) -> Iterator[Trade]:
    harness = Trade(consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()


def test_money_is_exact_minor_units_and_decimal_rates() -> None:
    assert parse_rate("7.1025") == (71025, 4) and parse_rate("1") == (1, 0)
    for bad in ("0", "0.0", "-1", "1e3", "7,1", " 7.1", "7.", "1234567.1", "1.123456789", 7.1, 7):
        assert parse_rate(bad) is None
    # 426,150.00 CNY at 7.1025 CNY per USD is exactly 60,000.00 USD; one fen more rounds up a cent
    assert convert_up(42_615_000, "CNY", "USD", (71025, 4)) == 6_000_000
    assert convert_up(42_615_001, "CNY", "USD", (71025, 4)) == 6_000_001
    assert convert_up(1_000, "JPY", "USD", (15025, 2)) == 666  # 1,000 yen at 150.25 yen per dollar: 6.66 USD, up
    assert convert_up(100, "USD", "KWD", (325, 2)) == 308  # 1.00 USD at 3.25 USD per dinar: 0.308 KWD, up
    assert parse_major("120,000.50", "USD") == 12_000_050 and parse_major("1000", "JPY") == 1000
    assert parse_major("1.234", "KWD") == 1234 and format_minor(12_000_050, "USD") == "120,000.50 USD"
    for text, currency in (("1.234", "USD"), ("1.5", "JPY"), ("abc", "USD"), ("1", "XXX")):
        with pytest.raises(ValueError):
            parse_major(text, currency)
    assert block_date(0) == "1970-01-01" and block_date(86_400_000 * 365 - 1) == "1970-12-31"


def test_declaration_financed_by_two_banks_within_its_value(trade: Trade) -> None:
    decl = trade.declaration(NUMBER, value=12_000_000)  # 120,000.00 USD
    assert decl["value"] == 12_000_000 and decl["customs"] == CUSTOMS and decl["drawn"] == 0
    a = trade.draw(BANK_A, NUMBER, 42_615_000, currency="CNY", rate="7.1025")  # CNY financing: 60,000.00 USD
    assert a["counted"] == 6_000_000 and a["fx_rate"] == "7.1025"
    b = trade.draw(BANK_B, NUMBER, 5_000_000)  # 50,000.00 USD
    seen = trade.query(REG, "declaration", {"number": NUMBER})
    assert seen["drawn"] == 11_000_000 and seen["left"] == 1_000_000 and len(seen["draws"]) == 2
    # A bank sees the declaration and the quota left, but only its own draws.
    assert [d["id"] for d in trade.query(BANK_B, "declaration", {"number": NUMBER})["draws"]] == [b["id"]]
    # Over the quota: refused, nothing changes (the harness compares every state row).
    receipt = trade.refused(BANK_A, "draw", {"declaration": NUMBER, "amount": 1_000_001, "currency": "USD",
                                             "fx_rate": "1", "kind": "export_financing"}, "QUOTA_EXCEEDED")
    assert "1000000" in receipt.message
    trade.draw(BANK_A, NUMBER, 1_000_000, kind="guarantee")  # exactly to the value is fine
    trade.refused(BANK_B, "draw", {"declaration": NUMBER, "amount": 1, "currency": "USD", "fx_rate": "1",
                                   "kind": "export_financing"}, "QUOTA_EXCEEDED")
    # Repaid: the bank releases its draw and the quota is there again for anyone.
    trade.ok(BANK_B, "release", {"draw_id": b["id"]})
    trade.draw(BANK_A, NUMBER, 5_000_000)
    overview = trade.query(REG, "overview")
    assert overview["open_draws_by_bank"] == {BANK_A: 3} and overview["declarations"][0]["left"] == 0
    assert {d["status"] for d in trade.query(BANK_B, "book", {"bank": BANK_B})["draws"]} == {"released"}


def test_declaration_refusals_change_nothing(trade: Trade) -> None:
    good = {"number": NUMBER, "exporter": EXPORTER, "exporter_uscc": USCC[EXPORTER],
            "lines": [{"hs_code": "8708301000", "description": "calipers", "quantity": 10, "unit": "set",
                       "value": 100_000}], "currency": "USD", "port": "2248", "date": "2026-01-05"}
    trade.refused(EXPORTER, "declare", good, "NOT_CUSTOMS")  # only customs attests
    trade.refused(BANK_A, "declare", good, "NOT_CUSTOMS")
    cases = [({"number": "12345"}, "BAD_DECLARATION"), ({"exporter": "nobody"}, "NOT_A_PARTY"),
             ({"exporter_uscc": "91310000MA1HQ2026Y"}, "BAD_USCC"), ({"currency": "XBT"}, "BAD_CURRENCY"),
             ({"lines": []}, "BAD_DECLARATION"), ({"date": "2026-02-30"}, "BAD_DATE"), ({"date": "2999-01-01"}, "BAD_DATE"),
             ({"lines": [{**good["lines"][0], "hs_code": "87A8"}]}, "BAD_HS_CODE"),  # type: ignore[index]
             ({"lines": [{**good["lines"][0], "value": 0}]}, "BAD_AMOUNT"),  # type: ignore[index]
             ({"lines": [{**good["lines"][0], "quantity": True}]}, "BAD_DECLARATION"),  # type: ignore[index]
             ({"lines": [{"hs_code": "870830"}]}, "BAD_DECLARATION"), ({"port": ""}, "BAD_DECLARATION"),
             ({"digest": "ab", "algorithm": "sha-256"}, "BAD_DIGEST")]
    for change, code in cases:
        trade.refused(CUSTOMS, "declare", {**good, **change}, code)
    trade.refused(CUSTOMS, "declare", {**good, "lines": "x"}, "BAD_ARGS")  # wrong type: the SDK refuses
    trade.ok(CUSTOMS, "declare", good)
    trade.refused(CUSTOMS, "declare", good, "DECLARATION_EXISTS")
    row = trade.draw(BANK_A, NUMBER, 50_000)
    trade.refused(CUSTOMS, "cancel_declaration", {"number": NUMBER, "reason": "withdrawn"}, "DECLARATION_IN_USE")
    trade.ok(BANK_A, "release", {"draw_id": row["id"]})
    trade.refused(BANK_B, "cancel_declaration", {"number": NUMBER, "reason": "x"}, "NOT_CUSTOMS")
    trade.ok(CUSTOMS, "cancel_declaration", {"number": NUMBER, "reason": "goods not shipped"})
    trade.refused(CUSTOMS, "cancel_declaration", {"number": NUMBER, "reason": "again"}, "DECLARATION_CANCELLED")
    trade.refused(BANK_A, "draw", {"declaration": NUMBER, "amount": 1, "currency": "USD", "fx_rate": "1",
                                   "kind": "export_financing"}, "DECLARATION_CANCELLED")


def test_draw_refusals_change_nothing(trade: Trade) -> None:
    trade.declaration(NUMBER, value=1_000_000)
    good = {"declaration": NUMBER, "amount": 100, "currency": "USD", "fx_rate": "1", "kind": "export_financing"}
    trade.refused(EXPORTER, "draw", good, "NOT_BANK")
    trade.refused(CUSTOMS, "draw", good, "NOT_BANK")
    for change, code in [({"declaration": "223320260000999999"}, "DECLARATION_NOT_FOUND"),
                         ({"declaration": "../x"}, "DECLARATION_NOT_FOUND"), ({"amount": 0}, "BAD_AMOUNT"),
                         ({"currency": "usd"}, "BAD_CURRENCY"), ({"fx_rate": "7.1"}, "BAD_RATE"),
                         ({"currency": "CNY", "fx_rate": "0"}, "BAD_RATE"), ({"currency": "CNY", "fx_rate": "7,1"}, "BAD_RATE"),
                         ({"kind": "loan"}, "BAD_ARGS"), ({"reference": "x" * 65}, "BAD_ARGS")]:
        trade.refused(BANK_A, "draw", {**good, **change}, code)
    trade.refused(BANK_A, "draw", {**good, "amount": "100"}, "BAD_ARGS")
    row = trade.draw(BANK_A, NUMBER, 100)
    trade.refused(BANK_B, "release", {"draw_id": row["id"]}, "NOT_DRAWER")
    trade.refused(BANK_A, "release", {"draw_id": "nope"}, "DRAW_NOT_FOUND")
    trade.ok(BANK_A, "release", {"draw_id": row["id"]})
    trade.refused(BANK_A, "release", {"draw_id": row["id"]}, "DRAW_CLOSED")


def test_sight_of_declarations(trade: Trade) -> None:
    trade.declaration(NUMBER)
    assert trade.query(EXPORTER, "declaration", {"number": NUMBER})["left"] == 12_000_000
    assert len(trade.query(CUSTOMS, "declarations_of", {"exporter": EXPORTER})) == 1
    with pytest.raises(Forbidden):
        trade.query(IMPORTER, "declaration", {"number": NUMBER})
    with pytest.raises(Forbidden):
        trade.query(BANK_A, "book", {"bank": BANK_B})
    with pytest.raises(Forbidden):
        trade.query(BANK_A, "overview")
    with pytest.raises(NotFound):
        trade.query(REG, "declaration", {"number": "223320260000999999"})


def test_letter_of_credit_issued_presented_accepted_and_paid(trade: Trade) -> None:
    trade.declaration(NUMBER, value=12_000_000)
    credit = trade.issued_credit(amount=5_000_000)
    assert credit["status"] == "issued" and credit["applicant"] == IMPORTER and credit["bank"] == LC_BANK
    presented = trade.ok(EXPORTER, "present", {"credit_id": credit["id"], "amount": 5_000_000, "shipment_date": "2026-01-04",
                                               "documents": trade.documents(), "declaration": NUMBER})
    assert presented["discrepancies"] == []
    trade.refused(IMPORTER, "accept_documents", {"presentation_id": presented["id"]}, "NOT_ISSUING_BANK")
    trade.refused(LC_BANK, "pay", {"presentation_id": presented["id"]}, "NOT_ACCEPTED")
    trade.ok(LC_BANK, "accept_documents", {"presentation_id": presented["id"]})
    paid = trade.ok(LC_BANK, "pay", {"presentation_id": presented["id"]})
    assert paid["credit"]["status"] == "paid" and paid["credit"]["paid"] == 5_000_000
    assert paid["presentation"]["status"] == "paid"
    trade.refused(LC_BANK, "pay", {"presentation_id": presented["id"]}, "NOT_ACCEPTED")
    trade.refused(EXPORTER, "present", {"credit_id": credit["id"], "amount": 1, "shipment_date": "2026-01-04",
                                        "documents": trade.documents()}, "CREDIT_CLOSED")
    for who in (IMPORTER, LC_BANK, EXPORTER, REG):
        assert trade.query(who, "credit", {"credit_id": credit["id"]})["status"] == "paid"
    with pytest.raises(Forbidden):
        trade.query(BANK_A, "credit", {"credit_id": credit["id"]})
    assert [c["id"] for c in trade.query(IMPORTER, "credits_of", {"party": IMPORTER})] == [credit["id"]]


def test_discrepancies_are_named_and_a_refused_presentation_can_be_made_again(trade: Trade) -> None:
    trade.declaration(NUMBER, value=4_000_000, exporter="hengtai-castings")
    credit = trade.issued_credit(amount=5_000_000, latest_shipment="2099-01-31")
    bad = trade.ok(EXPORTER, "present", {"credit_id": credit["id"], "amount": 6_000_000, "shipment_date": "2099-02-01",
                                         "documents": trade.documents("bill_of_lading", "commercial_invoice"),
                                         "declaration": NUMBER})
    codes = [d["code"] for d in bad["discrepancies"]]
    assert codes == ["AMOUNT_OVER_CREDIT", "LATE_SHIPMENT", "MISSING_DOCUMENT", "MISSING_DOCUMENT",
                     "DECLARATION_OTHER_EXPORTER"]
    assert {d["detail"] for d in bad["discrepancies"] if d["code"] == "MISSING_DOCUMENT"} == {"packing_list",
                                                                                             "customs_declaration"}
    again = {"credit_id": credit["id"], "amount": 1, "shipment_date": "2026-01-01", "documents": trade.documents()}
    trade.refused(EXPORTER, "present", again, "PRESENTATION_PENDING")
    trade.refused(LC_BANK, "accept_documents", {"presentation_id": bad["id"]}, "DISCREPANT")
    trade.refused(LC_BANK, "refuse_documents", {"presentation_id": bad["id"], "reasons": [""]}, "BAD_ARGS")
    refused = trade.ok(LC_BANK, "refuse_documents", {"presentation_id": bad["id"], "reasons": ["late shipment"]})
    assert refused["status"] == "refused" and refused["reasons"] == ["late shipment"]
    trade.refused(LC_BANK, "accept_documents", {"presentation_id": bad["id"]}, "PRESENTATION_CLOSED")
    second = trade.ok(EXPORTER, "present", {**again, "declaration": "223320260000999999"})
    assert [d["code"] for d in second["discrepancies"]] == ["DECLARATION_NOT_ATTESTED"]


def test_credit_refusals_change_nothing(trade: Trade) -> None:
    terms = trade.credit_terms()
    for change, code in [({"bank": EXPORTER}, "NOT_BANK"), ({"beneficiary": "nobody"}, "NOT_A_PARTY"),
                         ({"beneficiary": IMPORTER}, "BAD_ARGS"), ({"amount": 0}, "BAD_AMOUNT"),
                         ({"currency": "ABC"}, "BAD_CURRENCY"), ({"expiry": "2099-13-01"}, "BAD_DATE"),
                         ({"latest_shipment": "2099-05-01"}, "BAD_DATE"), ({"latest_shipment": "2000-01-01"}, "BAD_DATE"),
                         ({"documents": []}, "BAD_DOCUMENT"), ({"documents": ["receipt"]}, "BAD_DOCUMENT"),
                         ({"documents": ["packing_list", "packing_list"]}, "BAD_DOCUMENT"), ({"goods": ""}, "BAD_ARGS")]:
        trade.refused(IMPORTER, "apply_credit", {**terms, **change}, code)
    applied = trade.ok(IMPORTER, "apply_credit", terms)
    trade.refused(BANK_A, "issue_credit", {"credit_id": applied["id"]}, "NOT_ISSUING_BANK")
    trade.refused(IMPORTER, "issue_credit", {"credit_id": applied["id"]}, "NOT_ISSUING_BANK")
    trade.refused(LC_BANK, "issue_credit", {"credit_id": "nope"}, "CREDIT_NOT_FOUND")
    trade.refused(EXPORTER, "present", {"credit_id": applied["id"], "amount": 1, "shipment_date": "2026-01-01",
                                        "documents": trade.documents()}, "CREDIT_CLOSED")  # not issued yet
    trade.ok(LC_BANK, "issue_credit", {"credit_id": applied["id"]})
    trade.refused(LC_BANK, "issue_credit", {"credit_id": applied["id"]}, "CREDIT_CLOSED")
    good = {"credit_id": applied["id"], "amount": 1, "shipment_date": "2026-01-01", "documents": trade.documents()}
    trade.refused(IMPORTER, "present", good, "NOT_BENEFICIARY")
    for change, code in [({"amount": -1}, "BAD_AMOUNT"), ({"shipment_date": "soon"}, "BAD_DATE"),
                         ({"documents": []}, "BAD_DOCUMENT"),
                         ({"documents": [{**trade.documents("bill_of_lading")[0], "digest": "AB" * 32}]}, "BAD_DOCUMENT"),
                         ({"documents": [{**trade.documents("bill_of_lading")[0], "algorithm": "md5"}]}, "BAD_DOCUMENT"),
                         ({"documents": trade.documents("packing_list", "packing_list")}, "BAD_DOCUMENT")]:
        trade.refused(EXPORTER, "present", {**good, **change}, code)
    trade.refused(LC_BANK, "pay", {"presentation_id": "nope"}, "PRESENTATION_NOT_FOUND")
    trade.refused(CUSTOMS, "cancel_declaration", {"number": "223320260000999999", "reason": "x"}, "DECLARATION_NOT_FOUND")


def test_a_credit_not_issued_before_its_latest_shipment_date_cannot_be(trade: Trade) -> None:
    from consortia.apps.trade.money import DAY_MS

    today = block_date(trade.now + 1000)
    applied = trade.ok(IMPORTER, "apply_credit", trade.credit_terms(latest_shipment=today, expiry=today))
    later = (trade.now // DAY_MS + 2) * DAY_MS
    trade.refused(LC_BANK, "issue_credit", {"credit_id": applied["id"]}, "CREDIT_EXPIRED", at=later)


def test_quota_attempt_raises_a_regulator_alert(tmp_path: Path) -> None:
    from consortia.node.alerts import Alerts

    alerts = Alerts(tmp_path / "alerts.db")
    tx = {"contract": "trade", "method": "draw", "args": {"declaration": NUMBER, "amount": 10}}
    refused = {"tx_id": "ab" * 32, "status": "reverted", "code": "QUOTA_EXCEEDED", "message": "no quota left", "events": []}
    [alert] = alerts.on_block(5, 1_000, [tx], [refused], lambda _: BANK_A)
    assert alert["rule"] == "over_quota" and alert["org"] == BANK_A and alert["detail"]["call"] == "trade.draw"
    alerts.close()
