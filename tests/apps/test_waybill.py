"""Waybills: the lifecycle, two-signature custody, conservation of packages, every refusal with
its code and no state change, who may see what, and carrier financing through scf."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consortia.errors import BadInput, Forbidden, NotFound
from tests.apps.waybill_harness import (
    BANK,
    CARRIER1,
    CARRIER2,
    CONSIGNEE,
    CONSIGNOR,
    DAY,
    FUNDER2,
    HANGZHOU,
    ORG_COUNT,
    OUTSIDER,
    REG,
    Waybill,
    digest,
    goods,
    sscc,
)
from tests.unit.helpers import Consortium

CHARGES = 3_200_00 + 480_00


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("waybill") / "c", orgs=ORG_COUNT, suite_name=suite_name)


@pytest.fixture
def wb(consortium: Consortium, tmp_path: Path) -> Iterator[Waybill]:
    harness = Waybill(consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()


def test_cold_chain_waybill_across_two_carriers(wb: Waybill) -> None:
    created = wb.create("WB-2026-0001")
    assert (created["status"], created["custodian"], created["packages"]) == ("created", CONSIGNOR, 80)
    proposed = wb.ok(CONSIGNOR, "hand_over", {"number": "WB-2026-0001"})
    assert proposed["pending"]["kind"] == "pickup" and proposed["pending"]["to"] == CARRIER1
    assert proposed["custodian"] == CONSIGNOR  # one signature moves nothing
    picked = wb.ok(CARRIER1, "take_over", {"number": "WB-2026-0001", "packages": 80})
    assert (picked["status"], picked["custodian"], picked["leg"]) == ("picked_up", CARRIER1, 0)
    assert picked["taking_over"]["at_ms"] == wb.now
    step = wb.ok(CARRIER1, "checkpoint", {"number": "WB-2026-0001", "place": HANGZHOU, "temperature_c10": 23})
    assert step["excursion"] is False and wb.get("WB-2026-0001")["status"] == "in_transit"
    warm = wb.run(CARRIER1, "checkpoint", {"number": "WB-2026-0001", "place": HANGZHOU, "temperature_c10": 71})
    assert [e.name for e in warm.events] == ["Checkpoint", "TemperatureExcursion"]
    wb.handover("WB-2026-0001", CARRIER1, CARRIER2, 80, place=HANGZHOU)
    assert wb.get("WB-2026-0001")["custodian"] == CARRIER2
    delivered = wb.handover("WB-2026-0001", CARRIER2, CONSIGNEE, 80, reservations=["one pallet wrap torn"])
    assert (delivered["status"], delivered["custodian"]) == ("delivered", CONSIGNEE)
    assert delivered["reservations"] == ["one pallet wrap torn"] and delivered["excursions"] == 1
    closed = wb.ok(CONSIGNEE, "close", {"number": "WB-2026-0001"})
    assert closed["status"] == "closed" and closed["receivable"]["amount"] == CHARGES
    assert closed["receivable"]["carrier"] == CARRIER1 and closed["receivable"]["payer"] == CONSIGNOR
    assert closed["receivable"]["algorithm"] == wb.chain.suite.hash_name
    steps = wb.get("WB-2026-0001")["step_list"]
    assert [s["kind"] for s in steps] == ["pickup", "checkpoint", "checkpoint", "handoff", "delivery"]
    assert steps[0]["giver"] == CONSIGNOR and steps[0]["taker"] == CARRIER1 and steps[0]["proposed_tx"] != steps[0]["tx"]
    stats = wb.query(REG, "overview")
    assert stats["by_status"]["closed"] == 1 and stats["flagged"][0]["excursions"] == 1


def test_every_party_signs_its_own_step(wb: Waybill) -> None:
    wb.create("WB-1")
    wb.refused(CARRIER1, "hand_over", {"number": "WB-1"}, "NOT_CUSTODIAN")  # the carrier cannot take what it was not given
    wb.refused(CARRIER1, "take_over", {"number": "WB-1", "packages": 80}, "NO_HANDOVER")
    wb.ok(CONSIGNOR, "hand_over", {"number": "WB-1"})
    wb.refused(CONSIGNOR, "hand_over", {"number": "WB-1"}, "HANDOVER_PENDING")
    wb.refused(CARRIER2, "take_over", {"number": "WB-1", "packages": 80}, "NOT_TAKER")
    wb.refused(CONSIGNOR, "take_over", {"number": "WB-1", "packages": 80}, "NOT_TAKER")
    wb.refused(CONSIGNOR, "checkpoint", {"number": "WB-1", "place": HANGZHOU}, "NOT_CUSTODIAN")
    wb.refused(OUTSIDER, "cancel_handover", {"number": "WB-1"}, "NOT_A_PARTY")
    wb.ok(CARRIER1, "cancel_handover", {"number": "WB-1", "reason": "truck not ready"})  # the taker declines
    assert wb.get("WB-1")["pending"] is None
    wb.handover("WB-1", CONSIGNOR, CARRIER1, 80)
    wb.refused(CARRIER2, "checkpoint", {"number": "WB-1", "place": HANGZHOU}, "NOT_CUSTODIAN")
    wb.refused(CARRIER1, "hand_over", {"number": "WB-1"}, "BAD_PLACE")  # a hand-off names where
    wb.ok(CARRIER1, "hand_over", {"number": "WB-1", "place": HANGZHOU})
    wb.refused(CONSIGNEE, "take_over", {"number": "WB-1", "packages": 80}, "NOT_TAKER")  # carriers go in order
    wb.ok(CARRIER2, "take_over", {"number": "WB-1", "packages": 80})
    wb.refused(CARRIER1, "checkpoint", {"number": "WB-1", "place": HANGZHOU}, "NOT_CUSTODIAN")
    wb.ok(CARRIER2, "hand_over", {"number": "WB-1"})
    assert wb.get("WB-1")["pending"]["kind"] == "delivery"
    wb.refused(CARRIER2, "take_over", {"number": "WB-1", "packages": 80}, "NOT_TAKER")  # the consignee signs delivery
    wb.ok(CONSIGNEE, "take_over", {"number": "WB-1", "packages": 80})


def test_package_counts_are_conserved_unless_an_exception_is_recorded(wb: Waybill) -> None:
    wb.create("WB-2")
    wb.ok(CONSIGNOR, "hand_over", {"number": "WB-2"})
    wb.refused(CARRIER1, "take_over", {"number": "WB-2", "packages": 79}, "PACKAGE_MISMATCH")
    wb.refused(CARRIER1, "take_over", {"number": "WB-2", "packages": 79,
                                       "exception": {"kind": "surplus", "note": "x"}}, "BAD_EXCEPTION")
    wb.refused(CARRIER1, "take_over", {"number": "WB-2", "packages": 79, "exception": {"kind": "shortage"}}, "BAD_EXCEPTION")
    short = wb.ok(CARRIER1, "take_over", {"number": "WB-2", "packages": 79,
                                          "exception": {"kind": "shortage", "note": "one carton missing at loading"}})
    assert (short["packages_declared"], short["packages"]) == (80, 79)
    assert short["exceptions"][0]["delta"] == -1
    wb.refused(CARRIER1, "record_exception", {"number": "WB-2", "kind": "shortage", "packages_delta": -80, "note": "x"},
               "BAD_EXCEPTION")  # never below zero
    wb.refused(CARRIER1, "record_exception", {"number": "WB-2", "kind": "damage", "packages_delta": -1, "note": "x"},
               "BAD_EXCEPTION")
    wb.ok(CARRIER1, "record_exception", {"number": "WB-2", "kind": "damage", "packages_delta": 0,
                                         "note": "two cartons crushed"})
    found = wb.ok(CARRIER1, "record_exception", {"number": "WB-2", "kind": "surplus", "packages_delta": 1,
                                                 "note": "missing carton found behind the bulkhead"})
    assert found["delta"] == 1
    now = wb.get("WB-2")
    assert now["packages"] == now["packages_declared"] + sum(e["delta"] for e in now["exceptions"]) == 80


def test_nothing_changes_after_delivery_except_a_dispute_note(wb: Waybill) -> None:
    wb.create("WB-3")
    wb.deliver("WB-3")
    for org, method, args in [
        (CARRIER2, "checkpoint", {"place": HANGZHOU}), (CONSIGNEE, "hand_over", {}),
        (CONSIGNOR, "attach_document", {"kind": "invoice", "digest": digest("inv"), "algorithm": "sha-256"}),
        (CONSIGNOR, "cancel", {}), (CONSIGNEE, "record_exception", {"kind": "damage", "packages_delta": 0, "note": "x"}),
        (CONSIGNEE, "cancel_handover", {}), (CONSIGNEE, "take_over", {"packages": 80}),
    ]:
        wb.refused(org, method, {"number": "WB-3", **args}, "WAYBILL_SEALED")
    wb.refused(CONSIGNOR, "add_dispute_note", {"number": "WB-3", "note": "x"}, "NOT_DISPUTED")
    wb.refused(OUTSIDER, "dispute", {"number": "WB-3", "note": "x"}, "NOT_A_PARTY")
    disputed = wb.ok(CONSIGNEE, "dispute", {"number": "WB-3", "note": "core temperature 9 °C on arrival",
                                            "digest": digest("probe photos")})
    assert disputed["status"] == "disputed" and disputed["dispute"]["notes"][0]["evidence"]["digest"] == digest("probe photos")
    wb.ok(CARRIER2, "add_dispute_note", {"number": "WB-3", "note": "reefer log attached", "digest": digest("log")})
    wb.ok(REG, "add_dispute_note", {"number": "WB-3", "note": "inspection scheduled"})
    wb.refused(OUTSIDER, "add_dispute_note", {"number": "WB-3", "note": "x"}, "NOT_A_PARTY")
    wb.refused(CONSIGNEE, "close", {"number": "WB-3"}, "NOT_DELIVERED")
    wb.refused(CONSIGNEE, "dispute", {"number": "WB-3", "note": "again"}, "NOT_DELIVERED")
    assert len(wb.get("WB-3")["dispute"]["notes"]) == 3


def test_closing_rules_and_the_dispute_window(wb: Waybill) -> None:
    wb.create("WB-4")
    wb.refused(CONSIGNEE, "close", {"number": "WB-4"}, "NOT_DELIVERED")
    wb.deliver("WB-4")
    wb.refused(CARRIER1, "close", {"number": "WB-4"}, "DISPUTE_WINDOW_OPEN")
    later = wb.now + 7 * DAY
    wb.refused(CARRIER1, "dispute", {"number": "WB-4", "note": "late"}, "DISPUTE_WINDOW_CLOSED", at=later)
    assert wb.ok(CARRIER1, "close", {"number": "WB-4"}, at=later + 1000)["status"] == "closed"
    wb.create("WB-5")
    wb.deliver("WB-5", reservations=["pallet 2 wet"])
    wb.refused(CARRIER1, "close", {"number": "WB-5"}, "RESERVATIONS", at=wb.now + 8 * DAY)
    assert wb.ok(CONSIGNEE, "close", {"number": "WB-5"})["status"] == "closed"  # the consignee accepts anyway


def test_create_refuses_bad_fields(wb: Waybill) -> None:
    wb.create("WB-6")
    base: dict[str, Any] = {"consignee": CONSIGNEE, "carriers": [CARRIER1], "taking_over": HANGZHOU,
                            "delivery_place": HANGZHOU, "goods": goods(labelled=False)}
    bad_sscc = sscc(1)[:-1] + str((int(sscc(1)[-1]) + 1) % 10)
    cases = [
        ({"number": "WB-6"}, "WAYBILL_EXISTS"), ({"number": "has space"}, "BAD_NUMBER"), ({"number": "x" * 36}, "BAD_NUMBER"),
        ({"consignee": CONSIGNOR}, "BAD_PARTY"), ({"consignee": "nobody"}, "BAD_PARTY"),
        ({"carriers": []}, "BAD_CARRIERS"), ({"carriers": [CARRIER1, CARRIER1]}, "BAD_CARRIERS"),
        ({"carriers": [CONSIGNEE]}, "BAD_CARRIERS"), ({"carriers": ["ghost"]}, "BAD_CARRIERS"),
        ({"taking_over": {"name": ""}}, "BAD_ARGS"), ({"taking_over": {"city": "x"}}, "BAD_PLACE"),
        ({"taking_over": {"name": "x", "gln": "6925678000028"}}, "BAD_PLACE"),
        ({"delivery_place": {"name": "x", "country": "china"}}, "BAD_PLACE"),
        ({"goods": []}, "BAD_GOODS"), ({"goods": [{**goods()[0], "packages": 0}]}, "BAD_GOODS"),
        ({"goods": [{**goods()[0], "gross_weight_g": True}]}, "BAD_GOODS"),
        ({"goods": [{**goods()[0], "colour": "red"}]}, "BAD_GOODS"),
        ({"goods": [{**goods()[0], "sscc": bad_sscc}]}, "BAD_SSCC"),
        ({"goods": [goods()[0], goods()[0]]}, "BAD_SSCC"),
        ({"goods": goods(first=10)}, "SSCC_IN_TRANSIT"),  # WB-6 carries these pallets and is not delivered
        ({"charges": [{"item": "carriage", "amount": 0}]}, "BAD_AMOUNT"),
        ({"charges": [{"item": "carriage"}]}, "BAD_CHARGES"), ({"charges_payer": "carrier"}, "BAD_CHARGES"),
        ({"charges_payer": CARRIER1}, "BAD_CHARGES"), ({"charges_payer": ""}, "BAD_CHARGES"),
        ({"cash_on_delivery": -1}, "BAD_AMOUNT"),
        ({"documents": [{"kind": "invoice", "digest": "AB", "algorithm": "sha-256"}]}, "BAD_DIGEST"),
        ({"documents": [{"kind": "poem", "digest": digest("x"), "algorithm": "sha-256"}]}, "BAD_DOCUMENT"),
        ({"temperature": {"min_c10": 50, "max_c10": 40}}, "BAD_TEMPERATURE"),
        ({"temperature": {"min_c10": 0}}, "BAD_TEMPERATURE"), ({"dispute_window_ms": -1}, "BAD_ARGS"),
    ]
    for change, code in cases:
        wb.refused(CONSIGNOR, "create", {"number": "WB-NEW", **base, **change}, code)
    wb.refused(CONSIGNOR, "create", {"number": "WB-NEW", **base, "carriers": "x"}, "BAD_ARGS")  # wrong type
    wb.refused(CONSIGNOR, "create", {"number": "WB-NEW", **base, "colour": "red"}, "BAD_ARGS")  # unknown argument
    del base["goods"]
    wb.refused(CONSIGNOR, "create", {"number": "WB-NEW", **base}, "BAD_ARGS")  # missing argument


def test_step_times_and_readings(wb: Waybill) -> None:
    wb.create("WB-7")
    wb.refused(CONSIGNOR, "hand_over", {"number": "WB-7", "at_ms": wb.now + DAY}, "BAD_TIME")
    wb.refused(CONSIGNOR, "hand_over", {"number": "WB-7", "at_ms": wb.now - 31 * DAY}, "BAD_TIME")
    earlier = wb.now - 2 * DAY
    wb.ok(CONSIGNOR, "hand_over", {"number": "WB-7", "at_ms": earlier})
    wb.refused(CARRIER1, "take_over", {"number": "WB-7", "packages": 80, "at_ms": earlier - 1}, "STEP_OUT_OF_ORDER")
    wb.ok(CARRIER1, "take_over", {"number": "WB-7", "packages": 80, "at_ms": earlier + 1000})
    wb.refused(CARRIER1, "checkpoint", {"number": "WB-7", "place": HANGZHOU, "at_ms": earlier}, "STEP_OUT_OF_ORDER")
    wb.refused(CARRIER1, "checkpoint", {"number": "WB-7", "place": HANGZHOU, "temperature_c10": 5000}, "BAD_TEMPERATURE")
    wb.refused(CARRIER1, "checkpoint", {"number": "WB-7", "place": HANGZHOU, "temperature_c10": "2.5"}, "BAD_ARGS")
    wb.refused(CARRIER1, "checkpoint", {"number": "WB-7", "place": "Hangzhou"}, "BAD_ARGS")
    wb.refused(CARRIER1, "checkpoint", {"number": "WB-404", "place": HANGZHOU}, "WAYBILL_NOT_FOUND")


def test_cancel_and_documents(wb: Waybill) -> None:
    wb.create("WB-8")
    wb.refused(CARRIER1, "cancel", {"number": "WB-8"}, "NOT_CONSIGNOR")
    wb.ok(CARRIER1, "attach_document", {"number": "WB-8", "kind": "certificate", "digest": digest("vet"),
                                        "algorithm": "sm3"})
    wb.refused(CONSIGNOR, "attach_document", {"number": "WB-8", "kind": "certificate", "digest": digest("vet"),
                                              "algorithm": "sm3"}, "DOCUMENT_EXISTS")
    wb.refused(OUTSIDER, "attach_document", {"number": "WB-8", "kind": "invoice", "digest": digest("i"),
                                             "algorithm": "sha-256"}, "NOT_A_PARTY")
    cancelled = wb.ok(CONSIGNOR, "cancel", {"number": "WB-8", "reason": "order withdrawn"})
    assert cancelled["status"] == "cancelled"
    wb.refused(CONSIGNOR, "hand_over", {"number": "WB-8"}, "WAYBILL_CANCELLED")
    again = wb.create("WB-9", goods=wb.get("WB-8")["goods"])  # its pallets are free again
    assert again["status"] == "created"
    wb.handover("WB-9", CONSIGNOR, CARRIER1, 80)
    wb.refused(CONSIGNOR, "cancel", {"number": "WB-9"}, "ALREADY_PICKED_UP")


def test_a_governance_freeze_stops_a_waybill(wb: Waybill) -> None:
    wb.create("WB-10")
    wb.chain.govern("freeze_object", {"contract": "waybill", "id": "WB-10"}, yes=5)
    wb.refused(CONSIGNOR, "hand_over", {"number": "WB-10"}, "WAYBILL_FROZEN")


def test_who_sees_what(wb: Waybill) -> None:
    wb.create("WB-11")
    third = wb.create("WB-11B", charges_payer=FUNDER2)  # freight billed to a third party, which sees the waybill
    assert third["charges"]["payer_org"] == FUNDER2 and [w["number"] for w in wb.query(FUNDER2, "mine")] == ["WB-11B"]
    for org in (CONSIGNOR, CARRIER1, CARRIER2, CONSIGNEE, REG, BANK):
        assert wb.get("WB-11", org)["number"] == "WB-11"
    with pytest.raises(Forbidden):
        wb.get("WB-11", OUTSIDER)
    with pytest.raises(NotFound):
        wb.get("WB-404")
    with pytest.raises(Forbidden):
        wb.query(CONSIGNOR, "overview")
    assert [w["number"] for w in wb.query(CARRIER2, "mine")] == ["WB-11", "WB-11B"]
    assert wb.query(OUTSIDER, "mine") == []
    assert wb.query(CARRIER2, "mine", {"status": "closed"}) == []
    with pytest.raises(BadInput):
        wb.query(CARRIER2, "mine", {"status": "lost"})
    with pytest.raises(NotFound):
        wb.query(CONSIGNOR, "receivable", {"number": "WB-11"})


def test_journey_steps_are_public_and_carry_no_commercial_data(wb: Waybill) -> None:
    created = wb.create("WB-12")
    pallet = created["goods"][0]["sscc"]
    wb.deliver("WB-12")
    steps = wb.query(None, "journey_steps", {"ssccs": [pallet]})
    assert [s["kind"] for s in steps] == ["pickup", "checkpoint", "handoff", "delivery"]
    assert all(s["waybill"] == "WB-12" and s["sscc"] == pallet for s in steps)
    assert not any("charges" in s or "consignee" in s for s in steps)
    assert wb.query(None, "journey_steps", {"ssccs": [sscc(999)]}) == []
    with pytest.raises(BadInput):
        wb.query(None, "journey_steps", {"ssccs": ["123"]})


# -- carrier financing through scf ---------------------------------------------------------

def _scf_parties(wb: Waybill) -> str:
    uscc = {o["id"]: o["uscc"] for o in wb.chain.c.genesis["orgs"]}
    for org, roles in ((CONSIGNOR, ["core"]), (CONSIGNEE, ["supplier"]), (CARRIER1, ["supplier"]),
                       (CARRIER2, ["supplier"]), (BANK, ["funder"]), (FUNDER2, ["funder"])):
        wb.scf(org, "register_party", {"roles": roles, "uscc": uscc[org], "name": org})
    return wb.scf(BANK, "grant_credit_line", {"core": CONSIGNOR, "limit": 10**9, "expires_ms": wb.now + 300 * DAY})["id"]  # type: ignore[no-any-return]


def _register(wb: Waybill, number: str, org: str = CARRIER1, code: str = "OK", **change: Any) -> Any:
    rec = wb.query(REG, "receivable", {"number": number}) if code not in ("WAYBILL_NOT_FINANCEABLE", "WAYBILL_NOT_FOUND") else \
        {"digest": digest(number), "algorithm": "sha-256", "amount": CHARGES}
    args = {"kind": "waybill", "number": number, "digest": rec["digest"], "algorithm": rec["algorithm"],
            "amount": rec["amount"], "counterparty": CONSIGNOR, **change}
    return wb.scf(org, "register_document", args, code)


def test_a_closed_waybill_is_financed_once(wb: Waybill) -> None:
    line = _scf_parties(wb)
    wb.create("WB-20")
    wb.deliver("WB-20")
    _register(wb, "WB-20", code="WAYBILL_NOT_FINANCEABLE")  # delivered, not closed yet
    wb.ok(CONSIGNEE, "close", {"number": "WB-20"})
    _register(wb, "WB-20", org=CARRIER2, code="NOT_CARRIER")
    _register(wb, "WB-20", code="BAD_DOCUMENT", amount=CHARGES + 1)
    _register(wb, "WB-20", code="BAD_DOCUMENT", counterparty=CONSIGNEE)
    _register(wb, "WB-20", code="BAD_DIGEST", digest=digest("forged"))
    _register(wb, "WB-404", code="WAYBILL_NOT_FOUND")
    doc = _register(wb, "WB-20")
    assert doc["id"] == f"{CARRIER1}:waybill:WB-20"
    _register(wb, "WB-20", code="DOCUMENT_EXISTS")  # one waybill, one registration
    voucher = wb.scf(CONSIGNOR, "issue", {"to": CARRIER1, "amount": CHARGES, "due_ms": wb.now + 60 * DAY,
                                          "credit_line": line, "documents": [doc["id"]]})
    wb.scf(CARRIER1, "accept", {"voucher_id": voucher["id"]})
    applied = wb.scf(CARRIER1, "apply_financing", {"voucher_id": voucher["id"], "funder": BANK, "kind": "factoring"})
    wb.scf(BANK, "approve_financing", {"financing_id": applied["id"], "rate_bp": 450, "fees": 0})
    assert wb.scf(BANK, "disburse", {"financing_id": applied["id"]})["status"] == "disbursed"
    # A second voucher against the same waybill cannot be financed beyond its charges, at any bank.
    second = wb.scf(CONSIGNOR, "issue", {"to": CARRIER1, "amount": CHARGES, "due_ms": wb.now + 60 * DAY,
                                         "credit_line": line, "documents": [doc["id"]]})
    wb.scf(CARRIER1, "accept", {"voucher_id": second["id"]})
    again = wb.scf(CARRIER1, "apply_financing", {"voucher_id": second["id"], "funder": FUNDER2, "kind": "factoring"})
    wb.scf(FUNDER2, "approve_financing", {"financing_id": again["id"], "rate_bp": 450, "fees": 0}, code="DOUBLE_FINANCING")


def test_a_disputed_waybill_is_not_a_receivable(wb: Waybill) -> None:
    _scf_parties(wb)
    wb.create("WB-21")
    wb.deliver("WB-21")
    wb.ok(CONSIGNEE, "dispute", {"number": "WB-21", "note": "short delivery"})
    _register(wb, "WB-21", code="WAYBILL_NOT_FINANCEABLE")
