"""E-invoice benchmarks: invoices issued per second and reimbursement claims per second.

``workload(count, suite_name)``: a fresh eleven-organisation consortium (the supplier, the
automaker and the Shenzhen tax bureau among them) and its node process. ``count`` invoices of two
lines each (every sum checked by the contract, the content's digest computed on chain) are signed
by the supplier's members before the clock starts and posted ``per_request`` to a request by
``clients`` concurrent clients, every commit awaited: invoices issued/s. They are delivered (not
timed), then the automaker's clerks claim every one, each claim presenting the whole invoice to be
hashed and compared: claims/s. Both beside the suite's signature-verification ceiling.

    python bench/invoice_bench.py --count 3000 --suite sm2-sm3
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import orjson

from consortia.apps.invoice.model import complete_invoice
from consortia.cli.bench import drive, free_port, measure_verify_rate, percentile, start_node, stop_node
from consortia.client import Client
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.wallet import load_wallet
from consortia.node.home import DEMO_ORGS_FULL, init_consortium, load_genesis

SELLER, BUYER = "jinglian-parts", "hongqiao-auto"
ORG_COUNT = 11  # up to sz-tax
PARTIES = {o["id"]: {"name": o["name"], "uscc": o["uscc"]} for o in DEMO_ORGS_FULL}


def invoice(i: int) -> dict[str, Any]:
    return complete_invoice({
        "number": f"26442{i:015d}", "issue_date": "2026-12-03", "type": "special", "seller": PARTIES[SELLER],
        "buyer": PARTIES[BUYER], "remark": f"PO HQ-PO-2026-{i:06d}", "drawer": "王丽",
        "lines": [{"item": "*汽车零配件*制动钳总成", "specification": "BC-400", "unit": "套", "quantity": str(1 + i % 50),
                   "unit_price": "856.5", "tax_rate": "13"},
                  {"item": "*运输服务*货物运输", "amount": 1200_00 + i % 100, "tax_rate": "9"}]})


@contextmanager
def running_node(suite_name: str) -> Iterator[tuple[Path, dict[str, Any], str]]:
    with tempfile.TemporaryDirectory(prefix="invoice-bench-") as scratch:
        home = Path(scratch) / "c"
        init_consortium(home, orgs=ORG_COUNT, chain_id="consortia-bench-invoice", suite_name=suite_name,
                        config={"block_timeout_ms": 20})
        port = free_port()
        process = start_node(home, port)
        try:
            yield home, load_genesis(home), f"http://127.0.0.1:{port}"
        finally:
            stop_node(process)


def _timed(url: str, txs: list[Any], per_request: int, clients: int) -> dict[str, Any]:
    bodies = [orjson.dumps({"txs": [t.to_wire() for t in txs[i:i + per_request]]}) for i in range(0, len(txs), per_request)]
    result = drive([url], bodies, clients, len(txs), progress=False)
    if result["failed"]:
        raise SystemExit(f"{result['failed']} benchmark transactions failed")
    return {"per_s": round(len(txs) / result["seconds"]), "seconds": round(result["seconds"], 2),
            "p50_ms": round(percentile(result["latencies"], 0.50) * 1000, 1),
            "p99_ms": round(percentile(result["latencies"], 0.99) * 1000, 1),
            "request_bytes": round(sum(len(b) for b in bodies) / len(bodies))}


def workload(count: int = 3000, suite_name: str = "ed25519-sha256", *, per_request: int = 50,
             clients: int = 4) -> dict[str, Any]:
    """Invoices issued/s and claims/s on a fresh node (see the module's docstring)."""
    with running_node(suite_name) as (home, genesis, url):
        suite = get_suite(suite_name)
        for org in (SELLER, BUYER):
            with Client.from_home(home, f"{org}/admin", url) as c:
                c.call("invoice", "register_taxpayer", PARTIES[org])
        sellers = [load_wallet(home, suite, f"{SELLER}/{m}") for m in ("admin", "clerk")]
        buyers = [load_wallet(home, suite, f"{BUYER}/{m}") for m in ("admin", "clerk")]
        contents = [invoice(i) for i in range(count)]

        def signed(wallets: list[Any], method: str, args: list[dict[str, Any]]) -> list[Any]:
            return [build_tx(suite, wallets[i % len(wallets)], genesis["chain_id"], "invoice", method, a,
                             ttl_ms=3_600_000) for i, a in enumerate(args)]

        issued = _timed(url, signed(sellers, "issue", [{"content": c} for c in contents]), per_request, clients)
        _timed(url, signed(sellers, "deliver", [{"number": c["number"]} for c in contents]), per_request, clients)
        claims = _timed(url, signed(buyers, "claim", [{"number": c["number"], "content": c} for c in contents]),
                        per_request, clients)
    verify = measure_verify_rate(suite_name=suite_name)
    return {"suite": suite_name, "invoices": count, "per_request": per_request, "clients": clients,
            "issued_per_s": issued["per_s"], "issue_p50_ms": issued["p50_ms"], "issue_p99_ms": issued["p99_ms"],
            "claims_per_s": claims["per_s"], "claim_p50_ms": claims["p50_ms"], "claim_p99_ms": claims["p99_ms"],
            "request_bytes": issued["request_bytes"], "verify_per_s": round(verify),
            "issue_ratio": round(issued["per_s"] / verify, 3), "claim_ratio": round(claims["per_s"] / verify, 3)}


@click.command()
@click.option("--count", default=3000, show_default=True)
@click.option("--suite", "suite_name", default="ed25519-sha256", show_default=True)
def main(count: int, suite_name: str) -> None:
    started = time.perf_counter()
    print(json.dumps(workload(count, suite_name), indent=1))
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
