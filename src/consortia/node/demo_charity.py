"""Charity demo data: the Beijing Chunhui Children's Foundation raises money for a child's heart
surgery and for winter jackets for a mountain primary school.

The Civil Affairs Bureau registers the foundation (and its own community office as beneficiary
verifier), publishes its disclosure key, and verifies both needs. Three demo companies donate by
name, five individuals anonymously (one of them 200 yuan), and two gifts go to the general fund.
The surgery grant draws on the earmarked gifts and tops up from the general fund; the hospital's
invoice and a discharge photo confirm it. The jackets are bought from a supermarket and travel
under a Yida Express waybill, still awaiting confirmation; one company's transfer has not arrived.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

from consortia.apps.charity.donor import anonymous_donation_args, compute_pseudonym
from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node.home import create_sealing_key
from consortia.node.node import Node

YUAN = 100
CHARITY, AUTHORITY, VENDOR = "chunhui-foundation", "civil-affairs", "huaxin-mart"
COMPANIES = ("hongqiao-auto", "jinglian-parts", "pudong-bank")
INDIVIDUALS = [("Wang Fang, resident id 110105198803120022", 200 * YUAN, "wechat-pay"),
               ("Zhao Lei, resident id 110108199107064513", 500 * YUAN, "alipay"),
               ("Chen Jing, resident id 320102197912250041", 1_000 * YUAN, "bank-transfer"),
               ("Liu Yang, resident id 440305200002151238", 8_888, "wechat-pay"),
               ("Sun Wei, resident id 130602198506180917", 100 * YUAN, "alipay")]
WAYBILL = "YD8801234567"


def doc(label: str) -> dict[str, str]:
    return {"algorithm": "sha-256", "digest": hashlib.sha256(f"chunhui demo {label}".encode()).hexdigest(),
            "label": label}


class _Runner:
    def __init__(self, node: Node, home: Path) -> None:
        self.node, self.home, self.sent = node, home, 0

    def __call__(self, identity: str, method: str, **args: Any) -> Any:
        if "/" not in identity:
            identity += "/admin"
        wallet = load_wallet(self.home, self.node.suite, identity)
        tx = {"chain": self.node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63),
              "contract": "charity", "method": method, "args": args, "not_after_height": None,
              "not_after_ms": int(time.time() * 1000) + 600_000}
        [(_, future)] = self.node.submit([SignedTx.create(self.node.suite, wallet.signer, tx).to_wire()])
        receipt = future.result(30).receipt
        if receipt["status"] != "ok":
            raise RuntimeError(f"demo transaction charity.{method} failed: {receipt['code']} {receipt['message']}")
        self.sent += 1
        return receipt["result"]


def seed_charity_demo(node: Node, home: Path) -> dict[str, Any]:
    """Record the charity demo; returns the transactions sent and the public pages to open."""
    run = _Runner(node, home)
    suite = node.suite
    run(AUTHORITY, "register", org=CHARITY, role="charity", name="Beijing Chunhui Children's Foundation",
        licence="53110000MJ0CF0012A")
    run(AUTHORITY, "register", org=AUTHORITY, role="verifier", name="Civil Affairs Bureau community assistance office")
    key = create_sealing_key(home, suite, AUTHORITY)
    run(AUTHORITY, "publish_authority_key", key=key.public_key.hex())
    keys = {AUTHORITY: key.public_key.hex()}

    def need(title: str, purpose: str, who: str, **extra: Any) -> str:
        pseudonym = compute_pseudonym(suite, secrets.token_hex(16), who)
        found = run(CHARITY, "publish_need", title=title, purpose=purpose, beneficiary=pseudonym, verifier=AUTHORITY,
                    **extra)
        run(f"{AUTHORITY}/clerk", "attest_beneficiary", need_id=found["id"], beneficiary=pseudonym,
            evidence=[doc("household assistance record")])
        run(AUTHORITY, "verify_need", need_id=found["id"], approve=True, note="registration and evidence checked")
        return found["id"]  # type: ignore[no-any-return]

    surgery = need("Heart surgery for a six-year-old in Fuping County",
                   "Surgery and two weeks of aftercare for a child with a ventricular septal defect; the family "
                   "receives minimum-living assistance.", "patient 1 of Fuping County hospital referral",
                   target_fen=60_000 * YUAN, evidence=[doc("diagnosis report"), doc("hospital cost estimate")])
    jackets = need("Winter jackets for Laiyuan mountain primary school",
                   "Padded jackets for every pupil of a boarding school at 1,100 m before the first snow.",
                   "Laiyuan county school 7", target_fen=30_000 * YUAN,
                   items=[{"name": "padded winter jacket", "quantity": 300, "unit": "piece"}],
                   evidence=[doc("school enrolment list (counts only)")])

    def company(donor: str, amount: int, to: str, match: bool = True, pledge: bool = False) -> str:
        pledge_id = run(donor, "pledge", charity=CHARITY, amount=amount, need=to)["id"] if pledge else ""
        found = run(donor, "donate", charity=CHARITY, amount=amount, need=to, pledge_id=pledge_id,
                    payment_ref=hashlib.sha256(f"{donor} transfer {amount}".encode()).hexdigest())
        if match:
            run(CHARITY, "match_donation", donation_id=found["id"])
        return found["id"]  # type: ignore[no-any-return]

    company(COMPANIES[0], 20_000 * YUAN, surgery, pledge=True)
    company(COMPANIES[1], 10_000 * YUAN, surgery)
    company(COMPANIES[2], 15_000 * YUAN, surgery)
    mine = ""
    for donor, amount, channel in INDIVIDUALS:
        args, _salt = anonymous_donation_args(suite, keys, donor, amount, need=surgery, channel=channel)
        found = run(CHARITY, "record_donation", **args)
        mine = mine or found["id"]
    general, _ = anonymous_donation_args(suite, keys, "Zhou Min, resident id 110102197203030028", 5_000 * YUAN)
    run(CHARITY, "record_donation", **general)
    company(VENDOR, 10_000 * YUAN, "")
    company(COMPANIES[0], 30_000 * YUAN, jackets)
    company("zheshang-factoring", 8_000 * YUAN, jackets, match=False)  # its transfer has not arrived yet

    grant = run(CHARITY, "grant", need_id=surgery, kind="funds", amount=50_000 * YUAN, use_general=True,
                note="paid to the hospital's account against its invoice")
    run(f"{AUTHORITY}/clerk", "confirm_receipt", grant_id=grant["id"],
        evidence=[doc("hospital invoice"), doc("discharge photo")], note="surgery done, child discharged")
    run(CHARITY, "grant", need_id=jackets, kind="goods", amount=27_000 * YUAN, vendor=VENDOR, waybill=WAYBILL,
        items=[{"name": "padded winter jacket", "quantity": 300, "unit": "piece"}],
        note="bought from Huaxin Mart, shipped by Yida Express")
    return {"transactions": run.sent, "need_page": f"/charity/needs/{surgery}", "donation_page": f"/charity/donations/{mine}",
            "needs": [surgery, jackets]}
