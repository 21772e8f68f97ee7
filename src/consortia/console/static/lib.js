// Shared helpers: the REST client, the demo signer, DOM building, formatting, error words,
// and Merkle proof verification in the browser (SHA-256 via WebCrypto, SM3 via the vendored module).

import { suiteHash } from "./wallet.js";

export const session = {
  identity: localStorage.getItem("consortia.identity") || "",
  mode: "",        // "demo": the node's demo signer signs; "key": a key file signs in this browser
  signer: false,   // the demo signer is on for this client
  wallet: null,    // the key-file identity (wallet.js) when mode is "key"
  identities: [],
  chain: null,
};

/** Who signs: true when someone is signed in, by the demo signer or a key file. */
export function signedIn() { return Boolean(session.identity) && (session.mode === "key" ? Boolean(session.wallet) : session.signer); }

let cleanup = [];
/** Run ``fn`` when the user leaves the current page (stop timers, close streams). */
export function onLeave(fn) { cleanup.push(fn); }
export function leave() { for (const fn of cleanup) fn(); cleanup = []; }

export function org() { return session.identity ? session.identity.split("/")[0] : ""; }

const enc = new TextEncoder();

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
  UNAUTHENTICATED: "Sign in first (an identity or your key file): this is restricted by role.",
  BAD_AUTH: "The request signature was refused.",
  AUTH_EXPIRED: "The request signature is too old; check this machine's clock.",
  SIGNER_DISABLED: "The demo signer is off here (it only works on the node's own machine): sign in with your key file.",
  BAD_KEY_FILE: "These files are not a member's key and certificate.",
  KEY_MISMATCH: "The private key does not belong to the certificate: choose key.pem and cert.pem of the same member.",
  WRONG_SUITE: "The key or certificate is for the other crypto suite than this chain's.",
  UNKNOWN_IDENTITY: "The node does not know this certificate: it is not issued by a member organisation's CA.",
  IDENTITY_REVOKED: "This identity's certificate has been revoked.",
  CERT_EXPIRED: "This identity's certificate has expired (or is not valid yet).",
  BAD_SIGNATURE: "The signature does not verify.",
  BAD_ENCODING: "A value cannot be encoded for the chain (floats, huge integers and broken text are refused).",
  ENCODING_MISMATCH: "The browser and the node disagree on the transaction's bytes; please report this.",
  TX_EXPIRED: "The transaction expired before it reached a block; check this machine's clock and try again.",
  WRONG_CHAIN: "The transaction or certificate is for another chain.",
  FORBIDDEN_ROLE: "Your identity's role may not send this transaction.",
  REAL_NAME_REQUIRED: "This consortium requires a real-name record for your identity before it can act.",
  NOT_REGULATOR: "Only a regulator organisation may see this.",
  NOT_COMMITTED: "The transaction was accepted but is not in a block yet; look for it in the explorer shortly.",
  BAD_JSON: "The file is not valid JSON.",
  BAD_CAPTURE: "The EPCIS capture is not valid.",
  DUPLICATE_EVENT: "This event is already on the chain (or twice in the document).",
  MALFORMED_CERTIFICATE: "This is not an evidence certificate (or it is damaged).",
  BAD_PROOF: "The certificate's Merkle proof does not check out: the record is not in the block it names.",
  SUBJECT_MISMATCH: "The certificate's content differs from what the chain recorded (it was edited).",
  NOT_ENOUGH_SIGNATURES: "Too few of the consortium's nodes signed the block for this certificate.",
  UNKNOWN_SIGNER: "A block signature comes from someone who is not a node of this consortium.",
  FILE_MISMATCH: "The file's digest differs from the certificate's: this is not the deposited file (or it was altered).",
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
  return JSON.parse(await signedFetch("POST", `/query/${contract}/${method}`, canonical(args))).result;
}

const TX_TTL_MS = 10 * 60 * 1000;
const TX_DOMAIN = enc.encode("consortia/tx/v1\0");
const READ_DOMAIN = enc.encode("consortia/read/v2\0");

/** The chain's id and suite (from /chain, fetched once). */
export async function chainInfo() {
  if (!session.chain) {
    session.chain = await get("/chain");
    setTimeZone(session.chain.config && session.chain.config.time_zone);
  }
  return session.chain;
}

/** An ``X-Consortia-Auth`` value for one request: signed here (key file) or by the demo signer.
 *  ``target`` is the URL path and query as sent (percent-encoded); ``text`` the exact body (ADR 0019).
 *  Sign each request afresh: the node takes a header once, for at most a minute. */
