// The regulator's dashboard: volumes per app over time, financing exposure per core enterprise,
// financing by status, cold-chain alerts and recalls. Charts are inline SVG.
import {
  session, get, query, el, table, section, fill, yuan, when, badge, card, empty, ApiError, authHeader, signedIn, onLeave,
  words,
} from "./lib.js";
import { regulatorPanel as waybillPanel } from "./waybill.js";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"];

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** What each colour of a chart stands for. */
function legend(names, describe = (n) => n) {
  return el("ul", { class: "legend", "aria-label": "legend" }, names.map((n, i) =>
    el("li", { "data-series": n }, el("span", { class: "swatch", style: `background:${COLOURS[i % COLOURS.length]}` }),
      describe(n))));
}

// What an app's contract name means, for the chart legend.
const APPS = { scf: "supply chain finance (scf)", trace: "traceability (trace)", evidence: "evidence (evidence)",
  gov: "governance (gov)", members: "membership (members)", kv: "key-value store (kv)", realname: "real-name registry (realname)" };

/** Stacked bars: buckets × series. */
function stackedBars(buckets, series, title) {
  const W = 640, H = 220, pad = 30;
  const totals = buckets.map((b) => series.reduce((n, s) => n + (b.counts[s] || 0), 0));
  const max = Math.max(1, ...totals);
  const bw = (W - pad * 2) / Math.max(1, buckets.length);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });
  chart.append(svg("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#999" }));
  chart.append(svg("text", { x: 2, y: 14, class: "axis" }, `${max} tx`));
  buckets.forEach((b, i) => {
    let y = H - pad;
    series.forEach((s, j) => {
      const h = ((b.counts[s] || 0) / max) * (H - pad * 2);
      if (h > 0) {
        y -= h;
        chart.append(svg("rect", { x: pad + i * bw + 2, y, width: Math.max(1, bw - 4), height: h,
          fill: COLOURS[j % COLOURS.length] }, svg("title", {}, `${s}: ${b.counts[s]} tx, ${b.label}`)));
      }
    });
    if (i % Math.ceil(buckets.length / 6) === 0) {
      chart.append(svg("text", { x: pad + i * bw, y: H - 8, class: "axis" }, b.label));
    }
  });
  return el("figure", {}, chart, legend(series, (n) => APPS[n] || n));
}

/** Horizontal bars per row for several measures. */
function hbars(rows, measures, fmt) {
  const W = 640, rowH = 18, gap = 14;
  const max = Math.max(1, ...rows.flatMap((r) => measures.map((m) => r[m] || 0)));
  const H = rows.length * (measures.length * rowH + gap) + 10;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": "exposure per core enterprise" });
  let y = 4;
  for (const r of rows) {
    measures.forEach((m, j) => {
      const w = ((r[m] || 0) / max) * (W - 320);
      chart.append(svg("text", { x: 0, y: y + 13, class: "axis" }, j === 0 ? r.core : ""));
      chart.append(svg("rect", { x: 150, y, width: Math.max(1, w), height: rowH - 4, fill: COLOURS[j] },
        svg("title", {}, `${m}: ${fmt(r[m] || 0)}`)));
      chart.append(svg("text", { x: 156 + w, y: y + 12, class: "axis" }, `${m} ${fmt(r[m] || 0)}`));
      y += rowH;
    });
    y += gap;
  }
  return el("figure", {}, chart, legend(measures));
}

async function volumes() {
  const { blocks } = await get("/blocks?limit=200");
  if (!blocks.length) return empty("No blocks yet.");
  const full = [];
  const busy = blocks.filter((b) => b.tx_count > 0);
  for (let i = 0; i < busy.length; i += 8) {  // a few requests at a time: blocks of EPCIS events are large
    full.push(...await Promise.all(busy.slice(i, i + 8).map((b) => get(`/blocks/${b.height}`))));
  }
  const times = blocks.map((b) => b.time_ms);
  const lo = Math.min(...times), hi = Math.max(...times);
  const n = 12, width = Math.max(1, (hi - lo + 1) / n);
  const buckets = Array.from({ length: n }, (_, i) => ({
    label: when(lo + i * width, true).slice(11),
    counts: {},
  }));
  const series = new Set();
  for (const b of full) {
    const i = Math.min(n - 1, Math.floor((b.header.time_ms - lo) / width));
    for (const w of b.txs) {
      series.add(w.tx.contract);
      buckets[i].counts[w.tx.contract] = (buckets[i].counts[w.tx.contract] || 0) + 1;
    }
  }
  return [stackedBars(buckets, [...series].sort(), "transactions per app over time"),
    el("p", { class: "muted" }, `The last ${blocks.length} blocks, ${when(lo)} to ${when(hi)}.`)];
}

