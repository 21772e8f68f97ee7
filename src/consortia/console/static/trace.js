// Traceability: products, a package's journey on a timeline, recalls (the consumer page is /01/...).
import { session, query, el, table, section, fill, when, badge, empty, link, toast, get, parseExact, ApiError, fetchText } from "./lib.js";

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** Temperature readings along the journey as a line, with the product's allowed range shaded. */
function temperatureChart(j) {
  const readings = j.steps.flatMap((s) => s.sensors || []).filter((r) => r.type === "Temperature")
    .map((r) => ({ t: r.time_ms, v: Number(r.value), uom: r.uom })).sort((a, b) => a.t - b.t);
  if (readings.length < 2) return "";
  const range = j.product && j.product.ranges && j.product.ranges.Temperature;
  const W = 640, H = 180, pad = 34;
  const values = readings.map((r) => r.v).concat(range ? [Number(range.min), Number(range.max)] : []);
  const lo = Math.min(...values) - 1, hi = Math.max(...values) + 1;
  const t0 = readings[0].t, t1 = readings[readings.length - 1].t;
  const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (W - pad * 2);
  const y = (v) => H - pad - ((v - lo) / (hi - lo)) * (H - pad * 2);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", id: "temperature-chart", role: "img",
    "aria-label": "temperature along the journey" });
  if (range) {
    chart.append(svg("rect", { x: pad, y: y(Number(range.max)), width: W - pad * 2,
      height: y(Number(range.min)) - y(Number(range.max)), fill: "#dcfce7" }, svg("title", {}, `allowed ${range.min} to ${range.max}`)));
  }
  chart.append(svg("polyline", { fill: "none", stroke: "#2563eb", "stroke-width": 2,
    points: readings.map((r) => `${x(r.t)},${y(r.v)}`).join(" ") }));
  for (const r of readings) {
    const out = range && (r.v < Number(range.min) || r.v > Number(range.max));
    chart.append(svg("circle", { cx: x(r.t), cy: y(r.v), r: out ? 5 : 3, fill: out ? "#dc2626" : "#2563eb" },
      svg("title", {}, `${r.v} ${r.uom} at ${when(r.t)}`)));
  }
  chart.append(svg("text", { x: 2, y: y(hi - 1) + 4, class: "axis" }, `${hi - 1}`));
  chart.append(svg("text", { x: 2, y: y(lo + 1) + 4, class: "axis" }, `${lo + 1}`));
  chart.append(svg("text", { x: pad, y: H - 6, class: "axis" }, when(t0)));
  chart.append(svg("text", { x: W - pad - 150, y: H - 6, class: "axis" }, when(t1)));
  return el("figure", {}, el("h3", {}, `Temperature (${readings[0].uom})`), chart);
}

function journeyView(j) {
  return [
    el("h3", {}, j.product ? j.product.name : j.key),
    j.recall ? el("p", { class: "error", role: "alert" }, `Recalled: ${j.recall.reason || "see the recall report"}`) : "",
    el("p", {}, link(`/${j.key.startsWith("01/") ? j.link.split("id.gs1.org/")[1] : j.key}`, "Consumer page (no login)"),
      " · ", link(`/qr/${j.link.split("id.gs1.org/")[1]}?format=svg`, "QR label (SVG)")),
    j.steps.length ? el("ol", { class: "timeline", id: "journey" }, j.steps.map((s) => el("li", {},
      el("div", { class: "when" }, when(s.time_ms)),
      el("div", {}, el("strong", {}, `${s.stage}: ${s.step}`), " ", s.disposition ? badge(s.disposition) : ""),
      el("div", { class: "muted" }, `${s.place ? s.place.name + ", " + (s.place.city || "") : ""} · ${s.by}`),
      s.sensors && s.sensors.length ? el("div", { class: "muted" }, `${s.sensors.length} sensor reading(s)`) : "",
      el("div", {}, link(`#/tx/${s.tx}`, `block ${s.height}`))))) : empty("No events for this package."),
    temperatureChart(j),
  ];
}

/** Every package of a recalled lot and where it was last seen (brand owner or regulator). */
async function recallReport(gtin, lot) {
  const r = await query("trace", "recall_report", { gtin, lot });
  return [
    el("h3", {}, `Lot ${lot}: ${r.packages.length} affected package(s)`),
    table(["Package", "Last step", "Last seen", "Where", "Holder"], r.packages.map((p) => [
      link(`/${p.key.replace("/21/", `/10/${lot}/21/`)}`, p.serial || p.key), p.last_step || "", when(p.last_seen_ms),
      p.last_place ? `${p.last_place.name}, ${p.last_place.city}` : "—", p.holder || "—"]), "No package found."),
  ];
}