export async function authHeader(method, target, text = "") {
  const url = new URL(target, location.origin);
  target = url.pathname + url.search;  // what the browser sends: "?" only with a query
  if (session.mode === "key") {
    const w = session.wallet;
    const chain = await chainInfo();
    const now = Date.now();
    const nonce = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
    const bodyHash = bytesToHex(await w.hash(enc.encode(text)));
    const sig = await w.sign(concatBytes(READ_DOMAIN, enc.encode(
      `${chain.chain_id} ${now} ${nonce} ${method.toUpperCase()} ${target} ${bodyHash}`)));
    return `${w.sender}.${now}.${nonce}.${bytesToHex(sig)}`;
  }
  return (await post("/console/api/sign-read", { identity: session.identity, method, path: target, body: text })).header;
}

/** A request signed by the current identity (``X-Consortia-Auth``); resolves with the body text. */
export async function signedFetch(method, path, text = "") {
  const headers = {};
  if (signedIn()) headers["X-Consortia-Auth"] = await authHeader(method, path, text);
  return fetchText(method, path, method === "GET" ? undefined : text, headers);
}

function randomNonce() {  // 63 random bits, as the SDK draws them (secrets.randbits(63))
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (BigInt(hi & 0x7fffffff) << 32n) | BigInt(lo);
}

/** Build and sign a transaction in the browser, exactly as consortia.client.txbuild.build_tx does.
 *  Resolves with ``{wire, id}``: the wire ``{tx, sig}`` and the tx id (hex of the suite hash). */
export async function buildTx(contract, method, args = {}) {
  const w = session.wallet;
  const chain = await chainInfo();
  const tx = { chain: chain.chain_id, sender: w.sender, nonce: randomNonce(), contract, method, args,
    not_after_height: null, not_after_ms: Date.now() + TX_TTL_MS };
  const raw = enc.encode(canonical(tx));
  const sig = await w.sign(concatBytes(TX_DOMAIN, raw));
  return { wire: { tx, sig: bytesToHex(sig) }, id: bytesToHex(await w.hash(raw)) };
}

/** Sign a transaction as the current identity, submit it, wait for its receipt.
 *  Resolves with the commit view; rejects with ApiError when refused or reverted. */
export async function send(contract, method, args) {
  if (!signedIn()) throw new ApiError("UNAUTHENTICATED", "choose an identity first", 0);
  let wire, id = null;
  if (session.mode === "key") {
    ({ wire, id } = await buildTx(contract, method, args));
    wire = canonical(wire);  // the 63-bit nonce stays exact as text
  } else {
    wire = await fetchText("POST", "/console/api/sign-tx", JSON.stringify({ identity: session.identity, contract, method, args }));
  }
  const view = JSON.parse(await fetchText("POST", "/transactions?wait=true&timeout=30", wire));
  if (id && view.tx_id !== id) throw new ApiError("ENCODING_MISMATCH", `the node computed tx id ${view.tx_id}, the browser ${id}`, 0);
  if (!view.committed) throw new ApiError("NOT_COMMITTED", `transaction ${view.tx_id} is not committed yet`, 202);
  if (view.receipt.status !== "ok") {
    const err = new ApiError(view.receipt.code, view.receipt.message, 200);
    err.txId = view.tx_id;
    throw err;
  }
  return view;
}

// -- EPCIS capture ----------------------------------------------------------------------------

const MAX_BATCH_BYTES = 600_000;  // as consortia.apps.trace.document.batch_texts
const MAX_BATCH_EVENTS = 250;

/** The prefix -> IRI definitions of a document's ``@context`` (document.namespaces_of). */
function namespacesOf(context) {
  const out = {};
  for (const part of Array.isArray(context) ? context : [context]) {
    if (part && typeof part === "object" && !Array.isArray(part)) {
      for (const [prefix, iri] of Object.entries(part)) {
        if (typeof iri === "string" && !prefix.startsWith("@") && prefix.length <= 64 && iri.length <= 500) out[prefix] = iri;
      }
    }
  }
  return out;
}

/** Signed ``trace.capture`` transactions for an EPCIS document, as the body text for /epcis/capture
 *  (``{"transactions": [...], "events": n}``). With a key file the document is split into event
 *  texts here (numbers keep their digits) and the node validates each event; the demo signer does
 *  both on the node. */
