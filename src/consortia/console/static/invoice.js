// E-invoices: check any invoice publicly (number + its JSON, hashed here), import and issue one,
// and, signed in, your organisation's invoices as seller and buyer with the next step of each;
// the tax authority and regulators see every invoice and the tax authority may flag or void one.
import {
  session, org, query, el, link, table, section, fill, when, badge, toast, bytesToHex, yuan, fetchText, authHeader,
  parseJson, canonical, chainInfo, ApiError,
} from "./lib.js";
import { suiteHash } from "./wallet.js";
import { act } from "./scf.js";

function kind() {
  const found = (session.chain ? session.chain.organisations : []).find((o) => o.id === org());
  return found ? found.kind : "";
}

/** The digest the chain records for an invoice: the suite's hash of its canonical JSON. */
async function digestOf(content) {
  const chain = await chainInfo();
  return bytesToHex(await suiteHash(chain.suite, new TextEncoder().encode(canonical(content))));
}

/** Fetch an invoice document (signed) and open it in a new tab, or save it. */
async function openDocument(number, format) {
  const target = `/invoice/invoices/${number}?format=${format}`;  // signed as sent, query included (ADR 0019)
  try {
    const r = await fetch(target, { headers: { "X-Consortia-Auth": await authHeader("GET", target) } });
    if (!r.ok) {
      const err = (await r.json().catch(() => ({}))).error || { code: `HTTP_${r.status}`, message: "" };
      throw new ApiError(err.code, err.message, r.status);
    }
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, target: "_blank", download: format === "html" ? null : `invoice-${number}.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    toast(`Invoice ${format.toUpperCase()}: ${e instanceof ApiError ? e.words : e}`, "error");
  }
}

function verifyForm() {
  const number = el("input", { id: "verify-number", placeholder: "20-digit invoice number", pattern: "\\d{20}" });
  const file = el("input", { type: "file", id: "verify-invoice-file", accept: ".json,application/json" });
  const out = el("div", { id: "invoice-verify-result" });
  const button = el("button", { class: "primary", id: "invoice-verify", onclick: async () => {
    if (!/^\d{20}$/.test(number.value)) { toast("An invoice number is 20 digits", "error"); return; }
    await fill(out, async () => {
      const digest = file.files[0] ? await digestOf(parseJson(await file.files[0].text())) : "";
      const found = JSON.parse(await fetchText("GET", `/invoice/verify/${number.value}?format=json&digest=${digest}`));
      if (!found.exists) return el("p", { class: "error", role: "status" }, "No such invoice was issued on this chain.");
      const match = found.matches === true ? "matches the invoice as issued" : found.matches === false
        ? "does NOT match the invoice as issued" : "content not checked (choose its JSON file)";
      return [el("p", { class: found.matches === false ? "error" : "verified", role: "status" },
        `Issued ${when(found.issued_ms)}, ${badge(found.status).textContent}, ${yuan(found.total)}: ${match}.`),
      el("p", {}, link(`#/tx/${found.issued_tx}`, `issuing transaction in block ${found.height}`), " · Merkle proof ",
        found.proof && found.proof.valid ? "checked" : "INVALID", " · ",
        link(`/invoice/verify/${number.value}${digest ? `?digest=${digest}` : ""}`, "public page"))];
    });
  } }, "Check");
  return [el("p", { class: "muted" }, "Anyone may check an invoice: the JSON file is hashed here and only its digest is sent."),
    el("div", { class: "verify-inputs" }, el("label", {}, "Number", number), el("label", {}, "Invoice (JSON, optional)", file),
      button), out];
}

function importForm(reload) {
  const text = el("textarea", { id: "invoice-json", rows: 10, style: "width:100%;font-family:monospace", placeholder: "{\"number\": \"26442000000000000001\", …}" });
  const out = el("div", { id: "invoice-import-result" });
  let checked = null;
  const checkButton = el("button", { id: "invoice-check", onclick: async () => {
    checked = null;
    await fill(out, async () => {
      const result = JSON.parse(await fetchText("POST", "/invoice/check", text.value));
      checked = result.content;
      const t = checked.totals;
      return el("p", { class: "verified" }, `${checked.number}: ${checked.lines.length} line(s), amount ${yuan(t.amount)}, ` +
        `tax ${yuan(t.tax)}, total ${yuan(t.total)} (${t.total_in_words}). Ready to issue.`);
    });
  } }, "Check");
  const issueButton = el("button", { class: "primary", id: "invoice-issue", onclick: async () => {
    if (!checked) { toast("Check the invoice first", "error"); return; }
    await act("Issue", "invoice", "issue", { content: checked }, reload);
  } }, "Issue");
  return [el("p", { class: "muted" }, "Paste an invoice in JSON: amounts in fen, quantities and prices as strings; line " +
    "amounts, tax, totals and the total in capital numerals are computed when left out."), text,
  el("div", { class: "action inline" }, checkButton, issueButton), out];
}

