// Contracts: the built-in apps and the members' own contracts installed by vote, side by side,
// with their methods and docstrings; a member's contract shows its source and code hash, and a
// contract proposal its source for review before the vote.
import { get, query, el, table, section, badge, link } from "./lib.js";

function entries(c) {
  return el("ul", { class: "entries" }, c.entries.map((e) => el("li", {},
    el("code", {}, `${e.name}(${e.args.map((a) => `${a.name}${a.required ? "" : "?"}: ${a.type}`).join(", ")})`), " ",
    badge(e.kind), e.doc ? el("span", { class: "muted" }, ` ${e.doc.split("\n")[0]}`) : "")));
}

export async function home() {
  const { contracts } = await get("/contracts");
  const members = contracts.filter((c) => c.origin === "member");
  const builtins = contracts.filter((c) => c.origin === "built-in");
  const memberRows = members.map((c) => [
    link(`#/contracts/${c.name}`, c.name, { "data-contract": c.name }), c.version,
    el("code", { title: c.code_hash }, c.code_hash.slice(0, 24) + "…"), c.approved_by.join(", "),
    Object.keys(c.access).length ? Object.entries(c.access).map(([m, orgs]) => `${m}: ${orgs.join(", ")}`).join("; ")
      : "any member", c.frozen ? badge("frozen") : badge("active", "ok"), entries(c)]);
  return [
    el("h1", {}, "Contracts"),
    el("p", { class: "muted" }, "Members write contracts in Python, check them with `consortia contract check`, and " +
      "install them by a governance vote; every node runs them in the same metered sandbox. The built-in apps " +
      "are contracts on the same SDK."),
    section("Members' contracts", table(["Contract", "Version", "Code hash", "Approved by", "Who may call", "State",
      "Methods and queries"], memberRows, "No member contract installed yet: see README, “Write your own contract”.")),
    section("Built-in apps", table(["Contract", "Description", "Methods and queries"],
      builtins.map((c) => [el("code", {}, c.name), c.description || "",
        el("details", {}, el("summary", {}, `${c.entries.length} methods and queries`), entries(c))]))),
  ];
}

export async function source(name) {
  const c = await query("gov", "contract", { name });
  const history = c.history.map((h) => [h.version, el("code", {}, h.code_hash), `height ${h.height}`,
    h.approved_by.join(", ")]);
  return [
    el("h1", {}, `${c.name} ${c.version}`),
    el("p", {}, "Code hash ", el("code", { id: "code-hash" }, c.code_hash), ` · installed at height ${c.height} · ` +
      `approved by ${c.approved_by.join(", ")} · proposal `, el("code", {}, c.proposal)),
    section("Source", el("pre", { id: "contract-source" }, c.source)),
    section("Earlier versions", table(["Version", "Code hash", "Installed", "Approved by"], history,
      "This is the first version.")),
    el("p", {}, link("#/contracts", "← All contracts")),
  ];
}

export async function proposal(id) {
  const p = await query("gov", "proposal", { proposal_id: id });
  const params = p.params;
  return [
    el("h1", {}, `Review: ${p.action.replace("_", " ")} ${params.name} ${params.version}`),
    el("p", {}, "Code hash ", el("code", {}, params.code_hash), " · status ", badge(p.status), " · votes ",
      Object.entries(p.votes).map(([o, v]) => `${o} ${v ? "yes" : "no"}`).join(", ")),
    el("p", { class: "muted" }, "Check the hash yourself: `consortia contract show --proposal " + id +
      "` recomputes it from this source."),
    section("Source", el("pre", { id: "contract-source" }, params.archive.files["contract.py"])),
    el("p", {}, link("#/gov", "← Governance")),
  ];
}
