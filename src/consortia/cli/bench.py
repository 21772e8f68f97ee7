"""``consortia bench``: end-to-end throughput of a freshly started node, beside the
machine's own signature-verification ceiling for the chain's suite, measured in the same run."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click
import httpx
import orjson

from consortia.cli.common import CRYPTO_CHOICES, example, handle_errors
from consortia.errors import Fault


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SUITE_LABELS = {"ed25519-sha256": "Ed25519", "sm2-sm3": "SM2"}


def measure_verify_rate(seconds: float = 2.0, suite_name: str = "ed25519-sha256") -> float:
    """Single-core signature verifications per second of a 300-byte message on ``suite_name``, here and now."""
    from consortia.crypto import get_suite

    suite = get_suite(suite_name)
    signer = suite.generate_signer()
    message = os.urandom(300)
    sig = signer.sign(message)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            suite.verify(signer.public_key, message, sig)
        count += 100
    return count / elapsed


def start_node(home: Path, port: int) -> subprocess.Popen[bytes]:
    """Start ``consortia up`` as a separate process (log in ``<home>/node.log``); wait until healthy."""
    log_path = Path(home) / "node.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "consortia.cli.main", "up", "--dir", str(home), "--port", str(port),
             "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Fault(f"node exited at start: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise Fault("node did not become healthy within 60 s")


def stop_node(process: subprocess.Popen[bytes]) -> None:
    """Stop a node process as Ctrl-C would; kill it if it has not exited within 30 s."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# The built-in ``kv.put`` as a member would write it, to measure what the sandbox and the step
# meter cost (ADR 0014): installed by vote on the bench node, then driven like ``kv``.
MEMBER_KV_SOURCE = '''from __future__ import annotations

from typing import Any

from consortia.contracts.sdk import Context, Contract, method, query


class MemberKeyValue(Contract):
    """Store any canonical JSON value under a key (the built-in kv, as a member's contract)."""

    name = "member_kv"
    version = "1"

    @method
    def put(self, ctx: Context, key: str, value: Any) -> None:
        ctx.put(key, value)
        ctx.emit("Put", key=key, by=ctx.require_caller().id)

    @query
    def get(self, ctx: Context, key: str) -> Any:
        return ctx.get(key)
'''


def install_member_kv(home: Path, url: str, orgs: list[str]) -> None:
    """Install ``MEMBER_KV_SOURCE`` on the node at ``url`` by a vote of ``orgs``' admins."""
    from consortia.client import Client
    from consortia.client.contracts import deployment

    with Client.from_home(home, f"{orgs[0]}/admin", [url]) as c:
        _, params = deployment(c.suite, MEMBER_KV_SOURCE)
        proposal = c.call("gov", "propose", {"action": "install_contract", "params": params})
    for org in orgs[1:]:
        if proposal["status"] != "open":
            break
        with Client.from_home(home, f"{org}/admin", [url]) as c:
            proposal = c.call("gov", "vote", {"proposal_id": proposal["id"], "approve": True})


def run_kv_bench(txs: int, batch: int, clients: int, progress: bool = True,
                 suite_name: str = "ed25519-sha256", member: bool = False) -> dict[str, Any]:
    """``member``: drive ``member_kv.put``, the same contract installed as a member's, instead."""
    from consortia.client.txbuild import build_tx
    from consortia.crypto import get_suite
    from consortia.identity.wallet import list_identities, load_wallet
    from consortia.node.home import init_consortium

    verify_per_s = measure_verify_rate(suite_name=suite_name)
    with tempfile.TemporaryDirectory(prefix="consortia-bench-") as scratch:
        home = Path(scratch) / "c"
        genesis = init_consortium(home, orgs=4, chain_id="consortia-bench", suite_name=suite_name)
        suite = get_suite(genesis["suite"])
        wallets = [load_wallet(home, suite, i) for i in list_identities(home) if not i.endswith("/node")]
        signed = []
        with click.progressbar(range(txs), label="signing", file=sys.stderr if progress else io.StringIO()) as bar:
            for i in bar:
                signed.append(build_tx(suite, wallets[i % len(wallets)], genesis["chain_id"],
                                       "member_kv" if member else "kv", "put",
                                       {"key": f"bench/{i:08d}", "value": {"n": i, "memo": "payment batch"}}))
        bodies = [orjson.dumps({"txs": [t.to_wire() for t in signed[i:i + batch]]}) for i in range(0, txs, batch)]
        port = free_port()
        process = start_node(home, port)
        try:
            if member:
                install_member_kv(home, f"http://127.0.0.1:{port}", [o["id"] for o in genesis["orgs"]])
            result = drive([f"http://127.0.0.1:{port}"], bodies, clients, txs, progress)
        finally:
            stop_node(process)
    tps = result["committed"] / result["seconds"] if result["seconds"] else 0.0
    return {
        "workload": "member_kv.put (member's contract)" if member else "kv.put", "suite": suite_name, "txs": txs,
        "batch": batch, "clients": clients,
        "committed": result["committed"], "failed": result["failed"],
        "seconds": round(result["seconds"], 3), "tps": round(tps, 1),
        "p50_ms": round(percentile(result["latencies"], 0.50) * 1000, 1),
        "p99_ms": round(percentile(result["latencies"], 0.99) * 1000, 1),
        "verify_per_s": round(verify_per_s, 1), "ratio": round(tps / verify_per_s, 3) if verify_per_s else 0.0,
        "cpus": os.cpu_count(),
    }


