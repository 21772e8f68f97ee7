"""The public pages, no login: a need (raised, granted, confirmed, every donation's path) and one
donation ("where did my 200 yuan go"). They show no beneficiary data: the pseudonym and the
beneficiary's signer never leave the contract's signed reads."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

CST = dt.timezone(dt.timedelta(hours=8), "CST")
STYLE = ("body{font-family:system-ui,'PingFang SC','Noto Sans CJK SC',sans-serif;max-width:60rem;margin:2rem auto;"
         "padding:0 1rem;color:#1d2430}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}"
         "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem .5rem;"
         "border-bottom:1px solid #e3e6ea;vertical-align:top}th{color:#56606d;font-weight:500}"
         "code{word-break:break-all;font-size:.85em}.ok{color:#0a7a3b}.no{color:#b3261e}.wait{color:#8a5a00}"
         ".num{text-align:right;white-space:nowrap}.bar{background:#e3e6ea;height:.6rem;border-radius:.3rem}"
         ".bar div{background:#0a7a3b;height:.6rem;border-radius:.3rem}")


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def show_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, CST).strftime("%Y-%m-%d %H:%M CST")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width,initial-scale=1'><title>{escape(title)}</title><style>{STYLE}</style>"
            f"</head><body>{body}<p><small>Every transaction above is checked by this node against its block: the "
            "transaction's Merkle path to the header's root. <code>?format=json</code> gives the proofs to check "
            "offline.</small></p></body></html>")


def _proof_mark(proofs: dict[str, dict[str, Any]], tx_id: str | None) -> str:
    if not tx_id:
        return ""
    found = proofs.get(tx_id)
    if found and found["verified"]:
        return f" <span class='ok' title='block {found['height']}, tx {escape(tx_id)}'>✓ on chain</span>"
    return f" <span class='no' title='{escape(tx_id)}'>✗ proof failed</span>"


def _status(grant: dict[str, Any], now_ms: int) -> str:
    if grant["status"] == "confirmed":
        c = grant["confirmation"]
        late = " (late)" if c["late"] else ""
        return f"<span class='ok'>confirmed by the {escape(c['by'])} {escape(show_ms(c['at_ms']))}{late}</span>"
    if grant["status"] == "exception":
        e = grant["exception"]
        back = ", money returned" if e["returned"] else ""
        return f"<span class='no'>exception: {escape(e['reason'])}{back}</span>"
    overdue = grant["confirm_by_ms"] < now_ms
    return (f"<span class='{'no' if overdue else 'wait'}'>awaiting confirmation "
            f"{'since' if overdue else 'by'} {escape(show_ms(grant['confirm_by_ms']))}</span>")


def _donor(donation: dict[str, Any]) -> str:
    if donation["donor"]:
        return escape(donation["donor"])
    return f"anonymous <code title='donor tag'>{escape(donation['donor_tag'][:12])}…</code>"


def _evidence(items: list[dict[str, Any]]) -> str:
    return "<br>".join(f"{escape(e['label'] or 'document')}: <code>{escape(e['algorithm'])}:{escape(e['digest'])}</code>"
                       for e in items) or "-"


def render_need(view: dict[str, Any], proofs: dict[str, dict[str, Any]], now_ms: int) -> str:
    need, donations, grants = view["need"], view["donations"], view["grants"]
    grant_by_id = {g["id"]: g for g in grants}
    target = need["target_fen"]
    share = min(100, need["raised"] * 100 // target) if target else 0
    items = ", ".join(f"{i['quantity']} {escape(i['unit'])} {escape(i['name'])}" for i in need["items"]) or "-"
    verified = need["verified"] or {}
    rows = [("Charity", escape(need["charity"])), ("Purpose", escape(need["purpose"])),
            ("Status", escape(need["status"])),
            ("Beneficiary", f"attested by {escape(need['verifier'])}" + ("" if need["attested"] else " (pending)")
             + " — no personal data is published" + _proof_mark(proofs, (need["attested"] or {}).get("tx"))),
            ("Verified by", (escape(verified.get("org", "-")) + " " + escape(show_ms(verified.get("at_ms")))
                             + _proof_mark(proofs, verified.get("tx"))) if verified else "-"),
            ("Target", (yuan(target) if target else "-") + f"; items: {items}"),
            ("Evidence", _evidence(need["evidence"]))]
    totals = [("Raised (earmarked, matched)", yuan(need["raised"])), ("From the general fund", yuan(need["general_used"])),
              ("Granted", yuan(need["granted"])), ("Confirmed received", yuan(need["confirmed"])),
              ("In exception", yuan(need["exceptions"])), ("Pledged", yuan(need["pledged"]))]
    head = (f"<h1>{escape(need['title'])}</h1>"
            + (f"<div class='bar' title='{share}% of the target'><div style='width:{share}%'></div></div>" if target else "")
            + "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
            + "<h2>Totals</h2><table>" + "".join(f"<tr><th>{k}</th><td class='num'>{v}</td></tr>" for k, v in totals)
            + "</table>")
    don_rows = []
    for d in donations:
        path = "<br>".join(
            f"{yuan(u['amount'])} → grant <a href='#g-{escape(u['grant'])}'>{escape(u['grant'][:8])}</a> "
            f"({escape(grant_by_id[u['grant']]['kind'])} to {escape(grant_by_id[u['grant']]['recipient'])}): "
            + ("returned" if u["returned"] else _status(grant_by_id[u["grant"]], now_ms))
            for u in d["uses"] if u["grant"] in grant_by_id)
        left = f"<br>{yuan(d['remaining'])} not granted yet" if d["remaining"] and d["status"] == "matched" else ""
        don_rows.append(f"<tr id='d-{escape(d['id'])}'><td><a href='/charity/donations/{escape(d['id'])}'>"
                        f"<code>{escape(d['id'][:12])}</code></a>{' (general fund)' if d['need'] is None else ''}</td>"
                        f"<td>{_donor(d)}</td><td class='num'>{yuan(d['amount'])}</td>"
                        f"<td>{escape(d['status'])} {escape(show_ms(d['recorded_ms']))}{_proof_mark(proofs, d['tx'])}</td>"
                        f"<td>{path or '-'}{left}</td></tr>")
    grant_rows = []
    for g in grants:
        confirm = g["confirmation"] or g["exception"] or {}
        what = escape(", ".join(f"{i['quantity']} {i['unit']} {i['name']}" for i in g["items"]))
        grant_rows.append(f"<tr id='g-{escape(g['id'])}'><td><code>{escape(g['id'][:12])}</code></td>"
                          f"<td>{escape(g['kind'])}{(' ' + what) if what else ''}"
                          f"{('<br>waybill ' + escape(g['waybill'])) if g['waybill'] else ''}</td>"
                          f"<td>{escape(g['recipient'])}</td><td class='num'>{yuan(g['amount'])}</td>"
                          f"<td>{escape(show_ms(g['disbursed_ms']))}{_proof_mark(proofs, g['tx'])}</td>"
                          f"<td>{_status(g, now_ms)}{_proof_mark(proofs, confirm.get('tx'))}"
                          f"<br>{_evidence(confirm.get('evidence', []))}</td></tr>")
    body = (head + "<h2>Donations and where they went</h2><table><tr><th>Donation</th><th>Donor</th>"
            "<th class='num'>Amount</th><th>Recorded</th><th>Path</th></tr>" + "".join(don_rows) + "</table>"
            + (f"<p><a href='/charity/needs/{escape(need['id'])}?after={escape(view['next'])}'>More donations</a></p>"
               if view.get("next") else "")
            + "<h2>Grants</h2><table><tr><th>Grant</th><th>What</th><th>To</th><th class='num'>Amount</th>"
            "<th>Disbursed</th><th>Receipt</th></tr>" + "".join(grant_rows) + "</table>")
    return _page(need["title"], body)


def render_donation(view: dict[str, Any], proofs: dict[str, dict[str, Any]], now_ms: int) -> str:
    d, grants = view["donation"], {g["id"]: g for g in view["grants"]}
    where = "the general fund" if d["need"] is None else (
        f"need <a href='/charity/needs/{escape(d['need'])}'>{escape(view['needs'].get(d['need'], d['need']))}</a>")
    rows = [("Donor", _donor(d)), ("Amount", yuan(d["amount"])), ("To", f"{escape(d['charity'])}, {where}"),
            ("Recorded", escape(show_ms(d["recorded_ms"])) + _proof_mark(proofs, d["tx"])),
            ("Money received", (escape(show_ms(d["matched_ms"])) + _proof_mark(proofs, d["match_tx"]))
             if d["status"] == "matched" else escape(d["status"])),
            ("Not granted yet", yuan(d["remaining"]))]
    uses = []
    for u in d["uses"]:
        g = grants[u["grant"]]
        confirm = g["confirmation"] or g["exception"] or {}
        uses.append(f"<tr><td class='num'>{yuan(u['amount'])}</td><td><a href='/charity/needs/{escape(u['need'])}'>"
                    f"{escape(view['needs'].get(u['need'], u['need']))}</a></td><td>{escape(g['kind'])} to "
                    f"{escape(g['recipient'])} {escape(show_ms(g['disbursed_ms']))}{_proof_mark(proofs, g['tx'])}</td>"
                    f"<td>{'returned' if u['returned'] else _status(g, now_ms)}{_proof_mark(proofs, confirm.get('tx'))}"
                    f"<br>{_evidence(confirm.get('evidence', []))}</td></tr>")
    body = (f"<h1>Where did my {yuan(d['amount'])} go?</h1><table>"
            + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table><h2>Its path</h2>"
            + ("<table><tr><th class='num'>Amount</th><th>Need</th><th>Granted</th><th>Receipt</th></tr>"
               + "".join(uses) + "</table>" if uses else "<p>Not granted yet.</p>"))
    return _page("Donation", body)


def render_error(status: int, message: str) -> str:
    return _page("Not found" if status == 404 else "Error", f"<h1 class='no'>{escape(message)}</h1>")
