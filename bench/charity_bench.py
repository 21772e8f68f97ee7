"""Charity benchmark: donations per second, and the public need page over them.

``donations(count, suite_name)``: a fresh consortium of every demo organisation and its node
process; the civil-affairs authority registers the foundation, publishes its key and verifies one
need. ``count`` anonymous donations (``charity.record_donation``: donor tag plus the donor sealed
to the authority's key, made while signing) and ``count`` named ones by four companies
(``charity.donate``) are signed before the clock starts and posted, ``per_request`` to a request,
by ``clients`` concurrent clients, every commit awaited. Then one grant draws on all of them and
the need's public page (``?format=json``: every transaction's Merkle proof checked by the node) is
fetched. Reports donations/s per kind, request latency p50/p99, sealing cost and page time.

    python bench/charity_bench.py --count 5000
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import httpx
import orjson

from consortia.apps.charity.donor import anonymous_donation_args, compute_pseudonym
from consortia.cli.bench import drive, free_port, percentile, start_node, stop_node
from consortia.client import Client
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.wallet import load_wallet
from consortia.node.home import DEMO_ORG_COUNT_FULL, create_sealing_key, init_consortium, load_genesis

CHARITY, AUTHORITY = "chunhui-foundation", "civil-affairs"
COMPANIES = ("hongqiao-auto", "jinglian-parts", "pudong-bank", "zheshang-factoring")


def _setup(home: Path, url: str) -> str:
    suite = get_suite(load_genesis(home)["suite"])
    with Client.from_home(home, f"{AUTHORITY}/admin", url) as authority, \
            Client.from_home(home, f"{CHARITY}/admin", url) as charity:
        authority.call("charity", "register", {"org": CHARITY, "role": "charity", "name": "Chunhui"})
        authority.call("charity", "register", {"org": AUTHORITY, "role": "verifier", "name": "Community office"})
        key = create_sealing_key(home, suite, AUTHORITY)
        authority.call("charity", "publish_authority_key", {"key": key.public_key.hex()})
        pseudonym = compute_pseudonym(suite, "bench", "beneficiary")
        need = charity.call("charity", "publish_need", {"title": "Bench need", "purpose": "benchmark",
                                                        "beneficiary": pseudonym, "verifier": AUTHORITY,
                                                        "target_fen": 10**12})["id"]
        authority.call("charity", "attest_beneficiary", {"need_id": need, "beneficiary": pseudonym})
        authority.call("charity", "verify_need", {"need_id": need, "approve": True})
    return need  # type: ignore[no-any-return]


def _run(bodies: list[bytes], txs: int, url: str, clients: int) -> dict[str, Any]:
    result = drive([url], bodies, clients, txs, progress=False)
    if result["failed"]:
        raise SystemExit(f"charity benchmark: {result['failed']} transactions failed")
    return {"donations": txs, "seconds": round(result["seconds"], 2),
            "donations_per_s": round(txs / result["seconds"]),
            "p50_ms": round(percentile(result["latencies"], 0.50) * 1000, 1),
            "p99_ms": round(percentile(result["latencies"], 0.99) * 1000, 1)}


def donations(count: int = 5000, suite_name: str = "ed25519-sha256", *, per_request: int = 100,
              clients: int = 4) -> dict[str, Any]:
    """Donations per second (see the module's docstring)."""
    suite = get_suite(suite_name)
    with tempfile.TemporaryDirectory(prefix="charity-bench-") as scratch:
        home = Path(scratch) / "c"
        genesis = init_consortium(home, orgs=DEMO_ORG_COUNT_FULL, chain_id="consortia-bench-charity",
                                  suite_name=suite_name, config={"block_timeout_ms": 20})
        port = free_port()
        process = start_node(home, port)
        url = f"http://127.0.0.1:{port}"
        try:
            need = _setup(home, url)
            with Client.from_home(home, f"{CHARITY}/admin", url) as charity:
                keys = charity.query("charity", "authority_keys", {})["keys"]
            clerk = load_wallet(home, suite, f"{CHARITY}/clerk")
            started = time.perf_counter()
            anonymous = [build_tx(suite, clerk, genesis["chain_id"], "charity", "record_donation",
                                  anonymous_donation_args(suite, keys, f"donor {i:08d}", 100 + i % 900, need=need,
                                                          channel="wechat-pay")[0], ttl_ms=3_600_000)
                         for i in range(count)]
            seal_sign_s = time.perf_counter() - started
            donors = [load_wallet(home, suite, f"{org}/clerk") for org in COMPANIES]
            started = time.perf_counter()
            named = [build_tx(suite, donors[i % len(donors)], genesis["chain_id"], "charity", "donate",
                              {"charity": CHARITY, "amount": 10_000 + i, "need": need}, ttl_ms=3_600_000)
                     for i in range(count)]
            sign_s = time.perf_counter() - started

            def bodies(txs: list[Any]) -> list[bytes]:
                return [orjson.dumps({"txs": [t.to_wire() for t in txs[i:i + per_request]]})
                        for i in range(0, len(txs), per_request)]
            recorded = _run(bodies(anonymous), count, url, clients)
            by_name = _run(bodies(named), count, url, clients)
            total = sum(t.tx["args"]["amount"] for t in anonymous)
            with Client.from_home(home, f"{CHARITY}/admin", url) as charity:
                started = time.perf_counter()
                grant = charity.call("charity", "grant", {"need_id": need, "kind": "funds", "amount": total})
                grant_s = time.perf_counter() - started
            with httpx.Client(base_url=url, timeout=300) as http:
                started = time.perf_counter()
                page = http.get(f"/charity/needs/{need}", params={"format": "json"}).json()
                page_s = time.perf_counter() - started
        finally:
            stop_node(process)
    return {"suite": suite_name, "per_request": per_request, "clients": clients,
            "anonymous": {**recorded, "seal_and_sign_ms_each": round(seal_sign_s / count * 1000, 2)},
            "named": {**by_name, "sign_ms_each": round(sign_s / count * 1000, 2)},
            "grant": {"sources": len(grant["sources"]), "ms": round(grant_s * 1000, 1)},
            "page": {"donations_shown": len(page["donations"]), "proofs": len(page["proofs"]),
                     "all_verified": all(p["verified"] for p in page["proofs"].values()), "s": round(page_s, 2),
                     "bytes": len(orjson.dumps(page))},
            "request_bytes_anonymous": round(statistics.mean(len(b) for b in bodies(anonymous[:per_request * 3])))}


@click.command()
@click.option("--count", default=5000, show_default=True, help="Donations of each kind.")
@click.option("--suite", "suites", multiple=True, default=["ed25519-sha256", "sm2-sm3"], show_default=True)
def main(count: int, suites: tuple[str, ...]) -> None:
    print(json.dumps([donations(count, s) for s in suites], indent=1))


if __name__ == "__main__":
    main()
