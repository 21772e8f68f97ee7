"""The consumer page behind a package's QR code: its journey from farm to shelf, login-free.

Plain HTML with inline CSS (no script, no external asset, readable on a phone). Every step
shows when and where it happened, who recorded it, the sensor readings, and its proof on the
chain (block height and transaction, checked by the node before the page is served).
"""

from __future__ import annotations

from html import escape
from typing import Any

from consortia.apps.trace.words import STAGES as STAGE_WORDS
from consortia.apps.trace.words import bilingual, disposition_words, step_words
from consortia.types.clock import DEFAULT_TIME_ZONE, format_time, zone_label

STAGES = {"farm": ("Farm", "#2e7d32"), "processing": ("Processing", "#6d4c41"), "storage": ("Cold storage", "#1565c0"),
          "transport": ("Transport", "#ef6c00"), "shelf": ("Shelf", "#8e24aa"), "recall": ("Recall", "#c62828"),
          "other": ("Step", "#546e7a")}
UNITS = {"CEL": "°C", "FAH": "°F", "A93": "g/m³", "P1": "%", "KGM": "kg", "LUX": "lx", "KMH": "km/h"}
# Latin first, then CJK faces for the Chinese words and places (a truck plate 赣A·C7312).
FONTS = ('system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","Source Han Sans SC",'
         '"PingFang SC","Hiragino Sans GB","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif')
STYLE = """
body{font-family:""" + FONTS + """;margin:0;
background:#f5f5f0;color:#222}main{max-width:640px;margin:0 auto;padding:16px}
h1{font-size:1.4rem;margin:.2rem 0}.sub{color:#555;font-size:.95rem}.brand{font-weight:600;color:#444}
.card{background:#fff;border-radius:12px;padding:14px 16px;margin:12px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.verdict h2{margin:.1rem 0;font-size:1.25rem}.verdict .zh{font-size:1rem;margin:.2rem 0}
.verdict.ok{background:#e8f5e9;border:2px solid #2e7d32}.verdict.ok h2{color:#1b5e20}
.verdict.warn{background:#fff8e1;border:2px solid #ef6c00}.verdict.warn h2{color:#e65100}
.recall{background:#ffebee;border:2px solid #c62828}.recall h2{color:#c62828}
ol{list-style:none;padding:0;margin:0}li.step{position:relative;padding:0 0 18px 26px;
border-left:3px solid #ddd;margin-left:8px}li.step:last-child{border-left-color:transparent}
.dot{position:absolute;left:-9px;top:2px;width:15px;height:15px;border-radius:50%}
.stage{font-weight:600}.disp{font-size:.85rem;color:#555}.when{color:#555;font-size:.9rem}.place{margin:.15rem 0}
.sensor{font-size:.9rem;margin:.2rem 0}.alert{color:#c62828;font-weight:600}
details.how summary{cursor:pointer;font-weight:600}.proofs li{font-size:.78rem;color:#2e7d32;word-break:break-all;
margin:.35rem 0}.proofs li.bad{color:#c62828}.proofs a{color:inherit}footer{color:#777;font-size:.8rem;margin:20px 0}
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


def _breach(step: dict[str, Any], ranges: dict[str, Any]) -> bool:
    """Did a reading of this step fall outside the product's declared range?"""
    for reading in step.get("sensors") or []:
        bounds = ranges.get(reading.get("type") or "")
        values = [reading[f] for f in ("value", "minValue", "maxValue") if f in reading]
        if bounds and any(_num(v) < _num(bounds["min"]) or _num(v) > _num(bounds["max"]) for v in values):
            return True
    return False


def _verdict(journey: dict[str, Any], proofs: dict[str, dict[str, Any]], zone: str) -> str:
    """The answer first: recalled (red), or not recalled, cold chain kept, every step verified."""
    recall = journey.get("recall")
    steps = journey["steps"]
    if recall:
        return (f'<div class="card verdict recall" data-verdict="recalled"><h2>Recalled — do not eat · 已召回，请勿食用</h2>'
                f'<p>{escape(recall["reason"])}</p><div class="sub">Lot {escape(recall["lot"])} recalled on '
                f'{escape(format_time(recall["time_ms"], zone))} ({escape(zone_label(recall["time_ms"], zone))}) '
                f'by {escape(recall["by"])}</div></div>')
    ranges = (journey.get("product") or {}).get("ranges") or {}
    warm = [s for s in steps if _breach(s, ranges)]
    checked = sum(1 for s in steps if proofs.get(s["event"], {}).get("verified"))
    parts = [("not recalled", "未召回")]
    if ranges:
        parts.append(("cold chain broken", "冷链中断") if warm else ("cold chain kept", "冷链完好"))
    if not steps:
        parts.append(("no recorded steps yet", "暂无记录"))
    elif checked == len(steps):
        parts.append(("every step verified on the chain", "每一步均已上链核验"))
    else:
        parts.append((f"{len(steps) - checked} of {len(steps)} steps not verified", "部分环节未能核验"))
    kind = "ok" if not warm and steps and checked == len(steps) else "warn"
    detail = ""
    if warm:
        first = warm[0]
        place = (first.get("place") or {}).get("name") or _unnamed(first.get("place") or {})
        detail = (f'<p>A reading outside the allowed range at {escape(place)} on '
                  f'{escape(format_time(first["time_ms"], zone))}.</p>')
    return (f'<div class="card verdict {kind}" data-verdict="{"kept" if kind == "ok" else "check"}">'
            f'<h2>{escape(" · ".join(en for en, _ in parts).capitalize())}</h2>'
            f'<div class="zh">{escape("，".join(zh for _, zh in parts))}</div>{detail}</div>')


