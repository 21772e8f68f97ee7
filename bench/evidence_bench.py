"""Evidence depository benchmarks.

1. ``deposits(count, per_tx, suite_name)``: ``count`` file digests (SM3 on the SM suite, else
   SHA-256) in ``evidence.deposit_batch`` transactions of ``per_tx`` items, signed by four
   organisations' clerks before the clock starts, posted to ``POST /transactions/batch`` of a
   fresh node process by several concurrent clients, every commit awaited. Reports deposits/s,
   tx/s, the latency of a request from post to commit (p50, p99) and the node process's CPU time
   per deposit (user + system, from /proc: steadier than deposits/s on a shared machine).
2. ``certificates(samples, suite_name)``: a fresh node holding ``samples`` single deposits and one
   ``deposit_batch`` of ``per_tx``; ``samples`` certificates of each kind fetched through the API
   (signed reads) and verified offline by ``verify_certificate``, as ``consortia verify`` does
   (JSON parsing and the file's digest included, quorum 1: one node signs). Reports p50/p99/max
   ms and the certificate size in bytes, for a single deposit and for one inside a batch.

    python bench/evidence_bench.py --deposits 20000 --per-tx 1000 --samples 100
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import orjson

from consortia.cli.bench import drive, free_port, percentile, start_node, stop_node
from consortia.client import Client
from consortia.client.certificates import file_digest, verify_certificate
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.wallet import load_wallet
from consortia.node.home import DEMO_ORGS, init_consortium, load_genesis

ORGS = [o["id"] for o in DEMO_ORGS[:4]]
OWNER = ORGS[0]
SUITES = ("ed25519-sha256", "sm2-sm3")
NODE_PIDS: dict[str, int] = {}


def algorithm_of(suite_name: str) -> str:
    return "sm3" if suite_name == "sm2-sm3" else "sha-256"


def file_bytes(tag: str, i: int) -> bytes:
    """A small stand-in for file ``i`` (only its digest travels)."""
    return f"%PDF-1.7 bench {tag} scan {i:08d}".encode()


def deposit_item(algorithm: str, tag: str, i: int) -> dict[str, Any]:
    return {"algorithm": algorithm, "digest": file_digest(algorithm, file_bytes(tag, i)),
            "title": f"{tag}-{i:08d}.pdf", "kind": "document"}


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (None where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_node(suite_name: str) -> Iterator[tuple[Path, dict[str, Any], str]]:
    """A fresh four-organisation consortium and its node process: (home, genesis, url); the
    process id is in ``NODE_PIDS[url]`` while it runs."""
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as scratch:
        home = Path(scratch) / "c"
        init_consortium(home, orgs=len(ORGS), chain_id="consortia-bench-evidence", suite_name=suite_name,
                        config={"block_timeout_ms": 20})
        port = free_port()
        process = start_node(home, port)
        url = f"http://127.0.0.1:{port}"
        NODE_PIDS[url] = process.pid
        try:
            yield home, load_genesis(home), url
        finally:
            NODE_PIDS.pop(url, None)
            stop_node(process)


def deposits(count: int = 20_000, per_tx: int = 1000, suite_name: str = "ed25519-sha256", *,
             per_request: int = 2, clients: int = 4) -> dict[str, Any]:
    """Deposits per second through batch submission (see the module's docstring)."""
    algorithm = algorithm_of(suite_name)
    with running_node(suite_name) as (home, genesis, url):
        suite = get_suite(suite_name)
        clerks = [load_wallet(home, suite, f"{org}/clerk") for org in ORGS]
        started = time.perf_counter()
        txs = [build_tx(suite, clerks[n % len(clerks)], genesis["chain_id"], "evidence", "deposit_batch",
                        {"items": [deposit_item(algorithm, "batch", i) for i in range(first, min(first + per_tx, count))]},
                        ttl_ms=3_600_000)
               for n, first in enumerate(range(0, count, per_tx))]
        bodies = [orjson.dumps({"txs": [t.to_wire() for t in txs[i:i + per_request]]})
                  for i in range(0, len(txs), per_request)]
        sign_s = time.perf_counter() - started
        cpu_before = process_cpu_s(NODE_PIDS[url])
        result = drive([url], bodies, clients, len(txs), progress=False)
        cpu_after = process_cpu_s(NODE_PIDS[url])
    seconds = result["seconds"]
    committed_deposits = sum(len(t.tx["args"]["items"]) for t in txs) if result["failed"] == 0 else None
    return {"suite": suite_name, "algorithm": algorithm, "deposits": count, "per_tx": per_tx,
            "transactions": len(txs), "per_request": per_request, "clients": clients,
            "committed_txs": result["committed"], "failed_txs": result["failed"],
            "committed_deposits": committed_deposits, "sign_s": round(sign_s, 2), "seconds": round(seconds, 2),
            "deposits_per_s": round(count / seconds) if result["failed"] == 0 else 0,
            "tx_per_s": round(result["committed"] / seconds, 1),
            "p50_ms": round(percentile(result["latencies"], 0.50) * 1000, 1),
            "p99_ms": round(percentile(result["latencies"], 0.99) * 1000, 1),
            "request_bytes": round(statistics.mean(len(b) for b in bodies)),
            "node_cpu_us_per_deposit": (round((cpu_after - cpu_before) / count * 1e6, 1)
                                        if cpu_before is not None and cpu_after is not None else None)}


def _ms(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(samples) * 1000, 2),
            "p99_ms": round(percentile(samples, 0.99) * 1000, 2), "max_ms": round(max(samples) * 1000, 2)}


