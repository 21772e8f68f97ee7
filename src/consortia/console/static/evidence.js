// Evidence depository: a file is hashed in the browser (it never leaves the machine), its digest
// deposited by the signed-in member; anyone can check a file; the owner downloads the certificate.
import {
  session, org, query, el, link, table, section, fill, when, badge, toast, bytesToHex, short, signedFetch, fetchText, words,
  ApiError,
} from "./lib.js";
import { suiteHash } from "./wallet.js";
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
    section("Verify a file against its certificate", ...verifyForm()),
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

const HASHES = { "sha-256": "sha-256", sm3: "sm2-sm3" };  // digest algorithm -> suite whose hash computes it

/** The checks of a certificate against a file: the file is hashed here, the certificate is checked by
 *  the node exactly as `consortia verify` does offline (POST /evidence/verify). Returns [check, passed, detail]. */
export async function verifyFileAgainst(file, certificateText, quorum = "") {
  const checks = [];
  let credential;
  try {
    credential = JSON.parse(certificateText);
  } catch (e) {
    return [["the certificate is a JSON file", false, words("BAD_JSON", e.message)]];
  }
  const deposit = credential && credential.credentialSubject && credential.credentialSubject.deposit;
  if (!deposit || !HASHES[deposit.algorithm] || typeof deposit.digest !== "string") {
    return [["the certificate names a deposited digest", false, words("MALFORMED_CERTIFICATE", "no credentialSubject.deposit")]];
  }
  checks.push([`the certificate is for ${deposit.title ? `"${deposit.title}", ` : ""}${deposit.algorithm} ${short(deposit.digest, 16)}`, true, ""]);
  try {
    const report = JSON.parse(await fetchText("POST", `/evidence/verify${quorum ? `?quorum=${quorum}` : ""}`, certificateText));
    for (const line of report.checks) checks.push([line, true, ""]);
  } catch (e) {
    checks.push(["the chain's proof in the certificate", false, e instanceof ApiError ? e.words : String(e)]);
  }
  const actual = bytesToHex(await suiteHash(HASHES[deposit.algorithm], new Uint8Array(await file.arrayBuffer())));
  checks.push([`the file's ${deposit.algorithm} digest (computed in your browser) matches the certificate`, actual === deposit.digest,
    actual === deposit.digest ? "" : words("FILE_MISMATCH", `the file's digest is ${actual}`)]);
  return checks;
}

function verifyForm() {
  const fileInput = el("input", { type: "file", id: "verify-file" });
  const certInput = el("input", { type: "file", id: "verify-certificate", accept: ".json,application/json" });
  const quorumInput = el("input", { type: "number", id: "verify-quorum", min: "1", max: "1000",
    placeholder: "more than half (default)", "aria-describedby": "verify-quorum-hint",
    title: "how many member organisations must have signed the block that holds the deposit" });
  const out = el("div", { id: "verify-result" });
  const button = el("button", { class: "primary", id: "verify", onclick: async () => {
    const file = fileInput.files[0], cert = certInput.files[0];
    if (!file || !cert) { toast("Choose the file and its certificate (JSON) first", "error"); return; }
    button.disabled = true;
    out.replaceChildren(el("p", { class: "loading" }, `Hashing ${file.name} and checking the certificate…`));
    try {
      const quorum = /^\d+$/.test(quorumInput.value) ? quorumInput.value : "";
      const checks = await verifyFileAgainst(file, await cert.text(), quorum);
      const failed = checks.find(([, passed]) => !passed);
      out.replaceChildren(
        el("p", { class: failed ? "error" : "verified", role: "status" }, failed
          ? `NOT verified: ${failed[0]} — failed. ${failed[2]}`
          : `Verified: ${file.name} is the deposited file, and the certificate's proof checks out`),
        el("ul", { class: "checks" }, checks.map(([what, passed, detail]) => el("li", { class: passed ? "pass" : "fail" },
          `${passed ? "✓" : "✗"} ${what}`, detail ? el("div", { class: "muted" }, detail) : ""))));
    } catch (e) {
      out.replaceChildren(el("p", { class: "error", role: "alert" }, e instanceof ApiError ? e.words : String(e)));
    } finally {
      button.disabled = false;
    }
  } }, "Verify");
  return [
    el("p", { class: "muted" }, "The file is hashed here and never sent; the certificate (a W3C Verifiable Credential) is " +
      "checked against this chain's genesis: Merkle proof, recorded content, and the nodes' signatures."),
    el("div", { class: "verify-inputs" }, el("label", {}, "File", fileInput), el("label", {}, "Certificate (JSON)", certInput),
      el("label", {}, "Organisations that must vouch for the block", quorumInput), button,
      el("p", { class: "muted hint", id: "verify-quorum-hint" }, "Every member organisation runs a node that signs " +
        "the blocks it accepts. By default the certificate counts only if more than half of the consortium's " +
        "organisations signed the block that holds the deposit; a one-node demo signs alone, so enter 1 there.")),
    out,
  ];
}
