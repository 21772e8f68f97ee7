"""`make bench`: this machine's ceilings, then the end-to-end benchmark on each crypto suite,
into BENCHMARKS.md.

The figures between the results markers of BENCHMARKS.md are replaced on every run; the
analysis around them is written by hand. ``BENCH_TXS`` sets the transactions per run and
``BENCH_SUITES`` (comma separated: ed25519-sha256, sm2-sm3) the suites to run; ``BENCH_NETWORK``,
``BENCH_SCF``, ``BENCH_EVIDENCE``, ``BENCH_TRACE``, ``BENCH_INVOICE``, ``BENCH_HOSTED``, ``BENCH_WAYBILL`` and
``BENCH_CHARITY`` (``0`` skips) the sections after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import charity_bench  # noqa: E402
import evidence_bench  # noqa: E402
import hosted_bench  # noqa: E402
import invoice_bench  # noqa: E402
import network_bench  # noqa: E402
import scf_bench  # noqa: E402
import trace_bench  # noqa: E402
import waybill_bench  # noqa: E402

from consortia.cli.bench import measure_verify_rate, run_kv_bench
from consortia.crypto import get_suite

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def rate(fn, seconds: float = 1.5, chunk: int = 200) -> float:  # type: ignore[no-untyped-def]
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(chunk):
            fn()
        count += chunk
    return count / elapsed


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")).split()[1])
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "unknown memory"
    return f"{cpu}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def ceilings() -> dict[str, float]:
    suite = get_suite("ed25519-sha256")
    signer = suite.generate_signer()
    sm = get_suite("sm2-sm3")
    sm_signer = sm.generate_signer()
    seal_key = sm.generate_seal_key()
    msg = os.urandom(300)
    payload = os.urandom(1024)
    tx = {"chain": "c", "sender": "A" * 450, "nonce": 1, "contract": "kv", "method": "put",
          "args": {"key": "k", "value": {"n": 1}}, "not_after_height": None, "not_after_ms": 1}
    with tempfile.TemporaryDirectory() as scratch:
        conn = sqlite3.connect(Path(scratch) / "c.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
        counter = iter(range(10**9))

        def commit() -> None:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (?, ?)", (next(counter), b"x" * 100))
            conn.execute("COMMIT")
        sqlite_commits = rate(commit, chunk=20)
        conn.close()
    return {
        "ed25519_verify_per_s": measure_verify_rate(),
        "ed25519_sign_per_s": rate(lambda: signer.sign(msg)),
        "sha256_700B_per_s": rate(lambda: hashlib.sha256(msg * 2).digest(), chunk=2000),
        "sm2_verify_per_s": measure_verify_rate(suite_name="sm2-sm3"),
        "sm2_sign_per_s": rate(lambda: sm_signer.sign(msg)),
        "sm3_700B_per_s": rate(lambda: sm.hash(msg * 2), chunk=2000),
        "sm4_gcm_seal_1KB_per_s": rate(lambda: sm.seal(seal_key, payload), chunk=2000),
        "orjson_sorted_roundtrip_per_s": rate(lambda: orjson.loads(orjson.dumps(tx, option=orjson.OPT_SORT_KEYS)),
                                              chunk=2000),
        "sqlite_durable_commits_per_s": sqlite_commits,
    }


def render(c: dict[str, float], runs: list[dict[str, object]], extra: dict[str, Any]) -> str:
    lines = [START, "", f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on: {machine()}", "",
             "**This machine's ceilings, measured in the same run** (one core each):", "",
             "| ceiling | per second |", "| --- | ---: |"]
    names = {"ed25519_verify_per_s": "Ed25519 verify (PyNaCl / libsodium)", "ed25519_sign_per_s": "Ed25519 sign",
             "sha256_700B_per_s": "SHA-256 of 600 bytes",
             "sm2_verify_per_s": "SM2 verify, with Z (tongsuopy / Tongsuo)", "sm2_sign_per_s": "SM2 sign",
             "sm3_700B_per_s": "SM3 of 600 bytes", "sm4_gcm_seal_1KB_per_s": "SM4-GCM seal of 1 KiB",
             "orjson_sorted_roundtrip_per_s":
             "orjson sorted-key encode + decode of a tx", "sqlite_durable_commits_per_s":
             "SQLite WAL durable commits (synchronous=FULL)"}
    lines += [f"| {names[k]} | {v:,.0f} |" for k, v in c.items()]
    lines += ["", "**End to end** (signed `kv.put` through the REST API of a freshly started node process, "
              "every commit awaited; transactions signed before the clock starts):", "",
              "| suite | workload | txs | per request | concurrent requests | tx/s | p50 ms | p99 ms | verify/s | ratio |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in runs:
        lines.append(f"| {r['suite']} | {r['workload']} | {r['txs']:,} | {r['batch']} | {r['clients']} | {r['tps']:,} | "
                     f"{r['p50_ms']} | {r['p99_ms']} | {r['verify_per_s']:,} | {r['ratio']} |")
    lines += ["", "`ratio` = end-to-end tx/s ÷ single-core verifications/s of the run's own suite, both from this run."]
    member = next((r for r in runs if str(r["workload"]).startswith("member_kv")), None)
    builtin = next((r for r in runs if r["workload"] == "kv.put" and r["suite"] == (member or {}).get("suite")
                    and r["clients"] == (member or {}).get("clients")), None)
    if member and builtin:
        lines += ["", f"**A member's contract** (ADR 0014): the same `put` installed by vote as `member_kv` runs at "
                  f"{member['tps']:,} tx/s against the built-in `kv.put`'s {builtin['tps']:,} tx/s in this run "
                  f"({member['tps'] / builtin['tps']:.0%}): what a fresh module per call, the step meter and the "
                  "bounded context cost."]
    net = extra.get("network")
    if net:
        embedded = max((r for r in runs if r.get("suite") == "ed25519-sha256"), key=lambda r: r["tps"], default=None)
        lines += ["", "**Replicated network** (3 nats-server processes, JetStream R3 stream, one node process per "
                  "organisation, every node verifying and executing every transaction, all on this machine):", "",
                  "| workload | txs | per request | concurrent requests | tx/s | p50 ms | p99 ms | finality after last "
                  "commit | embedded tx/s (same run) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                  f"| {net['workload']} | {net['txs']:,} | {net['batch']} | {net['clients']} | {net['tps']:,} | "
                  f"{net['p50_ms']} | {net['p99_ms']} | {net['finality_after_last_commit_ms']} ms | "
                  f"{embedded['tps'] if embedded else '-'} |"]
        if "efficiency" in net:  # every node verifies every transaction: tx/s × nodes ÷ (cores × verify/s)
            lines += ["", f"Network efficiency {net['efficiency']} (tx/s × {net['nodes']} nodes ÷ ({net['cpus']} cores × "
                      f"{net['verify_per_s']:,} verify/s, same run); CPU per committed transaction: nodes "
                      f"{net['node_cpu_us_per_tx']} µs (all {net['nodes']} together), NATS servers "
                      f"{net['nats_cpu_us_per_tx']} µs, the driving client {net['client_cpu_us_per_tx']} µs."]
    scf = extra.get("scf")
    if scf:
        lines += ["", f"**Supply chain finance** ({scf['vouchers']:,} vouchers, each issued, accepted, split-transferred "
                  "(proposed and answered), financed (applied, approved, disbursed) and settled, phase by phase through "
                  "the API of a fresh node; the wait for the due date is not counted):", "",
                  f"| all phases | {' | '.join(scf['phase_tps'])} |",
                  "| ---: " * (len(scf["phase_tps"]) + 1) + "|",
                  f"| {scf['tps']:,} tx/s | " + " | ".join(f"{v:,}" for v in scf["phase_tps"].values()) + " |"]
    lineage = extra.get("lineage")
    if lineage:
        lines += ["", f"**Lineage query** with {lineage['pieces_on_chain']:,} voucher pieces on the chain (signed "
                  "`scf.lineage` through the API, target < 50 ms): a typical voucher of "
                  f"{lineage['typical_tree_pieces']} pieces answers in {lineage['typical_ms_p50']} ms (p50, max "
                  f"{lineage['typical_ms_max']} ms); one voucher split into {lineage['big_tree_pieces']:,} pieces in "
                  f"{lineage['big_tree_ms_p50']} ms."]
    evidence = extra.get("evidence")
    if evidence:
        lines += ["", "**Evidence depository** (`evidence.deposit_batch` transactions of "
                  f"{evidence['deposits'][0]['per_tx']:,} deposits each, signed before the clock starts, posted "
                  f"{evidence['deposits'][0]['per_request']} per request by {evidence['deposits'][0]['clients']} "
                  "concurrent clients to a fresh node process, every commit awaited; certificates fetched from that "
                  "node and verified offline as `consortia verify` does, file included, quorum 1):", "",
                  "| suite | deposits | deposits/s | request p50 ms | request p99 ms | certificate verify p50 / p99 ms | "
                  "certificate bytes | in a 1,000-deposit batch: verify p50 / p99 ms | bytes |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for dep, cert in zip(evidence["deposits"], evidence["certificates"], strict=True):
            one, many = cert["single"], cert["in_batch"]
            lines.append(f"| {dep['suite']} | {dep['deposits']:,} | {dep['deposits_per_s']:,} | {dep['p50_ms']} | "
                         f"{dep['p99_ms']} | {one['p50_ms']} / {one['p99_ms']} | {one['bytes']:,} | "
                         f"{many['p50_ms']} / {many['p99_ms']} | {many['bytes']:,} |")
        cpu = [f"{dep['suite']} {dep['node_cpu_us_per_deposit']} µs" for dep in evidence["deposits"]
               if dep.get("node_cpu_us_per_deposit")]
        if cpu:
            lines += ["", "Node process CPU per deposit (user + system, the GIL-bound process's ceiling is about "
                      "1,000,000 / that deposits/s): " + ", ".join(cpu) + "."]
    trace = extra.get("trace")
    if trace:
        cap, q = trace["capture"], trace["queries"]
        lines += ["", f"**Traceability capture**: one EPCISDocument of {cap['events']:,} events, validated against the "
                  f"official EPCIS 2.0 schema ({cap['validate_s']} s), signed into {cap['transactions']} `trace.capture` "
                  f"transactions and posted to `/epcis/capture` of a fresh node process: **{cap['events_per_s']:,} "
                  f"events/s** from the post to the job's end ({cap['end_to_end_events_per_s']:,} events/s including "
                  "validation).", ""]
        if trace.get("sealed"):
            lines += ["**Sealed capture** (ADR 0013): the same document with every payload sealed to the capturer and a "
                      "regulator (`trace.capture_sealed`); sealing happens while signing.", "",
                      "| suite | events | sign + seal s | clear: sign s | capture events/s | end to end events/s |",
                      "| --- | ---: | ---: | ---: | ---: | ---: |"]
            for row in trace["sealed"]:
                clear = cap["sign_s"] if row["suite"] == cap.get("suite", "ed25519-sha256") else "-"
                lines.append(f"| {row['suite']} | {row['events']:,} | {row['sign_s']} | {clear} | {row['events_per_s']:,} | "
                             f"{row['end_to_end_events_per_s']:,} |")
            lines.append("")
        lines += [f"**Trace queries over {q['events']:,} captured events** ({q['lots']:,} lots of pork loin, each "
                  "commissioned, packed on pallets, stored with a temperature reading, shipped, received, unpacked and "
                  f"sold package by package; loaded through the real `trace.capture` contract at {q['load_events_per_s']:,} "
                  f"events/s, {q['store_mb']:,} MB on disk; target p99 < 100 ms, the Walmart pilot's mark 2.2 s):", "",
                  "| query | answer | in process p50 / p99 / max ms | signed REST p50 / p99 / max ms |",
                  "| --- | --- | ---: | ---: |"]
        for name, what, size in (("backward", "a sold package back to its farm lot",
                                  f"{q['in_process']['backward_events_per_answer']} events"),
                                 ("forward", "a lot to every package, pallet and store",
                                  f"{q['in_process']['forward_events_per_answer']} events"),
                                 ("recall_report", "a recalled lot's affected packages and where last seen",
                                  f"{q['in_process']['recall_report']['packages_per_answer']} packages")):
            a, b = q["in_process"][name], q["api"][name]
            lines.append(f"| {name} | {what} ({size}) | {a['p50_ms']} / {a['p99_ms']} / {a['max_ms']} | "
                         f"{b['p50_ms']} / {b['p99_ms']} / {b['max_ms']} |")
        if "events" in q["in_process"]:  # the EPCIS event query and the disk per event (ADR 0028)
            a, b = q["in_process"]["events"], q["api"]["events"]
            lines += [f"| events | EPCIS query: a pallet's events ({a['events_per_answer']} events) | "
                      f"{a['p50_ms']} / {a['p99_ms']} / {a['max_ms']} | {b['p50_ms']} / {b['p99_ms']} / {b['max_ms']} |",
                      "", f"On disk: {q['store_bytes_per_event']:,} bytes per event (`chain.db` and its WAL)."]
    invoices = extra.get("invoice")
    if invoices:
        first = invoices[0]
        lines += ["", f"**E-invoices** ({first['invoices']:,} two-line invoices, every sum checked and the content "
                  f"hashed on chain, signed before the clock starts, {first['per_request']} per request from "
                  f"{first['clients']} concurrent clients to a fresh node process, every commit awaited; then each "
                  "claimed by the buyer presenting the whole invoice):", "",
                  "| suite | invoices | issued/s | issue p50 / p99 ms | claims/s | claim p50 / p99 ms | verify/s | "
                  "issue / verify |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for row in invoices:
            lines.append(f"| {row['suite']} | {row['invoices']:,} | {row['issued_per_s']:,} | {row['issue_p50_ms']} / "
                         f"{row['issue_p99_ms']} | {row['claims_per_s']:,} | {row['claim_p50_ms']} / "
                         f"{row['claim_p99_ms']} | {row['verify_per_s']:,} | {row['issue_ratio']} |")
    hosted = extra.get("hosted")
    if hosted:
        lines += ["", "**SMEs without a node** (ADR 0023): SMEs onboarded in one batch by their operator through the API "
                  "of a fresh node process (a key and a certificate made for each, staged in chunks of 2,000 and "
                  "committed at once), and supply chain finance with SME holders, each signing its own transactions:", "",
                  "| suite | SMEs | keys + certificates s | on the chain s | total s | SMEs/s | state bytes per member | "
                  "transaction bytes per member |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for h in hosted:
            lines.append(f"| {h['suite']} | {h['smes']:,} | {h['keys_and_certificates_s']} | {h['chain_s']} | {h['total_s']} | "
                         f"{h['smes_per_s']:,} | {h['state_bytes_per_member']} | {h['tx_bytes_per_member']} |")
        for h in hosted:
            if h.get("scf"):
                f = h["scf"]
                lines += ["", f"SCF with {f['sme_holders']:,} SME holders ({h['suite']}; a voucher to each, accepted, part "
                          "split to the next SME, factoring applied for; tx/s per phase):", "",
                          f"| all phases | {' | '.join(f['phase_tps'])} | SME holdings query p50 / max ms |",
                          "| ---: " * (len(f["phase_tps"]) + 2) + "|",
                          f"| {f['tps']:,} tx/s | " + " | ".join(f"{v:,}" for v in f["phase_tps"].values())
                          + f" | {f['holdings_query_ms_p50']} / {f['holdings_query_ms_max']} |"]
    waybill = extra.get("waybill")
    if waybill:
        first = waybill[0]
        lines += ["", f"**Waybill checkpoints** ({first['waybills']:,} cold-chain waybills picked up, then "
                  f"{first['per_waybill']} checkpoints each with a reefer temperature by the carrier in custody, signed "
                  f"before the clock starts, posted {first['batch']} per request to a fresh node process, every commit "
                  "awaited):", "", "| suite | checkpoints | checkpoints/s | last quarter (longer histories) /s |",
                  "| --- | ---: | ---: | ---: |"]
        lines += [f"| {w['suite']} | {w['checkpoints']:,} | {w['per_s']:,} | {w['last_quarter_per_s']:,} |" for w in waybill]
    charity = extra.get("charity")
    if charity:
        lines += ["", f"**Charity donations** ({charity[0]['anonymous']['donations']:,} of each kind, signed before the "
                  f"clock starts, {charity[0]['per_request']} per request by {charity[0]['clients']} concurrent clients "
                  "to a fresh node process, every commit awaited; anonymous ones carry the donor sealed to the "
                  "authority's key; then one grant draws on every anonymous gift and the need's public page is "
                  "fetched with every transaction's proof checked):", "",
                  "| suite | anonymous donations/s | p50 / p99 ms | seal + sign ms each | named donations/s | "
                  "p50 / p99 ms | grant over all (ms) | public page s (donations shown, proofs) |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for row in charity:
            a, n, page = row["anonymous"], row["named"], row["page"]
            lines.append(f"| {row['suite']} | {a['donations_per_s']:,} | {a['p50_ms']} / {a['p99_ms']} | "
                         f"{a['seal_and_sign_ms_each']} | {n['donations_per_s']:,} | {n['p50_ms']} / {n['p99_ms']} | "
                         f"{row['grant']['ms']} | {page['s']} ({page['donations_shown']:,}, {page['proofs']:,}) |")
    lines += ["", "```json", json.dumps({"ceilings": c, "runs": runs, **extra}, indent=1), "```", "", END]
    return "\n".join(lines)


def main() -> None:
    txs = int(os.environ.get("BENCH_TXS", "30000"))
    c = ceilings()
    # Nodes run in processes of their own (consortia up, which tunes its collector); the sections that
    # load a node inside this process (lineage, the million trace events) get the same settings.
    from consortia.node.runtime import tune_gc

    tune_gc()
    print(json.dumps(c, indent=1), file=sys.stderr)
    suites = os.environ.get("BENCH_SUITES", "ed25519-sha256,sm2-sm3").split(",")
    runs = [run_kv_bench(txs, 500, clients, progress=True, suite_name=suite.strip())
            for suite in suites for clients in (4, 8)]
    # The same kv.put as a member's contract, beside the built-in, in the same run (ADR 0014).
    runs += [run_kv_bench(txs, 500, 8, progress=True, suite_name=suites[0].strip(), member=True)]
    extra: dict[str, Any] = {}
    if os.environ.get("BENCH_NETWORK", "1") == "1":
        extra["network"] = network_bench.run(int(os.environ.get("BENCH_NETWORK_TXS", "20000")))
        print(json.dumps(extra["network"]), file=sys.stderr)
    if os.environ.get("BENCH_SCF", "1") == "1":
        extra["scf"] = scf_bench.workload(int(os.environ.get("BENCH_SCF_VOUCHERS", "3000")))
        print(json.dumps(extra["scf"]), file=sys.stderr)
        extra["lineage"] = scf_bench.lineage(int(os.environ.get("BENCH_LINEAGE_VOUCHERS", "20000")))
        print(json.dumps(extra["lineage"]), file=sys.stderr)
    if os.environ.get("BENCH_EVIDENCE", "1") == "1":
        count = int(os.environ.get("BENCH_EVIDENCE_DEPOSITS", "20000"))
        extra["evidence"] = {"deposits": [evidence_bench.deposits(count, 1000, suite.strip()) for suite in suites],
                             "certificates": [evidence_bench.certificates(100, suite.strip()) for suite in suites]}
        print(json.dumps(extra["evidence"]), file=sys.stderr)
    if os.environ.get("BENCH_TRACE", "1") == "1":
        count = int(os.environ.get("BENCH_TRACE_CAPTURE", "10000"))
        capture = trace_bench.capture(count)
        print(json.dumps(capture), file=sys.stderr)
        sealed = [trace_bench.capture(count, sealed=True, suite_name=suite.strip()) for suite in suites]
        print(json.dumps(sealed), file=sys.stderr)
        queries = trace_bench.trace_queries(int(os.environ.get("BENCH_TRACE_EVENTS", "1000000")), progress=True)
        extra["trace"] = {"capture": capture, "sealed": sealed, "queries": queries}
        print(json.dumps(queries), file=sys.stderr)
    if os.environ.get("BENCH_INVOICE", "1") == "1":
        count = int(os.environ.get("BENCH_INVOICE_COUNT", "3000"))
        extra["invoice"] = [invoice_bench.workload(count, suite.strip()) for suite in suites]
        print(json.dumps(extra["invoice"]), file=sys.stderr)
    if os.environ.get("BENCH_HOSTED", "1") == "1":
        count, holders = int(os.environ.get("BENCH_HOSTED_SMES", "10000")), int(os.environ.get("BENCH_HOSTED_HOLDERS", "1000"))
        extra["hosted"] = [hosted_bench.run(count, holders if i == 0 else 0, suite.strip()) for i, suite in enumerate(suites)]
        print(json.dumps(extra["hosted"]), file=sys.stderr)
    if os.environ.get("BENCH_WAYBILL", "1") == "1":
        count = int(os.environ.get("BENCH_WAYBILL_WAYBILLS", "200"))
        extra["waybill"] = [waybill_bench.checkpoints(count, int(os.environ.get("BENCH_WAYBILL_CHECKPOINTS", "25")),
                                                      suite.strip()) for suite in suites]
        print(json.dumps(extra["waybill"]), file=sys.stderr)
    if os.environ.get("BENCH_CHARITY", "1") == "1":
        count = int(os.environ.get("BENCH_CHARITY_DONATIONS", "5000"))
        extra["charity"] = [charity_bench.donations(count, suite.strip()) for suite in suites]
        print(json.dumps(extra["charity"]), file=sys.stderr)
    target = ROOT / "BENCHMARKS.md"
    text = target.read_text() if target.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    target.write_text(head + render(c, runs, extra) + tail)
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
