"""Drive the waybill contract (and scf, for carrier financing) through a real executor and store."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from consortia.apps.trace.identifiers import compute_check_digit
from consortia.execution.executor import Reader
from consortia.identity.x509 import Identity
from tests.apps.harness import AppHarness
from tests.unit.helpers import Chain, Consortium

DAY = 24 * 3600 * 1000
# Eight organisations (orgs=8): the roles they play in these tests. The consignor pays the charges
# and is the consortium's core enterprise (its kind lets it issue scf vouchers).
CONSIGNOR, CARRIER2, BANK, REG, CONSIGNEE, CARRIER1, FUNDER2, OUTSIDER = (
    "hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator", "hengtai-castings", "ruifeng-fasteners",
    "zheshang-factoring", "green-valley-farm")
ORG_COUNT = 8
NANCHANG = {"name": "Lianhe cold store, Nanchang", "city": "Nanchang", "country": "CN", "gln": "6925678000029"}
HANGZHOU = {"name": "Huafeng cross-dock, Hangzhou", "city": "Hangzhou", "country": "CN"}
SHANGHAI = {"name": "Huaxin distribution centre, Jiading", "city": "Shanghai", "country": "CN"}


def sscc(serial: int) -> str:
    body = "3" + "6925678" + f"{serial:09d}"
    return body + compute_check_digit(body)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def goods(pallets: int = 2, packages: int = 40, labelled: bool = True, first: int = 1) -> list[dict[str, Any]]:
    return [{"marks": f"LH/SH {n}", "packages": packages, "packing": "carton on pallet",
             "description": "Chilled pork loin, 500 g packs", "gross_weight_g": 420_000, "volume_cm3": 1_440_000,
             **({"sscc": sscc(n)} if labelled else {})} for n in range(first, first + pallets)]


class Waybill(AppHarness):
    contract = "waybill"

    def __init__(self, consortium: Consortium, path: Path) -> None:
        self.chain = Chain(consortium, path)
        self.serial = 0

    def create(self, number: str | None = None, **overrides: Any) -> dict[str, Any]:
        self.serial += 1
        by = overrides.pop("by", CONSIGNOR)
        args: dict[str, Any] = {
            "number": number or f"WB-{self.serial:04d}", "consignee": CONSIGNEE, "carriers": [CARRIER1, CARRIER2],
            "taking_over": NANCHANG, "delivery_place": SHANGHAI, "goods": goods(first=10 * self.serial),
            "charges": [{"item": "carriage", "amount": 3_200_00}, {"item": "reefer surcharge", "amount": 480_00}],
            "temperature": {"min_c10": -10, "max_c10": 40}, **overrides}
        return self.ok(by, "create", args)  # type: ignore[no-any-return]

    def handover(self, number: str, giver: str, taker: str, packages: int, **take: Any) -> dict[str, Any]:
        place = take.pop("place", None)
        self.ok(giver, "hand_over", {"number": number, **({"place": place} if place else {})})
        return self.ok(taker, "take_over", {"number": number, "packages": packages, **take})  # type: ignore[no-any-return]

    def deliver(self, number: str, packages: int = 80, **take: Any) -> dict[str, Any]:
        self.handover(number, CONSIGNOR, CARRIER1, packages)
        self.ok(CARRIER1, "checkpoint", {"number": number, "place": HANGZHOU, "temperature_c10": 21})
        self.handover(number, CARRIER1, CARRIER2, packages, place=HANGZHOU)
        return self.handover(number, CARRIER2, CONSIGNEE, packages, **take)

    def identity(self, org: str, who: str = "admin") -> Identity:
        store = self.chain.store
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        return self.chain.executor.identity(reader, self.chain.c.wallet(f"{org}/{who}").sender, self.now)

    def query(self, org: str | None, method: str, args: dict[str, Any] | None = None, contract: str = "waybill") -> Any:
        return self.chain.executor.query(contract, method, args or {}, self.identity(org) if org else None)

    def get(self, number: str, org: str = REG) -> dict[str, Any]:
        return self.query(org, "get", {"number": number})  # type: ignore[no-any-return]

    def scf(self, org: str, method: str, args: dict[str, Any], code: str = "OK") -> Any:
        self.nonce += 1
        tx = self.chain.tx(f"{org}/admin", "scf", method, args, ttl_ms=0, not_after_height=10**9, nonce=self.nonce)
        receipt = self.chain.block(tx).receipts[0]
        assert receipt.code == code, receipt
        return receipt.result
