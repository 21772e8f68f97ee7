"""The waybill console page in a real headless Chromium: the demo waybill, a new waybill created,
handed over and taken over by two signed-in parties, and the regulator's waybill panel."""

from __future__ import annotations

import json
from typing import Any

from consortia.node.demo_trace import PORK_LOIN
from consortia.node.demo_waybill import LOT, NUMBER
from tests.e2e.conftest import shot
from tests.e2e.test_console import open_console


def test_the_demo_waybill_with_its_steps_and_receivable(page: Any) -> None:
    open_console(page, "/waybill", identity="huafeng-logistics/admin")
    page.wait_for_selector(f"#waybills a:has-text('{NUMBER}')")
    page.locator(f"#waybills a:has-text('{NUMBER}')").click()
    page.wait_for_selector("#waybill td:has-text('handoff')")
    assert "closed" in page.inner_text("#waybill") and "huaxin-mart" in page.inner_text("#waybill")
    assert "owed by huaxin-group to huafeng-logistics" in page.inner_text("#receivable")
    assert "registered with supply chain finance as huafeng-logistics:waybill:" in page.inner_text("#receivable")
    page.locator("#show-epcis").click()
    page.wait_for_selector("#waybill-epcis:has-text('urn:consortia:waybill:')")
    shot(page, "waybill")


def test_create_hand_over_and_take_over_in_two_signatures(page: Any) -> None:
    open_console(page, "/waybill", identity="lianhe-foods/admin")
    page.locator("#create-waybill-panel summary").click()
    spec = json.loads(page.input_value("#waybill-json"))
    spec["number"] = "WB-E2E-0001"
    page.fill("#waybill-json", json.dumps(spec))
    page.locator("#create-waybill button[type=submit]").click()
    page.wait_for_selector("#hand-over")
    page.locator("#hand-over button[type=submit]").click()
    page.wait_for_selector("#pending:has-text('awaiting huafeng-logistics')")
    open_console(page, "/waybill/WB-E2E-0001", identity="huafeng-logistics/admin")
    page.wait_for_selector("#take-over")
    page.locator("#take-over [name=packages]").fill("39")
    page.locator("#take-over button[type=submit]").click()
    page.wait_for_selector(".toast:has-text('PACKAGE_MISMATCH'), .toast:has-text('record an exception')")
    page.locator("#take-over [name=kind]").fill("shortage")
    page.locator("#take-over [name=note]").fill("one carton short at the dock")
    page.locator("#take-over button[type=submit]").click()
    page.wait_for_selector("#checkpoint")  # the carrier in custody may now record checkpoints
    assert "39 of 40" in page.inner_text("#waybill")


def test_regulator_panel(page: Any) -> None:
    open_console(page, "/regulator", identity="sh-regulator/admin")
    page.wait_for_selector("#waybill-overview .card")
    assert "closed" in page.inner_text("#waybill-overview")


def test_the_console_journey_shows_the_trucks(page: Any) -> None:
    open_console(page, f"/journey/{PORK_LOIN}/{LOT}/90001")
    page.wait_for_selector("#journey-flow li:has-text('Huafeng cold-chain cross-dock')")
    timeline = page.inner_text("#journey")
    assert "Transport · 运输: Accepted · 验收" in timeline and "Shenzhen Yida Express" in timeline  # CBV words
