// Supply chain finance: inbox, portfolio, financing book, exposure, lineage tree, and the forms.
import {
  form, session, org, query, send, el, link, table, section, fill, empty, yuan, toFen, short, when, day, badge, toast, ApiError,
} from "./lib.js";

function needSignIn(what) {
  return [el("h1", {}, "Supply chain finance"),
    el("p", { class: "notice" }, `Choose an identity under "Signed in as" to see ${what}.`)];
}

/** Run a signed action; toast the outcome in words; call ``after`` on success. */
export async function act(label, contract, method, args, after) {
  try {
    const view = await send(contract, method, args);
    toast(`${label}: done in block ${view.height}`, "ok");
    if (after) await after(view);
    return view;
  } catch (e) {
    toast(`${label} refused: ${e instanceof ApiError ? e.words : e}`, "error");
    return null;
  }
}

/** The signed-in organisation's kind in the consortium (core, supplier, funder, regulator...). */
function kind() {
  const found = (session.chain ? session.chain.organisations : []).find((o) => o.id === org());
  return found ? found.kind : "";
}

/** Who the signed-in identity acts for: itself when it is an SME its operator hosts, else its organisation. */
export async function actingParty() {
  try {
    await query("hosted", "member", { identity: session.identity });
    return session.identity;
  } catch (e) {
    return org();
  }
}

function voucherLink(id) { return link(`#/voucher/${id}`, short(id, 12), { class: "mono", title: id }); }

function field(label, name, attrs = {}) {
  return el("label", {}, label, el("input", { name, required: true, ...attrs }));
}


function amountOf(text) {
  const fen = toFen(text);
  if (fen === null || fen < 1) { toast("Amount: write yuan with at most two decimals, at least 0.01", "error"); return null; }
  return fen;
}

