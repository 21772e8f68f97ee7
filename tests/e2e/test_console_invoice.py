"""The e-invoice console page in a real headless Chromium, on the demo node: the tax bureau sees
every invoice and the flagged one, the buyer sees its invoices and opens one as a printable page,
anyone checks an invoice by number, and the regulator's dashboard shows the refused double claim."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import shot
from tests.e2e.test_console import open_console


def test_invoices_in_the_console(page: Any, console_url: str) -> None:
    open_console(page, "/invoice", "sz-tax/admin")
    page.wait_for_selector("#invoice-overview")
    assert "flagged 1" in page.locator("#invoice-overview").inner_text()
    every = page.locator("#invoices-all")
    every.locator("tr", has_text="flagged").first.wait_for()
    assert every.locator("tbody tr").count() == 6
    shot(page, "invoice-tax-authority")

    open_console(page, "/invoice", "hongqiao-auto/admin")
    bought = page.locator("#invoices-bought")
    bought.locator("tr", has_text="booked").first.wait_for()
    number = bought.locator("tr", has_text="booked").first.locator("code").inner_text()
    page.fill("#verify-number", number)
    page.click("#invoice-verify")
    page.wait_for_selector("#invoice-verify-result .verified")
    assert "reimbursed" in page.locator("#invoice-verify-result").inner_text()
    with page.context.expect_page() as opened:
        bought.locator("tr", has_text="booked").first.locator("button", has_text="HTML").click()
    printable = opened.value
    printable.wait_for_load_state()
    assert "电子发票" in printable.content()
    shot(printable, "invoice-printable")

    open_console(page, "/regulator", "sh-regulator/admin")
    page.locator("li[data-rule='double_reimbursement']").first.wait_for()
    assert "ALREADY_REIMBURSED" in page.locator("li[data-rule='double_reimbursement']").first.inner_text()
    assert httpx.get(f"{console_url}/invoice/verify/{number}").status_code == 200