def _verify_times(texts: list[bytes], files: list[bytes], genesis: dict[str, Any]) -> list[float]:
    """Seconds to check each certificate offline against the trusted genesis, as ``consortia verify`` does."""
    verify_certificate(json.loads(texts[0]), genesis, file_data=files[0], quorum=1)  # warm caches and imports
    times = []
    for text, data in zip(texts, files, strict=True):
        started = time.perf_counter()
        verify_certificate(json.loads(text), genesis, file_data=data, quorum=1)
        times.append(time.perf_counter() - started)
    return times


def certificates(samples: int = 100, suite_name: str = "ed25519-sha256", *, per_tx: int = 1000) -> dict[str, Any]:
    """Offline verification time and size of certificates (see the module's docstring)."""
    algorithm = algorithm_of(suite_name)
    with running_node(suite_name) as (home, genesis, url), Client.from_home(home, f"{OWNER}/admin", url) as owner:
        singles = [deposit_item(algorithm, "single", i) for i in range(samples)]
        batch = [deposit_item(algorithm, "batch", i) for i in range(per_tx)]
        txs = [owner.build("evidence", "deposit", item, ttl_ms=3_600_000) for item in singles]
        txs.append(owner.build("evidence", "deposit_batch", {"items": batch}, ttl_ms=3_600_000))
        for start in range(0, len(txs), 500):
            views = owner.submit(txs[start:start + 500], timeout=120)
            failed = [v for v in views if not v.get("committed") or v["receipt"]["status"] != "ok"]
            if failed:
                raise SystemExit(f"benchmark deposit failed: {failed[0]}")
        picked = sorted({round(k * (per_tx - 1) / max(1, samples - 1)) for k in range(samples)})

        def fetch(item: dict[str, Any]) -> tuple[bytes, float]:
            started = time.perf_counter()
            text = owner._request("GET", f"/evidence/certificates/{algorithm}/{item['digest']}", signed=True).content
            return text, time.perf_counter() - started

        single_fetched = [fetch(item) for item in singles]
        batch_fetched = [fetch(batch[i]) for i in picked]
    single_texts, batch_texts = [t for t, _ in single_fetched], [t for t, _ in batch_fetched]
    single_times = _verify_times(single_texts, [file_bytes("single", i) for i in range(samples)], genesis)
    batch_times = _verify_times(batch_texts, [file_bytes("batch", i) for i in picked], genesis)
    return {"suite": suite_name, "algorithm": algorithm, "samples": samples, "per_tx": per_tx,
            "single": {**_ms(single_times), "bytes": round(statistics.median(len(t) for t in single_texts)),
                       "fetch_p50_ms": round(statistics.median(s for _, s in single_fetched) * 1000, 2)},
            "in_batch": {**_ms(batch_times), "bytes": round(statistics.median(len(t) for t in batch_texts)),
                         "fetch_p50_ms": round(statistics.median(s for _, s in batch_fetched) * 1000, 2),
                         "samples": len(batch_texts)}}


@click.command()
@click.option("--deposits", "count", default=20_000, show_default=True, help="Deposits to commit.")
@click.option("--per-tx", default=1000, show_default=True, type=click.IntRange(1, 2000),
              help="Deposits per deposit_batch transaction.")
@click.option("--samples", default=100, show_default=True, type=click.IntRange(2, 10_000),
              help="Certificates of each kind to verify.")
@click.option("--suite", "suites", multiple=True, type=click.Choice(SUITES), help="Crypto suite (default: both).")
def main(count: int, per_tx: int, samples: int, suites: tuple[str, ...]) -> None:
    for suite_name in suites or SUITES:
        print("deposits:", deposits(count, per_tx, suite_name))
        print("certificates:", certificates(samples, suite_name, per_tx=per_tx))


if __name__ == "__main__":
    main()
