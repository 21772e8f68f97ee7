"""End-to-end throughput of a replicated consortium on this machine: 3 NATS JetStream servers
(R3 stream) and one node process per organisation, every node executing every block.

Signed kv.put transactions (signed before the clock starts) are submitted in batches through
all nodes at once; a batch counts when the node it was sent to has committed it. Reports tx/s,
commit latency, and how long finality (a quorum of attestations) trails the last commit.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from consortia.cli.bench import drive, percentile
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.wallet import list_identities, load_wallet
from consortia.node.network import LocalNetwork


def run(txs: int = 20_000, orgs: int = 4, batch: int = 500, clients: int = 8, **init: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="consortia-bench-net-") as scratch:
        net = LocalNetwork(Path(scratch) / "n")
        net.create(orgs=orgs, servers=3, chain_id="consortia-bench-net", **init)
        net.up()
        try:
            genesis = orjson.loads((net.home / "genesis.json").read_bytes())
            suite = get_suite(genesis["suite"])
            wallets = [load_wallet(net.home, suite, i) for i in list_identities(net.home) if not i.endswith("/node")]
            signed = [build_tx(suite, wallets[i % len(wallets)], genesis["chain_id"], "kv", "put",
                               {"key": f"bench/{i:08d}", "value": {"n": i}}) for i in range(txs)]
            bodies = [orjson.dumps({"txs": [t.to_wire() for t in signed[i:i + batch]]}) for i in range(0, txs, batch)]
            urls = [n.url for n in net.state.nodes]
            result = drive(urls, bodies, clients, txs, progress=False)
            top = max(httpx.get(u + "/health").json()["height"] for u in urls)
            final_wait = time.perf_counter()
            while min(httpx.get(u + "/health").json()["final_height"] for u in urls) < top:
                time.sleep(0.02)
            finality_lag_ms = (time.perf_counter() - final_wait) * 1000
        finally:
            net.down()
    seconds, committed = result["seconds"], result["committed"]
    return {"workload": f"kv.put, {orgs} organisations, JetStream R3", "txs": txs, "committed": committed,
            "batch": batch, "clients": clients, "seconds": round(seconds, 2),
            "tps": round(committed / seconds, 1),
            "p50_ms": round(percentile(result["latencies"], 0.50) * 1000, 1),
            "p99_ms": round(percentile(result["latencies"], 0.99) * 1000, 1),
            "finality_after_last_commit_ms": round(finality_lag_ms, 1)}


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
