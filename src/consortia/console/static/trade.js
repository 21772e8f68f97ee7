// Trade finance and hosted SMEs: customs declarations and the quota drawn against them, documentary
// credits, and an SME's own account (its onboarding record) when it signed in with its key file.
import { session, query, el, table, section, fill, empty, short, when, badge } from "./lib.js";
import { act, actingParty } from "./scf.js";

const EXP = { JPY: 0, KRW: 0, VND: 0, BHD: 3, KWD: 3 };

/** 12000050, "USD" -> "120,000.50 USD" (the chain keeps integer minor units). */
export function money(minor, currency) {
  const e = EXP[currency] ?? 2;
  const whole = Math.floor(minor / 10 ** e).toLocaleString("en-US");
  return e ? `${whole}.${String(minor % 10 ** e).padStart(e, "0")} ${currency}` : `${whole} ${currency}`;
}

function declarationRows(list) {
  return list.map((d) => [el("code", {}, d.number), d.exporter, money(d.value, d.currency), money(d.drawn, d.currency),
    el("strong", {}, money(d.value - d.drawn, d.currency)), d.port, d.date, badge(d.status)]);
}

const DECL_HEAD = ["Declaration", "Exporter", "Value", "Drawn", "Left", "Port", "Date", "Status"];

export async function home() {
  if (!session.identity) {
    return [el("h1", {}, "Trade finance"),
      el("p", { class: "notice" }, 'Choose an identity under "Signed in as", or sign in with your key file.')];
  }
  const me = await actingParty();
  const account = el("div", { id: "sme-account" });
  const declarations = el("div", { id: "declarations" });
  const credits = el("div", { id: "credits" });
  const reload = () => Promise.all([fill(credits, creditList)]);

  async function sme() {
    if (me !== session.identity) return empty(`${session.identity} acts for its organisation ${me}.`);
    const m = await query("hosted", "member", { identity: me });
    return [el("p", {}, "You act in your own name: ", el("strong", { id: "sme-identity" }, me),
      `, hosted by ${m.operator} (what you hold is yours; its staff cannot move it).`),
    table(["Company", "USCC", "Signing key", "Onboarded"],
      [[m.company, el("code", {}, m.uscc), el("code", { title: m.public_key }, short(m.public_key, 16)), when(m.since_ms)]])];
  }

  async function declarationList() {
    const out = [];
    try {
      const o = await query("trade", "overview", {});
      out.push(el("p", { class: "muted" }, "Every declaration and every bank's draws (regulator's view)."),
        table(DECL_HEAD, declarationRows(o.declarations), "No declaration yet."),
        el("h3", {}, "Draws"),
        table(["Draw", "Declaration", "Bank", "Kind", "Amount", "Rate", "Counted", "Status"], o.draws.map((d) => [
          short(d.id, 12), d.declaration, d.bank, d.kind, money(d.amount, d.currency), d.fx_rate, d.counted, badge(d.status)]),
        "No draw yet."));
      return out;
    } catch (e) { /* not a regulator */ }
    const mine = await query("trade", "declarations_of", { exporter: me }).catch(() => []);
    out.push(table(DECL_HEAD, declarationRows(mine), `No declaration names ${me} as exporter.`));
    const bank = (session.chain ? session.chain.organisations : []).some((o) => o.id === me && o.kind === "funder");
    if (bank) try {
      const book = await query("trade", "book", { bank: me });
      out.push(el("h3", {}, "Your draws as a bank"), table(["Draw", "Declaration", "Kind", "Amount", "Counted", "Status"],
        book.draws.map((d) => [short(d.id, 12), d.declaration, d.kind, money(d.amount, d.currency), d.counted, badge(d.status)]),
        "No draw yet."));
    } catch (e) { /* not a bank */ }
    return out;
  }

  async function creditList() {
    const list = await query("trade", "credits_of", { party: me });
    return table(["Credit", "Applicant", "Bank", "Beneficiary", "Amount", "Paid", "Expiry", "Status", ""], list.map((c) => [
      short(c.id, 12), c.applicant, c.bank, c.beneficiary, money(c.amount, c.currency), money(c.paid, c.currency), c.expiry,
      badge(c.status),
      c.bank === me && c.status === "applied"
        ? el("button", { onclick: () => act("Issue credit", "trade", "issue_credit", { credit_id: c.id }, reload) }, "Issue")
        : c.presentation ? `presentation ${short(c.presentation, 8)}` : ""]), "No documentary credit.");
  }

  const page = [
    el("h1", {}, "Trade finance"),
    el("p", { class: "muted" }, `Acting for ${me} as ${session.identity}.`),
    section("Your account", account),
    section("Customs declarations and financing quota", declarations),
    section("Documentary credits", credits),
  ];
  await Promise.all([fill(account, sme), fill(declarations, declarationList), reload()]);
  return page;
}
