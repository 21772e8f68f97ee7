"""The charity contract through a real executor and store, on both crypto suites: the lifecycle
of a need from publication to confirmed grants, every refusal with its code and no state change,
the donor disclosure sealed to the authority, and the ``grant_unconfirmed`` alert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consortia.apps.charity.donor import anonymous_donation_args, compute_donor_tag, open_disclosure
from consortia.errors import Forbidden, NotFound
from consortia.node.alerts import Alerts
from tests.apps.charity_harness import (
    AUTHORITY,
    CHARITY,
    DAY,
    DONORS,
    OUTSIDER,
    REGULATOR,
    VERIFIER,
    CharityChain,
    full_consortium,
    proof,
)
from tests.unit.helpers import Consortium


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    """Every demo organisation (the charity and civil affairs are among the app parties)."""
    return full_consortium(tmp_path_factory.mktemp("charity") / "c", suite_name)


@pytest.fixture
def ch(consortium: Consortium, tmp_path: Path) -> Iterator[CharityChain]:
    chain = CharityChain(consortium, tmp_path / "chain")
    yield chain
    chain.chain.close()


def pending_need(ch: CharityChain, **extra: Any) -> tuple[str, str]:
    beneficiary = "ab" * 32
    need = ch.ok(CHARITY, "publish_need", {"title": "Jackets", "purpose": "Winter jackets for a school",
                                           "beneficiary": beneficiary, "verifier": VERIFIER, "target_fen": 500_000,
                                           **extra})
    return need["id"], beneficiary


def test_a_need_funded_by_several_donors_is_granted_and_confirmed(ch: CharityChain) -> None:
    need = ch.open_need(target=100_000)
    assert ch.query("need", {"need_id": need})["status"] == "open"
    pledge = ch.ok(DONORS[0], "pledge", {"charity": CHARITY, "amount": 40_000, "need": need})
    company = ch.ok(DONORS[0], "donate", {"charity": CHARITY, "amount": 40_000, "need": need,
                                          "pledge_id": pledge["id"]})["id"]
    assert ch.table("pledge")[pledge["id"]]["status"] == "fulfilled"
    # recorded but not matched: it cannot be granted yet
    ch.refused(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 1}, "OVER_MATCHED")
    ch.ok(CHARITY, "match_donation", {"donation_id": company})
    small = ch.anonymous(20_000, need)  # "my 200 yuan"
    other = ch.company(DONORS[1], 30_000, need)
    general = ch.anonymous(50_000)
    grant = ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 100_000, "use_general": True})
    # earmarked money first, oldest first, then the general fund
    assert [(s["donation"], s["amount"], s["general"]) for s in grant["sources"]] == [
        (company, 40_000, False), (small, 20_000, False), (other, 30_000, False), (general, 10_000, True)]
    ch.ok(VERIFIER, "confirm_receipt", {"grant_id": grant["id"], "evidence": proof("hospital invoice")})
    path = ch.query("donation", {"donation_id": small})
    assert path["remaining"] == 0 and path["donor"] is None and "sealed" not in path
    assert [(u["grant"], u["amount"], u["status"]) for u in path["uses"]] == [(grant["id"], 20_000, "confirmed")]
    totals = ch.query("need", {"need_id": need})
    assert (totals["raised"], totals["general_used"], totals["granted"], totals["confirmed"], totals["pledged"]) == \
        (90_000, 10_000, 100_000, 100_000, 40_000)
    assert "beneficiary" not in totals and "beneficiary_signer" not in totals
    assert ch.query("fund", {"charity": CHARITY})["granted"] == 10_000
    assert ch.query("need_detail", {"need_id": need}, AUTHORITY)["beneficiary"]


def test_goods_go_to_a_vendor_under_a_waybill_and_a_beneficiary_signer_confirms(ch: CharityChain) -> None:
    signer = f"{VERIFIER}/clerk"
    need = ch.open_need(items=[{"name": "padded jacket", "quantity": 300, "unit": "piece"}],
                        beneficiary_signer=signer)
    ch.company(DONORS[2], 270_000, need)
    grant = ch.ok(CHARITY, "grant", {"need_id": need, "kind": "goods", "amount": 270_000, "vendor": "huaxin-mart",
                                     "items": [{"name": "padded jacket", "quantity": 300}], "waybill": "YD8801234567"})
    assert (grant["recipient"], grant["waybill"], grant["items"][0]["unit"]) == ("huaxin-mart", "YD8801234567", "piece")
    ch.refused(CHARITY, "confirm_receipt", {"grant_id": grant["id"], "evidence": proof("photo")}, "NOT_CONFIRMER")
    done = ch.ok(VERIFIER, "confirm_receipt", {"grant_id": grant["id"], "evidence": proof("photo")}, who="clerk")
    assert done["status"] == "confirmed" and done["confirmation"]["late"] is False


def test_a_returned_grant_gives_the_money_back_to_its_donations(ch: CharityChain) -> None:
    need = ch.open_need()
    first = ch.company(DONORS[0], 10_000, need)
    grant = ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 6_000})
    ch.ok(CHARITY, "record_exception", {"grant_id": grant["id"], "reason": "returned", "note": "account closed",
                                        "returned": True})
    donation = ch.query("donation", {"donation_id": first})
    assert donation["remaining"] == 10_000 and donation["uses"][0]["returned"] is True
    need_now = ch.query("need", {"need_id": need})
    assert (need_now["granted"], need_now["exceptions"]) == (0, 6_000)
    ch.refused(CHARITY, "confirm_receipt", {"grant_id": grant["id"], "evidence": proof("x")}, "NOT_CONFIRMER")
    ch.refused(VERIFIER, "confirm_receipt", {"grant_id": grant["id"], "evidence": proof("x")}, "NOT_DISBURSED")
    ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 10_000})  # all of it again


def test_an_earmarked_donation_serves_only_its_need(ch: CharityChain) -> None:
    need_a, need_b = ch.open_need(), ch.open_need()
    ch.company(DONORS[0], 5_000, need_a)
    ch.refused(CHARITY, "grant", {"need_id": need_b, "kind": "funds", "amount": 1, "use_general": True}, "OVER_MATCHED")
    ch.anonymous(2_000)
    grant = ch.ok(CHARITY, "grant", {"need_id": need_b, "kind": "funds", "amount": 2_000, "use_general": True})
    assert all(s["general"] for s in grant["sources"])
    ch.refused(CHARITY, "grant", {"need_id": need_a, "kind": "funds", "amount": 5_001, "use_general": True},
               "OVER_MATCHED")


def test_the_need_lifecycle_refuses_every_step_out_of_turn(ch: CharityChain) -> None:
    need, beneficiary = pending_need(ch)
    ch.refused(DONORS[0], "donate", {"charity": CHARITY, "amount": 100, "need": need}, "NEED_NOT_OPEN")
    ch.refused(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 1}, "NEED_NOT_OPEN")
    ch.refused(AUTHORITY, "verify_need", {"need_id": need, "approve": True}, "NOT_ATTESTED")
    ch.refused(OUTSIDER, "attest_beneficiary", {"need_id": need, "beneficiary": beneficiary}, "NOT_VERIFIER")
    ch.refused(VERIFIER, "attest_beneficiary", {"need_id": need, "beneficiary": "cd" * 32}, "BENEFICIARY_MISMATCH")
    ch.ok(VERIFIER, "attest_beneficiary", {"need_id": need, "beneficiary": beneficiary})
    ch.refused(VERIFIER, "attest_beneficiary", {"need_id": need, "beneficiary": beneficiary}, "ALREADY_ATTESTED")
    ch.refused(CHARITY, "verify_need", {"need_id": need, "approve": True}, "NOT_CIVIL_AFFAIRS")
    ch.refused(REGULATOR, "verify_need", {"need_id": need, "approve": True}, "NOT_CIVIL_AFFAIRS")
    ch.refused(AUTHORITY, "verify_need", {"need_id": need, "approve": False}, "BAD_ARGS")  # a rejection says why
    ch.ok(AUTHORITY, "verify_need", {"need_id": need, "approve": True})
    ch.refused(AUTHORITY, "verify_need", {"need_id": need, "approve": False, "note": "late"}, "NOT_PENDING")
    ch.refused(DONORS[0], "close_need", {"need_id": need}, "NOT_OWN_NEED")
    ch.ok(CHARITY, "close_need", {"need_id": need})
    ch.refused(DONORS[0], "donate", {"charity": CHARITY, "amount": 100, "need": need}, "NEED_NOT_OPEN")
    rejected, _ = pending_need(ch, title="Other")
    ch.ok(AUTHORITY, "verify_need", {"need_id": rejected, "approve": False, "note": "evidence does not match"})
    assert ch.query("need", {"need_id": rejected})["status"] == "rejected"


def test_seats_come_from_the_authority_never_from_the_party(ch: CharityChain) -> None:
    ch.refused(OUTSIDER, "register", {"org": OUTSIDER, "role": "charity", "name": "Self-made"}, "NOT_CIVIL_AFFAIRS")
    ch.refused(OUTSIDER, "publish_authority_key", {"key": "ab" * 32}, "NOT_CIVIL_AFFAIRS")
    ch.refused(AUTHORITY, "register", {"org": CHARITY, "role": "charity", "name": "again"}, "ALREADY_REGISTERED")
    ch.refused(AUTHORITY, "register", {"org": "nobody", "role": "charity", "name": "x"}, "UNKNOWN_ORG")
    ch.refused(AUTHORITY, "register", {"org": OUTSIDER, "role": "bank", "name": "x"}, "BAD_ROLE")
    base = {"title": "t", "purpose": "p", "beneficiary": "ab" * 32, "verifier": VERIFIER, "target_fen": 100}
    ch.refused(OUTSIDER, "publish_need", base, "NOT_CHARITY")
    ch.refused(CHARITY, "publish_need", {**base, "verifier": OUTSIDER}, "NOT_VERIFIER")
    ch.refused(CHARITY, "record_donation", {"amount": 1, "donor_tag": "ab" * 32, "sealed": {}}, "MISSING_RECIPIENT")
    ch.refused(OUTSIDER, "record_donation", {"amount": 1, "donor_tag": "ab" * 32, "sealed": {}}, "NOT_CHARITY")
    ch.refused(DONORS[0], "donate", {"charity": OUTSIDER, "amount": 100}, "NOT_CHARITY")


@pytest.mark.parametrize("args, code", [
    ({"beneficiary": "Zhang San, id 110101..."}, "BAD_DIGEST"),  # personal data instead of a pseudonym
    ({"target_fen": 0}, "NO_TARGET"),
    ({"target_fen": -5}, "BAD_AMOUNT"),
    ({"items": [{"name": "jacket", "quantity": 0}]}, "BAD_ITEMS"),
    ({"evidence": [{"algorithm": "md5", "digest": "ab" * 32}]}, "BAD_EVIDENCE"),
    ({"evidence": [{"algorithm": "sha-256", "digest": "AB" * 32}]}, "BAD_DIGEST"),
    ({"confirm_days": 0}, "BAD_ARGS"),
    ({"beneficiary_signer": "no-slash"}, "BAD_ARGS"),
    ({"title": ""}, "BAD_ARGS"),
    ({"target_fen": "100"}, "BAD_ARGS"),  # the executor checks the annotated types
    ({"surprise": 1}, "BAD_ARGS"),
])
def test_bad_need_arguments_are_refused_with_a_code(ch: CharityChain, args: dict[str, Any], code: str) -> None:
    base = {"title": "t", "purpose": "p", "beneficiary": "ab" * 32, "verifier": VERIFIER, "target_fen": 100}
    ch.refused(CHARITY, "publish_need", {**base, **args}, code)


def test_bad_donations_and_grants_are_refused_with_a_code(ch: CharityChain) -> None:
    need = ch.open_need()
    ch.refused(DONORS[0], "donate", {"charity": CHARITY, "amount": 0, "need": need}, "BAD_AMOUNT")
    ch.refused(DONORS[0], "donate", {"charity": CHARITY, "amount": True, "need": need}, "BAD_ARGS")
    ch.refused(DONORS[0], "donate", {"charity": CHARITY, "amount": 10, "need": need, "payment_ref": "x"}, "BAD_DIGEST")
    ch.refused(DONORS[0], "donate", {"charity": CHARITY, "amount": 10, "need": "f" * 32}, "NEED_NOT_FOUND")
    ch.refused(DONORS[0], "donate", {"charity": CHARITY, "amount": 10, "pledge_id": "nope"}, "PLEDGE_NOT_FOUND")
    pledge = ch.ok(DONORS[0], "pledge", {"charity": CHARITY, "amount": 10, "need": need})["id"]
    ch.refused(DONORS[1], "donate", {"charity": CHARITY, "amount": 10, "need": need, "pledge_id": pledge},
               "PLEDGE_MISMATCH")
    args, _ = anonymous_donation_args(ch.suite, ch.keys(), "Li Ming", 100, need=need)
    ch.refused(CHARITY, "record_donation", {**args, "channel": "bitcoin"}, "BAD_CHANNEL")
    ch.refused(CHARITY, "record_donation", {**args, "donor_tag": "Li Ming"}, "BAD_DIGEST")
    ch.refused(CHARITY, "record_donation", {**args, "sealed": {AUTHORITY: "zz"}}, "BAD_SEALED")
    ch.refused(CHARITY, "record_donation", {**args, "sealed": {**args["sealed"], OUTSIDER: "00"}}, "MISSING_RECIPIENT")
    recorded = ch.company(DONORS[0], 5_000, need, match=False)
    ch.refused(DONORS[0], "match_donation", {"donation_id": recorded}, "NOT_CHARITY")
    ch.refused(CHARITY, "decline_donation", {"donation_id": recorded, "reason": ""}, "BAD_ARGS")
    ch.ok(CHARITY, "decline_donation", {"donation_id": recorded, "reason": "no transfer arrived"})
    ch.refused(CHARITY, "match_donation", {"donation_id": recorded}, "NOT_RECORDED")
    ch.company(DONORS[1], 5_000, need)
    grant = {"need_id": need, "kind": "funds", "amount": 1_000}
    ch.refused(CHARITY, "grant", {**grant, "kind": "loan"}, "BAD_KIND")
    ch.refused(CHARITY, "grant", {**grant, "vendor": CHARITY}, "UNKNOWN_ORG")
    ch.refused(CHARITY, "grant", {**grant, "waybill": "YD1"}, "BAD_ARGS")  # a waybill belongs to goods
    ch.refused(CHARITY, "grant", {**grant, "kind": "goods"}, "BAD_ITEMS")
    ch.refused(DONORS[0], "grant", grant, "NOT_OWN_NEED")
    ch.refused(CHARITY, "grant", {**grant, "amount": 5_001}, "OVER_MATCHED")
    granted = ch.ok(CHARITY, "grant", grant)["id"]
    ch.refused(VERIFIER, "confirm_receipt", {"grant_id": granted, "evidence": []}, "BAD_EVIDENCE")
    ch.refused(OUTSIDER, "confirm_receipt", {"grant_id": granted, "evidence": proof("x")}, "NOT_CONFIRMER")
    ch.refused(OUTSIDER, "record_exception", {"grant_id": granted, "reason": "lost", "note": "n"}, "NOT_CONFIRMER")
    ch.refused(CHARITY, "record_exception", {"grant_id": granted, "reason": "stolen?", "note": "n"}, "BAD_REASON")
    ch.ok(VERIFIER, "confirm_receipt", {"grant_id": granted, "evidence": proof("receipt")})
    ch.refused(VERIFIER, "confirm_receipt", {"grant_id": granted, "evidence": proof("again")}, "NOT_DISBURSED")
    ch.refused(CHARITY, "record_exception", {"grant_id": granted, "reason": "lost", "note": "n"}, "NOT_DISBURSED")
    ch.refused(VERIFIER, "confirm_receipt", {"grant_id": "missing", "evidence": proof("x")}, "GRANT_NOT_FOUND")


def test_the_donor_is_anonymous_in_public_and_known_to_the_authority(ch: CharityChain) -> None:
    need = ch.open_need()
    args, salt = anonymous_donation_args(ch.suite, ch.keys(), "Wang Fang, resident id 110105198803120022", 20_000,
                                         need=need, channel="wechat-pay")
    donation = ch.ok(CHARITY, "record_donation", args)
    assert donation["donor"] is None and "sealed" not in donation
    assert donation["donor_tag"] == compute_donor_tag(ch.suite, salt, "Wang Fang, resident id 110105198803120022")
    public = str(ch.query("donations", {"need_id": need}))
    assert "Wang Fang" not in public and args["sealed"][AUTHORITY] not in public
    sealed = ch.query("disclosure", {"donation_id": donation["id"]}, AUTHORITY)
    opened = open_disclosure(ch.suite, ch.authority_key, sealed["sealed"], sealed["donor_tag"])
    assert (opened["donor"], opened["salt"], opened["verified"]) == ("Wang Fang, resident id 110105198803120022",
                                                                     salt, True)
    for org in (CHARITY, REGULATOR, OUTSIDER):
        with pytest.raises(Forbidden):
            ch.query("disclosure", {"donation_id": donation["id"]}, org)
    # a charity that seals someone else's name is caught: the disclosure does not match the tag
    lying, _ = anonymous_donation_args(ch.suite, ch.keys(), "Someone Else", 100, need=need)
    lying["donor_tag"] = donation["donor_tag"]
    other = ch.ok(CHARITY, "record_donation", lying)
    sealed = ch.query("disclosure", {"donation_id": other["id"]}, AUTHORITY)
    assert open_disclosure(ch.suite, ch.authority_key, sealed["sealed"], sealed["donor_tag"])["verified"] is False
    company = ch.company(DONORS[0], 100, need)
    with pytest.raises(NotFound):
        ch.query("disclosure", {"donation_id": company}, AUTHORITY)


def test_who_may_read_what(ch: CharityChain) -> None:
    need = ch.open_need()
    for org in (CHARITY, VERIFIER, AUTHORITY, REGULATOR):
        assert len(ch.query("need_detail", {"need_id": need}, org)["beneficiary"]) == 64
    with pytest.raises(Forbidden):
        ch.query("need_detail", {"need_id": need}, OUTSIDER)
    with pytest.raises(Forbidden):
        ch.query("overview", {}, CHARITY)
    with pytest.raises(NotFound):
        ch.query("need", {"need_id": "0" * 32})
    assert [n["id"] for n in ch.query("needs", {"charity": CHARITY, "status": "open"})["needs"]] == [need]
    assert ch.query("registry", {})["charity"][0]["org"] == CHARITY


def test_an_unconfirmed_grant_raises_an_alert_once_its_deadline_passes_in_block_time(ch: CharityChain,
                                                                                   tmp_path: Path) -> None:
    alerts = Alerts(tmp_path / "alerts.db")
    fed = 0

    def feed() -> list[dict[str, Any]]:
        nonlocal fed
        raised = []
        for height in range(fed + 1, ch.chain.store.height() + 1):
            block = ch.chain.store.get_block(height)
            assert block is not None
            raised += alerts.on_block(height, block.header.time_ms, [w["tx"] for w in block.txs],
                                      [r.to_dict() for r in block.receipts], lambda tx: "org")
        fed = ch.chain.store.height()
        return [a for a in raised if a["rule"] == "grant_unconfirmed"]

    need = ch.open_need(confirm_days=2)
    ch.company(DONORS[0], 9_000, need)
    late = ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 3_000})["id"]
    prompt = ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 3_000})["id"]
    excepted = ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 3_000})["id"]
    ch.ok(VERIFIER, "confirm_receipt", {"grant_id": prompt, "evidence": proof("receipt")})
    ch.ok(CHARITY, "record_exception", {"grant_id": excepted, "reason": "lost", "note": "parcel lost"})
    assert feed() == []
    ch.chain.block(time_ms=ch.now + 2 * DAY + 1000)  # an empty block past the deadline
    [alert] = feed()
    assert (alert["org"], alert["detail"]["grant"], alert["detail"]["need"]) == (CHARITY, late, need)
    ch.chain.block(time_ms=ch.now + DAY)
    assert feed() == []  # raised once
    assert [g["id"] for g in ch.query("overview", {}, AUTHORITY)["overdue_grants"]] == [late]
    confirmed = ch.ok(VERIFIER, "confirm_receipt", {"grant_id": late, "evidence": proof("late receipt")})
    assert confirmed["confirmation"]["late"] is True
    alerts.close()
    again = Alerts(tmp_path / "alerts.db")  # the watch list survives a restart
    assert again.derived_height() == fed
    again.close()


def vote(ch: CharityChain, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The first organisation proposes and the others approve until the vote passes (a freeze needs
    a majority and every regulator organisation's yes)."""
    orgs = ch.chain.c.org_ids
    proposal = ch.chain.ok(f"{orgs[0]}/admin", "gov", "propose", {"action": action, "params": params})
    for org in orgs[1:]:
        if proposal["status"] != "open":
            break
        proposal = ch.chain.ok(f"{org}/admin", "gov", "vote", {"proposal_id": proposal["id"], "approve": True})
    return proposal  # type: ignore[no-any-return]


