// Evidence depository: a file is hashed in the browser (it never leaves the machine), its digest
// deposited by the signed-in member; anyone can check a file; the owner downloads the certificate.
import { session, org, query, el, link, table, section, fill, when, badge, toast, bytesToHex, short, signedFetch } from "./lib.js";
import { act } from "./scf.js";

async function digestOf(file) {
  return bytesToHex(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
}

export async function home(known = "") {
  let digest = known;
  const info = el("p", { id: "file-digest", class: "muted" }, known ? el("span", {}, "SHA-256 ", el("code", {}, known))
    : "No file chosen.");
  const status = el("div", { id: "evidence-status" });
  const mine = el("div", { id: "my-deposits" });
  const input = el("input", { type: "file", id: "evidence-file" });
  const drop = el("label", { class: "drop", for: "evidence-file" }, "Drop a file here or click to choose one. ",
    el("span", { class: "muted" }, "It is hashed here, in your browser; only its SHA-256 digest is sent."), input);

  async function take(file) {
    info.replaceChildren(el("span", { class: "loading" }, `Hashing ${file.name}…`));
    digest = await digestOf(file);
    info.replaceChildren(`${file.name} (${file.size.toLocaleString()} bytes) · SHA-256 `, el("code", {}, digest));
    title.value = title.value || file.name;
    await check();
  }
  input.addEventListener("change", () => input.files[0] && take(input.files[0]));
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    if (ev.dataTransfer.files[0]) take(ev.dataTransfer.files[0]);
  });

  async function check() {
    if (!digest) return;
    await fill(status, async () => {
      const e = await query("evidence", "exists", { algorithm: "sha-256", digest });
      if (!e.exists) return el("p", { class: "notice" }, "This file is not on the chain.");
      return [
        el("p", { class: "verified", role: "status" }, `On the chain since ${when(e.registered_ms)}: deposited by ${e.owner}, `,
          badge(e.status)),
        el("p", {}, e.confirmed_tx ? link(`#/tx/${e.confirmed_tx}`, `transaction in block ${e.height}`) : `block ${e.height}`,
          " · ", link(`/evidence/verify/sha-256/${digest}`, "public verification page"),
          " · ", el("button", { id: "download-certificate", onclick: () => download(digest) }, "Download certificate")),
      ];
    });
  }

  const title = el("input", { name: "title", placeholder: "contract scan, design draft…" });
  const depositButton = el("button", { class: "primary", id: "deposit", onclick: async () => {
    if (!digest) { toast("Choose a file first", "error"); return; }
    if (!session.identity) { toast("Sign in first: a deposit is a transaction signed by a member", "error"); return; }
    depositButton.disabled = true;
    try {
      await act("Deposit", "evidence", "deposit", { algorithm: "sha-256", digest, title: title.value || "untitled" }, async () => {
        await check();
        if (session.identity) fill(mine, deposits);
  if (known) check();
      });
    } finally { depositButton.disabled = false; }
  } }, "Deposit");

  async function deposits() {
    const d = await query("evidence", "deposits", { owner: org(), limit: 100 });
    const rows = (d.deposits || d.records || []).map((r) => [r.title, el("code", { title: r.digest }, short(r.digest, 16)),
      r.algorithm, badge(r.status), when(r.registered_ms)]);
    return table(["Title", "Digest", "Algorithm", "Status", "Registered"], rows, "Your organisation has no deposit yet.");
  }
  if (session.identity) fill(mine, deposits);
  if (known) check();

  return [
    el("h1", {}, "Evidence depository"),
    section("Deposit or verify a file", drop, info,
      el("div", { class: "action inline" }, el("label", {}, "Title ", title), depositButton), status),
    section("Your organisation's deposits", session.identity ? mine : el("p", { class: "notice" }, "Sign in to see them.")),
  ];
}

async function download(digest) {
  try {
    const body = await signedFetch("GET", `/evidence/certificates/sha-256/${digest}`);
    const a = el("a", { href: URL.createObjectURL(new Blob([body], { type: "application/json" })),
      download: `certificate-${digest.slice(0, 12)}.json` });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    toast(`Certificate: ${e.words || e}`, "error");
  }
}
