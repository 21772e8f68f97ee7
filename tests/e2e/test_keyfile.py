"""Key-file sign-in: the browser builds, encodes and signs transactions and signed reads itself.

First the browser's canonical encoder and transaction builder are held against Python's (the same
bytes, ids and verifying signatures on both suites); then a member signs in with their key file on
a node whose demo signer is off and acts: a supply-chain-finance action, an evidence deposit and a
traceability event, each checked on the chain to be signed by that member.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.x509.oid import NameOID

from consortia.crypto import get_suite
from consortia.identity.read_auth import read_message
from consortia.identity.x509 import load_der_b64, org_of, public_key_of
from consortia.ledger.records import SIG_DOMAIN, SignedTx
from consortia.node.home import init_consortium
from consortia.types import codec
from tests.e2e.conftest import shot
from tests.e2e.test_console import submit_event

TRICKY: list[Any] = [
    "plain", "", "é中文😀", "quote \" backslash \\ slash /", "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f\x7f",
    "\u2028\u2029\ufeff", "surrogate pair 𝄞 and \uffff", "a,1234567890123456789]", "\\u0000 written out",
    2**63 - 1, -(2**63), 2**53 + 1, -(2**53) - 1, 0, -1, True, False, None, [], {},
    {"\uffff": 1, "😀": 2, "\ue000": 3, "a": 4, "B": 5, "": 6, "é": 7, "e\u0301": 8},
    {"z": {"y": [1, {"b": "x", "a": [None, True, {"\x00": "nul key"}]}], "x": -(2**62)}, "a": {"nested": {"deep": [[[]]]}}},
    {"args": {"amount": 125000, "memo": "货款 2026-03 \"Q1\"\n"}, "nonce": 9223372036854775000},
]
REFUSED: list[str] = ['{"x": 1.5}', "[1.0]", "[1e3]", '{"x": 9223372036854775808}', '{"x": -9223372036854775809}', '["\\ud800"]',
                      '{"\\udc00": 1}']


def js(page: Any, body: str, arg: Any = None) -> Any:
    """Run ``body`` in the page with the console's modules imported as ``lib`` and ``wallet``."""
    return page.evaluate(f"""async (arg) => {{
        const lib = await import("/console/static/lib.js");
        const wallet = await import("/console/static/wallet.js");
        {body}
    }}""", arg)


def test_canonical_bytes_and_tx_ids_match_python(page: Any) -> None:
    page.goto("/console")
    page.wait_for_selector("body[data-ready='1']")
    texts = [json.dumps(v) for v in TRICKY]  # ASCII-only JSON text: nothing lost on the way in
    out = js(page, """
        const enc = new TextEncoder();
        const rows = [];
        for (const text of arg) {
          const bytes = enc.encode(lib.canonical(lib.parseJson(text)));
          const id = lib.bytesToHex(await crypto.subtle.digest("SHA-256", bytes));
          rows.push([lib.bytesToHex(bytes), id]);
        }
        return rows;""", texts)
    for value, (js_hex, js_id) in zip(TRICKY, out, strict=True):
        expected = codec.encode(value)
        assert bytes.fromhex(js_hex) == expected, value
        assert js_id == hashlib.sha256(expected).hexdigest()
    refused = js(page, """
        return arg.map((text) => { try { lib.canonical(lib.parseJson(text)); return ""; } catch (e) { return e.code; } });""",
                 REFUSED)
    assert refused == ["BAD_ENCODING"] * len(REFUSED)
    for text in REFUSED:
        with pytest.raises(codec.CodecError):
            codec.encode(json.loads(text))


def sign_with_files(page: Any, home: Path, identity: str, suite: str) -> dict[str, Any]:
    """Open the member's key files in the page, build and sign a transaction and a read there."""
    org, name = identity.split("/")
    member = home / "orgs" / org / "members" / name
    return js(page, """
        const { key, cert } = wallet.findKeyAndCertificate(arg.files);
        const w = await wallet.openWallet(key, cert, arg.suite);
        lib.session.chain = { chain_id: "consortia-test", suite: arg.suite };
        [lib.session.mode, lib.session.wallet, lib.session.identity] = ["key", w, w.id];
        const { wire, id } = await lib.buildTx("kv", "put", { key: "k", value: "é 😀 \\u0000", n: 2 ** 40 });
        const header = await lib.authHeader("POST", "/query/scf/inbox", "{}");
        const queried = await lib.authHeader("GET", "/audit?limit=1&format=csv");
        return { id, wire: lib.canonical(wire), header, queried, who: w.id, roles: w.roles };""",
              {"files": [(member / "key.pem").read_text(), (member / "cert.pem").read_text()], "suite": suite})