export async function home() {
  if (!session.identity) return needSignIn("your vouchers");
  const me = await actingParty();
  const inboxBox = el("div", { id: "inbox" });
  const holdingsBox = el("div", { id: "holdings" });
  const bookBox = el("div", { id: "book" });
  const reload = () => Promise.all([fill(inboxBox, inbox), fill(holdingsBox, holdings), fill(bookBox, book)]);

  async function inbox() {
    const box = await query("scf", "inbox", {});
    const offered = box.offered.map((p) => [voucherLink(p.id), p.issuer, yuan(p.amount), day(p.due_ms), p.memo || "",
      el("span", { class: "buttons" },
        el("button", { class: "primary", "data-accept": p.id,
          onclick: () => act("Accept voucher", "scf", "accept", { voucher_id: p.id }, reload) }, "Accept"),
        el("button", { onclick: () => act("Reject voucher", "scf", "reject", { voucher_id: p.id, reason: "rejected in console" }, reload) },
          "Reject"))]);
    const transfers = box.transfers.flatMap((t) => t.outputs.filter((o) => o.to === me && o.decision === null).map((o) => [
      short(t.id, 12), t.from, voucherLink(t.voucher), yuan(o.amount),
      el("span", { class: "buttons" },
        el("button", { class: "primary", "data-answer": t.id,
          onclick: () => act("Accept transfer", "scf", "answer_transfer", { transfer_id: t.id, accept: true }, reload) }, "Accept"),
        el("button", { onclick: () => act("Reject transfer", "scf", "answer_transfer", { transfer_id: t.id, accept: false }, reload) },
          "Reject"))]));
    return [
      el("h3", {}, "Vouchers offered to you"),
      table(["Voucher", "Issuer", "Amount", "Due", "Memo", ""], offered, "No voucher waits for your acceptance."),
      el("h3", {}, "Transfers to you"),
      table(["Transfer", "From", "Piece", "Amount", ""], transfers, "No transfer waits for your answer."),
    ];
  }

  async function holdings() {
    const h = await query("scf", "holdings", { org: me });
    const rows = h.pieces.map((p) => [voucherLink(p.id), p.issuer, `tier ${p.tier}`, yuan(p.amount), badge(p.status),
      p.lien ? `lien: ${p.lien}` : "", day(p.due_ms),
      // offered only where the contract accepts it: an active piece (not offered, pledged or locked)
      p.status === "active" && !p.pending && Date.now() < p.due_ms
        ? el("button", { onclick: () => prefill("split", { voucher_id: p.id }) }, "Split-transfer") : ""]);
    return [el("p", { class: "total" }, "Total held: ", el("strong", { id: "holdings-total" }, yuan(h.total))),
      table(["Piece", "Issuer", "Tier", "Amount", "Status", "Lien", "Due", ""], rows, "Your organisation holds no voucher.")];
  }

  async function book() {
    const out = [];
    try {
      const f = await query("scf", "financed_by", { funder: me });
      if (!f.financings.length && kind() !== "funder") throw new Error("not a funder");
      const rows = f.financings.map((x) => [short(x.id, 12), voucherLink(x.voucher), x.applicant, x.kind, yuan(x.face),
        badge(x.status), el("span", { class: "buttons" },
          x.status === "applied" ? el("button", { onclick: () => prefill("approve", { financing_id: x.id }) }, "Approve…") : "",
          x.status === "approved" ? el("button", { class: "primary",
            onclick: () => act("Disburse", "scf", "disburse", { financing_id: x.id }, reload) }, "Disburse") : "")]);
      out.push(el("h3", {}, `Financing book (outstanding ${yuan(f.outstanding)})`),
        table(["Financing", "Piece", "Applicant", "Kind", "Face", "Status", ""], rows, "No financing requests."));
    } catch (e) { /* not a funder: nothing to show */ }
    try {
      const x = await query("scf", "exposure", { core: me });
      if (!x.credit_lines.length && !x.vouchers && kind() !== "core") throw new Error("not a core enterprise");
      out.push(el("h3", {}, "Exposure as core enterprise"),
        el("p", {}, `Outstanding ${yuan(x.outstanding)}, financed ${yuan(x.financed)}, settled ${yuan(x.settled)}; `,
          `credit used ${yuan(x.used)} of ${yuan(x.limit)}`),
        table(["Credit line", "Funder", "Limit", "Used", "Expires"],
          x.credit_lines.map((l) => [el("code", {}, l.id), l.funder, yuan(l.limit), yuan(l.used), day(l.expires_ms)]),
          "No credit line."));
    } catch (e) { /* not a core enterprise */ }
    return out.length ? out : empty("No financing book or exposure for your organisation.");
  }

  const forms = el("div", { class: "forms" },
    form("Issue a voucher (core enterprise)", "issue", [
      field("To (supplier org)", "to", { placeholder: "jinglian-parts" }),
      field("Amount (yuan)", "amount", { placeholder: "100000.00", inputmode: "decimal" }),
      field("Due date (YYYY-MM-DD)", "due", { placeholder: "2027-04-02", pattern: "\\d{4}-\\d{2}-\\d{2}",
        inputmode: "numeric", title: "the calendar day, as the console and the CLI print dates" }),
      field("Credit line id", "credit_line"),
      field("Underlying documents (ids, comma separated)", "documents"),
      el("label", {}, "Memo", el("input", { name: "memo" })),
    ], "Issue", async (d) => {
      const amount = amountOf(d.amount);
      if (amount === null) return;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(d.due.trim())) { toast("Due date: a day like 2027-04-02", "error"); return; }
      await act("Issue", "scf", "issue", { to: d.to.trim(), amount, due_ms: new Date(d.due.trim()).getTime() + 12 * 3600 * 1000,
        credit_line: d.credit_line.trim(), documents: d.documents.split(",").map((s) => s.trim()).filter(Boolean),
        memo: d.memo || "" }, reload);
    }),
    form("Split-transfer a piece", "split", [
      field("Piece (voucher id)", "voucher_id"),
      field("To (supplier or funder org)", "to", { placeholder: "hengtai-castings" }),
      field("Amount (yuan)", "amount", { inputmode: "decimal" }),
    ], "Propose transfer", async (d) => {
      const amount = amountOf(d.amount);
      if (amount === null) return;
      await act("Split-transfer", "scf", "propose_transfer",
        { voucher_id: d.voucher_id.trim(), outputs: [{ to: d.to.trim(), amount }] }, reload);
    }),
    form("Apply for financing", "apply", [
      field("Piece (voucher id)", "voucher_id"),
      field("Funder", "funder", { placeholder: "pudong-bank" }),
      el("label", {}, "Kind", el("select", { name: "kind" }, el("option", { value: "factoring" }, "factoring (sell)"),
        el("option", { value: "pledge" }, "pledge (lien)"))),
    ], "Apply", async (d) => {
      await act("Apply for financing", "scf", "apply_financing",
        { voucher_id: d.voucher_id.trim(), funder: d.funder.trim(), kind: d.kind }, reload);
    }),
    form("Approve financing (funder)", "approve", [
      field("Financing id", "financing_id"),
      field("Annual discount rate (basis points)", "rate_bp", { type: "number", min: "0", value: "550" }),
      field("Fees (yuan)", "fees", { value: "0", inputmode: "decimal" }),
    ], "Approve", async (d) => {
      const fees = toFen(d.fees);
      if (fees === null) { toast("Fees: write yuan with at most two decimals", "error"); return; }
      await act("Approve financing", "scf", "approve_financing",
        { financing_id: d.financing_id.trim(), rate_bp: Number(d.rate_bp), fees }, reload);
    }),
    form("Settle a voucher at maturity (core enterprise)", "settle", [
      field("Voucher id (root)", "voucher_id"),
    ], "Settle", async (d) => {
      await act("Settle", "scf", "settle", { voucher_id: d.voucher_id.trim() }, reload);
    }));

  function prefill(id, values) {
    const panel = forms.querySelector(`#${id}-panel`);
    panel.open = true;
    for (const [k, v] of Object.entries(values)) panel.querySelector(`[name=${k}]`).value = v;
    panel.scrollIntoView({ behavior: "smooth", block: "center" });
  }

  reload();
  return [
    el("h1", {}, "Supply chain finance"),
    el("p", { class: "muted" }, `Acting for ${me} as ${session.identity}. Every action is a transaction signed by this identity.`),
    section("Inbox", inboxBox),
    section("Portfolio", holdingsBox),
    section("Financing", bookBox),
    section("Actions", forms),
  ];
}

