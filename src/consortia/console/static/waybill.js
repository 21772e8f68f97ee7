// Logistics waybills: my waybills, one waybill with its signed steps and the actions the signed-in
// party may take next (hand over, take over, checkpoint, close, dispute), and the regulator's panel.
import {
  form as panelForm, session, org, query, el, link, table, section, fill, yuan, when, badge, toast, signedFetch, pretty, ApiError,
} from "./lib.js";
import { act } from "./scf.js";

const SAMPLE = {
  number: "WB-2026-0100", consignee: "huaxin-mart", carriers: ["huafeng-logistics", "yida-express"],
  taking_over: { name: "Lianhe cold store, chamber 2", city: "Nanchang, Jiangxi", country: "CN" },
  delivery_place: { name: "Huaxin Mart fresh distribution centre, Jiading", city: "Shanghai", country: "CN" },
  goods: [{ marks: "LIANHE 1/1", packages: 40, packing: "carton on pallet", description: "Chilled pork loin, 500 g",
    gross_weight_g: 436000 }],
  charges: [{ item: "refrigerated carriage", amount: 520000 }], temperature: { min_c10: -10, max_c10: 40 },
};

function c10(value) { return value === null || value === undefined ? "" : `${(value / 10).toFixed(1)} °C`; }
function placeText(p) { return p ? [p.name, p.city].filter(Boolean).join(", ") + (p.gln ? ` (GLN ${p.gln})` : "") : "—"; }
function numberLink(n) { return link(`#/waybill/${encodeURIComponent(n)}`, n, { class: "mono" }); }

function field(label, name, attrs = {}) { return el("label", {}, label, el("input", { name, ...attrs })); }

/** The console's panel form (lib.js), opened; waybill forms name their id first. */
const form = (id, title, fields, submit, onsubmit) => panelForm(title, id, fields, submit, onsubmit, true);


function placeOf(data) {
  if (!data.place) return null;
  const p = { name: data.place };
  if (data.city) p.city = data.city;
  return p;
}

export async function home() {
  if (!session.identity) {
    return [el("h1", {}, "Logistics waybills"),
      el("p", { class: "notice" }, 'Choose an identity under "Signed in as" to see your waybills.')];
  }
  const listBox = el("div", { id: "waybills" });
  const reload = () => fill(listBox, async () => {
    const rows = await query("waybill", "mine", {});
    return table(["Waybill", "Status", "Custodian", "Route", "Packages", "Steps", "Receivable"], rows.map((w) => [
      numberLink(w.number), badge(w.status), w.custodian, [w.consignor, ...w.carriers, w.consignee].join(" → "),
      String(w.packages), String(w.steps), w.receivable ? yuan(w.receivable.amount) : "—"]),
    `${org()} is on no waybill yet.`);
  });
  reload();
  const text = el("textarea", { name: "waybill", rows: 14, cols: 80, id: "waybill-json" }, JSON.stringify(SAMPLE, null, 2));
  const create = form("create-waybill", "Issue a waybill (as the consignor)", [text], "Create", async (data) => {
    let args;
    try { args = JSON.parse(data.waybill); } catch (e) { toast(`Not JSON: ${e.message}`, "error"); return; }
    await act("Create waybill", "waybill", "create", args, () => { location.hash = `#/waybill/${encodeURIComponent(args.number)}`; });
  });
  create.open = false;
  return [el("h1", {}, "Logistics waybills"),
    el("p", { class: "muted" }, "Every handover is signed twice: the custodian proposes it, the next party confirms " +
      "with its own count. Charges of a closed waybill can be financed once through supply chain finance."),
    section(`Waybills of ${org()}`, listBox), create];
}

export async function detail(number) {
  const box = el("div", { id: "waybill" });
  const reload = () => fill(box, () => render(number, reload));
  await reload();
  return [el("h1", {}, `Waybill ${number}`), box];
}