// -- live risk alerts -------------------------------------------------------------------------

const RULES = {
  double_financing: "Double financing attempt",
  over_value: "Above the document's amount or the credit line",
  voucher_overdue: "Voucher overdue",
  volume_spike: "Unusual transaction volume",
  sensor_breach: "Cold-chain reading out of range",
  recall: "Lot recalled",
  node_disagrees: "A node disagrees on a block",
  double_reimbursement: "Invoice claimed or reimbursed twice",
  invoice_flagged: "Invoice flagged by the tax authority",
  invoice_voided: "Invoice voided by the tax authority",
  waybill_temperature: "Waybill temperature excursion",
  waybill_exception: "Waybill package exception",
  waybill_disputed: "Waybill disputed",
  grant_unconfirmed: "Charity grant not confirmed in time",
};

/** One line about what happened, from the alert's rule and detail. */
function alertSummary(a) {
  const d = a.detail || {};
  switch (a.rule) {
    case "double_financing": case "over_value": return `${d.call || ""} refused: ${words(d.code, d.message)}`;
    case "voucher_overdue": return `voucher ${d.id} of ${d.core} (${(d.pieces || []).length || d.pieces || 0} piece(s) marked)`;
    case "volume_spike": return `${d.minute_txs} transactions in a minute, against an average of ${d.average_txs}`;
    case "sensor_breach": return `${d.type} ${d.value} outside ${d.min} to ${d.max} for GTIN ${d.gtin}`;
    case "recall": return `GTIN ${d.gtin} lot ${d.lot}: ${d.reason || "no reason given"}`;
    case "double_reimbursement": return `${d.call || ""} of invoice ${(d.args || {}).number || ""} refused: ${words(d.code, d.message)}`;
    case "invoice_flagged": case "invoice_voided": return `invoice ${d.number} (${d.seller || ""} → ${d.buyer || ""}): ${d.reason}`;
    case "waybill_temperature": return `waybill ${d.number}: ${d.temperature_c10 / 10} °C outside ${d.min_c10 / 10} to ${d.max_c10 / 10} °C (${d.carrier})`;
    case "waybill_exception": return `waybill ${d.number}: ${d.kind} ${d.delta} package(s), ${d.packages} left (${d.by})`;
    case "waybill_disputed": return `waybill ${d.number} disputed by ${d.by}`;
    case "grant_unconfirmed": return `grant ${d.grant} of need ${d.need}: ${yuan(d.amount)} unconfirmed since ${when(d.confirm_by_ms)}`;
    case "node_disagrees": return `this node has ${String(d.ours || "").slice(0, 12)}…; others attested differently`;
    default: return JSON.stringify(d).slice(0, 200);
  }
}

function alertItem(a, fresh) {
  return el("li", { class: fresh ? "new" : "", "data-seq": a.seq, "data-rule": a.rule },
    el("div", {}, el("strong", {}, RULES[a.rule] || a.rule), " ", badge(`#${a.seq}`), " ",
      el("span", { class: "muted", title: when(a.time_ms) }, `${when(a.time_ms)} · block ${a.height} · ${a.org}`)),
    el("div", {}, alertSummary(a)),
    a.tx_id ? el("div", {}, el("a", { href: `#/tx/${a.tx_id}` }, `the transaction that raised it (block ${a.height})`)) : "");
}

/** Read Server-Sent Events from a fetch body (EventSource cannot send the signed-read header). */
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

