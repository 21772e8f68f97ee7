"""The invoice on paper: a printable HTML page and a PDF laid out like the official fully
digitalised invoice (数电发票) — QR code top left, title, number and date top right, the buyer's and
the seller's boxes, the lines, the totals, the total in capital numerals, the remark, the drawer —
and the public verification page behind the QR code.

The PDF embeds a CJK font from a Debian package (``fonts-wqy-microhei``, installed by
``make system-deps``; ``CONSORTIA_CJK_FONT`` names another TTF/TTC). Nothing is downloaded.
"""

from __future__ import annotations

import io
import os
from html import escape
from pathlib import Path
from typing import Any

from consortia.apps.invoice.model import INVOICE_TYPES, yuan
from consortia.errors import Unavailable

INK = "#9a4b24"  # the brown-red of the official form
FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
STATUS_WORDS = {"valid": "正常 valid", "partly reversed": "部分红冲 partly reversed", "reversed": "已红冲 reversed",
                "reimbursed": "已报销 reimbursed", "void": "已作废 void"}
STYLE = f"""
body{{font-family:'SimSun','Songti SC','Noto Serif CJK SC','WenQuanYi Micro Hei',serif;color:#222;margin:1.5rem}}
.inv{{max-width:60rem;margin:auto;position:relative}}
.head{{display:flex;align-items:flex-start;justify-content:space-between}}
.head h1{{color:{INK};font-size:1.6rem;letter-spacing:.15rem;text-align:center;border-bottom:3px double {INK};
padding-bottom:.2rem;margin:.6rem 0 0}}
.meta{{font-size:.9rem;line-height:1.7}} .meta b{{color:{INK};font-weight:normal}}
table{{border-collapse:collapse;width:100%;font-size:.85rem}} .box{{border:1.5px solid {INK}}}
.box td{{border:1px solid {INK};padding:.3rem .4rem;vertical-align:top}}
.side{{color:{INK};width:1.4rem;text-align:center;writing-mode:vertical-rl;letter-spacing:.3rem}}
.lines th{{color:{INK};font-weight:normal;padding:.25rem .3rem;text-align:center}}
.lines td{{border:0;padding:.15rem .3rem}} .num{{text-align:right;font-variant-numeric:tabular-nums}}
.k{{color:{INK}}} .red{{color:#c0392b}} .foot{{font-size:.85rem;margin-top:.4rem;display:flex;gap:3rem}}
.verify{{font-size:.75rem;color:#555;margin-top:.8rem;word-break:break-all}}
@media print{{.verify a{{color:#555}}}}
"""


