"""HTML renderings: a deposit certificate with its QR code, and the public verification page."""

from __future__ import annotations

import datetime as dt
import io
from html import escape
from typing import Any

CST = dt.timezone(dt.timedelta(hours=8), "CST")
STYLE = ("body{font-family:system-ui,'PingFang SC','Noto Sans CJK SC',sans-serif;max-width:46rem;margin:2rem auto;"
         "padding:0 1rem;color:#1d2430}h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}"
         "td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}"
         "th{width:12rem;color:#56606d;font-weight:500}code{word-break:break-all}.ok{color:#0a7a3b}.no{color:#b3261e}"
         ".qr{float:right;margin:0 0 1rem 1rem}")


def show_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, CST).strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d} CST"


def qr_svg(uri: str) -> str:
    import segno

    out = io.BytesIO()
    segno.make_qr(uri, error="m").save(out, kind="svg", scale=4, border=4, title=uri, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def _rows(rows: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width,initial-scale=1'><title>{escape(title)}</title><style>{STYLE}</style>"
            f"</head><body>{body}</body></html>")


def render_certificate(credential: dict[str, Any], verify_url: str) -> str:
    """A printable certificate; the QR code opens the node's public verification page."""
    deposit = credential["credentialSubject"]["deposit"]
    tx = credential["proof"]["transaction"]
    signers = sorted({a["org"] for a in credential["proof"]["attestations"]})
    meta = "<br>".join(f"{escape(k)}: {escape(v)}" for k, v in sorted(deposit["metadata"].items())) or "-"
    rows = [("Title", escape(deposit["title"])), ("Kind", escape(deposit["kind"])),
            ("Owner", escape(deposit["owner"])), ("Deposited by", escape(deposit["depositor"])),
            ("Fingerprint", f"{escape(deposit['algorithm'])}<br><code>{escape(deposit['digest'])}</code>"),
            ("Confirmed at (block time)", escape(show_ms(deposit["confirmed_ms"]))),
            ("Co-signed by", escape(", ".join(deposit["cosigned"]) or "-")),
            ("Metadata", meta), ("Chain", escape(credential["proof"]["chain"])),
            ("Block", f"{tx['height']} <code>{escape(tx['block_hash'])}</code>"),
            ("Transaction", f"<code>{escape(tx['tx_id'])}</code>"),
            ("Crypto suite", escape(credential["proof"]["cryptosuite"])),
            ("Signed by the nodes of", escape(", ".join(signers)))]
    body = (f"<div class='qr'>{qr_svg(verify_url)}</div><h1>Evidence deposit certificate</h1>"
            "<p>This certificate is a W3C Verifiable Credential that carries its own proof: the record, its Merkle "
            "path to the block header, the header and the signatures of the consortium's nodes. Check it offline "
            "with <code>consortia verify FILE CERTIFICATE.json</code>, or scan the code.</p>"
            f"<table>{_rows(rows)}</table><p><a href='{escape(verify_url)}'>{escape(verify_url)}</a></p>")
    return _page("Evidence certificate", body)


def render_verification(found: dict[str, Any], attested_by: list[str], quorum: int, block_hash: str | None) -> str:
    """The public page behind a certificate's QR code: is this fingerprint on the chain, since when."""
    name = f"{found['algorithm']}:{found['digest']}"
    if not found["exists"]:
        body = (f"<h1 class='no'>Not on this chain</h1><p>No deposit of <code>{escape(name)}</code> "
                "is registered here.</p>")
        return _page("Not found", body)
    confirmed = found["status"] == "confirmed"
    verdict = ("<h1 class='ok'>Registered and confirmed</h1>" if confirmed
               else "<h1 class='no'>Registered, awaiting co-signatures</h1>")
    rows = [("Fingerprint", f"<code>{escape(name)}</code>"), ("Owner", escape(found["owner"])),
            ("Registered at", escape(show_ms(found["registered_ms"]))),
            ("Confirmed at (block time)", escape(show_ms(found["confirmed_ms"]))),
            ("Transaction", f"<code>{escape(found['confirmed_tx'] or '-')}</code>"),
            ("Block hash", f"<code>{escape(block_hash or '-')}</code>"),
            ("Attested by", escape(f"{', '.join(attested_by) or '-'} (quorum {quorum})"))]
    return _page("Evidence verification", verdict + f"<table>{_rows(rows)}</table>"
                 "<p>The title and metadata are visible only to the owner and those it grants.</p>")
