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


def test_a_need_published_in_the_browser_carries_the_pseudonym_python_computes(page: Any, console_home: Path,
                                                                                console_url: str) -> None:
    import re

    from consortia.apps.charity.donor import compute_pseudonym
    from consortia.client import Client

    open_console(page, "/charity", identity="chunhui-foundation/admin")
    page.locator("#charity-publish-panel summary").click()
    form = page.locator("#charity-publish")
    for name, value in {"title": "Hearing aids for two pupils", "purpose": "Hearing aids and fitting",
                        "who": "Laiyuan school 7, pupils 12 and 31", "target": "9600"}.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("[name=verifier]").select_option("civil-affairs")
    form.locator("button[type=submit]").click()
    salt = re.search(r"salt ([0-9a-f]{32})", page.wait_for_selector(".toast:has-text('Give the verifier')").inner_text())
    assert salt is not None
    page.wait_for_url("**/console#/charity/*")
    need_id = page.url.rsplit("/", 1)[1]
    with Client.from_home(console_home, "civil-affairs/admin", console_url) as authority:
        need = authority.query("charity", "need_detail", {"need_id": need_id}, signed=True)
        assert need["beneficiary"] == compute_pseudonym(authority.suite, salt.group(1), "Laiyuan school 7, pupils 12 and 31")
    open_console(page, f"/charity/{need_id}", identity="civil-affairs/clerk")
    page.locator("#charity-attest-panel summary").click()
    page.locator("#charity-attest [name=salt]").fill(salt.group(1))
    page.locator("#charity-attest [name=who]").fill("Laiyuan school 7, pupils 12 and 31")
    page.locator("#charity-attest button[type=submit]").click()
    page.wait_for_selector(".toast:has-text('Attest: done')")