function actions(r, reload) {
  const me = org(), n = r.number, out = [];
  const step = (label, method, args = {}) => el("button", { onclick: () => act(label, "invoice", method,
    { number: n, ...args }, reload) }, label);
  if (r.seller === me && r.status === "issued" && r.kind === "blue") out.push(step("Deliver", "deliver"));
  if (r.buyer === me && r.status === "delivered") {
    out.push(el("button", { onclick: async () => {
      const record = await query("invoice", "get", { number: n });
      await act("Claim", "invoice", "claim", { number: n, content: record.content }, reload);
    } }, "Claim"));
  }
  if (r.claimant === me && r.status === "claimed") out.push(step("Reimburse", "reimburse"), step("Release", "release_claim"));
  if (r.claimant === me && r.status === "reimbursed") out.push(step("Book", "book"));
  if (r.seller === me && r.kind === "blue" && !["voided", "reversed"].includes(r.status)) {
    out.push(el("button", { title: "register as an underlying document for supply chain finance", onclick: async () => {
      const record = await query("invoice", "get", { number: n });
      await act("Register for financing", "scf", "register_document", { kind: "invoice", number: n, digest: record.digest,
        algorithm: record.algorithm, amount: record.total - record.reversed, counterparty: record.buyer }, reload);
    } }, "Finance"));
  }
  if (kind() === "tax_authority" && r.status !== "voided") {
    for (const [label, method] of [["Flag", "flag"], ["Void", "void"]]) {
      out.push(el("button", { onclick: async () => {
        const reason = prompt(`${label} invoice ${n}: reason`);
        if (reason) await act(label, "invoice", method, { number: n, reason }, reload);
      } }, label));
    }
  }
  for (const format of ["html", "pdf", "xml"]) out.push(el("button", { class: "link", onclick: () => openDocument(n, format) },
    format.toUpperCase()));
  return el("span", { class: "actions" }, ...out);
}

function invoiceTable(rows, reload, emptyText) {
  return table(["Number", "Date", "Seller", "Buyer", "Total", "Status", ""], rows.map((r) => [
    el("code", {}, r.number), r.issue_date, r.seller_name, r.buyer_name,
    el("span", { class: r.total < 0 ? "red" : "" }, `${yuan(r.total)}`),
    [badge(r.kind === "red" ? "red-letter" : r.status), r.reversed ? ` reversed ${yuan(r.reversed)}` : "",
      r.flags ? badge("flagged", "error") : ""],
    actions(r, reload)]), emptyText);
}

export async function home() {
  await chainInfo();
  const sold = el("div", { id: "invoices-sold" }), bought = el("div", { id: "invoices-bought" });
  const every = el("div", { id: "invoices-all" });
  const sees = ["tax_authority", "regulator"].includes(kind());
  const reload = async () => {
    if (!session.identity) return;
    await Promise.all([
      fill(sold, async () => invoiceTable((await query("invoice", "mine", { role: "seller" })).invoices, reload,
        "Your organisation issued no invoice.")),
      fill(bought, async () => invoiceTable((await query("invoice", "mine", { role: "buyer" })).invoices, reload,
        "No invoice was issued to your organisation.")),
      sees ? fill(every, async () => {
        const o = await query("invoice", "overview");
        const counts = Object.entries(o.by_status).map(([s, row]) => `${s} ${row.count} (${yuan(row.total)})`).join(" · ");
        return [el("p", { id: "invoice-overview" }, counts || "No invoice yet.", ` · flagged ${o.flagged} · red-letter ${o.red_letter}`),
          invoiceTable((await query("invoice", "all", { limit: 500 })).invoices, reload, "No invoice on the chain.")];
      }) : null]);
  };
  reload();
  const signed = session.identity;
  return [
    el("h1", {}, "E-invoices"),
    section("Check an invoice (no login)", ...verifyForm()),
    signed ? section("Issue an invoice (JSON import)", ...importForm(reload)) : null,
    signed && sees ? section("Every invoice on the chain (tax authority and regulators)", every) : null,
    section("Invoices your organisation issued", signed ? sold : el("p", { class: "notice" }, "Sign in to see them.")),
    section("Invoices issued to your organisation", signed ? bought : el("p", { class: "notice" }, "Sign in to see them.")),
  ];
}