/** The journey page for a search (GTIN, optional lot and serial). */
export async function journey(gtin, lot, serial) {
  const args = { gtin };
  if (lot) args.lot = lot;
  if (serial) args.serial = serial;
  return [el("h1", {}, "Product journey"), el("div", { id: "journey-box" }, journeyView(await query("trace", "journey", args)))];
}

/** Capture an EPCIS 2.0 document: validated and signed as the signed-in member, then a progress bar. */
function captureForm() {
  const input = el("input", { type: "file", id: "capture-file", accept: ".json,.jsonld,application/json,application/ld+json" });
  const bar = el("progress", { id: "capture-progress", max: "1", value: "0", hidden: true });
  const out = el("div", { id: "capture-result" });
  const button = el("button", { class: "primary", id: "capture", onclick: async () => {
    const file = input.files[0];
    if (!file) { toast("Choose an EPCIS document first", "error"); return; }
    if (!session.identity) { toast("Sign in first: captured events are signed by a member", "error"); return; }
    button.disabled = true;
    bar.hidden = false;
    bar.removeAttribute("value");
    out.replaceChildren(el("p", { class: "loading" }, `Validating and signing ${file.name}…`));
    try {
      const signed = await fetchText("POST", `/console/api/sign-capture?identity=${encodeURIComponent(session.identity)}`,
        await file.text());
      const events = parseExact(signed).events;
      let job = JSON.parse(await fetchText("POST", "/epcis/capture", signed));  // 202 with the capture job
      while (job.running) {
        bar.max = job.transactions || 1;
        bar.value = job.committedTransactions;
        out.replaceChildren(el("p", { class: "loading" }, `${job.committedTransactions} of ${job.transactions} transactions committed`));
        await new Promise((r) => setTimeout(r, 250));
        job = await get(`/epcis/capture/${job.captureID}`);
      }
      bar.max = 1;
      bar.value = 1;
      out.replaceChildren(job.success
        ? el("p", { class: "verified", role: "status" }, `Captured ${job.capturedCount} of ${events} events in ${job.transactions} transaction(s)`)
        : el("div", { class: "error", role: "alert" }, "Capture refused: ",
          job.errors.map((e) => el("div", {}, e.code ? `${e.message} (${e.code})` : JSON.stringify(e)))));
    } catch (e) {
      bar.hidden = true;
      out.replaceChildren(el("p", { class: "error", role: "alert" }, e instanceof ApiError ? e.words : String(e)));
    } finally {
      button.disabled = false;
    }
  } }, "Capture");
  return [el("div", { class: "action inline" }, el("label", {}, "EPCIS 2.0 document (JSON-LD) ", input), button), bar, out];
}

export async function home() {
  const productsBox = el("div");
  const recallsBox = el("div");
  const journeyBox = el("div", { id: "journey-box" });
  fill(productsBox, async () => {
    const products = await query("trace", "products", {});
    return table(["GTIN", "Product", "Brand owner", "Category"], products.map((p) => [el("code", {}, p.gtin), p.name,
      p.brand_owner, p.category]), "No products registered.");
  });
  const reportBox = el("div", { id: "recall-report" });
  fill(recallsBox, async () => {
    const recalls = await query("trace", "recalls", {});
    return table(["GTIN", "Lot", "By", "Reason", "When", ""], recalls.map((r) => [r.gtin, r.lot, r.by, r.reason, when(r.time_ms),
      el("button", { "data-recall": r.lot, onclick: () => fill(reportBox, () => recallReport(r.gtin, r.lot)) }, "Affected packages")]),
    "No recall.");
  });
  const f = el("form", { class: "action inline", id: "journey-form" },
    el("label", {}, "GTIN", el("input", { name: "gtin", value: "06925678000012", required: true })),
    el("label", {}, "Lot", el("input", { name: "lot", value: "LH260316A" })),
    el("label", {}, "Serial", el("input", { name: "serial", value: "00001" })),
    el("button", { type: "submit", class: "primary" }, "Show journey"));
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const d = Object.fromEntries(new FormData(f).entries());
    const args = { gtin: d.gtin.trim() };
    if (d.lot.trim()) args.lot = d.lot.trim();
    if (d.serial.trim()) args.serial = d.serial.trim();
    fill(journeyBox, async () => journeyView(await query("trace", "journey", args)));
  });
  return [
    el("h1", {}, "Traceability"),
    el("p", { class: "muted" }, "GS1 EPCIS 2.0 events on the chain. Capture a document here (validated against GS1's schema, signed by you), " +
      "with the API (POST /epcis/capture) or the CLI."),
    section("Capture events", ...captureForm()),
    section("Product journey", f, journeyBox),
    section("Recalls", recallsBox, reportBox),
    section("Products", productsBox),
  ];
}