def render_journey(journey: dict[str, Any], proofs: dict[str, dict[str, Any]], zone: str = DEFAULT_TIME_ZONE) -> str:
    """The page: a verdict, the product and its brand, the journey; the proofs behind "how we know"."""
    product = journey.get("product") or {}
    title = product.get("name") or f"GTIN {journey['gtin']}"
    ranges = product.get("ranges") or {}
    head = [f'<h1>{escape(title)}</h1>',
            f'<div class="brand">{escape(product.get("brand") or "")}</div>' if product.get("brand") else "",
            '<div class="sub">GTIN ' + escape(journey["gtin"]) +
            (f' · lot {escape(journey["lot"])}' if journey.get("lot") else "") +
            (f' · serial {escape(journey["serial"])}' if journey.get("serial") else "") + "</div>"]
    if product.get("description"):
        head.append(f'<p>{escape(product["description"])}</p>')
    body = [_verdict(journey, proofs, zone), f'<div class="card product">{"".join(head)}</div>']
    steps, proof_rows = [], []
    for step in journey["steps"]:
        label, colour = STAGES.get(step["stage"], STAGES["other"])
        stage_zh = STAGE_WORDS.get(step["stage"], STAGE_WORDS["other"])[1]
        place = step.get("place") or {}
        where = ", ".join(escape(p) for p in (place.get("name"), place.get("city")) if p) or escape(_unnamed(place))
        proof = proofs.get(step["event"], {})
        verified = proof.get("verified", False)
        sensors = _sensor_line(step.get("sensors") or [], ranges)
        what = escape(bilingual(step_words(step.get("step") or step["type"])))
        state = (f' <span class="disp">{escape(bilingual(disposition_words(step["disposition"])))}</span>'
                 if step.get("disposition") else "")
        steps.append(
            f'<li class="step"><span class="dot" style="background:{colour}"></span>'
            f'<div class="stage" style="color:{colour}">{label} {stage_zh} · {what}</div>{state}'
            f'<div class="when">{escape(format_time(step["time_ms"], zone))}</div>'
            f'<div class="place">{where}</div><div class="sub">recorded by {escape(step["by"])}'
            f'{" · ✓ verified on chain" if verified else " · <span class=alert>✗ not verified</span>"}</div>'
            + (f'<div class="sensor">{sensors}</div>' if sensors else "")
            + (' <div class="alert">declared erroneous by its recorder</div>' if step.get("declared_erroneous") else "")
            + "</li>")
        tx = escape(step["tx"])
        proof_rows.append(
            f'<li class="proof{"" if verified else " bad"}">{"✓" if verified else "✗"} {what}'
            f' · block {step["height"]} · <a href="/transactions/{tx}">transaction {tx}</a>'
            f' · event <code>{escape(step["event"])}</code></li>')
    if steps:
        body.append(f'<div class="card"><h2>Journey · 溯源旅程</h2><ol>{"".join(steps)}</ol></div>')
    else:
        body.append('<div class="card">No recorded journey for this package yet. · 暂无溯源记录。</div>')
    verified = sum(1 for s in journey["steps"] if proofs.get(s["event"], {}).get("verified"))
    body.append(
        '<details class="card how"><summary>How we know · 我们如何得知</summary>'
        '<p>Each step was recorded by the company named, in a transaction signed with its certificate and kept '
        'on a blockchain that every member of the consortium runs. Before showing this page the node checked, '
        f'for each step, that the record is in its block (Merkle proof) and that the block is intact: '
        f'{verified} of {len(journey["steps"])} steps verified against the consortium chain.</p>'
        f'<ol class="proofs">{"".join(proof_rows)}</ol></details>')
    body.append(f'<footer>Times in {escape(zone)}. Link: {escape(journey["link"])}</footer>')
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
