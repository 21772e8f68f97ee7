"""The charity console page in a real headless Chromium on the demo node: needs without login, the
authority's overview, a company's donation by name and a verifier's confirmation with a receipt
hashed in the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import shot
from tests.e2e.test_console import open_console


def test_needs_are_public_and_the_authority_sees_the_overview(page: Any) -> None:
    open_console(page, "/charity")
    page.wait_for_selector("#charity-needs td:has-text('Heart surgery')")
    assert "Winter jackets" in page.inner_text("#charity-needs")
    page.locator("#charity-needs a:has-text('Heart surgery')").click()
    page.wait_for_selector("[data-stat=need-confirmed]:has-text('¥50,000.00')")
    shot(page, "charity-need")
    open_console(page, "/charity", identity="civil-affairs/admin")
    page.wait_for_selector("#charity-overview [data-stat=confirmed]:has-text('¥50,000.00')")
    assert "zheshang-factoring" in page.inner_text("#charity-overview")  # its transfer has not arrived


def test_a_company_donates_and_the_verifier_confirms_the_jackets_arrived(page: Any, tmp_path: Path) -> None:
    open_console(page, "/charity", identity="jinglian-parts/admin")
    page.wait_for_selector("#charity-needs a:has-text('Winter jackets')").click()
    page.locator("#charity-donate-panel summary").click()
    page.locator("#charity-donate [name=amount]").fill("1200")
    page.locator("#charity-donate button[type=submit]").click()
    page.wait_for_selector(".toast:has-text('Donate: done')")
    open_console(page, "/charity", identity="civil-affairs/clerk")
    page.wait_for_selector("#charity-needs a:has-text('Winter jackets')").click()
    receipt = tmp_path / "delivery-note.jpg"
    receipt.write_bytes(b"signed delivery note, 300 jackets received")
    page.locator("#charity-confirm-panel summary").click()
    page.locator("#charity-confirm [name=files]").set_input_files(str(receipt))
    page.locator("#charity-confirm button[type=submit]").click()
    page.wait_for_selector(".toast:has-text('Confirm: done')")
    page.wait_for_selector("[data-stat=need-confirmed]:has-text('¥27,000.00')")
