// Block explorer: chain overview, live block list, block and transaction pages, search.
import {
  session, get, getText, el, link, table, card, section, fill, empty, short, when, ago, badge, errorBox, ApiError,
  verifyTransaction, parseExact, onLeave, query, pretty,
} from "./lib.js";
import { senderName } from "./wallet.js";

// The events the built-in contracts emit; any of them means a new block (polling catches the rest).
const EVENT_NAMES = ["BatchConfirmed", "BatchDeposited", "CertificateRevoked", "Confirmed", "Cosigned", "CreditLineGranted", "Deleted", "Deposited", "DocumentRegistered", "ErrorDeclared", "EventCaptured", "FinancingApplied", "FinancingApproved", "FinancingClosed", "FinancingDisbursed", "Granted", "LocationRegistered", "LotRecalled", "PartyRegistered", "PledgeReleased", "ProductRegistered", "ProposalClosed", "ProposalOpened", "Put", "SensorAlert", "TransferAnswered", "TransferClosed", "TransferProposed", "VoteCast", "VoucherAccepted", "VoucherIssued", "VoucherOverdue", "VoucherRejected", "VoucherSettled", "VoucherSplit", "Work"];

function txPerSecond(blocks) {
  if (blocks.length < 2) return "—";
  const span = (blocks[0].time_ms - blocks[blocks.length - 1].time_ms) / 1000;
  const txs = blocks.slice(0, -1).reduce((n, b) => n + b.tx_count, 0);
  return span > 0 ? (txs / span).toFixed(2) : "—";
}

function blockRows(blocks) {
  return blocks.map((b) => [
    link(`#/block/${b.height}`, String(b.height)), link(`#/block/${b.hash}`, short(b.hash, 16), { class: "mono" }),
    String(b.tx_count), b.proposer, ago(b.time_ms)]);
}

export async function overview() {
  const stats = el("div", { class: "cards" });
  const blocksBox = el("div", { id: "live-blocks" });
  const orgsBox = el("div");
  const live = el("span", { class: "live" }, "live");

  async function refresh() {
    const [chain, blocks] = await Promise.all([get("/chain"), get("/blocks?limit=20")]);
    let health;
    try { health = await get("/health"); } catch (e) { health = { status: "failing", pending: "?" }; }
    stats.replaceChildren(
      card("Height", String(chain.height), "height"),
      card("Final height", String(chain.final_height), "final"),
      card("Transactions / s (last 20 blocks)", txPerSecond(blocks.blocks), "tps"),
      card("Organisations", String(chain.organisations.length), "orgs"),
      card("Node health", el("span", {}, badge(health.status), ` ${health.pending} pending`), "health"),
      card("Crypto suite", chain.suite, "suite"));
    blocksBox.replaceChildren(table(["Height", "Hash", "Txs", "Proposer", "Time"], blockRows(blocks.blocks), "No blocks yet."));
    orgsBox.replaceChildren(table(["Organisation", "Name", "Kind"],
      chain.organisations.map((o) => [o.id, o.name, o.kind])));
  }

  await refresh();
  const timer = setInterval(() => {
    if (!stats.isConnected) { clearInterval(timer); source.close(); return; }  // the user moved on meanwhile
    refresh().catch(() => {});
  }, 5000);
  let pending = false;
  const source = new EventSource("/events");
  source.addEventListener("open", () => live.classList.add("on"));
  const onEvent = () => {  // a contract event of a committed transaction: a new block
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; refresh().catch(() => {}); }, 300);
  };
  source.onmessage = onEvent;
  for (const name of EVENT_NAMES) source.addEventListener(name, onEvent);
  onLeave(() => { clearInterval(timer); source.close(); });

  return [
    el("h1", {}, "Chain overview ", live),
    stats,
    section("Latest blocks", blocksBox),
    section("Organisations", orgsBox),
  ];
}

export async function block(ref) {
  const b = await get(`/blocks/${ref}`);
  const h = b.header;
  const rows = b.txs.map((w, i) => {
    const r = b.receipts[i];
    return [link(`#/tx/${r.tx_id}`, short(r.tx_id, 16), { class: "mono" }), `${w.tx.contract}.${w.tx.method}`,
      senderName(w.tx.sender), badge(r.status), r.code && r.code.toLowerCase() !== r.status ? r.code : ""];
  });
  const nav = el("p", { class: "pager" },
    h.height > 0 ? link(`#/block/${h.height - 1}`, "← previous block") : "", " ",
    link(`#/block/${h.height + 1}`, "next block →"));
  return [
    el("h1", {}, `Block ${h.height}`),
    nav,
    el("dl", { class: "fields" }, ...Object.entries({ hash: b.hash, ...h }).flatMap(([k, v]) => [
      el("dt", {}, k), el("dd", { class: "mono" }, k === "prev_hash" && h.height > 0 ? link(`#/block/${v}`, v)
        : k === "time_ms" ? `${when(v, true)} (${v})` : String(v))])),
    section(`Transactions (${b.txs.length})`, table(["Tx id", "Call", "Sender", "Status", "Code"], rows, "An empty block.")),
  ];
}

