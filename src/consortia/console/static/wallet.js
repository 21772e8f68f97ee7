// Key-file sign-in: a member's key.pem and cert.pem, read in the browser, never sent anywhere.
// Ed25519 signs with WebCrypto; SM2/SM3 with the vendored sm-crypto-v2 (loaded only on that suite).
// The key is kept for this tab only (sessionStorage) so that a reload keeps the sign-in (ADR 0010).

const STORE = "consortia.keyfile";
const OID = {
  cn: "550403", o: "55040a", ou: "55040b",
  ed25519: "2b6570", ecPublicKey: "2a8648ce3d0201", sm2Curve: "2a811ccf5501822d",
};

export class KeyFileError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

// -- bytes -----------------------------------------------------------------------------------

export function hex(bytes) { return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join(""); }
function unhex(text) { return Uint8Array.from(text.match(/../g) || [], (b) => parseInt(b, 16)); }
function b64(bytes) { return btoa(String.fromCharCode(...bytes)); }
function unb64(text) { return Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0)); }
function unb64url(text) { return unb64(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4)); }
export function concat(...parts) {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { all.set(p, i); i += p.length; }
  return all;
}

// -- DER: just enough to read a certificate's names and key, and a PKCS#8 private key ----------

/** One TLV at ``pos``: its tag, content bytes and where it ends. */
function tlv(bytes, pos) {
  const tag = bytes[pos];
  let len = bytes[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new KeyFileError("BAD_KEY_FILE", "unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[start + i];
    start += n;
  }
  if (tag === undefined || start + len > bytes.length) throw new KeyFileError("BAD_KEY_FILE", "truncated DER");
  return { tag, content: bytes.subarray(start, start + len), end: start + len };
}

function children(node) {
  const out = [];
  for (let pos = 0; pos < node.content.length;) {
    const child = tlv(node.content, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

function attributes(name) {  // Name: SEQUENCE OF SET OF SEQUENCE { type, value }
  const out = [];
  for (const set of children(name)) {
    for (const pair of children(set)) {
      const [type, value] = children(pair);
      out.push([hex(type.content), new TextDecoder().decode(value.content)]);
    }
  }
  return out;
}

/** The organisation (O), member (CN), roles (OU) and public key of a member certificate (DER). */
export function certificateInfo(der) {
  const [tbs] = children(tlv(der, 0));
  const fields = children(tbs);
  const at = fields[0].tag === 0xa0 ? 1 : 0;  // [0] version is optional
  const subject = attributes(fields[at + 4]);
  const [algorithm, bits] = children(fields[at + 5]);
  const [oid, params] = children(algorithm);
  const value = (t) => subject.filter(([k]) => k === t).map(([, v]) => v);
  const kind = hex(oid.content) === OID.ed25519 ? "ed25519"
    : hex(oid.content) === OID.ecPublicKey && params && hex(params.content) === OID.sm2Curve ? "sm2" : "other";
  return { org: value(OID.o)[0] || "", name: value(OID.cn)[0] || "", roles: value(OID.ou).sort(), kind,
    publicKey: bits.content.subarray(1) };
}

/** "name @ org" for a transaction's sender (base64 DER certificate); the text itself if unreadable. */
export function senderName(sender) {
  try {
    const c = certificateInfo(unb64(sender));
    return c.org ? `${c.name} @ ${c.org}` : sender;
  } catch (e) {
    return `${String(sender).slice(0, 16)}…`;
  }
}

function privateKeyInfo(der) {  // PKCS#8: SEQUENCE { version, AlgorithmIdentifier, OCTET STRING key }
  const [, algorithm, key] = children(tlv(der, 0));
  const [oid, params] = children(algorithm);
  if (hex(oid.content) === OID.ed25519) return { kind: "ed25519" };
  if (hex(oid.content) === OID.ecPublicKey && params && hex(params.content) === OID.sm2Curve) {
    const [, d] = children(tlv(key.content, 0));  // ECPrivateKey: SEQUENCE { 1, OCTET STRING d, ... }
    return { kind: "sm2", scalar: hex(d.content).padStart(64, "0") };
  }
  return { kind: "other" };
}

// -- PEM files -----------------------------------------------------------------------------------

function pemBlocks(text) {
  const out = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) out.push([m[1], unb64(m[2])]);
  return out;
}

/** The private key and certificate (DER) among the texts of the chosen files. */
export function findKeyAndCertificate(texts) {
  let key = null, cert = null;
  for (const text of texts) {
    for (const [label, der] of pemBlocks(text)) {
      if (label === "ENCRYPTED PRIVATE KEY") {
        throw new KeyFileError("BAD_KEY_FILE", "the private key is encrypted; use the key.pem the CLI wrote (PKCS#8, unencrypted)");
      }
      if (label === "PRIVATE KEY") key = der;
      if (label === "CERTIFICATE") cert = der;
    }
  }
  if (!key || !cert) {
    throw new KeyFileError("BAD_KEY_FILE", `choose both key.pem and cert.pem of the member (missing: ${
      [key ? "" : "private key", cert ? "" : "certificate"].filter(Boolean).join(" and ")})`);
  }
  return { key, cert };
}

// -- hashing and signing --------------------------------------------------------------------------

let smModule = null;
async function sm() {
  if (!smModule) smModule = await import("./sm-crypto.vendor.js");
  return smModule;
}

/** The chain suite's hash of ``bytes`` (SHA-256 or SM3). */
export async function suiteHash(suite, bytes) {
  if (suite === "sm2-sm3") return unhex((await sm()).sm3(bytes));
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

async function ed25519Signer(pkcs8, publicKey) {
  let key;
  try {
    key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  } catch (e) {
    throw new KeyFileError("BAD_KEY_FILE", `this browser cannot read the Ed25519 key (${e.message || e})`);
  }
  const jwk = await crypto.subtle.exportKey("jwk", key);
  if (hex(unb64url(jwk.x)) !== hex(publicKey)) {
    throw new KeyFileError("KEY_MISMATCH", "the private key does not belong to the certificate");
  }
  const signing = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  return async (message) => new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, signing, message));
}

async function sm2Signer(scalar, publicKey) {
  const { sm2 } = await sm();
  const pub = sm2.getPublicKeyFromPrivateKey(scalar);
  if (pub !== hex(publicKey)) throw new KeyFileError("KEY_MISMATCH", "the private key does not belong to the certificate");
  // GB/T 32918 with the default user ID: e = SM3(Z || message); DER-encoded (r, s) as the node expects.
  return async (message) => unhex(sm2.doSignature(message, scalar, { der: true, hash: true, publicKey: pub,
    userId: "1234567812345678" }));
}

/** A signing identity from a PKCS#8 key and its certificate, for a chain on ``suite``. */
export async function openWallet(keyDer, certDer, suite) {
  let info, priv;
  try {
    info = certificateInfo(certDer);
    priv = privateKeyInfo(keyDer);
  } catch (e) {
    throw e instanceof KeyFileError ? e : new KeyFileError("BAD_KEY_FILE", `unreadable key or certificate (${e.message || e})`);
  }
  const wanted = suite === "sm2-sm3" ? "sm2" : "ed25519";
  if (info.kind !== wanted || priv.kind !== wanted) {
    throw new KeyFileError("WRONG_SUITE", `the chain uses the ${suite} suite; this is ${
      info.kind === "other" ? "another kind of" : `an ${info.kind}`} key`);
  }
  if (!info.org || !info.name) throw new KeyFileError("BAD_KEY_FILE", "the certificate names no organisation (O) and member (CN)");
  const sign = wanted === "sm2" ? await sm2Signer(priv.scalar, info.publicKey) : await ed25519Signer(keyDer, info.publicKey);
  return {
    id: `${info.org}/${info.name}`, org: info.org, name: info.name, roles: info.roles, suite,
    sender: b64(certDer), sign, hash: (bytes) => suiteHash(suite, bytes),
    save() { sessionStorage.setItem(STORE, JSON.stringify({ key: b64(keyDer), cert: b64(certDer) })); },
  };
}

/** The key-file identity kept for this tab, or null. */
export async function restoreWallet(suite) {
  const saved = sessionStorage.getItem(STORE);
  if (!saved) return null;
  try {
    const { key, cert } = JSON.parse(saved);
    return await openWallet(unb64(key), unb64(cert), suite);
  } catch (e) {
    forgetWallet();
    return null;
  }
}

export function forgetWallet() { sessionStorage.removeItem(STORE); }
