// The regulator's dashboard: volumes per app over time, financing exposure per core enterprise,
// financing by status, cold-chain alerts and recalls. Charts are inline SVG.
import { session, get, query, el, table, section, fill, yuan, when, badge, card, empty, ApiError } from "./lib.js";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"];

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function legend(names) {
  return el("p", { class: "legend" }, names.map((n, i) =>
    el("span", {}, el("i", { style: `background:${COLOURS[i % COLOURS.length]}` }), n)));
}

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
  return el("figure", {}, chart, legend(series));
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
    label: new Date(lo + i * width).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
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
        el("a", { href: `#/tx/${r.tx}` }, String(r.height))]), "No recall."),
      el("h3", {}, "Cold-chain alerts"),
      table(["When", "Product", "Reading", "Allowed", "Place", "Reported by"],
        (Array.isArray(alerts) ? alerts : []).map((a) => [when(a.time_ms), a.gtin,
          el("span", {}, badge(`${a.type} ${a.value} ${a.uom}`, "reverted")), `${a.min} to ${a.max} ${a.uom}`, a.place, a.org]),
        "No alert visible to you."),
    ];
  });
  return [
    el("h1", {}, "Regulator's dashboard"),
    section("Volumes per app over time", volumesBox),
    section("Financing exposure per core enterprise", exposureBox),
    section("Traceability: recalls and alerts", traceBox),
  ];
}