def qr_svg(uri: str) -> str:
    import segno

    out = io.BytesIO()
    segno.make_qr(uri, error="m").save(out, kind="svg", scale=3, border=2, title=uri, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def show_date(date: str) -> str:
    return f"{date[:4]}年{date[5:7]}月{date[8:10]}日"


def title_of(content: dict[str, Any]) -> str:
    return f"电子发票（{INVOICE_TYPES[content['type']]}）"


def remark_of(content: dict[str, Any]) -> str:
    if "original" in content:
        note = f"被红冲蓝字数电发票号码：{content['original']}　红冲原因：{content['reason']}"
        return f"{note}　{content.get('remark', '')}".strip()
    return str(content.get("remark", ""))


def _party_cell(side: str, party: dict[str, Any]) -> str:
    rows = (f"<span class='k'>名称：</span>{escape(party['name'])}<br>"
            f"<span class='k'>统一社会信用代码/纳税人识别号：</span>{escape(party['uscc'])}")
    return f"<td class='side'>{side}信息</td><td style='width:48%'>{rows}</td>"


def render_invoice(content: dict[str, Any], verify_url: str, status: str | None = None) -> str:
    """The invoice as a printable HTML page; its QR code opens the public verification page."""
    red = "original" in content
    cls = " class='num red'" if red else " class='num'"
    lines = "".join(
        f"<tr><td>{escape(line['item'])}</td><td>{escape(line.get('specification', ''))}</td>"
        f"<td>{escape(line.get('unit', ''))}</td><td{cls}>{escape(str(line.get('quantity', '')))}</td>"
        f"<td class='num'>{escape(str(line.get('unit_price', '')))}</td><td{cls}>{yuan(line['amount'])}</td>"
        f"<td class='num'>{escape(line['tax_rate'])}%</td><td{cls}>{yuan(line['tax_amount'])}</td></tr>"
        for line in content["lines"])
    totals = content["totals"]
    heads = "".join(f"<th>{h}</th>" for h in ("项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率/征收率", "税额"))
    state = f" · {escape(STATUS_WORDS.get(status, status))}" if status else ""
    body = f"""<div class='inv'>
<div class='head'><div>{qr_svg(verify_url)}</div>
<div><h1>{escape(title_of(content))}</h1>{"<div class='red' style='text-align:center'>红字</div>" if red else ""}</div>
<div class='meta'><b>发票号码：</b>{escape(content['number'])}<br>
<b>开票日期：</b>{escape(show_date(content['issue_date']))}</div></div>
<table class='box'><tr>{_party_cell('购买方', content['buyer'])}{_party_cell('销售方', content['seller'])}</tr>
<tr><td colspan='4' style='padding:0'><table class='lines'><tr>{heads}</tr>{lines}
<tr><td class='k' style='text-align:center'>合　　计</td><td colspan='4'></td><td{cls}>¥{yuan(totals['amount'])}</td>
<td></td><td{cls}>¥{yuan(totals['tax'])}</td></tr></table></td></tr>
<tr><td colspan='4'><span class='k'>价税合计（大写）</span>　⊗ {escape(totals['total_in_words'])}
<span style='float:right'><span class='k'>（小写）</span>¥{yuan(totals['total'])}</span></td></tr>
<tr><td class='side'>备注</td><td colspan='3' style='height:3rem'>{escape(remark_of(content))}</td></tr></table>
<div class='foot'><span><span class='k'>开票人：</span>{escape(content.get('drawer', ''))}</span></div>
<div class='verify'>Check this invoice on the consortium chain{state}:
<a href='{escape(verify_url)}'>{escape(verify_url)}</a></div>
</div>"""
    return _page(f"{title_of(content)} {content['number']}", body)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width,initial-scale=1'><title>{escape(title)}</title><style>{STYLE}</style>"
            f"</head><body>{body}</body></html>")


def render_verification(found: dict[str, Any], proof: dict[str, Any] | None) -> str:
    """The public page: is this invoice on the chain, does it match, what is its status, and the
    Merkle proof of the transaction that issued it (checked by this node, shown to re-check)."""
    number = escape(found.get("number", ""))
    if not found.get("exists"):
        return _page("发票查验 Invoice not found", f"<div class='inv'><h1 class='red'>查无此票 · Not on this chain</h1>"
                                                  f"<p>No invoice numbered <code>{number}</code> was issued here.</p></div>")
    status = found["status"]
    matches = found.get("matches")
    verdict = {True: "<p class='k'>✔ The invoice presented matches the one issued (digest equal).</p>",
               False: "<p class='red'>✘ The invoice presented does NOT match the one issued.</p>",
               None: "<p>Scan the invoice's QR code, or give its digest, to check its content too.</p>"}[matches]
    rows = [("发票号码 Number", number), ("状态 Status", escape(STATUS_WORDS.get(status, status))),
            ("价税合计 Total", f"¥{yuan(found['total'])}"), ("已红冲 Reversed", f"¥{yuan(found['reversed'])}"),
            ("报销 Reimbursed", "是 yes" if found["reimbursed"] else "否 no"),
            ("Digest", f"{escape(found['algorithm'])}"), ("Issued in block", str(found["height"])),
            ("Transaction", f"<code>{escape(found['issued_tx'])}</code>")]
    if found.get("original"):
        rows.append(("红字发票 Reverses", escape(found["original"])))
    if found.get("flagged"):
        rows.append(("税务机关 Tax authority", "<span class='red'>flagged for inspection</span>"))
    if proof:
        rows += [("Block hash", f"<code>{escape(proof['block_hash'])}</code>"),
                 ("tx_root", f"<code>{escape(proof['tx_root'])}</code>"),
                 ("Merkle path", "<br>".join(f"<code>{escape(h)}</code>" for h in proof["path"]) or "(the only leaf)"),
                 ("Proof checked", "<span class='k'>✔ the transaction sits in the block's tx_root and the header "
                                   "hashes to the block hash</span>" if proof["valid"] else "<span class='red'>✘</span>"),
                 ("Attested by", escape(", ".join(proof["attested_by"]) or "-"))]
    table = "".join(f"<tr><td class='k' style='width:12rem'>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return _page(f"发票查验 {found['number']}", f"<div class='inv'><h1>发票查验 · Invoice verification</h1>{verdict}"
                                              f"<table class='box'>{table}</table><p class='verify'>The content of an "
                                              "invoice is shown only to its seller, its buyer and the tax authority. "
                                              "<code>?format=json</code> gives the proof to check offline.</p></div>")


