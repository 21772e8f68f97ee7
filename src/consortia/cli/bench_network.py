"""``consortia bench --network N``: a whole consortium on this machine (3 nats-server processes,
a JetStream R3 stream, one node process per organisation), every node verifying and executing
every transaction, beside this machine's verify ceiling measured in the same run.

Signed kv.put transactions (signed before the clock starts) are submitted in batches through
all nodes at once; a batch counts when the node it was sent to has committed it. ``efficiency``
is what the consortium verifies per second (tx/s × nodes, since every node verifies every
transaction) over what the machine could (cores × one core's verify/s).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from consortia.cli.bench import drive, measure_verify_rate, percentile


def run_network_bench(txs: int = 20_000, orgs: int = 4, batch: int = 500, clients: int = 8, *,
                      progress: bool = False, suite_name: str = "ed25519-sha256", **init: Any) -> dict[str, Any]:
    from consortia.client.txbuild import build_tx
    from consortia.crypto import get_suite
    from consortia.identity.wallet import list_identities, load_wallet
    from consortia.node.network import LocalNetwork

    verify_per_s = measure_verify_rate(suite_name=suite_name)
    with tempfile.TemporaryDirectory(prefix="consortia-bench-net-") as scratch:
        net = LocalNetwork(Path(scratch) / "n")
        net.create(orgs=orgs, servers=3, chain_id="consortia-bench-net", suite_name=suite_name, **init)
        genesis = orjson.loads((net.home / "genesis.json").read_bytes())
        suite = get_suite(genesis["suite"])
        wallets = [load_wallet(net.home, suite, i) for i in list_identities(net.home) if not i.endswith("/node")]
        signed = [build_tx(suite, wallets[i % len(wallets)], genesis["chain_id"], "kv", "put",
                           {"key": f"bench/{i:08d}", "value": {"n": i}}) for i in range(txs)]
        bodies = [orjson.dumps({"txs": [t.to_wire() for t in signed[i:i + batch]]}) for i in range(0, txs, batch)]
        net.up()
        try:
            urls = [n.url for n in net.state.nodes]
            nodes_cpu, nats_cpu = cpu_seconds([n.pid for n in net.state.nodes]), cpu_seconds([s.pid for s in net.state.servers])
            client_cpu = time.process_time()
            result = drive(urls, bodies, clients, txs, progress=progress)
            client_cpu = time.process_time() - client_cpu
            nodes_cpu = cpu_seconds([n.pid for n in net.state.nodes]) - nodes_cpu
            nats_cpu = cpu_seconds([s.pid for s in net.state.servers]) - nats_cpu
            top = max(httpx.get(u + "/health").json()["height"] for u in urls)
            final_wait = time.perf_counter()
            while min(httpx.get(u + "/health").json()["final_height"] for u in urls) < top:
                time.sleep(0.02)
            finality_lag_ms = (time.perf_counter() - final_wait) * 1000
        finally:
            net.down()
    # On a shared machine one measurement can land in a busy moment: the ceiling is the better of
    # one before and one after the run (which only lowers the efficiency it reports).
    verify_per_s = max(verify_per_s, measure_verify_rate(suite_name=suite_name))
    seconds, committed = result["seconds"], result["committed"]
    tps = committed / seconds if seconds else 0.0
    cpus = os.cpu_count() or 1
    return {"workload": f"kv.put, {orgs} organisations, JetStream R3", "suite": suite_name, "txs": txs,
            "committed": committed, "failed": result["failed"], "batch": batch, "clients": clients,
            "seconds": round(seconds, 2), "tps": round(tps, 1),
            "p50_ms": round(percentile(result["latencies"], 0.50) * 1000, 1),
            "p99_ms": round(percentile(result["latencies"], 0.99) * 1000, 1),
            "finality_after_last_commit_ms": round(finality_lag_ms, 1),
            "nodes": orgs, "verify_per_s": round(verify_per_s, 1), "cpus": cpus,
            "ratio": round(tps / verify_per_s, 3) if verify_per_s else 0.0,
            "efficiency": round(tps * orgs / (cpus * verify_per_s), 3) if verify_per_s else 0.0,
            # CPU the node processes and the NATS servers spent per committed transaction while
            # driven (all nodes together): steadier than tx/s on a shared machine
            "node_cpu_us_per_tx": round(nodes_cpu / committed * 1e6, 1) if committed else 0.0,
            "nats_cpu_us_per_tx": round(nats_cpu / committed * 1e6, 1) if committed else 0.0,
            "client_cpu_us_per_tx": round(client_cpu / committed * 1e6, 1) if committed else 0.0}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (0 where /proc cannot tell)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks
