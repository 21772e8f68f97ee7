"""Drive the ``trade`` and ``hosted`` contracts (and ``scf`` for hosted SMEs) through a real
executor and store: the whole demo consortium, and SMEs onboarded by the platform operator."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from consortia.execution.executor import Reader
from consortia.identity.hosting import SmeRow, check_rows, list_digest, plan
from consortia.identity.wallet import Wallet
from consortia.identity.x509 import Identity, load_pem
from consortia.node.home import DEMO_ORGS_FULL
from tests.apps.harness import AppHarness
from tests.unit.helpers import Chain, Consortium

DAY = 24 * 3600 * 1000
CUSTOMS, BANK_A, BANK_B, REG = "sh-customs", "pudong-bank", "haixin-bank", "sh-regulator"
EXPORTER, IMPORTER, LC_BANK, OPERATOR, CORE = "jinglian-parts", "huanyu-trading", "huitong-bank", "yunlian-platform", \
    "hongqiao-auto"
USCC = {o["id"]: o["uscc"] for o in DEMO_ORGS_FULL}
ORG_COUNT = len(DEMO_ORGS_FULL)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sme_uscc(i: int) -> str:
    from consortia.apps.scf.codes import make_uscc

    return make_uscc(f"92330100MA{i:07d}")


def sme_rows(count: int, start: int = 0) -> list[SmeRow]:
    return check_rows([SmeRow(i + 2, f"sme-{i:05d}", sme_uscc(i), f"SME No. {i} Co., Ltd.", f"Legal Rep {i}")
                       for i in range(start, start + count)])


class Trade(AppHarness):
    contract = "trade"

    def __init__(self, consortium: Consortium, path: Path) -> None:
        self.chain = Chain(consortium, path)

    # -- calls on any contract ------------------------------------------------------------

    def call(self, contract: str, org: str, method: str, args: dict[str, Any], who: str = "admin") -> Any:
        saved, self.contract = self.contract, contract  # type: ignore[misc]
        try:
            return self.ok(org, method, args, who=who)
        finally:
            self.contract = saved  # type: ignore[misc]

    def refused_on(self, contract: str, org: str, method: str, args: dict[str, Any], code: str, who: str = "admin") -> Any:
        saved, self.contract = self.contract, contract  # type: ignore[misc]
        try:
            return self.refused(org, method, args, code, who=who)
        finally:
            self.contract = saved  # type: ignore[misc]

    # -- building blocks ------------------------------------------------------------------

    def declaration(self, number: str = "223320260000123456", value: int = 12_000_000, currency: str = "USD",
                    exporter: str = EXPORTER, uscc: str | None = None, lines: int = 2) -> dict[str, Any]:
        per = value // lines
        items = [{"hs_code": "8708301000", "description": f"brake caliper assemblies, lot {i}", "quantity": 100 + i,
                  "unit": "set", "value": per + (value - per * lines if i == 0 else 0)} for i in range(lines)]
        return self.ok(CUSTOMS, "declare", {  # type: ignore[no-any-return]
            "number": number, "exporter": exporter, "exporter_uscc": uscc or USCC.get(exporter, ""), "lines": items,
            "currency": currency, "port": "2248 Yangshan", "date": "2026-01-05",
            "digest": digest(number), "algorithm": "sha-256"})

    def draw(self, bank: str, number: str, amount: int, currency: str = "USD", rate: str = "1",
             kind: str = "export_financing") -> dict[str, Any]:
        return self.ok(bank, "draw", {"declaration": number, "amount": amount, "currency": currency,  # type: ignore[no-any-return]
                                      "fx_rate": rate, "kind": kind, "reference": f"{bank}-loan"})

    def credit_terms(self, **over: Any) -> dict[str, Any]:
        terms = {"bank": LC_BANK, "beneficiary": EXPORTER, "amount": 5_000_000, "currency": "USD",
                 "latest_shipment": "2099-03-31", "expiry": "2099-04-30",
                 "documents": ["bill_of_lading", "commercial_invoice", "packing_list", "customs_declaration"],
                 "goods": "2,000 sets of brake calipers, CIF Hamburg"}
        return {**terms, **over}

    def issued_credit(self, **over: Any) -> dict[str, Any]:
        applied = self.ok(IMPORTER, "apply_credit", self.credit_terms(**over))
        return self.ok(LC_BANK, "issue_credit", {"credit_id": applied["id"]})  # type: ignore[no-any-return]

    @staticmethod
    def documents(*kinds: str) -> list[dict[str, str]]:
        kinds = kinds or ("bill_of_lading", "commercial_invoice", "packing_list", "customs_declaration")
        return [{"kind": k, "digest": digest(k), "algorithm": "sha-256"} for k in kinds]

    # -- hosted SMEs ----------------------------------------------------------------------

    def onboard(self, rows: list[SmeRow], operator: str = OPERATOR) -> list[str]:
        """Onboard SMEs through the ``hosted`` contract and register their wallets for signing."""
        c = self.chain.c
        home = c.home / "orgs" / operator
        ca_signer = c.suite.load_signer((home / "ca.key").read_bytes())
        ca = load_pem((home / "ca.pem").read_bytes())
        members = plan(c.suite, ca_signer, ca, operator, rows, self.now)
        batch = self.call("hosted", operator, "open_batch", {"count": len(members), "digest": list_digest(c.suite, members)})
        self.call("hosted", operator, "stage", {"batch_id": batch["id"], "members": [m.record for m in members]})
        self.call("hosted", operator, "commit", {"batch_id": batch["id"]})
        for m in members:
            assert m.key_pem is not None
            c._wallets[f"{operator}/{m.row.name}"] = Wallet(operator, m.row.name, c.suite.load_signer(m.key_pem), m.cert)
        return [f"{operator}/{m.row.name}" for m in members]

    # -- reads ----------------------------------------------------------------------------

    def identity(self, who: str) -> Identity:
        store = self.chain.store
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        return self.chain.executor.identity(reader, self.chain.c.wallet(who).sender, self.now)

    def query(self, who: str, method: str, args: dict[str, Any] | None = None, contract: str = "trade") -> Any:
        if "/" not in who:
            who = f"{who}/admin"
        return self.chain.executor.query(contract, method, args or {}, self.identity(who))
