// Shared helpers: the REST client, the demo signer, DOM building, formatting, error words,
// and Merkle proof verification in the browser (SHA-256 via WebCrypto).

export const session = {
  identity: localStorage.getItem("consortia.identity") || "",
  signer: false,
  identities: [],
  chain: null,
};

let cleanup = [];
/** Run ``fn`` when the user leaves the current page (stop timers, close streams). */
export function onLeave(fn) { cleanup.push(fn); }
export function leave() { for (const fn of cleanup) fn(); cleanup = []; }

export function org() { return session.identity ? session.identity.split("/")[0] : ""; }

// -- errors in words ---------------------------------------------------------------------

const WORDS = {
  NOT_HOLDER: "Only the holder of this voucher piece can do that.",
  NOT_ISSUER: "Only the core enterprise that issued this voucher can do that.",
  NOT_OFFERED: "This voucher is not waiting for your acceptance (already accepted or rejected?).",
  NOT_RECEIVER: "This transfer is not addressed to your organisation.",
  NOT_FUNDER: "Only the funder named in this financing can do that.",
  NOT_ADMIN: "Only an organisation admin can do that; sign in as <org>/admin.",
  NOT_A_PARTY: "Your organisation is not registered as a supply-chain-finance party.",
  NOT_VISIBLE: "Your organisation may not see this record.",
  NOT_MEMBER: "This identity is not a member of the consortium.",
  WRONG_ROLE: "Your organisation does not have the role this action needs.",
  BAD_ROLE: "Your identity does not have the role this action needs.",
  SPLIT_EXCEEDS_BALANCE: "The amount is more than this piece holds.",
  BAD_AMOUNT: "The amount must be a whole number of fen, at least 0.01 yuan.",
  BAD_OUTPUTS: "The transfer outputs are not valid.",
  BAD_TENOR: "The due date must be in the future and at most one year away.",
  BAD_RATE: "The discount rate is not valid.",
  VOUCHER_LOCKED: "This piece is pending a transfer or financing and cannot be used again until that ends.",
  VOUCHER_NOT_LIVE: "This piece is no longer live (settled, split or transferred).",
  VOUCHER_NOT_FOUND: "No voucher with this id.",
  DOUBLE_FINANCING: "Refused: financing would exceed the underlying document's amount across all funders.",
  OVER_DOCUMENT: "The amount exceeds the underlying document's amount.",
  OVER_LIMIT: "Issuing this would exceed the credit line.",
  PAST_DUE: "The voucher is past its due date: only settlement is possible now.",
  NOT_DUE: "The voucher is not due yet.",
  ALREADY_SETTLED: "This voucher is already settled.",
  CREDIT_LINE_NOT_FOUND: "No such credit line.",
  CREDIT_LINE_EXPIRED: "The credit line has expired.",
  DOCUMENT_NOT_FOUND: "No such underlying document.",
  FINANCING_NOT_FOUND: "No such financing request.",
  FINANCING_CLOSED: "This financing request is already closed.",
  TRANSFER_NOT_FOUND: "No such transfer.",
  TRANSFER_CLOSED: "This transfer is already closed.",
  TRANSFER_ANSWERED: "You already answered this transfer.",
  ALREADY_VOTED: "Your organisation already voted on this proposal.",
  PROPOSAL_CLOSED: "This proposal is already decided.",
  PROPOSAL_EXPIRED: "This proposal has expired.",
  PROPOSAL_NOT_FOUND: "No such proposal.",
  IDENTITY_FROZEN: "This identity is frozen by governance and cannot sign.",
  CONTRACT_FROZEN: "This contract is frozen by governance.",
  UNAUTHENTICATED: "Sign in first: this read is restricted by role.",
  BAD_AUTH: "The request signature was refused.",
  AUTH_EXPIRED: "The request signature is too old; check this machine's clock.",
  SIGNER_DISABLED: "Signing is off: the demo signer only works on the node's own machine (see ADR 0010).",
  IDENTITY_NOT_FOUND: "That identity is not on this machine.",
  TX_NOT_FOUND: "No committed transaction with this id.",
  BLOCK_NOT_FOUND: "No block with this height or hash.",
  BAD_TX_ID: "A transaction id is 64 hexadecimal characters.",
  TX_DUPLICATE: "This transaction was already submitted.",
  BAD_ARGS: "The arguments are not valid.",
  NETWORK: "The node did not answer; is it running?",
};