async function render(number, reload) {
  let wb;
  try {
    wb = await query("waybill", "get", { number });
  } catch (e) {
    if (e instanceof ApiError && e.code === "NOT_VISIBLE") return el("p", { class: "notice" }, e.words);
    throw e;
  }
  const me = org();
  const parts = [
    el("div", { class: "cards" },
      el("div", { class: "card" }, el("div", { class: "muted" }, "Status"), badge(wb.status)),
      el("div", { class: "card" }, el("div", { class: "muted" }, "Custodian"), wb.custodian),
      el("div", { class: "card" }, el("div", { class: "muted" }, "Packages"), `${wb.packages} of ${wb.packages_declared}`),
      el("div", { class: "card" }, el("div", { class: "muted" }, "Charges"), `${yuan(wb.charges.total)} (payer ${wb.charges.payer_org})`)),
    el("p", {}, `${wb.consignor} → ${wb.carriers.join(" → ")} → ${wb.consignee} · from ${placeText(wb.taking_over.place)} ` +
      `to ${placeText(wb.delivery_place)}` + (wb.temperature ? ` · keep ${c10(wb.temperature.min_c10)} to ${c10(wb.temperature.max_c10)}` : "")),
    table(["Marks", "Packages", "Packing", "Description", "Gross weight", "SSCC"], wb.goods.map((g) => [g.marks,
      String(g.packages), g.packing, g.description, `${(g.gross_weight_g / 1000).toLocaleString()} kg`, g.sscc || "—"])),
  ];
  if (wb.pending) {
    parts.push(el("p", { class: "notice", id: "pending" },
      `${wb.pending.kind} proposed by ${wb.pending.from} to ${wb.pending.to} at ${placeText(wb.pending.place)}: awaiting ${wb.pending.to}'s confirmation.`));
  }
  parts.push(section("Steps", table(["#", "Step", "When", "Where", "By", "Reading / notes", "Transaction"],
    wb.step_list.map((s) => [String(s.seq), s.kind, when(s.at_ms), placeText(s.place), s.by,
      el("span", {}, c10(s.temperature_c10), s.excursion ? badge("excursion", "reverted") : "",
        (s.reservations || []).join("; "), s.exception ? ` ${s.exception.kind} ${s.exception.delta}` : ""),
      link(`#/tx/${s.tx}`, s.tx.slice(0, 10) + "…")]), "No step yet.")));
  if (wb.exceptions.length) {
    parts.push(section("Exceptions", table(["Kind", "Packages", "Note", "By"],
      wb.exceptions.map((e) => [e.kind, String(e.delta), e.note, e.by]))));
  }
  if (wb.dispute) {
    parts.push(section("Dispute", table(["By", "Note", "When"], wb.dispute.notes.map((n) => [n.by, n.note, when(n.at_ms)]))));
  }
  const run = (label, method, args) => act(label, "waybill", method, { number, ...args }, reload);
  const open = ["created", "picked_up", "in_transit"].includes(wb.status);
  if (open && wb.custodian === me && !wb.pending) {
    parts.push(form("hand-over", "Hand over to the next party", [field("Place (optional at pickup and delivery)", "place"),
      field("City", "city")], "Propose handover", (d) => run("Hand over", "hand_over", placeOf(d) ? { place: placeOf(d) } : {})));
  }
  if (open && wb.pending && wb.pending.to === me) {
    parts.push(form("take-over", `Confirm the ${wb.pending.kind}`, [
      field("Packages you counted", "packages", { type: "number", min: "0", value: String(wb.packages) }),
      field("Reservation (optional)", "reservation"), field("Exception kind if your count differs", "kind", { placeholder: "shortage" }),
      field("Exception note", "note")], "Confirm", (d) => {
      const args = { packages: Number(d.packages), reservations: d.reservation ? [d.reservation] : [] };
      if (d.kind) args.exception = { kind: d.kind, note: d.note || d.kind };
      return run("Take over", "take_over", args);
    }));
  }
  if (open && wb.pending && [wb.pending.from, wb.pending.to].includes(me)) {
    parts.push(el("button", { id: "cancel-handover", onclick: () => run("Cancel handover", "cancel_handover", {}) }, "Cancel the handover"));
  }
  if (open && wb.custodian === me && wb.carriers.includes(me)) {
    parts.push(form("checkpoint", "Record a checkpoint", [field("Place", "place", { required: true }), field("City", "city"),
      field("Temperature °C", "temp", { inputmode: "decimal" })], "Record", (d) => {
      const args = { place: placeOf(d) };
      if (d.temp) args.temperature_c10 = Math.round(Number(d.temp) * 10);
      return run("Checkpoint", "checkpoint", args);
    }));
  }
  if (wb.status === "delivered" && wb.consignee === me) {
    parts.push(el("button", { class: "primary", id: "close", onclick: () => run("Close", "close", {}) }, "Accept and close"));
  }
  if (wb.status === "delivered") {
    parts.push(form("dispute", "Dispute the delivery", [field("Note", "note", { required: true })], "Dispute",
      (d) => run("Dispute", "dispute", { note: d.note })));
  }
  if (wb.status === "disputed") {
    parts.push(form("dispute-note", "Add a note to the dispute", [field("Note", "note", { required: true })], "Add note",
      (d) => run("Dispute note", "add_dispute_note", { note: d.note })));
  }
  if (wb.receivable) {
    let registered = null;  // the scf document, once the carrier registered the receivable
    try { registered = await query("scf", "document", { document_id: `${wb.receivable.carrier}:waybill:${number}` }); } catch (e) { /* not yet, or not visible */ }
    parts.push(section("Receivable", el("p", { id: "receivable" }, `${yuan(wb.receivable.amount)} owed by ${wb.receivable.payer} ` +
      `to ${wb.receivable.carrier}; digest ${wb.receivable.algorithm}:${wb.receivable.digest.slice(0, 16)}…` +
      (registered ? ` · registered with supply chain finance as ${registered.id} (${yuan(registered.financed)} financed)` : "")),
      wb.receivable.carrier === me && !registered ? el("button", { id: "register-receivable", onclick: () => act("Register with scf", "scf",
        "register_document", { kind: "waybill", number, digest: wb.receivable.digest, algorithm: wb.receivable.algorithm,
          amount: wb.receivable.amount, counterparty: wb.receivable.payer }, reload) }, "Register with supply chain finance") : ""));
  }
  const epcis = el("pre", { id: "waybill-epcis", class: "json" });
  parts.push(el("p", {},
    el("button", { id: "show-note", onclick: async () => {
      const html = await signedFetch("GET", `/waybills/${encodeURIComponent(number)}/note`);
      window.open(URL.createObjectURL(new Blob([html], { type: "text/html" })), "_blank");
    } }, "Printable consignment note"), " ",
    el("button", { id: "show-epcis", onclick: async () => {
      epcis.textContent = pretty(JSON.parse(await signedFetch("GET", `/waybills/${encodeURIComponent(number)}/epcis`)));
    } }, "EPCIS events")), epcis);
  return parts;
}