# -- PDF ------------------------------------------------------------------------------------

def cjk_font() -> Path:
    """The CJK font the PDF embeds: ``CONSORTIA_CJK_FONT`` or the first Debian font installed."""
    chosen = os.environ.get("CONSORTIA_CJK_FONT")
    for candidate in ([chosen] if chosen else []) + list(FONT_CANDIDATES):
        if Path(candidate).is_file():
            return Path(candidate)
    raise Unavailable("no CJK font for the PDF: install the Debian package fonts-wqy-microhei (make system-deps) or "
                      "set CONSORTIA_CJK_FONT to a TTF/TTC file", code="NO_CJK_FONT")


def render_pdf(content: dict[str, Any], verify_url: str) -> bytes:
    """The invoice as a PDF close to the official layout (241 x 140 mm, longer for many lines)."""
    import segno
    from fpdf import FPDF

    font = cjk_font()
    lines = content["lines"]
    height = max(140.0, 110.0 + 6.0 * len(lines))
    pdf = FPDF(orientation="P", unit="mm", format=(241, height))
    pdf.set_auto_page_break(False)
    pdf.set_margins(10, 8, 10)
    pdf.add_page()
    pdf.add_font("cjk", "", str(font))
    pdf.set_title(f"{title_of(content)} {content['number']}")
    pdf.set_creator("Consortia")
    ink = (154, 75, 36)
    png = io.BytesIO()
    segno.make_qr(verify_url, error="m").save(png, kind="png", scale=4, border=1)
    png.seek(0)
    pdf.image(png, x=10, y=8, w=22, h=22)
    pdf.set_text_color(*ink)
    pdf.set_font("cjk", size=16)
    pdf.set_xy(55, 12)
    pdf.cell(131, 8, title_of(content), align="C")
    pdf.set_draw_color(*ink)
    pdf.line(80, 21, 161, 21)
    pdf.line(80, 22, 161, 22)
    if "original" in content:
        pdf.set_font("cjk", size=10)
        pdf.set_xy(55, 23)
        pdf.cell(131, 5, "红字", align="C")
    pdf.set_font("cjk", size=9)
    for row, (label, value) in enumerate((("发票号码：", content["number"]),
                                          ("开票日期：", show_date(content["issue_date"])))):
        pdf.set_xy(175, 12 + row * 6)
        pdf.set_text_color(*ink)
        pdf.cell(16, 5, label)
        pdf.set_text_color(0, 0, 0)
        pdf.cell(40, 5, value)
    left, top, width = 10.0, 32.0, 221.0
    half = width / 2
    pdf.set_line_width(0.4)
    pdf.rect(left, top, width, height - top - 14)
    pdf.set_line_width(0.2)
    # buyer and seller boxes
    party_h = 20.0
    pdf.line(left, top + party_h, left + width, top + party_h)
    pdf.line(left + half, top, left + half, top + party_h)
    for index, (side, party) in enumerate((("购买方信息", content["buyer"]), ("销售方信息", content["seller"]))):
        x = left + index * half
        pdf.line(x + 7, top, x + 7, top + party_h)
        pdf.set_text_color(*ink)
        for i, char in enumerate(side):
            pdf.set_xy(x + 1.5, top + 1 + i * 3.6)
            pdf.cell(4, 3.6, char, align="C")
        pdf.set_xy(x + 9, top + 3)
        pdf.cell(12, 5, "名称：")
        pdf.set_text_color(0, 0, 0)
        pdf.cell(half - 22, 5, party["name"][:40])
        pdf.set_xy(x + 9, top + 11)
        pdf.set_text_color(*ink)
        pdf.cell(50, 5, "统一社会信用代码/纳税人识别号：")
        pdf.set_text_color(0, 0, 0)
        pdf.cell(half - 60, 5, party["uscc"])
    # the lines
    columns = (("项目名称", 52, "L"), ("规格型号", 26, "L"), ("单位", 12, "C"), ("数量", 22, "R"), ("单价", 26, "R"),
               ("金额", 28, "R"), ("税率/征收率", 25, "C"), ("税额", 30, "R"))
    y = top + party_h + 2
    pdf.set_xy(left, y)
    pdf.set_text_color(*ink)
    for title, w, _ in columns:
        pdf.cell(w, 5, title, align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=8)
    for line in lines:
        y += 5.5
        pdf.set_xy(left, y)
        values = (line["item"][:28], line.get("specification", "")[:14], line.get("unit", "")[:4],
                  str(line.get("quantity", "")), str(line.get("unit_price", "")), yuan(line["amount"]),
                  f"{line['tax_rate']}%", yuan(line["tax_amount"]))
        for (_, w, align), value in zip(columns, values, strict=True):
            pdf.cell(w, 5, value, align=align)
    totals = content["totals"]
    bottom = height - 14
    sum_y = bottom - 34
    pdf.set_font("cjk", size=9)
    pdf.set_xy(left, sum_y)
    pdf.set_text_color(*ink)
    pdf.cell(52, 5, "合　　计", align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(left + 138, sum_y)
    pdf.cell(28, 5, f"¥{yuan(totals['amount'])}", align="R")
    pdf.set_xy(left + 191, sum_y)
    pdf.cell(30, 5, f"¥{yuan(totals['tax'])}", align="R")
    pdf.line(left, bottom - 27, left + width, bottom - 27)
    pdf.set_xy(left + 2, bottom - 25)
    pdf.set_text_color(*ink)
    pdf.cell(30, 6, "价税合计（大写）")
    pdf.set_text_color(0, 0, 0)
    pdf.cell(100, 6, f"⊗ {totals['total_in_words']}")
    pdf.set_xy(left + 150, bottom - 25)
    pdf.set_text_color(*ink)
    pdf.cell(16, 6, "（小写）")
    pdf.set_text_color(0, 0, 0)
    pdf.cell(50, 6, f"¥{yuan(totals['total'])}")
    pdf.line(left, bottom - 18, left + width, bottom - 18)
    pdf.line(left + 7, bottom - 18, left + 7, bottom)
    pdf.set_text_color(*ink)
    for i, char in enumerate("备注"):
        pdf.set_xy(left + 1.5, bottom - 15 + i * 5)
        pdf.cell(4, 5, char, align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=8)
    pdf.set_xy(left + 9, bottom - 16)
    pdf.multi_cell(width - 11, 4.5, remark_of(content)[:300])
    pdf.set_font("cjk", size=9)
    pdf.set_xy(left, bottom + 2)
    pdf.set_text_color(*ink)
    pdf.cell(14, 5, "开票人：")
    pdf.set_text_color(0, 0, 0)
    pdf.cell(40, 5, content.get("drawer", ""))
    pdf.set_font("cjk", size=6)
    pdf.set_xy(left + 60, bottom + 2)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(161, 5, verify_url[:160], align="R")
    return bytes(pdf.output())
