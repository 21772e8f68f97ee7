// Charity: needs with their totals (public), a need's donations and grants, and the actions of each
// party: the charity publishes needs, matches donations and grants; an organisation pledges and
// donates by name; the verifier attests beneficiaries and confirms receipt; the civil-affairs
// authority verifies needs and sees the overview. Beneficiary identifiers and evidence files are
// hashed here, in the browser. Individuals' anonymous donations are recorded with the CLI or SDK,
// which seal the donor to the authority (ADR 0018).
import {
  form, session, org, query, el, link, table, section, fill, yuan, toFen, when, badge, card, toast, bytesToHex, short,
  canonical, chainInfo,
} from "./lib.js";
import { suiteHash } from "./wallet.js";
import { act } from "./scf.js";

const enc = new TextEncoder();

function kind() {
  const found = (session.chain ? session.chain.organisations : []).find((o) => o.id === org());
  return found ? found.kind : "";
}

function needLink(n) { return link(`#/charity/${n.id}`, n.title, { title: n.id }); }

function progress(n) {
  const share = n.target_fen ? Math.min(100, Math.floor((n.raised * 100) / n.target_fen)) : 0;
  return el("div", { class: "bar", title: `${share}% of ${yuan(n.target_fen)}` },
    el("div", { style: `width:${share}%;background:#16a34a;height:.5rem` }));
}


function field(label, name, attrs = {}) {
  return el("label", {}, label, el("input", { name, required: true, ...attrs }));
}

function amountOf(text) {
  const fen = toFen(text);
  if (fen === null || fen < 1) { toast("Amount: write yuan with at most two decimals, at least 0.01", "error"); return null; }
  return fen;
}

/** The chain's hash of a file, named by its algorithm (evidence by digest). */
async function fileEvidence(input, label) {
  const chain = await chainInfo();
  const out = [];
  for (const file of input.files) {
    const digest = bytesToHex(await suiteHash(chain.suite, new Uint8Array(await file.arrayBuffer())));
    out.push({ algorithm: chain.suite === "sm2-sm3" ? "sm3" : "sha-256", digest, label: label || file.name });
  }
  return out;
}

/** The beneficiary's pseudonym, as consortia.apps.charity.donor.compute_pseudonym makes it. */
async function pseudonym(salt, identifier) {
  const chain = await chainInfo();
  return bytesToHex(await suiteHash(chain.suite, enc.encode(canonical(["consortia/charity/beneficiary", salt, identifier]))));
}

export async function home() {
  const list = el("div", { id: "charity-needs" });
  const overview = el("div", { id: "charity-overview" });
  fill(list, async () => {
    const { needs } = await query("charity", "needs", {});
    return table(["Need", "Charity", "Status", "Target", "Raised", "Granted", "Confirmed", ""],
      needs.map((n) => [needLink(n), n.charity, badge(n.status), yuan(n.target_fen), el("div", {}, yuan(n.raised), progress(n)),
        yuan(n.granted), yuan(n.confirmed), link(`/charity/needs/${n.id}`, "public page")]), "No need published yet.");
  });
  const parts = [el("h1", {}, "Charity"),
    el("p", { class: "muted" }, "Every donation followed from a need to its confirmed delivery. Each need's public page needs no login."),
    section("Needs", list)];
  const k = kind();
  if (session.identity && (k === "civil_affairs" || k === "regulator")) {
    fill(overview, async () => {
      const o = await query("charity", "overview", {});
      return [
        el("div", { class: "cards" }, card("Raised", yuan(o.raised), "raised"), card("Granted", yuan(o.granted), "granted"),
          card("Confirmed", yuan(o.confirmed), "confirmed"), card("In exception", yuan(o.exceptions), "exceptions")),
        el("h3", {}, "Grants past their confirmation deadline"),
        table(["Grant", "Need", "Amount", "Deadline"], o.overdue_grants.map((g) => [short(g.id, 12),
          link(`#/charity/${g.need}`, short(g.need, 12)), yuan(g.amount), when(g.confirm_by_ms)]), "None: every grant is on time."),
        el("h3", {}, "Needs awaiting verification"),
        table(["Need", "Charity", "Attested"], o.pending_needs.map((n) => [needLink(n), n.charity,
          n.attested ? badge("attested", "ok") : badge("not yet", "pending")]), "None."),
        el("h3", {}, "Donations recorded but not matched"),
        table(["Donation", "Donor", "Amount", "Recorded"], o.unmatched_donations.map((d) => [short(d.id, 12), d.donor || "anonymous",
          yuan(d.amount), when(d.recorded_ms)]), "None."),
      ];
    });
    parts.push(section(k === "civil_affairs" ? "Civil affairs overview" : "Regulator's view", overview));
  }
  if (session.identity) {
    const registry = await query("charity", "registry", {});
    if (registry.charity.some((c) => c.org === org())) parts.push(section("Publish a need", publishForm(registry)));
  }
  return parts;
}