/** The regulator's view of waybills: by status, disputes, excursions and exceptions. */
export function regulatorPanel() {
  const box = el("div", { id: "waybill-overview" });
  fill(box, async () => {
    if (!session.identity) return el("p", { class: "notice" }, "Sign in as a regulator to see waybills.");
    try {
      const o = await query("waybill", "overview", {});
      return [
        el("div", { class: "cards" }, ...Object.entries(o.by_status).map(([k, v]) => el("div", { class: "card" },
          el("div", { class: "muted" }, k.replace("_", " ")), String(v)))),
        el("h3", {}, "Disputes"),
        table(["Waybill", "Opened by", "When", "Notes"], o.disputed.map((d) => [numberLink(d.number), d.by, when(d.opened_ms),
          String(d.notes)]), "No open dispute."),
        el("h3", {}, "Temperature excursions and package exceptions"),
        table(["Waybill", "Status", "Custodian", "Excursions", "Packages"], o.flagged.map((f) => [numberLink(f.number),
          badge(f.status), f.custodian, String(f.excursions), `${f.packages} of ${f.packages_declared}`]), "Nothing flagged."),
      ];
    } catch (e) {
      if (e instanceof ApiError && e.code === "NOT_VISIBLE") return el("p", { class: "notice" }, `${session.identity} is not a regulator.`);
      throw e;
    }
  });
  return box;
}