export function words(code, message) {
  const known = WORDS[code];
  return known ? `${known} (${code}${message ? ": " + message : ""})` : `${message || "Refused"} (${code})`;
}

export class ApiError extends Error {
  constructor(code, message, status) { super(message); this.code = code; this.status = status; }
  get words() { return words(this.code, this.message); }
}

// -- REST --------------------------------------------------------------------------------

export async function fetchText(method, path, text, headers = {}) {
  let r;
  try {
    r = await fetch(path, { method, body: text, headers: { "Content-Type": "application/json", ...headers } });
  } catch (e) {
    throw new ApiError("NETWORK", String(e), 0);
  }
  const body = await r.text();
  if (!r.ok && r.status !== 202) {
    let err = { code: "HTTP_" + r.status, message: body.slice(0, 200) };
    try { err = JSON.parse(body).error || err; } catch (_) { /* not JSON */ }
    throw new ApiError(err.code, err.message, r.status);
  }
  return body;
}

export async function get(path) { return JSON.parse(await fetchText("GET", path)); }

export async function post(path, body) { return JSON.parse(await fetchText("POST", path, JSON.stringify(body))); }

/** Call a contract query; signed by the current identity when someone is signed in. */
export async function query(contract, method, args = {}) {
  return JSON.parse(await signedFetch("POST", `/query/${contract}/${method}`, JSON.stringify(args))).result;
}

/** A request signed by the current identity (``X-Consortia-Auth``); resolves with the body text. */
export async function signedFetch(method, path, text = "") {
  const headers = {};
  if (session.identity && session.signer) {
    const signed = await post("/console/api/sign-read", { identity: session.identity, method, path, body: text });
    headers["X-Consortia-Auth"] = signed.header;
  }
  return fetchText(method, path, method === "GET" ? undefined : text, headers);
}

/** Sign a transaction as the current identity, submit it, wait for its receipt.
 *  Resolves with the commit view; rejects with ApiError when refused or reverted. */
export async function send(contract, method, args) {
  if (!session.identity) throw new ApiError("UNAUTHENTICATED", "choose an identity first", 0);
  // The signed wire carries a 63-bit nonce: keep it as text, never through JSON.parse.
  const wire = await fetchText("POST", "/console/api/sign-tx",
    JSON.stringify({ identity: session.identity, contract, method, args }));
  const view = JSON.parse(await fetchText("POST", "/transactions?wait=true&timeout=30", wire));
  if (!view.committed) throw new ApiError("NOT_COMMITTED", `transaction ${view.tx_id} is not committed yet`, 202);
  if (view.receipt.status !== "ok") {
    const err = new ApiError(view.receipt.code, view.receipt.message, 200);
    err.txId = view.tx_id;
    throw err;
  }
  return view;
}

// -- DOM ---------------------------------------------------------------------------------

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function link(href, text, attrs = {}) { return el("a", { href, ...attrs }, text); }

export function toast(text, kind = "ok") {
  const t = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  document.getElementById("toasts").append(t);
  setTimeout(() => t.remove(), kind === "error" ? 9000 : 5000);
}

export function empty(text) { return el("p", { class: "empty" }, text); }
export function loading() { return el("p", { class: "loading" }, "Loading…"); }
export function errorBox(e) {
  return el("p", { class: "error", role: "alert" }, e instanceof ApiError ? e.words : String(e));
}

/** Fill ``box`` with what ``load`` builds, showing a loading state and errors in words. */
export async function fill(box, load) {
  box.replaceChildren(loading());
  try { box.replaceChildren(...[await load()].flat()); } catch (e) { box.replaceChildren(errorBox(e)); }
}

