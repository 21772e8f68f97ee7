"""What a newcomer and each persona meet, in a real headless Chromium against the demo node: a
date the console shows equals the CLI's, short ids paste back, the shopper's verdict comes
first, CBV codes read as words, and no field of a form overlaps another at laptop or phone width."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from tests.e2e.conftest import console_page, shot
from tests.e2e.test_console import open_console

RECALLED = "/01/06925678000012/10/LH260318A/21/20001"
KEPT = "/01/06925678000012/10/LH260316A/21/00001"
LAPTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


def cli_output(home: Path, url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--dir", str(home), "--url", url])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_due_date_in_the_console_equals_the_clis(page: Any, console_home: Path, console_url: str) -> None:
    printed = cli_output(console_home, console_url, "scf", "holdings", "jinglian-parts", "--as", "jinglian-parts/admin")
    due = dict(re.findall(r"^  ([0-9a-f]{32}) .* due (\d{4}-\d{2}-\d{2})$", printed, re.M))
    assert due, printed
    open_console(page, "/scf", identity="jinglian-parts/admin")
    page.wait_for_selector("#holdings tbody tr")
    for piece, day in due.items():
        row = page.locator("#holdings tr", has=page.locator(f"a[title='{piece}']"))
        assert day in row.inner_text(), (piece, day, row.inner_text())
    # Verify: no US-style or 12-hour date anywhere on the page
    text = page.inner_text("main")
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{4}|\b[AP]M\b", text), text


def test_split_transfer_is_offered_only_on_pieces_the_contract_would_take(page: Any) -> None:
    open_console(page, "/scf", identity="jinglian-parts/admin")
    page.wait_for_selector("#holdings tbody tr")
    for row in page.locator("#holdings tbody tr").all():
        status = row.locator(".badge").first.inner_text()
        offered = row.locator("button:has-text('Split-transfer')").count() == 1
        assert offered == (status == "active"), (status, row.inner_text())


def test_a_short_id_pastes_into_search(page: Any, console_home: Path, console_url: str) -> None:
    printed = cli_output(console_home, console_url, "block", "show", "1")
    block_hash = re.search(r"^block 1  ([0-9a-f]{64})$", printed, re.M).group(1)  # type: ignore[union-attr]
    tx_id = re.search(r"^    ([0-9a-f]{64})  ", printed, re.M).group(1)  # type: ignore[union-attr]
    open_console(page, "/", identity="sh-regulator/admin")
    for short, landing in ((tx_id[:12] + "…", f"#/tx/{tx_id}"), (block_hash[:10], f"#/block/{block_hash}")):
        page.fill("#search-q", short)
        page.click("#search button[type=submit]")
        page.wait_for_url(re.compile(re.escape(landing) + "$"))
    lineage = cli_output(console_home, console_url, "scf", "holdings", "ruifeng-fasteners", "--as", "sh-regulator/admin")
    pieces = re.findall(r"^  ([0-9a-f]{32}) ", lineage, re.M)
    if pieces:
        page.fill("#search-q", pieces[0][:12])
        page.click("#search button[type=submit]")
        page.wait_for_url(re.compile(f"#/voucher/{pieces[0]}$"))


def test_the_demo_blocks_carry_several_organisations_transactions(page: Any, console_home: Path,
                                                                   console_url: str) -> None:
    printed = cli_output(console_home, console_url, "block", "show", "1")
    block_time = re.search(r"^  time +(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})  ", printed, re.M).group(1)  # type: ignore[union-attr]
    open_console(page, "/block/1")
    page.wait_for_selector("#main table tbody tr")
    senders = {text.split("@")[-1].strip() for text in page.locator("#main table tbody tr td:nth-child(3)").all_inner_texts()}
    assert len(senders) >= 3, senders
    assert block_time in page.inner_text("dl.fields"), block_time  # the same time as the CLI's, to the second
    assert len(set(re.findall(r"@(\S+)", printed))) >= 3, printed


def test_the_shopper_sees_the_verdict_first_on_a_recalled_lot(browser: Any, console_url: str) -> None:
    with console_page(browser, console_url) as p:
        p.set_viewport_size(PHONE)
        p.goto(RECALLED)
        verdict = p.locator("main > .card").first
        assert verdict.get_attribute("data-verdict") == "recalled"
        assert "Recalled — do not eat" in verdict.inner_text() and "已召回" in verdict.inner_text()
        assert p.locator("main > .card").nth(1).locator("h1").inner_text() == "Chilled pork loin, 500 g"
        assert "Jiangxi Lianhe Meat Processing" in p.locator("main > .card").nth(1).inner_text()
        # Verify: the proofs wait behind "how we know", closed
        how = p.locator("details.how")
        assert how.get_attribute("open") is None and not p.locator(".proofs").first.is_visible()
        assert "Shipped · 发货" in p.inner_text("main") or "In transport · 运输" in p.inner_text("main")
        assert not re.search(r"\bin_transit\b|\bconformant\b", p.inner_text("main"))
        shot(p, "consumer-recalled-phone")
        how.locator("summary").click()
        assert p.locator(".proofs li").first.is_visible()
        p.goto(KEPT)
        kept = p.locator("main > .card").first
        assert kept.get_attribute("data-verdict") == "kept"
        assert "Not recalled · cold chain kept · every step verified on the chain" in kept.inner_text()
        shot(p, "consumer-kept-phone")


def test_chinese_text_has_a_font(browser: Any, console_url: str) -> None:
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    if "CJK" not in fonts:
        pytest.skip("no CJK font installed: `make system-deps` installs fonts-noto-cjk")
    with console_page(browser, console_url) as p:
        p.goto(RECALLED)
        assert "赣A·C7312" in p.inner_text("main")
        family = p.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Noto Sans CJK SC" in family
        assert p.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '赣冷链')")


def test_cbv_codes_read_as_words_in_the_console(page: Any) -> None:
    open_console(page, "/journey/06925678000012/LH260318A/20001", identity="lianhe-foods/admin")
    page.wait_for_selector("#journey li")
    timeline = page.inner_text("#journey")
    assert "Shipped · 发货" in timeline and "passed inspection · 检验合格" in timeline
    assert not re.search(r"\b(in_transit|retail_selling|conformant)\b", timeline), timeline


def test_the_regulators_chart_has_a_legend_and_links_say_where_they_go(page: Any) -> None:
    open_console(page, "/regulator", identity="sh-regulator/admin")
    page.wait_for_selector("#volumes ul.legend li")
    legend = page.inner_text("#volumes ul.legend")
    assert "supply chain finance (scf)" in legend and "traceability (trace)" in legend
    page.wait_for_selector("#trace-alerts a")
    for text in page.locator("#trace-alerts a").all_inner_texts():
        assert not text.strip().isdigit(), text


def boxes(page: Any) -> list[dict[str, Any]]:
    """Every visible form control in the page's main part, with its box (``scrolls``: inside a table
    that scrolls sideways on a narrow screen, by design)."""
    return page.evaluate("""() => [...document.querySelectorAll('main input, main select, main textarea, main button')]
      .filter((e) => e.offsetParent !== null && e.type !== 'hidden')
      .map((e) => { const r = e.getBoundingClientRect();
        return { id: e.id || e.name || e.textContent.trim().slice(0, 30), x: r.left, y: r.top, w: r.width, h: r.height,
                 scrolls: e.closest('.scroll') !== null }; })""")


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    slack = 1.0  # borders may touch
    return (a["x"] + slack < b["x"] + b["w"] and b["x"] + slack < a["x"] + a["w"]
            and a["y"] + slack < b["y"] + b["h"] and b["y"] + slack < a["y"] + a["h"])


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["1280x800", "phone"])
def test_no_form_field_overlaps_another(browser: Any, console_url: str, size: dict[str, int]) -> None:
    with console_page(browser, console_url) as p:
        p.set_viewport_size(size)
        for where, identity, ready, opener in (
                ("/evidence", "", "#verify", None),
                ("/scf", "hongqiao-auto/admin", "details.panel summary", "details.panel summary"),
                ("/trace", "lianhe-foods/admin", "#event-panel summary", "#event-panel summary"),
                ("/gov", "hongqiao-auto/admin", "#propose button", None)):
            open_console(p, where, identity=identity)
            p.wait_for_selector(ready, state="attached")
            p.wait_for_load_state("networkidle")
            p.wait_for_function("!document.querySelector('main .loading')")  # every part has loaded
            if opener:
                for summary in p.locator(opener).all():
                    summary.click()
            found = boxes(p)
            assert found, where
            for i, a in enumerate(found):
                if not a["scrolls"]:  # nothing off the screen, except in a table that scrolls sideways
                    assert a["x"] >= -1 and a["x"] + a["w"] <= size["width"] + 1, (where, a)
                for b in found[i + 1:]:
                    assert not overlaps(a, b), (where, a, b)
            shot(p, f"forms{where.replace('/', '-')}-{size['width']}")