export async function signCapture(documentText) {
  if (!signedIn()) throw new ApiError("UNAUTHENTICATED", "choose an identity first", 0);
  if (session.mode !== "key") {
    return fetchText("POST", `/console/api/sign-capture?identity=${encodeURIComponent(session.identity)}`, documentText);
  }
  let doc;
  try { doc = parseJson(documentText); } catch (e) { throw new ApiError("BAD_JSON", e.message, 0); }
  const events = doc && doc.epcisBody && doc.epcisBody.eventList;
  if (!doc || doc.type !== "EPCISDocument" || !Array.isArray(events) || !events.length) {
    throw new ApiError("BAD_CAPTURE", "expected an EPCISDocument with events in epcisBody.eventList", 0);
  }
  const namespaces = namespacesOf(doc["@context"]);
  const batches = [[]];
  let size = 0;
  for (const event of events) {
    const text = writeExact(event);
    const length = enc.encode(text).length + 8;
    const last = batches[batches.length - 1];
    if (last.length && (size + length > MAX_BATCH_BYTES || last.length >= MAX_BATCH_EVENTS)) { batches.push([]); size = 0; }
    batches[batches.length - 1].push(text);
    size += length;
  }
  const transactions = [];
  for (const batch of batches) transactions.push((await buildTx("trace", "capture", { events: batch, namespaces })).wire);
  return canonical({ events: events.length, transactions });
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

/** A form folded in a panel; its submit button is disabled while ``onsubmit(data, form)`` runs. */
export function form(title, id, fields, submit, onsubmit, open = false) {
  const f = el("form", { class: "action", id }, ...fields, el("button", { type: "submit", class: "primary" }, submit));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = f.querySelector("button[type=submit]");
    button.disabled = true;
    try { await onsubmit(Object.fromEntries(new FormData(f).entries()), f); } finally { button.disabled = false; }
  });
  return el("details", { class: "panel", id: `${id}-panel`, ...(open ? { open: true } : {}) }, el("summary", {}, title), f);
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
// Times: one format everywhere (ISO date, 24-hour time) on the chain's clock (its config
// ``time_zone``, default Asia/Shanghai), as the CLI and the consumer page print them.
let zone = "Asia/Shanghai";
const clocks = new Map();
export function timeZone() { return zone; }
export function setTimeZone(name) {
  if (!name) return;
  try { new Intl.DateTimeFormat("en-CA", { timeZone: name }); zone = name; } catch { /* unknown here: keep the default */ }
}
function clockParts(ms) {
  if (!clocks.has(zone)) {
    clocks.set(zone, new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }));
  }
  return Object.fromEntries(clocks.get(zone).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}
/** ``2027-04-02 09:17`` (``09:17:05`` with ``seconds``) on the chain's clock. */
export function when(ms, seconds = false) {
  if (!ms) return "—";
  const p = clockParts(ms);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}${seconds ? `:${p.second}` : ""}`;
}
/** ``2027-04-02``: the calendar day on the chain's clock (due dates, expiry dates). */
export function day(ms) {
  if (!ms) return "—";
  const p = clockParts(ms);
  return `${p.year}-${p.month}-${p.day}`;
}
export function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
export function badge(text, kind = text) { return el("span", { class: `badge ${kind}` }, text); }

// -- canonical encoding and Merkle proofs ------------------------------------------------

/** A JSON number kept as the text it was written with (EPCIS values such as 26.0). */
export class RawNumber {
  constructor(text) { this.text = text; }
}

/** Parse JSON exactly: integers beyond 2^53 become BigInt, and every number written with a fraction
 *  or exponent a RawNumber holding its digits (as consortia.apps.trace.jsonexact reads them; the
 *  canonical encoder refuses them, as consortia.types.codec refuses floats). */
export function parseJson(text) {
  let i = 0;
  const fail = (what) => { throw new SyntaxError(`JSON: ${what} at offset ${i}`); };
  const space = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
  function value() {
    space();
    const c = text[i];
    if (c === "{") {
      i++;
      const out = {};
      space();
      if (text[i] === "}") { i++; return out; }
      for (;;) {
        space();
        if (text[i] !== '"') fail("expected a key");
        const key = string();
        space();
        if (text[i++] !== ":") fail("expected ':'");
        Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
        space();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] === "}") return out;
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const out = [];
      space();
      if (text[i] === "]") { i++; return out; }
      for (;;) {
        out.push(value());
        space();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] === "]") return out;
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail("unexpected character");
    i += m[0].length;
    if (m[1] || m[2]) return new RawNumber(m[0]);
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  }
  function string() {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i++ >= text.length) fail("unterminated string");
    return JSON.parse(text.slice(start, i));
  }
  const out = value();
  space();
  if (i !== text.length) fail("trailing characters");
  return out;
}

/** JSON.parse that keeps integers beyond 2^53 exact (as BigInt, which ``canonical`` writes back). */
export function parseExact(text) { return parseJson(text); }

/** JSON.stringify for display: BigInt as its digits. */
export function pretty(value) {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v instanceof RawNumber ? Number(v.text) : v), 2);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const INT_MIN = -(2n ** 63n), INT_MAX = 2n ** 63n - 1n;

function badEncoding(message) { return new ApiError("BAD_ENCODING", message, 0); }

function quote(text, path) {
  if (LONE_SURROGATE.test(text)) throw badEncoding(`${path}: a string holds a lone UTF-16 surrogate`);
  return JSON.stringify(text);  // the same escapes as orjson: \" \\ \b \f \n \r \t, other controls \u00xx
}

/** Code point order (orjson's OPT_SORT_KEYS), not UTF-16 unit order: shift surrogates above U+FFFF. */
function unitRank(u) { return u >= 0xd800 && u <= 0xdfff ? u + 0x2000 : u >= 0xe000 ? u - 0x800 : u; }
export function compareKeys(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}

/** The canonical encoding of ADR 0001 (consortia.types.codec.encode): compact JSON, keys sorted by
 *  code point at every depth, integers in the signed 64-bit range (Number or BigInt), no floats. */
export function canonical(value, path = "$", depth = 0) {
  if (depth > 32) throw badEncoding(`${path}: nesting deeper than 32`);
  if (value === null || value === true || value === false) return String(value);
  if (typeof value === "string") return quote(value, path);
  if (typeof value === "bigint") {
    if (value < INT_MIN || value > INT_MAX) throw badEncoding(`${path}: integer ${value} outside the signed 64-bit range`);
    return value.toString();
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw badEncoding(`${path}: floats are not allowed (got ${value}); use integer minor units`);
    if (!Number.isSafeInteger(value)) throw badEncoding(`${path}: integer ${value} is not exact in JavaScript; use BigInt`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => canonical(v, `${path}[${i}]`, depth + 1)).join(",")}]`;
  if (value instanceof RawNumber) throw badEncoding(`${path}: floats are not allowed (got ${value.text}); use integer minor units`);
  if (typeof value === "object") {
    const keys = Object.keys(value).sort(compareKeys);
    return `{${keys.map((k) => `${quote(k, path)}:${canonical(value[k], `${path}.${k}`, depth + 1)}`).join(",")}}`;
  }
  throw badEncoding(`${path}: unsupported value ${String(value).slice(0, 40)}`);
}