export function table(head, rows, emptyText = "Nothing here yet.") {
  if (!rows.length) return empty(emptyText);
  return el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
}

export function card(label, value, id) {
  return el("div", { class: "card", "data-stat": id }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
}

export function section(title, ...children) { return el("section", {}, el("h2", {}, title), ...children); }

// -- formatting --------------------------------------------------------------------------

export function yuan(fen) {
  if (fen === null || fen === undefined) return "—";
  const sign = fen < 0 ? "-" : "";
  const a = Math.abs(fen);
  const whole = Math.floor(a / 100).toLocaleString("en-US");
  return `${sign}¥${whole}.${String(a % 100).padStart(2, "0")}`;
}

/** Parse yuan text ("1250000", "12.5", "0.01") into integer fen, exactly; null if invalid. */
export function toFen(text) {
  const m = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(String(text).replace(/,/g, ""));
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || "0").padEnd(2, "0"));
}

export function short(hex, n = 10) { return hex ? `${hex.slice(0, n)}…` : "—"; }
export function when(ms) { return ms ? new Date(ms).toLocaleString() : "—"; }
export function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
export function badge(text, kind = text) { return el("span", { class: `badge ${kind}` }, text); }

// -- canonical encoding and Merkle proofs ------------------------------------------------

const BIG = "\u0000bigint:";

/** JSON.parse that keeps integers beyond 2^53 exact (as marked strings the encoder emits raw). */
export function parseExact(text) {
  const marked = text.replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, (_, pre, digits) => `${pre}"\\u0000bigint:${digits}"`);
  return JSON.parse(marked);
}

/** The canonical encoding (compact JSON, keys sorted by code point at every depth). */
export function canonical(value) {
  if (typeof value === "string") return value.startsWith(BIG) ? value.slice(BIG.length) : JSON.stringify(value);
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
}

const enc = new TextEncoder();
export function hexToBytes(hex) { return Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16)); }
export function bytesToHex(bytes) { return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join(""); }
async function sha256(...parts) {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { all.set(p, i); i += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

/** Same walk as consortia.crypto.merkle.is_valid_proof: leaf 0x00, node 0x01, odd node promoted. */
async function isValidProof(leafData, proof, root, size) {
  if (proof.size !== size || proof.index < 0 || proof.index >= size) return false;
  let node = await sha256(Uint8Array.of(0), leafData);
  let i = proof.index, width = proof.size, step = 0;
  while (width > 1) {
    const sibling = i ^ 1;
    if (sibling < width) {
      const s = proof.path[step++];
      if (!s || s.left !== sibling < i) return false;
      const h = hexToBytes(s.hash);
      node = s.left ? await sha256(Uint8Array.of(1), h, node) : await sha256(Uint8Array.of(1), node, h);
    }
    i = Math.floor(i / 2);
    width = Math.floor((width + 1) / 2);
  }
  return step === proof.path.length && bytesToHex(node) === root;
}

/** Verify a GET /transactions/{id} answer (raw text); returns a list of [check, passed]. */
export async function verifyTransaction(text) {
  const view = parseExact(text);
  const h = view.header;
  if (h.suite !== "ed25519-sha256") return { supported: false, suite: h.suite, checks: [] };
  const checks = [];
  checks.push(["the transaction hashes to its id", bytesToHex(await sha256(enc.encode(canonical(view.tx)))) === view.tx_id]);
  checks.push(["the receipt belongs to this transaction", view.receipt.tx_id === view.tx_id]);
  checks.push(["the transaction id is in the block's tx_root",
    await isValidProof(hexToBytes(view.tx_id), view.proof.tx, h.tx_root, h.tx_count)]);
  checks.push(["the receipt is in the block's receipts_root",
    await isValidProof(enc.encode(canonical(view.receipt)), view.proof.receipt, h.receipts_root, h.tx_count)]);
  checks.push(["the header hashes to the block hash", bytesToHex(await sha256(enc.encode(canonical(h)))) === view.block_hash]);
  return { supported: true, suite: h.suite, checks };
}

export async function getText(path) { return fetchText("GET", path); }