def drive(urls: list[str], bodies: list[bytes], clients: int, txs: int, progress: bool) -> dict[str, Any]:
    """Post batch bodies from ``clients`` threads (client k talks to ``urls[k % len(urls)]``),
    each waiting for the commit; count committed ``ok`` transactions and their latencies."""
    work: queue.Queue[bytes] = queue.Queue()
    for body in bodies:
        work.put(body)
    latencies: list[float] = []
    counts = {"committed": 0, "failed": 0}
    lock = threading.Lock()
    bar = click.progressbar(length=txs, label="committing", file=sys.stderr if progress else io.StringIO())

    def worker(k: int) -> None:
        url = urls[k % len(urls)] + "/transactions/batch?wait=true&timeout=120"
        with httpx.Client(timeout=300) as http:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                sent = time.perf_counter()
                response = http.post(url, content=body, headers={"content-type": "application/json"})
                took = time.perf_counter() - sent
                # orjson, not httpx's json: the load generator shares this machine's cores with the node
                results = orjson.loads(response.content).get("results", []) if response.status_code in (200, 202) else []
                ok = sum(1 for r in results if r.get("committed") and r["receipt"]["status"] == "ok")
                with lock:
                    counts["committed"] += ok
                    counts["failed"] += len(results) - ok if results else body.count(b'"sig"')
                    latencies.extend([took] * ok)
                    bar.update(len(results) or body.count(b'"sig"'))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    with bar:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {**counts, "seconds": time.perf_counter() - start, "latencies": latencies}


@click.command(epilog=example("consortia bench --txs 20000 --json\nconsortia bench --crypto sm --txs 5000\n"
                                 "consortia bench --network 4 --txs 10000 --json"))
@click.option("--txs", default=20_000, show_default=True, type=click.IntRange(1, 10_000_000),
              help="Transactions to commit.")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 5000), help="Transactions per request.")
@click.option("--clients", default=8, show_default=True, type=click.IntRange(1, 64), help="Concurrent requests.")
@click.option("--crypto", default="ed25519", show_default=True, type=click.Choice(sorted(CRYPTO_CHOICES)),
              help="Crypto suite of the benchmark chain: ed25519 (Ed25519 + SHA-256) or sm (SM2 + SM3).")
@click.option("--member-contract", "member", is_flag=True,
              help="Drive kv.put installed as a member's contract (sandboxed and metered) instead of the built-in.")
@click.option("--network", "network", default=0, type=click.IntRange(0, 16),
              help="Run a replicated consortium of this many organisations on this machine instead (3 nats-server "
                   "processes, a JetStream R3 stream, one node process each); adds nodes and efficiency.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object with tps, p50_ms, p99_ms, verify_per_s, ratio.")
@handle_errors
def bench(txs: int, batch: int, clients: int, crypto: str, member: bool, network: int, as_json: bool) -> None:
    """Commit signed key-value writes through the API of a freshly started node and
    report end-to-end transactions per second beside this machine's verify ceiling
    for the chain's crypto suite.

    Transactions are signed before the clock starts; the clock covers submission,
    validation, ordering, execution and the durable commit of every block.

    With ``--network N``, ``efficiency`` is tx/s × N nodes ÷ (cores × one core's verify/s):
    every node verifies every transaction."""
    if network:
        from consortia.cli.bench_network import run_network_bench

        net = run_network_bench(txs, network, batch, clients, progress=not as_json, suite_name=CRYPTO_CHOICES[crypto])
        click.echo(json.dumps(net) if as_json else
                   f"committed {net['committed']} of {net['txs']} txs on {net['nodes']} nodes in {net['seconds']} s: "
                   f"{net['tps']} tx/s, p50 {net['p50_ms']} ms, p99 {net['p99_ms']} ms; efficiency {net['efficiency']} "
                   f"(tx/s × nodes ÷ ({net['cpus']} cores × {net['verify_per_s']} verify/s))")
        return
    result = run_kv_bench(txs, batch, clients, progress=not as_json, suite_name=CRYPTO_CHOICES[crypto], member=member)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"committed {result['committed']} of {result['txs']} txs in {result['seconds']} s "
               f"({result['batch']} per request, {result['clients']} clients)")
    click.echo(f"  throughput        {result['tps']:>10} tx/s")
    click.echo(f"  commit latency    p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    label = f"{SUITE_LABELS[result['suite']]} verify"
    click.echo(f"  suite             {result['suite']:>10}")
    click.echo(f"  {label:<18}{result['verify_per_s']:>10} /s on one core (this machine, this run)")
    click.echo(f"  ratio             {result['ratio']:>10} of the single-core verify ceiling")
