// Governance: proposals and votes, members, frozen identities and contracts, a proposal form.
import { session, query, el, table, section, fill, when, badge, toast, short } from "./lib.js";
import { act } from "./scf.js";

const ACTIONS = ["freeze_identity", "unfreeze_identity", "freeze_contract", "unfreeze_contract", "set_config",
  "add_org", "remove_org"];

export async function home() {
  const proposalsBox = el("div", { id: "proposals" });
  const membersBox = el("div", { id: "members" });
  const frozenBox = el("div", { id: "frozen" });
  const reload = () => Promise.all([fill(proposalsBox, proposals), fill(membersBox, members), fill(frozenBox, frozen)]);

  async function proposals() {
    const list = await query("gov", "proposals", { limit: 100 });
    const canVote = session.identity.endsWith("/admin");
    const rows = list.map((p) => {
      const yes = Object.values(p.votes).filter(Boolean).length;
      const no = Object.values(p.votes).length - yes;
      const deploy = p.action === "install_contract" || p.action === "upgrade_contract";
      const shown = deploy ? el("span", {}, `${p.params.name} ${p.params.version} `,
        el("a", { href: `#/contracts/proposal/${p.id}`, "data-review": p.id }, "review the source"))
        : el("code", {}, JSON.stringify(p.params));
      return [el("code", { title: p.id }, short(p.id, 12)), p.action, shown, p.reason || "",
        p.proposer, badge(p.status), `${yes} yes · ${no} no`, when(p.expires_ms),
        p.status === "open" && canVote ? el("span", { class: "buttons" },
          el("button", { class: "primary", "data-vote": p.id,
            onclick: () => act("Vote yes", "gov", "vote", { proposal_id: p.id, approve: true }, reload) }, "Vote yes"),
          el("button", { onclick: () => act("Vote no", "gov", "vote", { proposal_id: p.id, approve: false }, reload) }, "Vote no"))
          : ""];
    });
    return [
      canVote ? "" : el("p", { class: "notice" }, "Sign in as an organisation admin (<org>/admin) to vote."),
      table(["Proposal", "Action", "Parameters", "Reason", "Proposer", "Status", "Votes", "Expires", ""], rows,
        "No proposals yet."),
    ];
  }

  async function members() {
    const orgs = await query("members", "orgs", {});
    return table(["Organisation", "Name", "Kind"], orgs.map((o) => [o.id, o.name, o.kind]));
  }

  async function frozen() {
    const f = await query("gov", "frozen", {});
    return [
      el("h3", {}, "Identities"), table(["Identity"], f.identities.map((i) => [el("code", {}, i)]), "No frozen identity."),
      el("h3", {}, "Contracts"), table(["Contract"], f.contracts.map((c) => [c]), "No frozen contract."),
    ];
  }

  const f = el("form", { class: "action", id: "propose" },
    el("label", {}, "Action", el("select", { name: "action" }, ACTIONS.map((a) => el("option", { value: a }, a)))),
    el("label", {}, "Parameters (JSON)", el("input", { name: "params", value: '{"id": "jinglian-parts/clerk"}' })),
    el("label", {}, "Reason", el("input", { name: "reason" })),
    el("button", { type: "submit", class: "primary" }, "Propose"));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const d = Object.fromEntries(new FormData(f).entries());
    let params;
    try { params = JSON.parse(d.params); } catch (e) { toast(`Parameters are not JSON: ${e.message}`, "error"); return; }
    await act("Propose", "gov", "propose", { action: d.action, params, reason: d.reason }, reload);
  });

  reload();
  return [
    el("h1", {}, "Governance"),
    el("p", { class: "muted" }, "Member organisations decide by vote: adding or removing members, freezing identities " +
      "or contracts, changing the configuration."),
    section("Proposals", proposalsBox),
    section("New proposal", el("details", { class: "panel" }, el("summary", {}, "Propose…"), f)),
    section("Members", membersBox),
    section("Frozen", frozenBox),
  ];
}