@pytest.mark.parametrize("suite_id", ["ed25519-sha256", "sm2-sm3"])
def test_browser_signed_transaction_and_read_verify_in_python(page: Any, tmp_path: Path, suite_id: str) -> None:
    home = tmp_path / "c"
    init_consortium(home, orgs=2, chain_id="consortia-test", suite_name=suite_id)
    org = sorted(p.name for p in (home / "orgs").iterdir())[0]
    page.goto("/console")
    page.wait_for_selector("body[data-ready='1']")
    out = sign_with_files(page, home, f"{org}/admin", suite_id)
    suite = get_suite(suite_id)
    assert out["who"] == f"{org}/admin" and "admin" in out["roles"]
    tx = SignedTx.from_wire(suite, codec.decode(out["wire"]), 1 << 20)
    assert tx.id.hex() == out["id"] and tx.raw == codec.encode(tx.tx) and out["wire"].encode() == codec.encode(tx.to_wire())
    assert tx.tx["nonce"] < 2**63 and tx.tx["not_after_ms"] and tx.tx["chain"] == "consortia-test"
    cert = load_der_b64(tx.tx["sender"])
    assert org_of(cert) == org
    public = public_key_of(suite, cert)
    assert suite.verify(public, SIG_DOMAIN + tx.raw, tx.sig)
    sender, time_ms, nonce, sig = out["header"].split(".")
    assert len(nonce) == 32 and int(nonce, 16) >= 0
    message = read_message("consortia-test", int(time_ms), nonce, "POST", "/query/scf/inbox", suite.hash(b"{}").hex())
    assert sender == tx.tx["sender"] and suite.verify(public, message, bytes.fromhex(sig))
    _, time_ms, nonce2, sig = out["queried"].split(".")
    assert nonce2 != nonce  # a fresh nonce per header; the query string is signed
    message = read_message("consortia-test", int(time_ms), nonce2, "GET", "/audit?limit=1&format=csv", suite.hash(b"").hex())
    assert suite.verify(public, message, bytes.fromhex(sig))


def member_files(home: Path, identity: str) -> list[str]:
    org, name = identity.split("/")
    member = home / "orgs" / org / "members" / name
    return [str(member / "key.pem"), str(member / "cert.pem")]


def sign_in_with_key_file(page: Any, home: Path, identity: str, hash_: str = "") -> None:
    page.goto("/console" + (f"#{hash_}" if hash_ else ""))
    page.wait_for_selector("body[data-ready='1']")
    page.click("#keyfile-button")
    page.set_input_files("#keyfile-input", member_files(home, identity))
    page.wait_for_selector(f".toast:has-text('Signed in as {identity} with a key file')")


def signer_of(url: str, height: int, call: str) -> str:
    """The identity (org/CN) whose certificate sent the ``call`` transaction in block ``height``."""
    block = httpx.get(f"{url}/blocks/{height}").json()
    suite = get_suite(httpx.get(f"{url}/chain").json()["suite"])
    for wire, receipt in zip(block["txs"], block["receipts"], strict=True):
        if f"{wire['tx']['contract']}.{wire['tx']['method']}" == call and receipt["status"] == "ok":
            tx = SignedTx.from_wire(suite, wire, 1 << 20)
            cert = load_der_b64(tx.tx["sender"])
            public = public_key_of(suite, cert)
            assert suite.verify(public, tx.signed_message(), tx.sig)
            return f"{org_of(cert)}/{cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value}"
    raise AssertionError(f"no committed {call} in block {height}")


def height_in(toast_text: str) -> int:
    return int(toast_text.rsplit("block", 1)[1].split()[0])


