"""Traceability benchmarks.

1. ``capture(events)``: one EPCISDocument of N farm-to-shelf events (commissioning in lots,
   packing onto pallets, shipping, receiving, selling) validated against the official schema,
   signed into ``trace.capture`` transactions and posted to ``POST /epcis/capture`` on a fresh
   node process; the job is polled until it ends. Reports validation time, end-to-end events/s
   (from the POST to the job's end) and the time to the 202.
2. ``trace_queries(events)``: a node holding N events of that shape; the time of ``backward``
   (a sold package back to its farm lot) and ``forward`` (a lot to every package and store)
   queries, p50 and p99, in process (contract + store) and through the REST API (signed).

    python bench/trace_bench.py --events 10000 --trace-events 100000
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from consortia.apps.trace.document import capture_args, prepare_capture
from consortia.apps.trace.identifiers import compute_check_digit
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.trace.times import format_iso
from consortia.cli.bench import free_port, start_node
from consortia.client import Client
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.wallet import load_wallet
from consortia.node import Node
from consortia.node.home import DEMO_ORG_COUNT_WITH_TRACE, init_consortium

ORG = "lianhe-foods"
PREFIX = "6925678"
HOUR = 3_600_000
PACKAGES_PER_LOT = 40
PALLET = 20


def _gtin(ref: str) -> str:
    body = "0" + PREFIX + ref
    return body + compute_check_digit(body)


def _gln(ref: str) -> str:
    body = PREFIX + ref
    return body + compute_check_digit(body)


def _sscc(serial: int) -> str:
    body = "3" + PREFIX + f"{serial:09d}"
    return body + compute_check_digit(body)


GTIN = _gtin("00001")
PLANT, STORE = _gln("00001"), _gln("00002")


def lot_events(lot: int, start_ms: int) -> list[dict[str, Any]]:
    """About 50 events for one lot: commission, pack, store, ship, receive, unpack, sell."""
    name = f"B{lot:06d}"
    packages = [f"https://id.gs1.org/01/{GTIN}/10/{name}/21/{lot:06d}{n:03d}" for n in range(PACKAGES_PER_LOT)]
    pallets = [f"https://id.gs1.org/00/{_sscc(lot * 10 + p)}" for p in range(PACKAGES_PER_LOT // PALLET)]
    tz = "+08:00"

    def event(kind: str, offset_h: int, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "eventTime": format_iso(start_ms + offset_h * HOUR, tz), "eventTimeZoneOffset": tz, **fields}

    plant, store = {"id": f"https://id.gs1.org/414/{PLANT}"}, {"id": f"https://id.gs1.org/414/{STORE}"}
    out = [event("ObjectEvent", 0, epcList=packages, action="ADD", bizStep="commissioning", readPoint=plant,
                 bizLocation=plant, ilmd={"cbvmda:lotNumber": name})]
    for p, pallet in enumerate(pallets):
        children = packages[p * PALLET:(p + 1) * PALLET]
        out += [event("AggregationEvent", 1, parentID=pallet, childEPCs=children, action="ADD", bizStep="packing",
                      readPoint=plant),
                event("ObjectEvent", 2, epcList=[pallet], action="OBSERVE", bizStep="storing", readPoint=plant,
                      sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": Decimal("2.5"),
                                                            "uom": "CEL"}]}]),
                event("ObjectEvent", 3, epcList=[pallet], action="OBSERVE", bizStep="shipping", readPoint=plant),
                event("ObjectEvent", 9, epcList=[pallet], action="OBSERVE", bizStep="receiving", readPoint=store,
                      bizLocation=store),
                event("AggregationEvent", 10, parentID=pallet, childEPCs=children, action="DELETE",
                      bizStep="unpacking", readPoint=store)]
    out += [event("ObjectEvent", 12 + n % 20, epcList=[pkg], action="OBSERVE", bizStep="retail_selling",
                  disposition="retail_sold", readPoint=store, bizLocation=store) for n, pkg in enumerate(packages)]
    return out


def synthetic_document(events: int, start_ms: int | None = None) -> str:
    """An EPCISDocument of at least ``events`` events (whole lots of ~53 events each)."""
    start = start_ms if start_ms is not None else int(time.time() * 1000) - 30 * 24 * HOUR
    body: list[dict[str, Any]] = []
    lot = 0
    while len(body) < events:
        body += lot_events(lot, start + lot * 60_000)
        lot += 1
    document = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
                "schemaVersion": "2.0", "creationDate": format_iso(start), "epcisBody": {"eventList": body}}
    return dumps_exact(document)


def _consortium(home: Path) -> dict[str, Any]:
    genesis = init_consortium(home, orgs=DEMO_ORG_COUNT_WITH_TRACE, chain_id="consortia-bench-trace",
                              config={"block_timeout_ms": 20, "block_max_txs": 100})
    return genesis


def _register(call: Any) -> None:
    call("register_party", {"roles": ["processor", "retailer", "brand_owner"], "name": "Bench processor",
                            "company_prefixes": [PREFIX]})


def capture(events: int = 10_000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as tmp:
        home = Path(tmp) / "c"
        _consortium(home)
        port = free_port()
        process = start_node(home, port)
        try:
            with Client.from_home(home, f"{ORG}/clerk", f"http://127.0.0.1:{port}") as client, \
                    Client.from_home(home, f"{ORG}/admin", f"http://127.0.0.1:{port}") as admin:
                _register(lambda m, a: admin.call("trace", m, a))
                text = synthetic_document(events)
                started = time.perf_counter()
                prepared = prepare_capture(text)
                validated = time.perf_counter()
                txs = [client.build("trace", "capture", capture_args(prepared.namespaces, b)) for b in prepared.batches]
                signed = time.perf_counter()
                job = client._request("POST", "/epcis/capture", body={"transactions": [t.to_wire() for t in txs]}).json()
                accepted = time.perf_counter()
                while job["running"]:
                    time.sleep(0.05)
                    job = client._request("GET", f"/epcis/capture/{job['captureID']}").json()
                done = time.perf_counter()
        finally:
            process.terminate()
            process.wait(30)
    assert job["success"] and job["capturedCount"] == prepared.count, job
    return {"events": prepared.count, "transactions": len(txs), "validate_s": round(validated - started, 2),
            "sign_s": round(signed - validated, 2), "post_to_202_s": round(accepted - signed, 2),
            "capture_s": round(done - signed, 2), "events_per_s": round(prepared.count / (done - signed)),
            "end_to_end_events_per_s": round(prepared.count / (done - started))}


def _load(node: Node, home: Path, events: int) -> int:
    suite = get_suite(node.genesis["suite"])
    clerk = load_wallet(home, suite, f"{ORG}/clerk")
    admin = load_wallet(home, suite, f"{ORG}/admin")
    [(_, f)] = node.submit([build_tx(suite, admin, node.chain_id, "trace", "register_party", {
        "roles": ["processor", "retailer", "brand_owner", "regulator"], "name": "Bench", "company_prefixes": [PREFIX]}
    ).to_wire()])
    f.result(30)
    loaded, lot = 0, 0
    start = int(time.time() * 1000) - 300 * 24 * HOUR
    while loaded < events:
        chunk: list[dict[str, Any]] = []
        while len(chunk) < 2000:
            chunk += lot_events(lot, start + lot * 60_000)
            lot += 1
        document = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                    "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": format_iso(start),
                    "epcisBody": {"eventList": chunk}}
        prepared = prepare_capture(dumps_exact(document))
        wires = [build_tx(suite, clerk, node.chain_id, "trace", "capture", capture_args(prepared.namespaces, b),
                          ttl_ms=3_600_000).to_wire() for b in prepared.batches]
        for _, future in node.submit(wires):
            assert future.result(120).receipt["status"] == "ok"
        loaded += prepared.count
    return lot


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2)}


def trace_queries(events: int = 100_000, samples: int = 200) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as tmp:
        home = Path(tmp) / "c"
        genesis = _consortium(home)
        node = Node(genesis, home / "node")
        node.start()
        try:
            load_started = time.perf_counter()
            lots = _load(node, home, events)
            load_s = time.perf_counter() - load_started
            stored = node.query("trace", "stats", {})["events"]
            suite = get_suite(genesis["suite"])
            from consortia.execution.executor import Reader

            store = node.store
            reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
            header = store.get_header(store.height())
            caller = node.executor.identity(reader, load_wallet(home, suite, f"{ORG}/admin").sender,
                                            header.time_ms if header else 0)
            rng = random.Random(7)
            back, fwd, sizes = [], [], []
            for _ in range(samples):
                lot = rng.randrange(lots)
                package = f"https://id.gs1.org/01/{GTIN}/10/B{lot:06d}/21/{lot:06d}{rng.randrange(PACKAGES_PER_LOT):03d}"
                t0 = time.perf_counter()
                walk = node.query("trace", "backward", {"id": package}, caller)
                back.append(time.perf_counter() - t0)
                sizes.append(len(walk["events"]))
                t0 = time.perf_counter()
                node.query("trace", "forward", {"id": f"urn:epc:class:lgtin:{PREFIX}.000001.B{lot:06d}"}, caller)
                fwd.append(time.perf_counter() - t0)
        finally:
            node.stop()
    return {"events": stored, "load_s": round(load_s, 1), "load_events_per_s": round(stored / load_s),
            "backward": _percentiles(back), "forward": _percentiles(fwd),
            "backward_events_per_answer": round(statistics.mean(sizes), 1)}


@click.command()
@click.option("--events", default=10_000, show_default=True, help="Events in the capture document.")
@click.option("--trace-events", default=100_000, show_default=True, help="Events on the chain for the trace queries.")
def main(events: int, trace_events: int) -> None:
    print("capture:", capture(events))
    print("trace queries:", trace_queries(trace_events))


if __name__ == "__main__":
    main()
