"""Drive the invoice contract through a real executor and store: eleven organisations (the
supply-chain seven, three traceability members and the Shenzhen tax bureau), each a taxpayer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consortia.apps.invoice.model import complete_invoice
from consortia.execution.executor import Reader
from consortia.identity.x509 import Identity
from consortia.node.home import DEMO_ORGS_FULL
from tests.apps.harness import AppHarness
from tests.unit.helpers import Chain, Consortium

ORG_COUNT = 11  # up to sz-tax, the tax authority
BUYER, SELLER, BANK, REG, OTHER = "hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator", "hengtai-castings"
TAX = "sz-tax"
ORGS = {o["id"]: o for o in DEMO_ORGS_FULL[:ORG_COUNT]}
TAXPAYERS = (BUYER, SELLER, OTHER, BANK)


def party(org: str) -> dict[str, str]:
    return {"name": ORGS[org]["name"], "uscc": ORGS[org]["uscc"]}


def make_invoice(seq: int, *, lines: list[dict[str, Any]] | None = None, seller: str = SELLER, buyer: str = BUYER,
                 original: str | None = None, **extra: Any) -> dict[str, Any]:
    """A complete, consistent invoice numbered ``26442 ... seq`` (red-letter when ``original``)."""
    lines = lines or [{"item": "*汽车零配件*制动钳总成", "specification": "BC-400", "unit": "套", "quantity": "120",
                       "unit_price": "856.5", "tax_rate": "13"},
                      {"item": "*运输服务*货物运输", "amount": 1_200_00, "tax_rate": "9"}]
    content: dict[str, Any] = {"number": number(seq), "issue_date": "2026-12-03", "type": "special",
                               "seller": party(seller), "buyer": party(buyer), "lines": lines,
                               "remark": "PO HQ-PO-2026-0001", "drawer": "王丽", **extra}
    if original:
        content.update(original=original, reason=extra.get("reason", "销货退回"))
    return complete_invoice(content)


def number(seq: int) -> str:
    return f"264420{seq:014d}"


def red_lines(amount: int, rate: str = "13") -> list[dict[str, Any]]:
    return [{"item": "*汽车零配件*制动钳总成", "amount": -amount, "tax_rate": rate}]


class InvoiceChain(AppHarness):
    contract = "invoice"

    def __init__(self, consortium: Consortium, path: Path, *, register: bool = True) -> None:
        self.chain = Chain(consortium, path)
        if register:
            for org in TAXPAYERS:
                self.ok(org, "register_taxpayer", party(org))

    def issue(self, content: dict[str, Any], seller: str = SELLER) -> dict[str, Any]:
        return self.ok(seller, "issue", {"content": content})  # type: ignore[no-any-return]

    def delivered(self, seq: int, **kw: Any) -> dict[str, Any]:
        content = make_invoice(seq, **kw)
        self.issue(content, kw.get("seller", SELLER))
        self.ok(kw.get("seller", SELLER), "deliver", {"number": content["number"]})
        return content

    def identity(self, org: str, who: str = "admin") -> Identity:
        store = self.chain.store
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        return self.chain.executor.identity(reader, self.chain.c.wallet(f"{org}/{who}").sender, self.now)

    def query(self, org: str | None, method: str, args: dict[str, Any] | None = None) -> Any:
        return self.chain.executor.query("invoice", method, args or {}, self.identity(org) if org else None)