/** The lineage query's flat depth-first list drawn as a tree down the supplier tiers. */
export async function lineage(voucherId) {
  if (!session.identity) return needSignIn("a voucher's lineage");
  const l = await query("scf", "lineage", { voucher_id: voucherId });
  const byParent = new Map();
  for (const p of l.pieces) {
    const key = p.parent || "";
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(p);
  }
  const finBy = new Map(l.financings.map((f) => [f.voucher, f]));
  function node(p) {
    const f = finBy.get(p.id);
    const kids = byParent.get(p.id) || [];
    return el("li", { class: p.id === voucherId ? "here" : "" },
      el("div", { class: `piece ${p.status}`, "data-piece": p.id },
        el("div", {}, link(`#/voucher/${p.id}`, short(p.id, 12), { class: "mono" }), " ", badge(p.status)),
        el("div", { class: "holder" }, p.holder, el("span", { class: "muted" }, ` · tier ${p.tier}`)),
        el("div", { class: "amount" }, yuan(p.amount)),
        p.lien ? el("div", { class: "muted" }, `pledged to ${p.lien}`) : "",
        f ? el("div", { class: "muted" }, `${f.kind} by ${f.funder}: ${f.status}`) : ""),
      kids.length ? el("ul", {}, kids.map(node)) : "");
  }
  const root = l.pieces.find((p) => p.depth === 0);
  return [
    el("h1", {}, "Voucher lineage"),
    el("dl", { class: "fields" },
      el("dt", {}, "root"), el("dd", { class: "mono" }, l.root),
      el("dt", {}, "issuer"), el("dd", {}, l.issuer),
      el("dt", {}, "face"), el("dd", {}, yuan(l.face)),
      el("dt", {}, "live + settled"), el("dd", {}, `${yuan(l.live)} + ${yuan(l.settled)}`,
        l.live + l.settled === l.face ? badge("conserved", "ok") : badge("mismatch", "reverted")),
      el("dt", {}, "due"), el("dd", {}, day(l.due_ms)),
      el("dt", {}, "documents"), el("dd", {}, l.documents.join(", "))),
    section("Tree down the supplier tiers", el("ul", { class: "tree", id: "lineage-tree" }, root ? node(root) : "")),
    section("Financings", table(["Financing", "Piece", "Funder", "Kind", "Face", "Status"],
      l.financings.map((f) => [short(f.id, 12), link(`#/voucher/${f.voucher}`, short(f.voucher, 12)), f.funder, f.kind,
        yuan(f.face), badge(f.status)]), "No financing against this voucher.")),
  ];
}
