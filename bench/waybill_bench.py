"""Waybill benchmark: location checkpoints per second.

``waybills`` cold-chain waybills are created and picked up (each handover proposed and confirmed,
not timed); then every carrier in custody records ``per_waybill`` checkpoints with a reefer
temperature, signed before the clock starts, posted in batches to the REST API of a fresh node
process, every commit awaited. A checkpoint reads and rewrites its waybill and writes one step,
so the rate does not fall as a waybill's history grows (the last quarter is timed apart).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from consortia.cli.bench import free_port, start_node
from consortia.client import Client
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node.home import init_consortium

ORGS = 8
CONSIGNOR, CONSIGNEE, CARRIER = "hengtai-castings", "hongqiao-auto", "ruifeng-fasteners"
BATCH = 500


class Setup:
    def __init__(self, home: Path, suite_name: str) -> None:
        self.genesis = init_consortium(home, orgs=ORGS, chain_id="consortia-bench-waybill", suite_name=suite_name)
        self.home, self.suite = home, get_suite(self.genesis["suite"])
        self.wallets = {org: load_wallet(home, self.suite, f"{org}/admin") for org in (CONSIGNOR, CONSIGNEE, CARRIER)}
        self.nonce = 0

    def tx(self, org: str, method: str, args: dict[str, Any]) -> SignedTx:
        self.nonce += 1
        return build_tx(self.suite, self.wallets[org], self.genesis["chain_id"], "waybill", method, args,
                        nonce=self.nonce, ttl_ms=3_600_000)


def submit(client: Client, txs: list[SignedTx]) -> float:
    started = time.perf_counter()
    for i in range(0, len(txs), BATCH):
        views = client.submit(txs[i:i + BATCH], timeout=300)
        bad = [v for v in views if not v.get("committed") or v["receipt"]["status"] != "ok"]
        if bad:
            raise SystemExit(f"benchmark transaction failed: {bad[0]}")
    return time.perf_counter() - started


def checkpoints(waybills: int = 200, per_waybill: int = 25, suite_name: str = "ed25519-sha256") -> dict[str, Any]:
    place = {"name": "G60 service area", "city": "Jinhua", "country": "CN"}
    with tempfile.TemporaryDirectory(prefix="consortia-bench-waybill-") as scratch:
        s = Setup(Path(scratch) / "c", suite_name)
        numbers = [f"WB-BENCH-{n:06d}" for n in range(waybills)]
        port = free_port()
        process = start_node(s.home, port)
        try:
            with Client(f"http://127.0.0.1:{port}", timeout=600) as c:
                submit(c, [s.tx(CONSIGNOR, "create", {
                    "number": n, "consignee": CONSIGNEE, "carriers": [CARRIER], "taking_over": place,
                    "delivery_place": place, "temperature": {"min_c10": -10, "max_c10": 40},
                    "goods": [{"packages": 40, "packing": "carton", "description": "chilled pork", "gross_weight_g": 436_000}],
                    "charges": [{"item": "carriage", "amount": 520_000}]}) for n in numbers])
                submit(c, [s.tx(CONSIGNOR, "hand_over", {"number": n}) for n in numbers])
                submit(c, [s.tx(CARRIER, "take_over", {"number": n, "packages": 40}) for n in numbers])
                rounds = [[s.tx(CARRIER, "checkpoint", {"number": n, "place": place, "temperature_c10": 20 + r % 15})
                           for n in numbers] for r in range(per_waybill)]
                early = [tx for r in rounds[: per_waybill * 3 // 4] for tx in r]
                late = [tx for r in rounds[per_waybill * 3 // 4:] for tx in r]
                early_s = submit(c, early)
                late_s = submit(c, late)
        finally:
            process.terminate()
            process.wait(30)
    total = len(early) + len(late)
    return {"suite": suite_name, "waybills": waybills, "checkpoints": total, "per_waybill": per_waybill,
            "batch": BATCH, "seconds": round(early_s + late_s, 2), "per_s": round(total / (early_s + late_s), 1),
            "last_quarter_per_s": round(len(late) / late_s, 1) if late else None}