function publishForm(registry) {
  const verifiers = registry.verifier.filter((v) => v.org !== org());
  const evidence = el("input", { type: "file", name: "evidence-files", multiple: true });
  return form("Publish a need", "charity-publish", [
    field("Title ", "title"), field("Purpose ", "purpose"),
    field("Beneficiary identifier (hashed here with a salt, never sent) ", "who"),
    el("label", {}, "Verifier ", el("select", { name: "verifier" }, verifiers.map((v) => el("option", { value: v.org }, v.org)))),
    field("Target (yuan) ", "target", { placeholder: "60000" }),
    el("label", {}, "Evidence files ", evidence),
  ], "Publish", async (data) => {
    const target = amountOf(data.target);
    if (target === null) return;
    const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
    const args = { title: data.title, purpose: data.purpose, verifier: data.verifier, target_fen: target,
      beneficiary: await pseudonym(salt, data.who), evidence: await fileEvidence(evidence) };
    await act("Publish need", "charity", "publish_need", args, async (view) => {
      toast(`Give the verifier the salt ${salt} with the beneficiary's identifier`, "ok");
      location.hash = `#/charity/${view.receipt.result.id}`;
    });
  });
}

export async function need(needId) {
  const n = await query("charity", "need", { need_id: needId });
  const [{ donations }, { grants }] = await Promise.all([query("charity", "donations", { need_id: needId }),
    query("charity", "grants", { need_id: needId })]);
  const reload = async () => { location.hash = `#/charity/${needId}?${Date.now()}`; };
  const me = org();
  const parts = [
    el("h1", {}, n.title),
    el("p", {}, badge(n.status), " ", n.charity, " · verifier ", n.verifier, " · ",
      link(`/charity/needs/${n.id}`, "public page (no login)")),
    el("p", {}, n.purpose),
    progress(n),
    el("div", { class: "cards" }, card("Target", yuan(n.target_fen)), card("Raised", yuan(n.raised), "need-raised"),
      card("From general fund", yuan(n.general_used)), card("Granted", yuan(n.granted), "need-granted"),
      card("Confirmed", yuan(n.confirmed), "need-confirmed"), card("Pledged", yuan(n.pledged))),
    section("Donations", table(["Donation", "Donor", "Amount", "Status", "Used", "Recorded"], donations.map((d) => [
      link(`/charity/donations/${d.id}`, short(d.id, 12)), d.donor || el("span", { class: "muted" }, `anonymous ${short(d.donor_tag, 8)}`),
      yuan(d.amount), badge(d.status), yuan(d.amount - d.remaining), when(d.recorded_ms)]), "No donation yet.")),
    section("Grants", table(["Grant", "What", "To", "Amount", "Status", "Deadline"], grants.map((g) => [
      short(g.id, 12), g.kind + (g.waybill ? ` (waybill ${g.waybill})` : ""), g.recipient, yuan(g.amount), badge(g.status),
      when(g.confirm_by_ms)]), "No grant yet.")),
  ];
  if (!session.identity) return parts;
  const actions = [];
  if (me === n.verifier && n.status === "pending" && !n.attested) {
    actions.push(form("Attest the beneficiary", "charity-attest", [field("Salt (from the charity) ", "salt"),
      field("Beneficiary identifier ", "who")], "Attest", async (data) => {
      const beneficiary = await pseudonym(data.salt, data.who);
      await act("Attest", "charity", "attest_beneficiary", { need_id: needId, beneficiary }, reload);
    }));
  }
  if (kind() === "civil_affairs" && n.status === "pending") {
    actions.push(form("Verify the need", "charity-verify", [el("label", {}, "Note ", el("input", { name: "note" }))], "Open it",
      (data) => act("Verify", "charity", "verify_need", { need_id: needId, approve: true, note: data.note || "" }, reload)));
  }
  if (n.status === "open" && me !== n.charity) {
    actions.push(form("Donate by name", "charity-donate", [field("Amount (yuan) ", "amount")], "Donate", async (data) => {
      const amount = amountOf(data.amount);
      if (amount !== null) await act("Donate", "charity", "donate", { charity: n.charity, amount, need: needId }, reload);
    }));
  }
  if (me === n.charity) {
    const recorded = donations.filter((d) => d.status === "recorded");
    for (const d of recorded) {
      actions.push(el("p", {}, el("button", { class: "primary", onclick: () => act("Match", "charity", "match_donation",
        { donation_id: d.id }, reload) }, `Money arrived: match ${yuan(d.amount)} from ${d.donor}`)));
    }
    if (n.status === "open" || n.status === "closed") {
      actions.push(form("Grant funds", "charity-grant", [field("Amount (yuan) ", "amount"),
        el("label", {}, "Vendor (empty: the beneficiary) ", el("input", { name: "vendor" })),
        el("label", {}, el("input", { type: "checkbox", name: "general" }), " top up from the general fund")], "Grant", async (data) => {
        const amount = amountOf(data.amount);
        if (amount !== null) {
          await act("Grant", "charity", "grant", { need_id: needId, kind: "funds", amount, vendor: data.vendor || "",
            use_general: data.general === "on" }, reload);
        }
      }));
    }
  }
  const open = grants.filter((g) => g.status === "disbursed");
  if (me === n.verifier && open.length) {
    const files = el("input", { type: "file", name: "files", multiple: true, required: true });
    actions.push(form("Confirm receipt", "charity-confirm", [
      el("label", {}, "Grant ", el("select", { name: "grant" }, open.map((g) => el("option", { value: g.id }, `${short(g.id, 12)} ${yuan(g.amount)}`)))),
      el("label", {}, "Receipt or photo ", files)], "Confirm", async (data) => {
      await act("Confirm", "charity", "confirm_receipt", { grant_id: data.grant, evidence: await fileEvidence(files) }, reload);
    }));
  }
  if (actions.length) parts.push(section("Your actions", ...actions));
  return parts;
}
