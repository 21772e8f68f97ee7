"""The consumer page behind a package's QR code: its journey from farm to shelf, login-free.

Plain HTML with inline CSS (no script, no external asset, readable on a phone). Every step
shows when and where it happened, who recorded it, the sensor readings, and its proof on the
chain (block height and transaction, checked by the node before the page is served).
"""

from __future__ import annotations

from html import escape
from typing import Any

from consortia.apps.trace.times import format_local

STAGES = {"farm": ("Farm", "#2e7d32"), "processing": ("Processing", "#6d4c41"), "storage": ("Cold storage", "#1565c0"),
          "transport": ("Transport", "#ef6c00"), "shelf": ("Shelf", "#8e24aa"), "recall": ("Recall", "#c62828"),
          "other": ("Step", "#546e7a")}
UNITS = {"CEL": "°C", "FAH": "°F", "A93": "g/m³", "P1": "%", "KGM": "kg", "LUX": "lx", "KMH": "km/h"}
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;
background:#f5f5f0;color:#222}main{max-width:640px;margin:0 auto;padding:16px}
h1{font-size:1.4rem;margin:.2rem 0}.sub{color:#555;font-size:.95rem}.card{background:#fff;border-radius:12px;
padding:14px 16px;margin:12px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}.recall{background:#ffebee;border:2px solid #c62828}
.recall h2{color:#c62828;margin:.2rem 0}ol{list-style:none;padding:0;margin:0}li.step{position:relative;padding:0 0 18px 26px;
border-left:3px solid #ddd;margin-left:8px}li.step:last-child{border-left-color:transparent}
.dot{position:absolute;left:-9px;top:2px;width:15px;height:15px;border-radius:50%}
.stage{font-weight:600}.when{color:#555;font-size:.9rem}.place{margin:.15rem 0}.sensor{font-size:.9rem;margin:.2rem 0}
.alert{color:#c62828;font-weight:600}.proof{font-size:.78rem;color:#2e7d32;word-break:break-all}
.proof.bad{color:#c62828}.proof a{color:inherit}footer{color:#777;font-size:.8rem;margin:20px 0}
"""


def _sensor_line(sensors: list[dict[str, Any]], ranges: dict[str, Any]) -> str:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for reading in sensors:
        by_type.setdefault(reading.get("type") or "reading", []).append(reading)
    parts = []
    for kind, readings in sorted(by_type.items()):
        values = [r[f] for r in readings for f in ("value", "minValue", "maxValue") if f in r]
        unit = UNITS.get(readings[0].get("uom") or "", readings[0].get("uom") or "")
        if not values:
            continue
        low, high = min(values, key=_num), max(values, key=_num)
        text = f"{escape(kind)} {escape(low)}{escape(unit)}" if low == high else \
            f"{escape(kind)} {escape(low)}–{escape(high)}{escape(unit)}"
        bounds = ranges.get(kind)
        if bounds and (_num(low) < _num(bounds["min"]) or _num(high) > _num(bounds["max"])):
            text += (f' <span class="alert">outside {escape(bounds["min"])}–{escape(bounds["max"])}'
                     f'{escape(UNITS.get(bounds.get("uom", ""), ""))}</span>')
        parts.append(text)
    return " · ".join(parts)


def _unnamed(place: dict[str, Any]) -> str:
    """A place nobody has described: ``414/<gln>[/254/<ext>]`` -> ``GLN <gln> (<ext>)``."""
    key = place.get("key") or ""
    if not key.startswith("414/"):
        return key
    gln, _, extension = key[4:].partition("/254/")
    return f"GLN {gln}" + (f" ({extension})" if extension else "")


def _num(text: str) -> tuple[int, int]:
    """Order decimal texts without floats: (integer part, fraction scaled to 9 digits)."""
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("-").partition(".")
    value = int(whole or "0") * 10**9 + int((fraction + "0" * 9)[:9])
    return (-value, 0) if negative else (value, 0)


def render_journey(journey: dict[str, Any], proofs: dict[str, dict[str, Any]]) -> str:
    product = journey.get("product") or {}
    title = product.get("name") or f"GTIN {journey['gtin']}"
    ranges = product.get("ranges") or {}
    head = [f'<h1>{escape(title)}</h1>', f'<div class="sub">{escape(product.get("brand") or "")}</div>',
            '<div class="sub">GTIN ' + escape(journey["gtin"]) +
            (f' · lot {escape(journey["lot"])}' if journey.get("lot") else "") +
            (f' · serial {escape(journey["serial"])}' if journey.get("serial") else "") + "</div>"]
    if product.get("description"):
        head.append(f'<p>{escape(product["description"])}</p>')
    body = [f'<div class="card">{"".join(head)}</div>']
    recall = journey.get("recall")
    if recall:
        body.append(f'<div class="card recall"><h2>Recalled — do not eat</h2><p>{escape(recall["reason"])}</p>'
                    f'<div class="sub">Lot {escape(recall["lot"])} recalled on {escape(format_local(recall["time_ms"]))} '
                    f'UTC by {escape(recall["by"])}</div></div>')
    steps = []
    for step in journey["steps"]:
        label, colour = STAGES.get(step["stage"], STAGES["other"])
        place = step.get("place") or {}
        where = ", ".join(escape(p) for p in (place.get("name"), place.get("city")) if p) or escape(_unnamed(place))
        proof = proofs.get(step["event"], {})
        verified = proof.get("verified", False)
        badge = "✓ verified on chain" if verified else "✗ not verified"
        tx = escape(step["tx"])
        proof_html = (f'<div class="proof{"" if verified else " bad"}">{badge} · block {step["height"]} · '
                      f'<a href="/transactions/{tx}">tx {tx[:16]}…</a> · event {escape(step["event"][14:30])}…</div>')
        sensors = _sensor_line(step.get("sensors") or [], ranges)
        what = escape((step.get("step") or step["type"]).replace("_", " "))
        steps.append(
            f'<li class="step"><span class="dot" style="background:{colour}"></span>'
            f'<div class="stage" style="color:{colour}">{label} · {what}</div>'
            f'<div class="when">{escape(format_local(step["time_ms"], step["tz"]))} (UTC{escape(step["tz"])})</div>'
            f'<div class="place">{where}</div><div class="sub">recorded by {escape(step["by"])}</div>'
            + (f'<div class="sensor">{sensors}</div>' if sensors else "")
            + (' <div class="alert">declared erroneous by its recorder</div>' if step.get("declared_erroneous") else "")
            + proof_html + "</li>")
    if steps:
        body.append(f'<div class="card"><h2>Journey</h2><ol>{"".join(steps)}</ol></div>')
    else:
        body.append('<div class="card">No recorded journey for this package yet.</div>')
    verified = sum(1 for s in journey["steps"] if proofs.get(s["event"], {}).get("verified"))
    body.append(f'<footer>{verified} of {len(journey["steps"])} steps verified against the consortium chain. '
                f'Link: {escape(journey["link"])}</footer>')
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape(title)} — product journey</title><style>{STYLE}</style></head>'
            f'<body><main>{"".join(body)}</main></body></html>')


def render_error(status: int, message: str) -> str:
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>Not found</title><style>{STYLE}</style></head><body><main><div class="card">'
            f'<h1>{"Unknown product" if status == 404 else "Invalid code"}</h1><p>{escape(message)}</p>'
            '</div></main></body></html>')
