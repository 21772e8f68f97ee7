"""Supply chain finance benchmarks.

1. Workload: N vouchers through issue, accept, split-transfer, answer, apply, approve, disburse
   and settle, submitted through the REST API of a fresh node process, phase by phase in
   batches (each phase needs the ids the previous one produced). Reports tx/s per phase and
   overall, not counting the wait for the vouchers to fall due.
2. Lineage: a chain holding 100,000 voucher pieces (20,000 vouchers of five pieces each, plus
   one voucher split into 1,000 pieces); the time to answer signed `lineage` queries through the
   API, for a typical tree and for the big one.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from consortia.cli.bench import free_port, start_node
from consortia.client import Client
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.wallet import load_wallet
from consortia.ledger.records import SignedTx
from consortia.node import Node
from consortia.node.home import DEMO_ORG_COUNT, DEMO_ORGS, init_consortium

CORE, T1, BANK, REG, T2, T3, FACTOR = (o["id"] for o in DEMO_ORGS)
DAY = 24 * 3600 * 1000
BATCH = 500


class Setup:
    """A seven-organisation consortium with parties, a credit line and one big invoice."""

    def __init__(self, home: Path, **init: Any) -> None:
        self.home = home
        self.genesis = init_consortium(home, orgs=DEMO_ORG_COUNT, chain_id="consortia-bench-scf", **init)
        self.suite = get_suite(self.genesis["suite"])
        self.wallets = {o["id"]: load_wallet(home, self.suite, f"{o['id']}/admin") for o in DEMO_ORGS}
        self.nonce = 0

    def tx(self, org: str, method: str, args: dict[str, Any]) -> SignedTx:
        self.nonce += 1
        return build_tx(self.suite, self.wallets[org], self.genesis["chain_id"], "scf", method, args,
                        nonce=self.nonce, ttl_ms=3_600_000)

    @staticmethod
    def children(node: Node, piece_id: str) -> list[str]:
        from consortia.types import codec

        raw = node.store.state_read(f"scf/v/{piece_id}")
        return list(codec.decode(raw.value)["children"]) if raw else []

    @staticmethod
    def tree_of(node: Node, root: str) -> list[str]:
        """Piece ids of the tree under ``root``."""
        rows = node.store.state_range(f"scf/tree/{root}/", f"scf/tree/{root}/\U0010ffff", 10_000_000, writer=False)
        return [k for k, _ in rows]

    def preamble(self) -> list[SignedTx]:
        now = int(time.time() * 1000)
        txs = [self.tx(o["id"], "register_party", {"roles": [o["kind"]], "uscc": o["uscc"], "name": o["name"]})
               for o in DEMO_ORGS]
        txs.append(self.tx(BANK, "grant_credit_line", {"core": CORE, "limit": 10**15, "expires_ms": now + 300 * DAY}))
        txs.append(self.tx(T1, "register_document", {"kind": "invoice", "number": "BENCH-1", "algorithm": "sha-256",
                                                     "digest": hashlib.sha256(b"bench").hexdigest(),
                                                     "amount": 10**15, "counterparty": CORE}))
        return txs


def results(views: list[dict[str, Any]]) -> list[Any]:
    bad = [v for v in views if not v.get("committed") or v["receipt"]["status"] != "ok"]
    if bad:
        raise SystemExit(f"benchmark transaction failed: {bad[0]}")
    return [v["receipt"]["result"] for v in views]


def run_phase(client: Client, txs: list[SignedTx]) -> tuple[list[Any], float]:
    started = time.perf_counter()
    out: list[Any] = []
    for i in range(0, len(txs), BATCH):
        out.extend(results(client.submit(txs[i:i + BATCH], timeout=300)))
    return out, time.perf_counter() - started


def workload(vouchers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="consortia-bench-scf-") as scratch:
        s = Setup(Path(scratch) / "c")
        port = free_port()
        process = start_node(s.home, port)
        phases: dict[str, float] = {}
        try:
            with Client(f"http://127.0.0.1:{port}", timeout=600) as c:
                [line, invoice] = [r["id"] for r in run_phase(c, s.preamble())[0][-2:]]
                due = int(time.time() * 1000) + 30_000 + vouchers * 3
                issued, phases["issue"] = run_phase(c, [s.tx(CORE, "issue", {
                    "to": T1, "amount": 1_000_000, "due_ms": due, "credit_line": line, "documents": [invoice]})
                    for _ in range(vouchers)])
                ids = [v["id"] for v in issued]
                _, phases["accept"] = run_phase(c, [s.tx(T1, "accept", {"voucher_id": v}) for v in ids])
                transfers, phases["propose_transfer"] = run_phase(c, [s.tx(T1, "propose_transfer", {
                    "voucher_id": v, "outputs": [{"to": T2, "amount": 400_000}]}) for v in ids])
                _, phases["answer_transfer"] = run_phase(c, [s.tx(T2, "answer_transfer", {
                    "transfer_id": t["id"], "accept": True}) for t in transfers])
                with Client.from_home(s.home, f"{T2}/admin", f"http://127.0.0.1:{port}") as t2:
                    t2_pieces = [p["id"] for p in t2.query("scf", "holdings", {"org": T2}, signed=True)["pieces"]]
                applied, phases["apply_financing"] = run_phase(c, [s.tx(T2, "apply_financing", {
                    "voucher_id": p, "funder": FACTOR, "kind": "factoring"}) for p in t2_pieces])
                _, phases["approve_financing"] = run_phase(c, [s.tx(FACTOR, "approve_financing", {
                    "financing_id": f["id"], "rate_bp": 560, "fees": 0}) for f in applied])
                _, phases["disburse"] = run_phase(c, [s.tx(FACTOR, "disburse", {"financing_id": f["id"]})
                                                      for f in applied])
                time.sleep(max(0.0, (due - time.time() * 1000) / 1000) + 0.5)
                _, phases["settle"] = run_phase(c, [s.tx(CORE, "settle", {"voucher_id": v}) for v in ids])
        finally:
            process.terminate()
            process.wait(30)
    total_txs = vouchers * len(phases)
    total_s = sum(phases.values())
    return {"vouchers": vouchers, "txs": total_txs, "seconds": round(total_s, 2), "tps": round(total_txs / total_s, 1),
            "phase_tps": {k: round(vouchers / v, 1) for k, v in phases.items()}}


def lineage(vouchers: int = 20_000, fanout: int = 4, big: int = 1_000, samples: int = 50) -> dict[str, Any]:
    """Build ``vouchers`` trees of 1 + fanout pieces and one tree of ``big`` pieces, then time
    signed lineage queries through the API."""
    with tempfile.TemporaryDirectory(prefix="consortia-bench-lineage-") as scratch:
        s = Setup(Path(scratch) / "c", config={"block_max_txs": 2000})
        node = Node(s.genesis, s.home / "node")
        node.start()

        def phase(txs: list[SignedTx], label: str) -> list[Any]:
            out: list[Any] = []
            with click.progressbar(length=len(txs), label=label, file=sys.stderr) as bar:
                for i in range(0, len(txs), 2000):
                    futures = node.submit([t.to_wire() for t in txs[i:i + 2000]])
                    for _, future in futures:
                        receipt = future.result(600).receipt
                        if receipt["status"] != "ok":
                            raise SystemExit(f"lineage setup failed: {receipt}")
                        out.append(receipt["result"])
                    bar.update(len(futures))
            return out

        try:
            line, invoice = (r["id"] for r in phase(s.preamble(), "setup")[-2:])
            due = int(time.time() * 1000) + 200 * DAY
            issue = {"to": T1, "amount": 10_000_000, "due_ms": due, "credit_line": line, "documents": [invoice]}
            roots = [v["id"] for v in phase([s.tx(CORE, "issue", issue) for _ in range(vouchers + 1)], "issue")]
            phase([s.tx(T1, "accept", {"voucher_id": v}) for v in roots], "accept")
            outputs = [{"to": org, "amount": 1_000} for org in (T2, T3, FACTOR, BANK)[:fanout]]
            transfers = phase([s.tx(T1, "propose_transfer", {"voucher_id": v, "outputs": outputs})
                               for v in roots[:-1]], "split")
            answers = [s.tx(o["to"], "answer_transfer", {"transfer_id": t["id"], "accept": True})
                       for t in transfers for o in outputs]
            phase(answers, "answer")
            # one voucher split again and again: each round splits the remainder into 9 receivers' pieces
            remainder, big_root = roots[-1], roots[-1]
            while len(s.tree_of(node, big_root)) < big:
                t = phase([s.tx(T1, "propose_transfer", {"voucher_id": remainder, "outputs": [
                    {"to": T2, "amount": 10} for _ in range(9)]})], "big tree")[0]
                phase([s.tx(T2, "answer_transfer", {"transfer_id": t["id"], "accept": True})], "big tree")
                remainder = s.children(node, remainder)[-1]
            pieces = node.store.state_range("scf/v/", "scf/v/\U0010ffff", 10_000_000, writer=False)
        finally:
            node.stop()
        port = free_port()
        process = start_node(s.home, port)
        try:
            with Client.from_home(s.home, f"{REG}/admin", f"http://127.0.0.1:{port}") as reg:
                def timed(voucher_id: str) -> tuple[float, int]:
                    started = time.perf_counter()
                    tree = reg.query("scf", "lineage", {"voucher_id": voucher_id}, signed=True)
                    return (time.perf_counter() - started) * 1000, len(tree["pieces"])
                timed(roots[0])
                typical = [timed(roots[i * (vouchers // samples)])[0] for i in range(samples)]
                big_times = [timed(big_root) for _ in range(10)]
        finally:
            process.terminate()
            process.wait(30)
    return {"pieces_on_chain": len(pieces), "typical_tree_pieces": 1 + fanout,
            "typical_ms_p50": round(statistics.median(typical), 2), "typical_ms_max": round(max(typical), 2),
            "big_tree_pieces": big_times[0][1], "big_tree_ms_p50": round(statistics.median(t for t, _ in big_times), 2)}


if __name__ == "__main__":
    print(workload(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
    print(lineage())
