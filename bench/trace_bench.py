"""Traceability benchmarks.

1. ``capture(events)``: one EPCISDocument of N farm-to-shelf events (commissioning in lots,
   packing onto pallets, shipping, receiving, selling) validated against the official schema,
   signed into ``trace.capture`` transactions and posted to ``POST /epcis/capture`` on a fresh
   node process; the job is polled until it ends. Reports validation time, end-to-end events/s
   (from the POST to the job's end) and the time to the 202.
2. ``trace_queries(events)``: a chain holding N events of that shape (``lot_events``: 51 per lot,
   about 19,600 lots for a million), then the latency (p50, p99, max) of ``backward`` (a random
   sold package back to its lot), ``forward`` (a random lot to every package, pallet and store),
   ``events`` (the EPCIS event query for a random pallet's events) and ``recall_report`` (forward
   from each of 20 lots the brand owner recalled), first in process
   (``Node.query``: contract + store) and then through the REST API of a node process started on
   the same store, each query a signed read as ``Client.query(..., signed=True)`` sends it.
   Also reports the load rate and the store's size on disk (``chain.db`` and its WAL), in MB and
   in bytes per event (ADR 0028: it scales, so 50,000 to 100,000 events tell the million's).

How the events are loaded (``_load``): an in-process ``Node`` on a fresh single-node chain
(blocks of up to 100 transactions). One worker process builds the lots' events, cuts them into
``trace.capture`` transactions of up to 250 events (``batch_texts``, as the capture edge does)
and signs them as ``lianhe-foods/clerk``, 100 lots per task, while this process submits them with
``Node.submit`` (signature and admission checks) and the node executes them: every event goes
through the real contract (summary, hash ID, indexes) into real blocks in the SQLite store,
exactly as ``POST /epcis/capture`` would put it there. The first ``VALIDATED_LOTS`` lots (10,200
events) are read through ``prepare_capture`` as one EPCISDocument per task (the official JSON
schema, the contract's checks, hash IDs, duplicates); the rest skip the schema, which costs as
much CPU per event as the node's execution and would take the second core from the node. The
generator is deterministic and every lot has the same shape, so the validated lots stand for
the others, and the texts and batches are the same either way (``dumps_exact`` of each event).

    python bench/trace_bench.py --events 10000 --trace-events 100000
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from consortia.apps.trace.document import batch_texts, capture_args, prepare_capture
from consortia.apps.trace.identifiers import compute_check_digit
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.trace.sealing import capture_calls
from consortia.apps.trace.times import format_iso
from consortia.apps.trace.vocab import CONTEXT_URL
from consortia.cli.bench import free_port, start_node
from consortia.client import Client
from consortia.client.txbuild import build_tx
from consortia.crypto import get_suite
from consortia.identity.wallet import load_wallet
from consortia.node import Node
from consortia.node.home import DEMO_ORG_COUNT_WITH_TRACE, init_consortium, load_sealing_key
from consortia.node.node import Committed

ORG = "lianhe-foods"
REGULATOR = "sh-regulator"
PREFIX = "6925678"
HOUR = 3_600_000
PACKAGES_PER_LOT = 40
PALLET = 20
VALIDATED_LOTS = 200  # the first lots of a load go through the capture edge's full validation


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


def _consortium(home: Path, suite_name: str = "ed25519-sha256") -> dict[str, Any]:
    genesis = init_consortium(home, orgs=DEMO_ORG_COUNT_WITH_TRACE, chain_id="consortia-bench-trace",
                              config={"block_timeout_ms": 20, "block_max_txs": 100}, suite_name=suite_name)
    return genesis


def _register(call: Any) -> None:
    call("register_party", {"roles": ["processor", "retailer", "brand_owner"], "name": "Bench processor",
                            "company_prefixes": [PREFIX]})


def capture(events: int = 10_000, *, sealed: bool = False, suite_name: str = "ed25519-sha256") -> dict[str, Any]:
    """Capture one document through the REST capture edge; ``sealed`` seals every payload to the
    capturer and a regulator (ADR 0013), sealing counted in the signing time."""
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as tmp:
        home = Path(tmp) / "c"
        _consortium(home, suite_name)
        port = free_port()
        process = start_node(home, port)
        url = f"http://127.0.0.1:{port}"
        try:
            with Client.from_home(home, f"{ORG}/clerk", url) as client, \
                    Client.from_home(home, f"{ORG}/admin", url) as admin:
                _register(lambda m, a: admin.call("trace", m, a))
                if sealed:
                    with Client.from_home(home, f"{REGULATOR}/admin", url) as regulator:
                        regulator.call("trace", "register_party", {"roles": ["regulator"], "name": "Bench regulator"})
                        for c in (admin, regulator):
                            key = load_sealing_key(home, client.suite, c.wallet.org)  # type: ignore[union-attr]
                            c.call("trace", "set_sealing_key", {"key": key.public_key.hex()})  # type: ignore[union-attr]
                text = synthetic_document(events)
                started = time.perf_counter()
                prepared = prepare_capture(text)
                validated = time.perf_counter()
                method, calls = capture_calls(client.suite, client.chain_id, ORG, prepared.namespaces, prepared.batches,
                                              lambda places: client.query("trace", "sealing_directory",
                                                                          {"places": places}), seal=sealed)
                txs = [client.build("trace", method, args) for args in calls]
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
    return {"suite": suite_name, "sealed": sealed, "events": prepared.count, "transactions": len(txs),
            "validate_s": round(validated - started, 2),
            "sign_s": round(signed - validated, 2), "post_to_202_s": round(accepted - signed, 2),
            "capture_s": round(done - signed, 2), "events_per_s": round(prepared.count / (done - signed)),
            "end_to_end_events_per_s": round(prepared.count / (done - started))}


LOAD_CHUNK_LOTS = 100  # lots per signing task: ~5,100 events, ~20 transactions
LOAD_AHEAD = 3  # signing tasks queued ahead of the node
LOAD_IN_FLIGHT = 2  # chunks submitted to the node and not yet committed
_SIGNER: dict[str, Any] = {}  # the worker process's suite, clerk wallet and chain id


def _signer_init(home: str, suite_name: str, chain_id: str) -> None:
    suite = get_suite(suite_name)
    _SIGNER.update(suite=suite, clerk=load_wallet(Path(home), suite, f"{ORG}/clerk"), chain_id=chain_id)


def compute_signed_chunk(first_lot: int, lots: int, start_ms: int, validate: bool) -> list[dict[str, Any]]:
    """The signed ``trace.capture`` transactions (wire form) of lots ``first_lot`` to ``first_lot + lots - 1``.

    Runs in the worker process. With ``validate`` the lots go through ``prepare_capture`` as one
    EPCISDocument, as the capture edge does (schema, the contract's checks, hash IDs, duplicates);
    without it each event's text is ``dumps_exact(event)``, the same text ``prepare_capture``
    produces for it, cut into the same batches."""
    events = [e for lot in range(first_lot, first_lot + lots) for e in lot_events(lot, start_ms + lot * 60_000)]
    if validate:
        document = {"@context": [CONTEXT_URL], "type": "EPCISDocument", "schemaVersion": "2.0",
                    "creationDate": format_iso(start_ms), "epcisBody": {"eventList": events}}
        batches = prepare_capture(dumps_exact(document)).batches
    else:
        batches = batch_texts([dumps_exact(e) for e in events])
    suite, clerk, chain_id = _SIGNER["suite"], _SIGNER["clerk"], _SIGNER["chain_id"]
    return [build_tx(suite, clerk, chain_id, "trace", "capture", capture_args({}, b), ttl_ms=6 * 3_600_000).to_wire()
            for b in batches]


def _wait_ok(submitted: list[tuple[bytes, Future[Committed]]]) -> None:
    for _, future in submitted:
        receipt = future.result(600).receipt
        if receipt["status"] != "ok":
            raise SystemExit(f"load failed: {receipt}")


def _load(node: Node, home: Path, events: int, validate_lots: int = VALIDATED_LOTS, progress: bool = False) -> int:
    """Capture whole lots of ``lot_events`` until at least ``events`` are on the chain; returns the lots.

    One worker process builds and signs the transactions (the first ``validate_lots`` lots through
    ``prepare_capture``, the rest without the schema check) while this process submits them to
    the node and the node executes them: at most ``LOAD_IN_FLIGHT`` chunks wait for their blocks."""
    suite = get_suite(node.genesis["suite"])
    admin = load_wallet(home, suite, f"{ORG}/admin")
    _register(lambda m, a: _wait_ok(node.submit([build_tx(suite, admin, node.chain_id, "trace", m, a).to_wire()])))
    lots = -(-events // len(lot_events(0, 0)))
    start = int(time.time() * 1000) - 300 * 24 * HOUR
    chunks = [(first, min(LOAD_CHUNK_LOTS, lots - first), start, first < validate_lots)
              for first in range(0, lots, LOAD_CHUNK_LOTS)]
    started = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")  # the node's threads are running: never fork
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=_signer_init,
                             initargs=(str(home), node.genesis["suite"], node.chain_id)) as pool:
        signing = deque(pool.submit(compute_signed_chunk, *chunk) for chunk in chunks[:LOAD_AHEAD])
        queued = deque(chunks[LOAD_AHEAD:])
        in_flight: deque[list[tuple[bytes, Future[Committed]]]] = deque()
        while signing:
            wires = signing.popleft().result()
            if queued:
                signing.append(pool.submit(compute_signed_chunk, *queued.popleft()))
            in_flight.append(node.submit(wires))
            while len(in_flight) > LOAD_IN_FLIGHT:
                _wait_ok(in_flight.popleft())
            done = len(chunks) - len(queued) - len(signing) - len(in_flight)
            if progress and done and done % 20 == 0:
                elapsed = time.perf_counter() - started
                print(f"loaded {done}/{len(chunks)} chunks in {elapsed:.0f} s "
                      f"({done * LOAD_CHUNK_LOTS * len(lot_events(0, 0)) / elapsed:.0f} events/s)", file=sys.stderr)
        while in_flight:
            _wait_ok(in_flight.popleft())
    return lots


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


def _package(lot: int, n: int) -> str:
    return f"https://id.gs1.org/01/{GTIN}/10/B{lot:06d}/21/{lot:06d}{n:03d}"


def _lot_urn(lot: int) -> str:
    return f"urn:epc:class:lgtin:{PREFIX}.000001.B{lot:06d}"


def _time_queries(ask: Any, lots: int, samples: int, recalled: list[int]) -> dict[str, Any]:
    """``ask(method, args)`` answers a trace query; time ``samples`` backward (a random sold package
    to its lot) and forward (a random lot to its packages) walks, EPCIS event queries (a random
    pallet's events, by its identifier index, and a random lot's packing events, by the step index
    and a time window), and a recall report per recalled lot."""
    rng = random.Random(7)
    back, fwd, sizes, reach, found, hits = [], [], [], [], [], []
    for _ in range(samples):
        lot = rng.randrange(lots)
        pallet = f"https://id.gs1.org/00/{_sscc(lot * 10 + rng.randrange(PACKAGES_PER_LOT // PALLET))}"
        t0 = time.perf_counter()
        page = ask("events", {"filters": {"MATCH_anyEPC": [pallet]}, "limit": 100})
        found.append(time.perf_counter() - t0)
        hits.append(len(page["events"]))
    for _ in range(samples):
        lot = rng.randrange(lots)
        t0 = time.perf_counter()
        walk = ask("backward", {"id": _package(lot, rng.randrange(PACKAGES_PER_LOT))})
        back.append(time.perf_counter() - t0)
        sizes.append(len(walk["events"]))
        t0 = time.perf_counter()
        walk = ask("forward", {"id": _lot_urn(rng.randrange(lots))})
        fwd.append(time.perf_counter() - t0)
        reach.append(len(walk["events"]))
    out: dict[str, Any] = {"backward": _percentiles(back), "forward": _percentiles(fwd),
                           "backward_events_per_answer": round(statistics.mean(sizes), 1),
                           "forward_events_per_answer": round(statistics.mean(reach), 1),
                           "events": {**_percentiles(found), "events_per_answer": round(statistics.mean(hits), 1)}}
    if recalled:
        report, packages = [], []
        for lot in recalled:
            t0 = time.perf_counter()
            answer = ask("recall_report", {"gtin": GTIN, "lot": f"B{lot:06d}"})
            report.append(time.perf_counter() - t0)
            packages.append(len(answer["packages"]))
        out["recall_report"] = {**_percentiles(report), "packages_per_answer": round(statistics.mean(packages), 1)}
    return out


def _recall(node: Node, home: Path, lots: int, count: int) -> list[int]:
    """The brand owner recalls ``count`` lots spread over the chain (one block)."""
    suite = get_suite(node.genesis["suite"])
    admin = load_wallet(home, suite, f"{ORG}/admin")
    chosen = sorted(random.Random(11).sample(range(lots), min(count, lots)))
    _wait_ok(node.submit([build_tx(suite, admin, node.chain_id, "trace", "recall",
                                   {"gtin": GTIN, "lot": f"B{lot:06d}", "reason": "bench recall"}).to_wire()
                          for lot in chosen]))
    return chosen


def _store_bytes(data_dir: Path) -> int:
    return sum(f.stat().st_size for f in data_dir.glob("chain.db*"))


def trace_queries(events: int = 100_000, samples: int = 200, recalls: int = 20,
                  validate_lots: int = VALIDATED_LOTS, progress: bool = False) -> dict[str, Any]:
    """Load ``events`` (see ``_load``), then time trace queries in process and through the REST API."""
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as tmp:
        home = Path(tmp) / "c"
        genesis = _consortium(home)
        node = Node(genesis, home / "node")
        node.start()
        try:
            load_started = time.perf_counter()
            lots = _load(node, home, events, validate_lots, progress)
            load_s = time.perf_counter() - load_started
            recalled = _recall(node, home, lots, recalls)
            stored = node.query("trace", "stats", {})["events"]
            caller = _caller(node, home)
            in_process = _time_queries(lambda m, a: node.query("trace", m, a, caller), lots, samples, recalled)
        finally:
            node.stop()
        store_bytes = _store_bytes(home / "node")
        port = free_port()
        process = start_node(home, port)
        try:
            with Client.from_home(home, f"{ORG}/admin", f"http://127.0.0.1:{port}", timeout=600) as client:
                api = _time_queries(lambda m, a: client.query("trace", m, a, signed=True), lots, samples, recalled)
        finally:
            process.terminate()
            process.wait(30)
    return {"events": stored, "lots": lots, "validated_lots": min(validate_lots, lots), "load_s": round(load_s, 1),
            "load_events_per_s": round(stored / load_s), "store_mb": round(store_bytes / 1e6),
            "store_bytes_per_event": round(store_bytes / stored),
            "in_process": in_process, "api": api}


def _caller(node: Node, home: Path) -> Any:
    """The brand owner's admin as the executor sees it at the head (for in-process queries)."""
    from consortia.execution.executor import Reader

    store = node.store
    reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
    header = store.get_header(store.height())
    sender = load_wallet(home, get_suite(node.genesis["suite"]), f"{ORG}/admin").sender
    return node.executor.identity(reader, sender, header.time_ms if header else 0)


@click.command()
@click.option("--events", default=10_000, show_default=True, help="Events in the capture document.")
@click.option("--trace-events", default=100_000, show_default=True, help="Events on the chain for the trace queries.")
def main(events: int, trace_events: int) -> None:
    print("capture:", capture(events))
    print("trace queries:", trace_queries(trace_events, progress=True))


if __name__ == "__main__":
    main()