def test_a_need_frozen_by_governance_refuses_every_change_until_unfrozen(ch: CharityChain) -> None:
    need = ch.open_need()
    ch.company(DONORS[0], 5_000, need)
    grant = ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 1_000})["id"]
    recorded = ch.company(DONORS[1], 700, need, match=False)
    params = {"contract": "charity", "id": need}
    assert vote(ch, "freeze_object", params)["status"] == "passed"
    ch.refused(DONORS[0], "donate", {"charity": CHARITY, "amount": 100, "need": need}, "NEED_FROZEN")
    ch.refused(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 100}, "NEED_FROZEN")
    ch.refused(CHARITY, "match_donation", {"donation_id": recorded}, "NEED_FROZEN")
    ch.refused(VERIFIER, "confirm_receipt", {"grant_id": grant, "evidence": proof("receipt")}, "NEED_FROZEN")
    ch.refused(CHARITY, "close_need", {"need_id": need}, "NEED_FROZEN")
    assert ch.query("need", {"need_id": need})["granted"] == 1_000  # still readable
    assert vote(ch, "unfreeze_object", params)["status"] == "passed"
    ch.ok(VERIFIER, "confirm_receipt", {"grant_id": grant, "evidence": proof("receipt")})


def test_a_grant_draws_across_many_small_donations_and_spent_ones_leave_the_pool(ch: CharityChain) -> None:
    need = ch.open_need()
    args, _ = anonymous_donation_args(ch.suite, ch.keys(), "many donors", 100, need=need)
    ids = [ch.ok(CHARITY, "record_donation", args)["id"] for _ in range(230)]  # more than one page of the pool
    grant = ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 22_050})
    assert [s["donation"] for s in grant["sources"]] == ids[:221] and grant["sources"][-1]["amount"] == 50
    assert len(ch.table("pool")) == 230 - 220
    ch.refused(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 951}, "OVER_MATCHED")
    ch.ok(CHARITY, "grant", {"need_id": need, "kind": "funds", "amount": 950})
    assert ch.table("pool") == {}
    pages, after = [], ""
    while after is not None:
        page = ch.query("donations", {"need_id": need, "after": after, "limit": 100})
        pages.append([d["id"] for d in page["donations"]])
        after = page["next"]
    assert [len(p) for p in pages] == [100, 100, 30] and sum(pages, []) == ids
    for odd in ("\x00", "\U0010ffff", "../../don"):
        assert ch.query("donations", {"need_id": need, "after": odd})["next"] is None
