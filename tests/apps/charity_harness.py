"""Drive the charity contract through a real executor and store on the full demo consortium."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from consortia.apps.charity.donor import anonymous_donation_args, compute_pseudonym
from consortia.execution.executor import Reader
from consortia.identity.x509 import Identity
from consortia.node.home import DEMO_ORG_COUNT_FULL, load_sealing_key
from consortia.types import codec
from tests.apps.harness import AppHarness
from tests.unit.helpers import Chain, Consortium

DAY = 24 * 3600 * 1000
CHARITY, AUTHORITY = "chunhui-foundation", "civil-affairs"
VERIFIER = "huaxin-mart"  # any member the authority registers as a beneficiary verifier
DONORS = ("hongqiao-auto", "jinglian-parts", "pudong-bank")
REGULATOR = "sh-regulator"
OUTSIDER = "yida-express"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def proof(label: str) -> list[dict[str, str]]:
    return [{"algorithm": "sha-256", "digest": digest(label), "label": label}]


def full_consortium(home: Path, suite_name: str) -> Consortium:
    return Consortium(home, orgs=DEMO_ORG_COUNT_FULL, suite_name=suite_name)


class CharityChain(AppHarness):
    """The authority registered, its key published, a charity and a verifier registered."""

    contract = "charity"

    def __init__(self, consortium: Consortium, path: Path) -> None:
        self.chain = Chain(consortium, path)
        self.suite = consortium.suite
        self.authority_key = load_sealing_key(consortium.home, self.suite, AUTHORITY)
        assert self.authority_key is not None
        self.ok(AUTHORITY, "register", {"org": CHARITY, "role": "charity", "name": "Chunhui Children's Foundation",
                                        "licence": "53110000MJ0CF0012A"})
        self.ok(AUTHORITY, "register", {"org": VERIFIER, "role": "verifier", "name": "Community service centre"})
        self.ok(AUTHORITY, "publish_authority_key", {"key": self.authority_key.public_key.hex()})

    def table(self, prefix: str) -> dict[str, Any]:
        full = f"charity/{prefix}/"
        return {k[len(full):]: codec.decode(v) for k, v, _, _ in self.chain.rows() if k.startswith(full)}

    def open_need(self, target: int = 1_000_000, **extra: Any) -> str:
        args = {"title": f"Heart surgery {self.nonce}", "purpose": "Surgery for a child with a congenital heart defect",
                "beneficiary": compute_pseudonym(self.suite, "s", f"child-{self.nonce}"), "verifier": VERIFIER,
                "target_fen": target, "evidence": proof("diagnosis"), **extra}
        need = self.ok(CHARITY, "publish_need", args)
        self.ok(VERIFIER, "attest_beneficiary", {"need_id": need["id"], "beneficiary": args["beneficiary"]})
        self.ok(AUTHORITY, "verify_need", {"need_id": need["id"], "approve": True})
        return need["id"]  # type: ignore[no-any-return]

    def keys(self) -> dict[str, str]:
        return self.chain.executor.query("charity", "authority_keys", {}, None)["keys"]  # type: ignore[no-any-return]

    def anonymous(self, amount: int, need: str = "", donor: str = "Li Ming, resident id 1101...", **kw: Any) -> str:
        args, _ = anonymous_donation_args(self.suite, self.keys(), donor, amount, need=need)
        return self.ok(CHARITY, "record_donation", {**args, **kw})["id"]  # type: ignore[no-any-return]

    def company(self, donor: str, amount: int, need: str = "", match: bool = True) -> str:
        donation = self.ok(donor, "donate", {"charity": CHARITY, "amount": amount, "need": need,
                                             "payment_ref": digest(f"slip {donor} {amount}")})
        if match:
            self.ok(CHARITY, "match_donation", {"donation_id": donation["id"]})
        return donation["id"]  # type: ignore[no-any-return]

    def identity(self, org: str, who: str = "admin") -> Identity:
        store = self.chain.store
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        return self.chain.executor.identity(reader, self.chain.c.wallet(f"{org}/{who}").sender, self.now)

    def query(self, method: str, args: dict[str, Any], org: str | None = None, who: str = "admin") -> Any:
        caller = None if org is None else self.identity(org, who)
        return self.chain.executor.query("charity", method, args, caller)
