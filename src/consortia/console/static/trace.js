// Traceability: products, a package's journey on a timeline, recalls (the consumer page is /01/...).
import {
  query, el, table, section, fill, when, badge, empty, link, toast, get, parseExact, ApiError, fetchText, signedIn,
  signCapture, writeExact, RawNumber,
} from "./lib.js";
import { stepWords, dispositionWords, stageWords } from "./words.js";

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

/** Consecutive steps at the same place, in time order: one stop of the journey. */
function stops(steps) {
  const out = [];
  for (const s of [...steps].sort((a, b) => a.time_ms - b.time_ms)) {
    const key = s.place ? s.place.key : "";
    const last = out[out.length - 1];
    if (last && last.key === key) last.steps.push(s);
    else out.push({ key, place: s.place, steps: [s] });
  }
  return out;
}

/** The journey as a flow of locations: one box per stop, arrows in time order. */
function flowMap(j) {
  const list = stops(j.steps);
  if (!list.length) return "";
  const range = j.product && j.product.ranges && j.product.ranges.Temperature;
  const boxes = [];
  list.forEach((stop, i) => {
    if (i) boxes.push(el("li", { class: "arrow", "aria-hidden": "true" }, "↓"));
    const first = stop.steps[0], last = stop.steps[stop.steps.length - 1];
    const alert = range && stop.steps.some((s) => (s.sensors || []).some((r) => r.type === "Temperature"
      && (Number(r.value) < Number(range.min) || Number(r.value) > Number(range.max))));
    boxes.push(el("li", { class: `stop${alert ? " alert" : ""}`, "data-stop": stop.key || "unknown" },
      el("div", { class: "stop-n" }, String(i + 1)),
      el("div", {},
        el("strong", {}, stop.place ? stop.place.name : "Location not recorded"),
        el("div", { class: "muted" }, [stop.place && stop.place.city, stop.place && stop.place.kind].filter(Boolean).join(" · ")),
        el("div", { class: "muted" }, first.time_ms === last.time_ms ? when(first.time_ms)
          : `${when(first.time_ms)} → ${when(last.time_ms)}`),
        el("div", {}, [...new Set(stop.steps.map((s) => stepWords(s.step || s.type)))].join(", "), " ",
          el("span", { class: "muted" }, `· ${first.by}`)),
        alert ? el("div", { class: "bad" }, "temperature out of range here") : "")));
  });
  return el("figure", { class: "flow-box" }, el("h3", {}, `Where it went (${list.length} location${list.length > 1 ? "s" : ""})`),
    el("ol", { class: "flow", id: "journey-flow", "aria-label": "locations in time order" }, boxes));
}

function journeyView(j) {
  const timeline = j.steps.length ? el("ol", { class: "timeline", id: "journey" }, j.steps.map((s) => el("li", {},
    el("div", { class: "when" }, when(s.time_ms)),
    el("div", {}, el("strong", {}, `${stageWords(s.stage)}: ${stepWords(s.step || s.type)}`), " ",
      s.disposition ? badge(dispositionWords(s.disposition), s.disposition) : ""),
    el("div", { class: "muted" }, `${s.place ? s.place.name + ", " + (s.place.city || "") : ""} · ${s.by}`),
    s.sensors && s.sensors.length ? el("div", { class: "muted" }, `${s.sensors.length} sensor reading(s)`) : "",
    el("div", {}, link(`#/tx/${s.tx}`, `block ${s.height}`))))) : empty("No events for this package.");
  return [
    el("h3", {}, j.product ? j.product.name : j.key),
    j.recall ? el("p", { class: "error", role: "alert" }, `Recalled: ${j.recall.reason || "see the recall report"}`) : "",
    el("p", {}, link(`/${j.key.startsWith("01/") ? j.link.split("id.gs1.org/")[1] : j.key}`, "Consumer page (no login)"),
      " · ", link(`/qr/${j.link.split("id.gs1.org/")[1]}?format=svg`, "QR label (SVG)")),
    el("div", { class: "journey-views" }, flowMap(j), el("div", {}, el("h3", {}, "Timeline"), timeline)),
    temperatureChart(j),
  ];
}

/** Every package of a recalled lot and where it was last seen (brand owner or regulator). */
async function recallReport(gtin, lot) {
  const r = await query("trace", "recall_report", { gtin, lot });
  return [
    el("h3", {}, `Lot ${lot}: ${r.packages.length} affected package(s)`),
    table(["Package", "Last step", "Last seen", "Where", "Holder"], r.packages.map((p) => [
      link(`/${p.key.replace("/21/", `/10/${lot}/21/`)}`, `consumer page of ${p.serial || p.key}`),
      p.last_step ? stepWords(p.last_step) : "", when(p.last_seen_ms),
      p.last_place ? `${p.last_place.name}, ${p.last_place.city}` : "—", p.holder || "—"]), "No package found."),
  ];
}