/** Compact JSON keeping key order and number digits (consortia.apps.trace.jsonexact.dumps_exact). */
export function writeExact(value) {
  if (value instanceof RawNumber) return value.text;
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map(writeExact).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${writeExact(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function hexToBytes(hex) { return Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16)); }
export function bytesToHex(bytes) { return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join(""); }
export function concatBytes(...parts) {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { all.set(p, i); i += p.length; }
  return all;
}
/** The chain suite's hash of the concatenated parts: SHA-256 (WebCrypto) or SM3 (vendored). */
function hasherFor(suite) {
  return (...parts) => suiteHash(suite, concatBytes(...parts));
}

/** Same walk as consortia.crypto.merkle.is_valid_proof: leaf 0x00, node 0x01, odd node promoted. */
async function isValidProof(hash, leafData, proof, root, size) {
  if (proof.size !== size || proof.index < 0 || proof.index >= size) return false;
  let node = await hash(Uint8Array.of(0), leafData);
  let i = proof.index, width = proof.size, step = 0;
  while (width > 1) {
    const sibling = i ^ 1;
    if (sibling < width) {
      const s = proof.path[step++];
      if (!s || s.left !== sibling < i) return false;
      const h = hexToBytes(s.hash);
      node = s.left ? await hash(Uint8Array.of(1), h, node) : await hash(Uint8Array.of(1), node, h);
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
  if (h.suite !== "ed25519-sha256" && h.suite !== "sm2-sm3") return { supported: false, suite: h.suite, checks: [] };
  const digest = hasherFor(h.suite);  // SM3 on the national suite
  const checks = [];
  // Fields masked by governance (ADR 0012) are shown as digests: the content can no longer be hashed
  // to the id, so those checks are reported as not checkable (null), never as passed.
  const masked = Array.isArray(view.masked) && view.masked.length > 0 && !view.clear;
  const proposals = masked ? [...new Set(view.masked.map((m) => m.proposal))].join(", ") : "";
  checks.push(masked
    ? [`the transaction hashes to its id: not checkable, content masked by governance proposal ${proposals}`, null]
    : ["the transaction hashes to its id", bytesToHex(await digest(enc.encode(canonical(view.tx)))) === view.tx_id]);
  checks.push(["the receipt belongs to this transaction", view.receipt.tx_id === view.tx_id]);
  checks.push(["the transaction id is in the block's tx_root",
    await isValidProof(digest, hexToBytes(view.tx_id), view.proof.tx, h.tx_root, h.tx_count)]);
  const receiptOk = await isValidProof(digest, enc.encode(canonical(view.receipt)), view.proof.receipt, h.receipts_root, h.tx_count);
  checks.push(!receiptOk && masked
    ? ["the receipt is in the block's receipts_root: not checkable, it repeats masked text", null]
    : ["the receipt is in the block's receipts_root", receiptOk]);
  checks.push(["the header hashes to the block hash", bytesToHex(await digest(enc.encode(canonical(h)))) === view.block_hash]);
  return { supported: true, suite: h.suite, checks };
}

export async function getText(path) { return fetchText("GET", path); }
