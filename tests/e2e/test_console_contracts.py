"""The console's Contracts page in headless Chromium: the demo's member contract, installed by vote,
listed beside the built-in apps with its methods, its source and code hash one click away, and the
governance page linking a contract proposal to its source for review."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import shot
from tests.e2e.test_console import open_console


def test_members_contracts_are_listed_with_source_and_hash(page: Any, console_url: str) -> None:
    open_console(page, "/contracts")
    page.wait_for_selector("[data-contract=warehouse_receipt]")
    text = page.inner_text("main")
    assert "issue: huafeng-logistics" in text and "pledge(receipt_id: str, bank: str)" in text
    assert "scf" in text and "Built-in apps" in text
    shot(page, "contracts")
    page.click("[data-contract=warehouse_receipt]")
    page.wait_for_selector("#contract-source")
    record = httpx.post(f"{console_url}/query/gov/contract", json={"name": "warehouse_receipt"}).json()["result"]
    assert page.inner_text("#code-hash") == record["code_hash"]
    assert "class WarehouseReceipts(Contract):" in page.inner_text("#contract-source")


def test_a_contract_proposal_links_to_its_source(page: Any, console_url: str) -> None:
    proposals = httpx.post(f"{console_url}/query/gov/proposals", json={}).json()["result"]
    deploy = next(p for p in proposals if p["action"] == "install_contract")
    open_console(page, "/gov", identity="hongqiao-auto/admin")
    page.click(f"[data-review='{deploy['id']}']")
    page.wait_for_selector("#contract-source")
    assert "warehouse_receipt 1.0.0" in page.inner_text("h1")
    assert "def pledge(" in page.inner_text("#contract-source")