/** A package's journey as the consumer page serves it: its trace steps and the steps of the waybills
 *  that carried its pallets (ADR 0017), with each step's proof. */
async function journeyOf(args) {
  const path = `/01/${encodeURIComponent(args.gtin)}` + (args.lot ? `/10/${encodeURIComponent(args.lot)}` : "")
    + (args.serial ? `/21/${encodeURIComponent(args.serial)}` : "");
  return get(`${path}?format=json`);
}

/** The journey page for a search (GTIN, optional lot and serial). */
export async function journey(gtin, lot, serial) {
  const args = { gtin };
  if (lot) args.lot = lot;
  if (serial) args.serial = serial;
  return [el("h1", {}, "Product journey"), el("div", { id: "journey-box" }, journeyView(await journeyOf(args)))];
}

/** Sign an EPCIS document's capture as the signed-in member, submit it, follow the job with ``bar``. */
async function runCapture(documentText, what, bar, out) {
  if (!signedIn()) { toast("Sign in first: captured events are signed by a member", "error"); return false; }
  bar.hidden = false;
  bar.removeAttribute("value");
  out.replaceChildren(el("p", { class: "loading" }, `Validating and signing ${what}…`));
  try {
    const signed = await signCapture(documentText);
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
    return job.success;
  } catch (e) {
    bar.hidden = true;
    out.replaceChildren(el("p", { class: "error", role: "alert" }, e instanceof ApiError ? e.words : String(e)));
    return false;
  }
}

/** Capture an EPCIS 2.0 document: validated and signed as the signed-in member, then a progress bar. */
function captureForm() {
  const input = el("input", { type: "file", id: "capture-file", accept: ".json,.jsonld,application/json,application/ld+json" });
  const bar = el("progress", { id: "capture-progress", max: "1", value: "0", hidden: true });
  const out = el("div", { id: "capture-result" });
  const button = el("button", { class: "primary", id: "capture", onclick: async () => {
    const file = input.files[0];
    if (!file) { toast("Choose an EPCIS document first", "error"); return; }
    button.disabled = true;
    try { await runCapture(await file.text(), file.name, bar, out); } finally { button.disabled = false; }
  } }, "Capture");
  return [el("div", { class: "action inline" }, el("label", {}, "EPCIS 2.0 document (JSON-LD) ", input), button), bar, out];
}

const DL = "https://id.gs1.org";
const BIZ_STEPS = ["receiving", "shipping", "storing", "departing", "arriving", "transporting", "inspecting", "packing",
  "unpacking", "commissioning", "loading", "unloading", "stocking", "retail_selling", "holding", "destroying"];
const DISPOSITIONS = ["in_progress", "in_transit", "active", "conformant", "non_conformant", "sellable_accessible",
  "sellable_not_accessible", "needs_replacement", "damaged", "expired", "recalled", "destroyed"];

