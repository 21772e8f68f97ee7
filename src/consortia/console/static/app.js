// The console shell: sign-in, search, and a hash router over the pages.
import { session, get, el, toast, errorBox, ApiError, leave } from "./lib.js";
import * as explorer from "./explorer.js";
import * as scf from "./scf.js";
import * as gov from "./gov.js";
import * as regulator from "./regulator.js";
import * as trace from "./trace.js";
import * as evidence from "./evidence.js";

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
  [/^\/evidence\/([0-9a-f]{64})$/, "evidence", (m) => evidence.home(m[1])],
  [/^\/journey\/(\d{8,14})(?:\/([^/]+))?(?:\/([^/]+))?$/, "trace",
    (m) => trace.journey(m[1], m[2] && decodeURIComponent(m[2]), m[3] && decodeURIComponent(m[3]))],
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

async function signIn() {
  const select = document.getElementById("identity");
  try {
    const who = await get("/console/api/identities");
    session.signer = who.signer;
    session.identities = who.identities;
    for (const id of who.identities) select.append(el("option", { value: id }, id));
    if (!who.signer) select.title = who.reason;
  } catch (e) {
    toast(e instanceof ApiError ? e.words : String(e), "error");
  }
  if (!session.identities.includes(session.identity)) session.identity = "";
  select.value = session.identity;
  select.addEventListener("change", () => {
    session.identity = select.value;
    localStorage.setItem("consortia.identity", session.identity);
    toast(session.identity ? `Signed in as ${session.identity}` : "Signed out");
    render();
  });
}

document.getElementById("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = document.getElementById("search-q").value.trim();
  if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
});

window.addEventListener("hashchange", render);
await signIn();
try { session.chain = await get("/chain"); } catch (e) { /* the overview shows the error */ }
await render();
document.body.dataset.ready = "1";
