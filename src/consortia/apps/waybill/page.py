"""The printable consignment note: a waybill laid out after the CMR boxes, with its signed steps.

Plain HTML with inline CSS, no script; every value escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from consortia.apps.trace.times import format_local
from consortia.apps.waybill.fields import format_c10

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC",sans-serif;margin:0;background:#f5f5f0;color:#222}
main{max-width:900px;margin:0 auto;padding:16px}h1{font-size:1.3rem}table{border-collapse:collapse;width:100%;margin:8px 0}
td,th{border:1px solid #bbb;padding:4px 6px;font-size:.88rem;vertical-align:top;text-align:left}th{background:#eceff1}
.box{background:#fff;border:1px solid #999;padding:8px 10px;margin:8px 0}.grid{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.tx{font-family:monospace;font-size:.75rem;word-break:break-all}.warn{color:#c62828;font-weight:600}
"""


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def _place(place: dict[str, Any] | None) -> str:
    if not place:
        return ""
    parts = [place.get("name"), place.get("city"), place.get("country")]
    text = ", ".join(escape(p) for p in parts if p)
    return text + (f" (GLN {escape(place['gln'])})" if place.get("gln") else "")


def _when(ms: int | None) -> str:
    return escape(format_local(ms)) + " UTC" if ms is not None else ""


def render_note(wb: dict[str, Any], names: dict[str, str]) -> str:
    def who(org: str) -> str:
        return f"{escape(names.get(org, org))} <span class='tx'>({escape(org)})</span>"

    carriers = "".join(f"<li>{who(c)}</li>" for c in wb["carriers"])
    boxes = [
        f"<div class='box'><b>1 Consignor</b><br>{who(wb['consignor'])}</div>",
        f"<div class='box'><b>2 Consignee</b><br>{who(wb['consignee'])}</div>",
        f"<div class='box'><b>3 Place of delivery</b><br>{_place(wb['delivery_place'])}</div>",
        f"<div class='box'><b>4 Place and date of taking over</b><br>{_place(wb['taking_over']['place'])}<br>"
        f"{_when(wb['taking_over']['at_ms'])}</div>",
        f"<div class='box'><b>16-18 Carriers, in order</b><ol>{carriers}</ol></div>",
        f"<div class='box'><b>Status</b><br>{escape(wb['status'])} · custodian {who(wb['custodian'])}<br>"
        f"packages {wb['packages']} of {wb['packages_declared']} declared</div>",
    ]
    goods = "".join(
        f"<tr><td>{escape(g['marks'])}</td><td>{g['packages']}</td><td>{escape(g['packing'])}</td>"
        f"<td>{escape(g['description'])}</td><td>{g['gross_weight_g'] // 1000:,} kg</td>"
        f"<td>{'' if g['volume_cm3'] is None else format(g['volume_cm3'] // 1000, ',') + ' l'}</td>"
        f"<td class='tx'>{escape(g['sscc'] or '')}</td></tr>" for g in wb["goods"])
    charges = "".join(f"<tr><td>{escape(c['item'])}</td><td>{_yuan(c['amount'])}</td></tr>" for c in wb["charges"]["lines"])
    docs = "".join(f"<tr><td>{escape(d['kind'])}</td><td class='tx'>{escape(d['algorithm'])}:{escape(d['digest'])}</td>"
                   f"<td>{who(d['by'])}</td></tr>" for d in wb["documents"])
    steps = "".join(
        f"<tr><td>{s['seq']}</td><td>{escape(s['kind'])}</td><td>{_when(s['at_ms'])}</td><td>{_place(s['place'])}</td>"
        f"<td>{who(s['by'])}</td><td>{'' if s.get('temperature_c10') is None else format_c10(s['temperature_c10']) + ' °C'}"
        f"{' <span class=warn>excursion</span>' if s.get('excursion') else ''}"
        f"{'; '.join(escape(r) for r in s.get('reservations') or [])}</td>"
        f"<td class='tx'>{escape(s.get('proposed_tx') or '')[:16]} {escape(s['tx'])[:16]}</td></tr>"
        for s in wb.get("step_list", []))
    band = wb["temperature"]
    extra = [f"<p>Keep between {format_c10(band['min_c10'])} and {format_c10(band['max_c10'])} °C.</p>" if band else "",
             f"<p>Instructions: {escape(wb['instructions'])}</p>" if wb["instructions"] else "",
             f"<p>Cash on delivery: {_yuan(wb['cash_on_delivery'])} yuan</p>" if wb["cash_on_delivery"] else "",
             f"<p class='warn'>Reservations at delivery: {'; '.join(escape(r) for r in wb['reservations'])}</p>"
             if wb["reservations"] else "",
             f"<p class='warn'>Disputed by {who(wb['dispute']['by'])}: "
             f"{'; '.join(escape(n['note']) for n in wb['dispute']['notes'])}</p>" if wb["dispute"] else ""]
    body = (f"<h1>Consignment note {escape(wb['number'])}</h1><div class='grid'>{''.join(boxes)}</div>"
            "<h2>Goods</h2><table><tr><th>Marks</th><th>Packages</th><th>Packing</th><th>Description</th>"
            f"<th>Gross weight</th><th>Volume</th><th>SSCC</th></tr>{goods}</table>{''.join(extra)}"
            f"<h2>Charges, yuan, payable by {who(wb['charges']['payer_org'])}</h2><table>{charges}"
            f"<tr><th>Total</th><th>{_yuan(wb['charges']['total'])}</th></tr></table>"
            f"<h2>Documents</h2><table>{docs or '<tr><td>none</td></tr>'}</table>"
            "<h2>Steps (each handover signed by both sides)</h2><table><tr><th>#</th><th>Step</th><th>When</th>"
            f"<th>Where</th><th>Recorded by</th><th>Notes</th><th>Proposal · confirmation tx</th></tr>{steps}</table>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Consignment note {escape(wb['number'])}</title><style>{STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")
