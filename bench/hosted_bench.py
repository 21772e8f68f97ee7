"""Hosted SMEs and trade finance benchmarks.

1. Onboarding: N SMEs (a key made for each, a certificate from the operator's CA) onboarded in
   one batch by the operator through the REST API of a fresh node process, as ``consortia
   members import`` does: time to make the keys and certificates, time on the chain, and the
   bytes each member costs on the chain (its state rows, and its share of the staging
   transactions).
2. Supply chain finance with SME holders: N hosted SMEs, each sent a voucher by the automaker
   (a document and an issue each), accepting it, splitting part of it to the next SME (propose
   and answer, each signed by its SME) and applying for factoring; tx/s per phase, and the
   time of an SME's signed holdings query.
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from consortia.apps.scf.codes import make_uscc
from consortia.cli.bench import free_port, start_node
from consortia.client import Client
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.hosting import SmeRow, chunks, list_digest, plan
from consortia.identity.wallet import Wallet, load_wallet
from consortia.identity.x509 import load_pem
from consortia.ledger.records import SignedTx
from consortia.ledger.store import Store
from consortia.node.home import DEMO_ORGS, DEMO_ORGS_FULL, init_consortium

OPERATOR, CORE, BANK = "yunlian-platform", "hongqiao-auto", "pudong-bank"
DAY = 24 * 3600 * 1000
BATCH = 500


def rows(count: int) -> list[SmeRow]:
    return [SmeRow(i + 2, f"sme-{i:05d}", make_uscc(f"92330100MA{i:07d}"), f"SME No. {i} Co., Ltd.", f"Legal Rep {i}")
            for i in range(count)]


class Bench:
    def __init__(self, scratch: Path, suite_name: str) -> None:
        self.home = scratch / "c"
        self.genesis = init_consortium(self.home, orgs=len(DEMO_ORGS_FULL), chain_id="consortia-bench-hosted",
                                       suite_name=suite_name, config={"block_max_txs": 1000})
        self.suite = get_suite(self.genesis["suite"])
        self.wallets: dict[str, Wallet] = {f"{o}/admin": load_wallet(self.home, self.suite, f"{o}/admin")
                                           for o in (OPERATOR, CORE, BANK, *[d["id"] for d in DEMO_ORGS])}
        self.nonce = 0
        self.port = free_port()
        self.process = start_node(self.home, self.port)
        self.client = Client(f"http://127.0.0.1:{self.port}", timeout=600)

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(30)

    def tx(self, who: str, contract: str, method: str, args: dict[str, Any]) -> SignedTx:
        self.nonce += 1
        return build_tx(self.suite, self.wallets[who], self.genesis["chain_id"], contract, method, args, nonce=self.nonce,
                        ttl_ms=3_600_000)

    def run(self, txs: list[SignedTx]) -> tuple[list[Any], float]:
        started = time.perf_counter()
        out: list[Any] = []
        for i in range(0, len(txs), BATCH):
            for view in self.client.submit(txs[i:i + BATCH], timeout=300):
                if not view.get("committed") or view["receipt"]["status"] != "ok":
                    raise SystemExit(f"benchmark transaction failed: {view}")
                out.append(view["receipt"]["result"])
        return out, time.perf_counter() - started

    def onboard(self, count: int) -> dict[str, Any]:
        org_dir = self.home / "orgs" / OPERATOR
        started = time.perf_counter()
        members = plan(self.suite, self.suite.load_signer((org_dir / "ca.key").read_bytes()),
                       load_pem((org_dir / "ca.pem").read_bytes()), OPERATOR, rows(count), int(time.time() * 1000))
        planned = time.perf_counter() - started
        admin = f"{OPERATOR}/admin"
        [batch], _ = self.run([self.tx(admin, "hosted", "open_batch", {"count": count,
                                                                        "digest": list_digest(self.suite, members)})])
        stages = [self.tx(admin, "hosted", "stage", {"batch_id": batch["id"], "members": [m.record for m in chunk]})
                  for chunk in chunks(members)]
        _, staged = self.run(stages)
        _, committed = self.run([self.tx(admin, "hosted", "commit", {"batch_id": batch["id"]})])
        for m in members:
            assert m.key_pem is not None
            self.wallets[f"{OPERATOR}/{m.row.name}"] = Wallet(OPERATOR, m.row.name, self.suite.load_signer(m.key_pem),
                                                              m.cert)
        tx_bytes = sum(len(orjson.dumps(t.to_wire())) for t in stages)
        return {"smes": count, "suite": self.suite.name, "keys_and_certificates_s": round(planned, 2),
                "chain_s": round(staged + committed, 2), "total_s": round(planned + staged + committed, 2),
                "staging_txs": len(stages), "tx_bytes_per_member": round(tx_bytes / count),
                "smes_per_s": round(count / (planned + staged + committed))}

    def state_bytes_per_member(self, count: int) -> int:
        store = Store(self.home / "node" / "chain.db")
        try:
            total = sum(len(k) + len(v) for k, v, *_ in store.state_items() if k.startswith(("hosted/m/", "hosted/uscc/")))
        finally:
            store.close()
        return round(total / count)

    def scf_with_smes(self, smes: list[str]) -> dict[str, Any]:
        now = int(time.time() * 1000)
        parties = [self.tx(f"{o['id']}/admin", "scf", "register_party", {"roles": [o["kind"]], "uscc": o["uscc"],
                                                                          "name": o["name"]}) for o in DEMO_ORGS[:4]]
        [*_, line], _ = self.run([*parties, self.tx(f"{BANK}/admin", "scf", "grant_credit_line",
                                                    {"core": CORE, "limit": 10**15, "expires_ms": now + 300 * DAY})])
        phases: dict[str, float] = {}
        core = f"{CORE}/admin"
        docs, phases["register_document"] = self.run([self.tx(core, "scf", "register_document", {
            "kind": "contract", "number": f"PO-{i}", "digest": hashlib.sha256(f"PO-{i}".encode()).hexdigest(),
            "algorithm": "sha-256", "amount": 1_000_000, "counterparty": sme}) for i, sme in enumerate(smes)])
        issued, phases["issue"] = self.run([self.tx(core, "scf", "issue", {
            "to": sme, "amount": 1_000_000, "due_ms": now + 90 * DAY, "credit_line": line["id"], "documents": [d["id"]]})
            for sme, d in zip(smes, docs, strict=True)])
        _, phases["accept"] = self.run([self.tx(sme, "scf", "accept", {"voucher_id": v["id"]})
                                        for sme, v in zip(smes, issued, strict=True)])
        nxt = smes[1:] + smes[:1]
        transfers, phases["propose_transfer"] = self.run([self.tx(sme, "scf", "propose_transfer", {
            "voucher_id": v["id"], "outputs": [{"to": to, "amount": 400_000}]})
            for sme, v, to in zip(smes, issued, nxt, strict=True)])
        _, phases["answer_transfer"] = self.run([self.tx(to, "scf", "answer_transfer", {"transfer_id": t["id"], "accept": True})
                                                 for to, t in zip(nxt, transfers, strict=True)])
        times, pieces = [], []
        for sme in smes[:50]:
            with Client(f"http://127.0.0.1:{self.port}", wallet=self.wallets[sme]) as c:
                started = time.perf_counter()
                held = c.query("scf", "holdings", {"org": sme}, signed=True)
                times.append((time.perf_counter() - started) * 1000)
                pieces.append(next(p["id"] for p in held["pieces"] if p["amount"] == 600_000))
        _, phases["apply_financing"] = self.run([self.tx(sme, "scf", "apply_financing", {
            "voucher_id": p, "funder": BANK, "kind": "factoring"}) for sme, p in zip(smes[:50], pieces, strict=True)])
        phases["apply_financing"] *= len(smes) / 50  # as a rate over the same count as the other phases
        total = sum(phases.values())
        return {"sme_holders": len(smes), "txs_per_phase": len(smes), "phase_tps": {k: round(len(smes) / v, 1)
                                                                                    for k, v in phases.items()},
                "tps": round(len(smes) * len(phases) / total, 1), "holdings_query_ms_p50": round(statistics.median(times), 1),
                "holdings_query_ms_max": round(max(times), 1)}


def run(onboard: int = 10_000, holders: int = 1_000, suite_name: str = "ed25519-sha256") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="consortia-bench-hosted-") as scratch:
        bench = Bench(Path(scratch), suite_name)
        try:
            result = bench.onboard(onboard)
            if holders:
                result["scf"] = bench.scf_with_smes([f"{OPERATOR}/sme-{i:05d}" for i in range(min(holders, onboard))])
        finally:
            bench.close()
        result["state_bytes_per_member"] = bench.state_bytes_per_member(onboard)
    return result


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 200,
                         sys.argv[3] if len(sys.argv) > 3 else "ed25519-sha256"), indent=1))
