"""Drive the scf contract through a real executor and store, with a controllable block clock."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from consortia.execution.executor import Reader
from consortia.identity.x509 import Identity
from consortia.node.home import DEMO_ORGS
from tests.apps.harness import AppHarness
from tests.unit.helpers import Chain, Consortium

DAY = 24 * 3600 * 1000
CORE, T1, BANK, REG, T2, T3, FACTOR = (o["id"] for o in DEMO_ORGS)
ROLES = {CORE: ["core"], T1: ["supplier"], BANK: ["funder"], REG: ["regulator"], T2: ["supplier"],
         T3: ["supplier"], FACTOR: ["funder"]}
USCC = {o["id"]: o["uscc"] for o in DEMO_ORGS}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Scf(AppHarness):
    """A seven-organisation chain with every party registered and helpers per operation."""

    contract = "scf"

    def __init__(self, consortium: Consortium, path: Path) -> None:
        self.chain = Chain(consortium, path)
        for org, roles in ROLES.items():
            self.ok(org, "register_party", {"roles": roles, "uscc": USCC[org], "name": org})

    # -- building blocks ----------------------------------------------------------------

    def credit_line(self, limit: int = 10_000_000_00, funder: str = BANK) -> str:
        return self.ok(funder, "grant_credit_line", {"core": CORE, "limit": limit, "expires_ms": self.now + 400 * DAY})["id"]  # type: ignore[no-any-return]

    def document(self, number: str, amount: int, kind: str = "invoice", issuer: str = T1,
                 counterparty: str = CORE) -> str:
        return self.ok(issuer, "register_document", {"kind": kind, "number": number, "digest": digest(number),  # type: ignore[no-any-return]
                                                     "algorithm": "sha-256", "amount": amount,
                                                     "counterparty": counterparty})["id"]

    def voucher(self, amount: int, *, line: str | None = None, docs: list[str] | None = None, days: int = 90,
                to: str = T1, accept: bool = True) -> str:
        line = line or self.credit_line()
        docs = docs or [self.document(f"INV-{self.chain.store.height()}", amount)]
        voucher = self.ok(CORE, "issue", {"to": to, "amount": amount, "due_ms": self.now + days * DAY,
                                          "credit_line": line, "documents": docs})
        if accept:
            self.ok(to, "accept", {"voucher_id": voucher["id"]})
        return voucher["id"]  # type: ignore[no-any-return]

    def transfer(self, sender: str, piece: str, outputs: list[tuple[str, int]], *, accept: bool = True) -> dict[str, Any]:
        proposed = self.ok(sender, "propose_transfer", {"voucher_id": piece,
                                                        "outputs": [{"to": t, "amount": a} for t, a in outputs]})
        result = proposed
        for to in dict.fromkeys(t for t, _ in outputs):
            result = self.ok(to, "answer_transfer", {"transfer_id": proposed["id"], "accept": accept})
        return result  # type: ignore[no-any-return]

    def finance(self, holder: str, piece: str, funder: str = BANK, kind: str = "factoring",
                rate_bp: int = 550, fees: int = 100_00) -> dict[str, Any]:
        applied = self.ok(holder, "apply_financing", {"voucher_id": piece, "funder": funder, "kind": kind})
        self.ok(funder, "approve_financing", {"financing_id": applied["id"], "rate_bp": rate_bp, "fees": fees})
        return self.ok(funder, "disburse", {"financing_id": applied["id"]})  # type: ignore[no-any-return]

    # -- reads --------------------------------------------------------------------------

    def identity(self, org: str, who: str = "admin") -> Identity:
        store = self.chain.store
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        return self.chain.executor.identity(reader, self.chain.c.wallet(f"{org}/{who}").sender, self.now)

    def query(self, org: str, method: str, args: dict[str, Any] | None = None) -> Any:
        return self.chain.executor.query("scf", method, args or {}, self.identity(org))

    def piece(self, piece_id: str) -> dict[str, Any]:
        return self.query(REG, "voucher", {"voucher_id": piece_id})  # type: ignore[no-any-return]

    def leaves(self, root: str) -> list[dict[str, Any]]:
        return [p for p in self.query(REG, "lineage", {"voucher_id": root})["pieces"] if not p["children"]]