/** The regulator's alerts, newest first, live from /alerts/stream (a signed read, reconnecting). */
function alertsFeed() {
  const list = el("ol", { class: "alerts", id: "alerts-feed" });
  const live = el("span", { class: "live", id: "alerts-live" }, "live");
  const note = el("div");
  const box = el("div", {}, el("p", { class: "muted" }, "Every alert the rules raise over committed blocks, newest first. ", live), note, list);
  if (!signedIn()) {
    note.replaceChildren(el("p", { class: "notice" }, "Sign in as a regulator (e.g. sh-regulator/admin) to see the live alerts."));
    return box;
  }
  const controller = new AbortController();
  onLeave(() => controller.abort());
  let last = 0, first = true;
  const MAX = 200;
  async function connect() {
    while (!controller.signal.aborted) {
      try {
        const target = `/alerts/stream?after=${last}`;  // the header covers the query, and serves once
        const header = await authHeader("GET", target);
        const r = await fetch(target, { headers: { "X-Consortia-Auth": header }, signal: controller.signal });
        if (!r.ok) {
          let err = { code: `HTTP_${r.status}`, message: "" };
          try { err = (await r.json()).error || err; } catch (_) { /* not JSON */ }
          note.replaceChildren(el("p", { class: "notice" }, err.code === "NOT_REGULATOR"
            ? `${session.identity} is not a regulator: sign in as sh-regulator/admin to see the live alerts.` : words(err.code, err.message)));
          return;
        }
        live.classList.add("on");
        note.replaceChildren();
        const batch = [];
        let flush = null;
        await readEvents(r, (a) => {
          last = Math.max(last, a.seq);
          batch.push(a);
          flush = flush || setTimeout(() => {  // the backlog arrives at once: draw it in one go
            flush = null;
            if (note.querySelector(".empty")) note.replaceChildren();
            list.prepend(...batch.splice(0).reverse().map((x) => alertItem(x, !first)));
            while (list.children.length > MAX) list.lastChild.remove();
            first = false;
          }, first ? 200 : 0);
        });
      } catch (e) {
        if (controller.signal.aborted) return;
      }
      live.classList.remove("on");
      await new Promise((res) => setTimeout(res, 3000));  // the node went away: try again
    }
  }
  connect();
  setTimeout(() => { if (first && !list.children.length) { first = false; if (!note.childElementCount) note.replaceChildren(empty("No alert yet.")); } }, 1500);
  return box;
}

export async function home() {
  const volumesBox = el("div", { id: "volumes" });
  const exposureBox = el("div", { id: "exposure" });
  const traceBox = el("div", { id: "trace-alerts" });
  fill(volumesBox, volumes);
  fill(exposureBox, async () => {
    if (!session.identity) return el("p", { class: "notice" }, "Sign in as a regulator (e.g. sh-regulator/admin) to see exposure.");
    try {
      const o = await query("scf", "overview", {});
      return [
        el("div", { class: "cards" }, card("SCF parties", String(o.parties), "parties"),
          card("Financed outstanding", yuan(o.financed_outstanding), "financed"),
          card("Credit lines", String(o.credit_lines.length), "lines"),
          card("Financings", Object.entries(o.financings_by_status).map(([k, v]) => `${v} ${k}`).join(", ") || "none", "fin")),
        o.exposure.length ? hbars(o.exposure, ["outstanding", "financed", "settled"], yuan) : empty("No core enterprise yet."),
        table(["Core enterprise", "Vouchers", "Outstanding", "Financed", "Settled"],
          o.exposure.map((x) => [x.core, String(x.vouchers), yuan(x.outstanding), yuan(x.financed), yuan(x.settled)])),
      ];
    } catch (e) {
      if (e instanceof ApiError && e.code === "NOT_VISIBLE") {
        return el("p", { class: "notice" }, `${session.identity} is not a regulator: sign in as sh-regulator/admin.`);
      }
      throw e;
    }
  });
  fill(traceBox, async () => {
    const [stats, recalls] = await Promise.all([query("trace", "stats", {}), query("trace", "recalls", {})]);
    let alerts = [];
    try { alerts = await query("trace", "alerts", { limit: 50 }); } catch (e) { /* needs a signed-in party */ }
    return [
      el("div", { class: "cards" }, card("EPCIS events", String(stats.events)), card("Recalls", String(stats.recalls)),
        card("Cold-chain alerts", String(stats.alerts)), card("Error declarations", String(stats.declarations))),
      el("h3", {}, "Recalls"),
      table(["Lot", "By", "Reason", "When", "Block"], recalls.map((r) => [`${r.gtin} / ${r.lot}`, r.by, r.reason, when(r.time_ms),
        el("a", { href: `#/tx/${r.tx}` }, `recall transaction, block ${r.height}`)]), "No recall."),
      el("h3", {}, "Cold-chain alerts"),
      table(["When", "Product", "Reading", "Allowed", "Place", "Reported by"],
        (Array.isArray(alerts) ? alerts : []).map((a) => [when(a.time_ms), a.gtin,
          el("span", {}, badge(`${a.type} ${a.value} ${a.uom}`, "reverted")), `${a.min} to ${a.max} ${a.uom}`, a.place, a.org]),
        "No alert visible to you."),
    ];
  });
  return [
    el("h1", {}, "Regulator's dashboard"),
    section("Live risk alerts", alertsFeed()),
    section("Volumes per app over time", volumesBox),
    section("Financing exposure per core enterprise", exposureBox),
    section("Traceability: recalls and alerts", traceBox),
    section("Logistics waybills: disputes, excursions, exceptions", waybillPanel()),
  ];
}