export async function transaction(txId) {
  const text = await getText(`/transactions/${txId}`);
  const v = parseExact(text);
  const r = v.receipt;
  const result = el("div", { id: "proof-result" });
  const button = el("button", {
    id: "verify-proof", class: "primary",
    onclick: async () => {
      button.disabled = true;
      result.replaceChildren(el("p", { class: "loading" }, "Verifying…"));
      try {
        const outcome = await verifyTransaction(text);
        if (!outcome.supported) {
          result.replaceChildren(el("p", { class: "notice" },
            `This chain uses the ${outcome.suite} suite, which this console cannot check: ` +
            `verify with the CLI: consortia tx show ${txId}`));
        } else {
          const ok = outcome.checks.every(([, passed]) => passed !== false);
          const partial = outcome.checks.some(([, passed]) => passed === null);
          result.replaceChildren(
            el("p", { class: ok ? "verified" : "error", role: "status" },
              !ok ? "Proof FAILED" : partial ? "Proof verified in your browser, except what governance masked"
                : "Proof verified in your browser"),
            el("ul", { class: "checks" }, outcome.checks.map(([what, passed]) =>
              el("li", { class: passed === null ? "skip" : passed ? "pass" : "fail" },
                `${passed === null ? "–" : passed ? "✓" : "✗"} ${what}`))));
        }
      } catch (e) {
        result.replaceChildren(errorBox(e));
      } finally {
        button.disabled = false;
      }
    },
  }, "Verify proof");
  return [
    el("h1", {}, "Transaction"),
    el("p", { class: "mono wrap" }, txId),
    el("dl", { class: "fields" },
      el("dt", {}, "block"), el("dd", {}, link(`#/block/${v.height}`, `${v.height}`), ` (index ${v.index})`),
      el("dt", {}, "sender"), el("dd", { id: "tx-sender", title: "the member whose certificate signed this transaction" },
        senderName(v.tx.sender)),
      el("dt", {}, "call"), el("dd", { class: "mono" }, `${v.tx.contract}.${v.tx.method}`),
      el("dt", {}, "arguments"), el("dd", {}, el("pre", {}, pretty(v.tx.args))),
      el("dt", {}, "status"), el("dd", {}, badge(r.status), " ", r.code || "", " ", r.message || ""),
      el("dt", {}, "time"), el("dd", {}, when(v.header.time_ms, true))),
    section("Receipt",
      r.events.length ? table(["Event", "Data"], r.events.map((e) => [`${e.contract}.${e.name}`,
        el("code", {}, pretty(e.data).replace(/\n\s*/g, " "))])) : empty("No events."),
      r.result !== null && r.result !== undefined ? el("pre", {}, pretty(r.result)) : ""),
    section("Proof", el("p", {}, "Check that this transaction and its receipt are in the block, using only the " +
      "block header: no trust in this node."), button, result),
  ];
}

export async function search(q) {
  const box = el("div");
  await fill(box, async () => {
    const dl = /\/01\/(\d{14})(?:\/10\/([^/?#]+))?(?:\/21\/([^/?#]+))?/.exec(q);  // a GS1 Digital Link
    if (dl) { location.hash = `#/journey/${[dl[1], dl[2] || "", dl[3] || ""].join("/").replace(/\/+$/, "")}`; return empty("…"); }
    if (/^\d{14}$/.test(q)) { location.hash = `#/journey/${q}`; return empty("…"); }  // a GTIN
    if (/^\d+$/.test(q)) { location.hash = `#/block/${q}`; return empty("…"); }
    if (/^[0-9a-fA-F]{64}$/.test(q) || /^[0-9a-fA-F]{128}$/.test(q)) {
      for (const path of [`/transactions/${q}`, `/blocks/${q}`]) {
        try {
          await get(path);
          location.hash = path.startsWith("/transactions") ? `#/tx/${q}` : `#/block/${q}`;
          return empty("…");
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 404) throw e;
        }
      }
    }
    if (/^[0-9a-fA-F]{64}$/.test(q)) {  // an evidence digest (SHA-256)
      const found = await query("evidence", "exists", { algorithm: "sha-256", digest: q.toLowerCase() }).catch(() => null);
      if (found && found.exists) { location.hash = `#/evidence/${q.toLowerCase()}`; return empty("…"); }
    }
    if (/^[0-9a-fA-F]{32}$/.test(q)) { location.hash = `#/voucher/${q}`; return empty("…"); }
    // An id shown short ("6a54b6730075…"): a unique prefix of a transaction, block or voucher id will do.
    const stem = q.replace(/(…|\.\.\.)$/, "");
    if (/^[0-9a-fA-F]{4,63}$/.test(stem)) {
      for (const [path, target] of [[`/transactions/${stem}`, (v) => `#/tx/${v.tx_id}`],
        [`/blocks/${stem}`, (v) => `#/block/${v.hash}`]]) {
        try {
          const found = await get(path);
          location.hash = target(found);
          return empty("…");
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 404) throw e;
        }
      }
      if (session.identity) {
        try {
          const found = await query("scf", "resolve", { kind: "voucher", prefix: stem.toLowerCase() });
          location.hash = `#/voucher/${found.id}`;
          return empty("…");
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 404) throw e;
        }
      }
    }
    return empty(`Nothing found for "${q}". Search by transaction id, block hash, block height, voucher id, evidence digest, GTIN or GS1 Digital Link.`);
  });
  return [el("h1", {}, "Search"), box];
}