def test_key_file_sign_in_without_demo_signer_scf_and_evidence(keyfile_page: Any, keyfile_url: str,
                                                                keyfile_home: Path) -> None:
    page = keyfile_page
    assert httpx.get(f"{keyfile_url}/console/api/identities").json()["signer"] is False
    sent: list[tuple[str, str]] = []
    page.on("request", lambda r: sent.append((r.url, r.post_data or "")))
    page.goto("/console")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#identity option").count() == 1  # no demo identities on this node
    page.click("#keyfile-button")
    page.set_input_files("#keyfile-input", [member_files(keyfile_home, "jinglian-parts/admin")[0],
                                            member_files(keyfile_home, "hengtai-castings/admin")[1]])
    page.wait_for_selector("#keyfile-status.error:has-text('does not belong to the certificate')")
    page.set_input_files("#keyfile-input", member_files(keyfile_home, "jinglian-parts/admin")[:1])
    page.wait_for_selector("#keyfile-status.error:has-text('missing: certificate')")
    shot(page, "keyfile-dialog")
    page.set_input_files("#keyfile-input", member_files(keyfile_home, "jinglian-parts/admin"))
    page.wait_for_selector(".toast:has-text('Signed in as jinglian-parts/admin with a key file')")
    assert "(key file)" in page.inner_text("#identity")

    page.goto("/console#/scf")
    page.reload()  # the key is kept for this tab
    page.wait_for_selector("#holdings-total")
    page.locator("[data-accept]").first.click()
    accepted = page.locator(".toast", has_text="Accept voucher").first.inner_text()
    assert "done in block" in accepted, accepted
    assert signer_of(keyfile_url, height_in(accepted), "scf.accept") == "jinglian-parts/admin"
    shot(page, "keyfile-scf")

    content = b"key-file signed deposit: warehouse receipt WR-2026-118\n" * 20
    digest = hashlib.sha256(content).hexdigest()
    page.goto("/console#/evidence")
    page.set_input_files("#evidence-file", files=[{"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": content}])
    page.wait_for_selector("#evidence-status .notice:has-text('not on the chain')")
    page.click("#deposit")
    deposited = page.locator(".toast", has_text="Deposit").first.inner_text()
    assert "done in block" in deposited, deposited
    assert signer_of(keyfile_url, height_in(deposited), "evidence.deposit") == "jinglian-parts/admin"
    page.wait_for_selector("#evidence-status .verified:has-text('jinglian-parts')")
    with page.expect_download() as download:  # a signed read, made in the browser
        page.click("#download-certificate")
    assert json.loads(Path(download.value.path()).read_text())["credentialSubject"]["deposit"]["digest"] == digest

    page.locator("#evidence-status a", has_text="transaction in block").click()
    page.wait_for_selector("#tx-sender:has-text('admin @ jinglian-parts')")
    key_text = (keyfile_home / "orgs/jinglian-parts/members/admin/key.pem").read_text()
    key_body = "".join(key_text.strip().splitlines()[1:-1])
    assert not [u for u, _ in sent if "/console/api/sign" in u]
    assert not [u for u, body in sent if key_body in body or "PRIVATE KEY" in body], "the private key left the browser"

    page.select_option("#identity", "")
    page.wait_for_selector(".toast:has-text('Signed out')")
    assert page.evaluate("sessionStorage.getItem('consortia.keyfile')") is None


def test_key_file_member_records_a_traceability_event(keyfile_page: Any, keyfile_url: str, keyfile_home: Path) -> None:
    page = keyfile_page
    sign_in_with_key_file(page, keyfile_home, "lianhe-foods/clerk", "/trace")
    submit_event(page, {"gtin": "06925678000012", "lot": "KEYLOT", "serials": "0001", "bizStep": "storing",
                        "gln": "6925678000029", "temperature": "2.50"})
    page.wait_for_selector("#event-result .verified:has-text('Captured 1 of 1 events')")
    journey = httpx.post(f"{keyfile_url}/query/trace/journey",
                         json={"gtin": "06925678000012", "lot": "KEYLOT", "serial": "0001"}).json()["result"]
    step = journey["steps"][-1]
    assert step["step"] == "storing" and float(step["sensors"][0]["value"]) == 2.5
    block = httpx.get(f"{keyfile_url}/blocks/{step['height']}").json()
    texts = [t for w in block["txs"] if w["tx"]["method"] == "capture" for t in w["tx"]["args"]["events"]]
    assert any('"value":2.50' in t for t in texts), texts  # the reading's digits as typed
    assert signer_of(keyfile_url, step["height"], "trace.capture") == "lianhe-foods/clerk"


def test_in_browser_proof_check_of_a_masked_view(page: Any, console_url: str) -> None:
    """A view whose field governance masked (ADR 0012): the id's Merkle path and the header still
    verify in the browser; the content check is reported as not checkable, never as passed, and
    fails if the view is passed off as clear."""
    import httpx

    block = httpx.get(f"{console_url}/blocks/1", timeout=10).json()
    view = httpx.get(f"{console_url}/transactions/{block['receipts'][0]['tx_id']}", timeout=10).json()
    [key, *_] = view["tx"]["args"]
    marker = {"masked": True, "proposal": "p-test", "digest": "00" * 32, "algorithm": "sha-256"}
    masked = {**view, "tx": {**view["tx"], "args": {**view["tx"]["args"], key: marker}},
              "masked": [{"path": f"args.{key}", **marker}]}
    page.goto("/console")
    page.wait_for_selector("body[data-ready='1']")
    check = "return (await lib.verifyTransaction(arg)).checks;"
    checks = dict(js(page, check, json.dumps(masked)))
    assert checks["the transaction id is in the block's tx_root"] is True
    assert checks["the header hashes to the block hash"] is True
    assert [v for k, v in checks.items() if "masked by governance proposal p-test" in k] == [None]
    passed_off = dict(js(page, check, json.dumps({**masked, "masked": []})))
    assert passed_off["the transaction hashes to its id"] is False
    assert all(dict(js(page, check, json.dumps(view))).values())