/** GS1 mod-10 check digit of the digits before it. */
function checkDigit(body) {
  const sum = [...body].reverse().reduce((n, d, i) => n + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return String((10 - (sum % 10)) % 10);
}
function isGs1Key(digits, length) { return new RegExp(`^\\d{${length}}$`).test(digits) && checkDigit(digits.slice(0, -1)) === digits.slice(-1); }

function offsetOf(date) {
  const m = -date.getTimezoneOffset();
  const a = Math.abs(m);
  return `${m < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The EPCISDocument of the single-event form, or an error message naming the field. */
export function eventDocument(d, now = new Date()) {
  const gtin = d.gtin.trim(), lot = d.lot.trim(), gln = d.gln.trim();
  const serials = d.serials.split(/[\s,]+/).filter(Boolean);
  const others = d.epcs.split(/\s+/).filter(Boolean);
  if (gtin && !isGs1Key(gtin, 14)) return "GTIN: 14 digits with a valid check digit (e.g. 06925678000012)";
  if (!gtin && !others.length) return "Give a GTIN (with a lot or serials) or at least one EPC";
  if (gln && !isGs1Key(gln, 13)) return "Location GLN: 13 digits with a valid check digit";
  if (!gln) return "Location GLN: where the event happened";
  d = { ...d, time: (d.time || "").trim().replace(" ", "T") };  // "2027-12-01 09:30", as the console prints times
  if (!d.time) return "Time: when the event happened";
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(d.time)) return "Time: a date and 24-hour time like 2027-12-01 09:30";
  const when = new Date(d.time);
  if (Number.isNaN(when.getTime())) return "Time: not a date and time";
  if (d.temperature.trim() && !/^-?\d{1,3}(\.\d{1,2})?$/.test(d.temperature.trim())) {
    return "Temperature: a number of °C such as 3.5 or -18";
  }
  const base = gtin ? `${DL}/01/${gtin}${lot ? `/10/${encodeURIComponent(lot)}` : ""}` : "";
  const epcList = [...serials.map((s) => `${base}/21/${encodeURIComponent(s)}`), ...others];
  const quantity = Number(d.quantity || "0");
  const event = { type: "ObjectEvent", eventTime: `${d.time.length === 16 ? d.time + ":00" : d.time}.000${offsetOf(when)}`,
    eventTimeZoneOffset: offsetOf(when) };
  if (epcList.length) event.epcList = epcList;
  if (gtin && !serials.length) {
    if (!lot) return "Lot: a class-level event (no serials) needs the lot";
    if (!Number.isInteger(quantity) || quantity < 1) return "Quantity: how many units of the lot (a whole number)";
    event.quantityList = [{ epcClass: base, quantity }];
  }
  Object.assign(event, { action: d.action, bizStep: d.bizStep, disposition: d.disposition,
    readPoint: { id: `${DL}/414/${gln}` }, bizLocation: { id: `${DL}/414/${gln}` } });
  if (d.temperature.trim()) {
    event.sensorElementList = [{ sensorMetadata: { time: event.eventTime },
      sensorReport: [{ type: "Temperature", value: new RawNumber(d.temperature.trim()), uom: "CEL" }] }];
  }
  return { "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], type: "EPCISDocument",
    schemaVersion: "2.0", creationDate: now.toISOString(), epcisBody: { eventList: [event] } };
}

/** Record one ObjectEvent from a form: it becomes an EPCISDocument captured like an upload. */
function eventForm() {
  const select = (name, options, value, words = (o) => o) => el("select", { name },
    options.map((o) => el("option", { value: o, selected: o === value }, words(o))));
  const bar = el("progress", { id: "event-progress", max: "1", value: "0", hidden: true });
  const out = el("div", { id: "event-result" });
  const f = el("form", { class: "action", id: "event-form" },
    el("label", {}, "GTIN", el("input", { name: "gtin", inputmode: "numeric", placeholder: "06925678000012" })),
    el("label", {}, "Lot", el("input", { name: "lot", placeholder: "LH260316A" })),
    el("label", {}, "Serials (comma separated)", el("input", { name: "serials", placeholder: "00001, 00002" })),
    el("label", {}, "Quantity (no serials)", el("input", { name: "quantity", type: "number", min: "1", value: "1" })),
    el("label", {}, "Other EPCs (one per line)", el("textarea", { name: "epcs", rows: "1",
      placeholder: "https://id.gs1.org/00/069256780000000017" })),
    el("label", {}, "Action", select("action", ["OBSERVE", "ADD", "DELETE"], "OBSERVE")),
    el("label", {}, "Business step", select("bizStep", BIZ_STEPS, "receiving", stepWords)),
    el("label", {}, "Disposition", select("disposition", DISPOSITIONS, "in_progress", dispositionWords)),
    el("label", {}, "Location GLN", el("input", { name: "gln", inputmode: "numeric", placeholder: "6925678000029" })),
    el("label", {}, "Time", el("input", { name: "time", value: localInput(new Date()).replace("T", " "),
      placeholder: "2027-12-01 09:30", title: "your local date and 24-hour time" })),
    el("label", {}, "Temperature (°C, optional)", el("input", { name: "temperature", inputmode: "decimal", placeholder: "2.5" })),
    el("button", { type: "submit", class: "primary" }, "Record event"));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const doc = eventDocument(Object.fromEntries(new FormData(f).entries()));
    if (typeof doc === "string") { out.replaceChildren(el("p", { class: "error", role: "alert" }, doc)); return; }
    const button = f.querySelector("button[type=submit]");
    button.disabled = true;
    try { await runCapture(writeExact(doc), "the event", bar, out); } finally { button.disabled = false; }
  });
  return [el("details", { class: "panel", id: "event-panel" }, el("summary", {}, "Record one event…"), f), bar, out];
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
    fill(journeyBox, async () => journeyView(await journeyOf(args)));
  });
  return [
    el("h1", {}, "Traceability"),
    el("p", { class: "muted" }, "GS1 EPCIS 2.0 events on the chain. Capture a document here (validated against GS1's schema, signed by you), " +
      "with the API (POST /epcis/capture) or the CLI."),
    section("Capture events", ...captureForm(), ...eventForm()),
    section("Product journey", f, journeyBox),
    section("Recalls", recallsBox, reportBox),
    section("Products", productsBox),
  ];
}
