// The console shell: sign-in, search, and a hash router over the pages.
import { session, get, el, toast, errorBox, ApiError, leave, chainInfo, signedFetch } from "./lib.js";
import { findKeyAndCertificate, openWallet, restoreWallet, forgetWallet, KeyFileError } from "./wallet.js";
import * as explorer from "./explorer.js";
import * as scf from "./scf.js";
import * as gov from "./gov.js";
import * as regulator from "./regulator.js";
import * as trace from "./trace.js";
import * as evidence from "./evidence.js";
import * as contracts from "./contracts.js";
import * as invoice from "./invoice.js";
import * as trade from "./trade.js";
import * as waybill from "./waybill.js";
import * as charity from "./charity.js";

const routes = [
  [/^\/?$/, "explorer", (m) => explorer.overview()],
  [/^\/block\/([0-9a-fA-F]+)$/, "explorer", (m) => explorer.block(m[1])],
  [/^\/tx\/([0-9a-fA-F]+)$/, "explorer", (m) => explorer.transaction(m[1])],
  [/^\/search\/(.+)$/, "explorer", (m) => explorer.search(decodeURIComponent(m[1]))],
  [/^\/scf$/, "scf", () => scf.home()],
  [/^\/voucher\/([0-9a-zA-Z_-]+)$/, "scf", (m) => scf.lineage(m[1])],
  [/^\/gov$/, "gov", () => gov.home()],
  [/^\/regulator$/, "regulator", () => regulator.home()],
  [/^\/trace$/, "trace", () => trace.home()],
  [/^\/evidence$/, "evidence", () => evidence.home()],
  [/^\/contracts$/, "contracts", () => contracts.home()],
  [/^\/contracts\/proposal\/([0-9a-f]+)$/, "gov", (m) => contracts.proposal(m[1])],
  [/^\/contracts\/([a-z][a-z0-9_]+)$/, "contracts", (m) => contracts.source(m[1])],
  [/^\/trade$/, "trade", () => trade.home()],
  [/^\/evidence\/([0-9a-f]{64})$/, "evidence", (m) => evidence.home(m[1])],
  [/^\/invoice$/, "invoice", () => invoice.home()],
  [/^\/charity$/, "charity", () => charity.home()],
  [/^\/charity\/([0-9a-f]{32})(?:\?\d*)?$/, "charity", (m) => charity.need(m[1])],
  [/^\/journey\/(\d{8,14})(?:\/([^/]+))?(?:\/([^/]+))?$/, "trace",
    (m) => trace.journey(m[1], m[2] && decodeURIComponent(m[2]), m[3] && decodeURIComponent(m[3]))],
  [/^\/waybill$/, "waybill", () => waybill.home()],
  [/^\/waybill\/([A-Za-z0-9._%-]+)$/, "waybill", (m) => waybill.detail(decodeURIComponent(m[1]))],
];


let rendering = 0;  // a slow page must not overwrite the page the user moved on to

async function render() {
  const mine = ++rendering;
  leave();
  const path = location.hash.replace(/^#/, "") || "/";
  const main = document.getElementById("main");
  for (const [re, nav, page] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
    main.replaceChildren(el("p", { class: "loading" }, "Loading…"));
    try {
      const content = await page(m);
      if (mine === rendering) main.replaceChildren(...[content].flat());
    } catch (e) {
      if (mine === rendering) main.replaceChildren(errorBox(e));
    }
    return;
  }
  main.replaceChildren(el("h1", {}, "Not found"), el("p", {}, `No console page at ${path}.`));
}

const KEY_SUFFIX = " (key file)";

/** Put the key-file identity in the "Signed in as" list (one entry, marked as a key file). */
function showKeyIdentity(select) {
  select.querySelectorAll("option[data-key]").forEach((o) => o.remove());
  if (session.wallet) {
    select.append(el("option", { value: session.wallet.id, "data-key": "1" }, session.wallet.id + KEY_SUFFIX));
    select.value = session.wallet.id;
  }
}

function signOutKeyFile() {
  session.wallet = null;
  forgetWallet();
}

/** Open a key file: check the pair, the suite, and that the node accepts a read signed with it. */
async function useKeyFiles(files, select) {
  const status = document.getElementById("keyfile-status");
  status.className = "loading";
  status.textContent = "Reading the key and certificate…";
  try {
    const { key, cert } = findKeyAndCertificate(await Promise.all([...files].map((f) => f.text())));
    const chain = await chainInfo();
    const wallet = await openWallet(key, cert, chain.suite);
    const previous = [session.mode, session.wallet, session.identity];
    [session.mode, session.wallet, session.identity] = ["key", wallet, wallet.id];
    try {
      await signedFetch("POST", "/query/members/orgs", "{}");  // the node must know this member
    } catch (e) {
      [session.mode, session.wallet, session.identity] = previous;
      throw e;
    }
    wallet.save();
    localStorage.removeItem("consortia.identity");
    showKeyIdentity(select);
    status.className = "verified";
    status.textContent = `Signed in as ${wallet.id} (${wallet.roles.join(", ") || "no role"}). Your key stays in this tab.`;
    document.getElementById("keyfile-dialog").close();
    toast(`Signed in as ${wallet.id} with a key file`);
    render();
  } catch (e) {
    status.className = "error";
    status.textContent = e instanceof ApiError ? e.words : e instanceof KeyFileError ? `${e.message} (${e.code})` : String(e);
  } finally {
    document.getElementById("keyfile-input").value = "";
  }
}

async function signIn() {
  const select = document.getElementById("identity");
  try {
    const who = await get("/console/api/identities");
    session.signer = who.signer;
    session.identities = who.identities;
    for (const id of who.identities) select.append(el("option", { value: id }, id));
    if (!who.signer) select.title = `${who.reason}; or sign in with your key file`;
  } catch (e) {
    toast(e instanceof ApiError ? e.words : String(e), "error");
  }
  try { await chainInfo(); } catch (e) { /* the overview shows the error */ }
  session.wallet = session.chain ? await restoreWallet(session.chain.suite) : null;
  if (session.wallet) {
    [session.mode, session.identity] = ["key", session.wallet.id];
    showKeyIdentity(select);
  } else {
    if (!session.identities.includes(session.identity)) session.identity = "";
    session.mode = session.identity ? "demo" : "";
    select.value = session.identity;
  }
  select.addEventListener("change", () => {
    if (session.mode === "key") signOutKeyFile();
    showKeyIdentity(select);
    session.identity = select.value;
    session.mode = session.identity ? "demo" : "";
    select.value = session.identity;
    localStorage.setItem("consortia.identity", session.identity);
    toast(session.identity ? `Signed in as ${session.identity}` : "Signed out");
    render();
  });
  const dialog = document.getElementById("keyfile-dialog");
  document.getElementById("keyfile-button").addEventListener("click", () => {
    document.getElementById("keyfile-status").textContent = "";
    dialog.showModal();
  });
  document.getElementById("keyfile-input").addEventListener("change", (ev) => {
    if (ev.target.files.length) useKeyFiles(ev.target.files, select);
  });
}

document.getElementById("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = document.getElementById("search-q").value.trim();
  if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
});

window.addEventListener("hashchange", render);
await signIn();
await render();
document.body.dataset.ready = "1";
