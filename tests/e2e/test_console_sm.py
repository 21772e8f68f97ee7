"""The console on a demo consortium of the national suite (SM2 signatures, SM3 hashes): the
explorer, a proof checked in the browser with SM3, a voucher accepted and a file deposited
through the demo signer (SM2 on the node)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consortia.crypto import get_suite
from consortia.node.home import DEMO_ORG_COUNT_FULL
from consortia.types import codec
from tests.e2e.conftest import CHROMIUM, console_page, running_node, shot
from tests.e2e.test_console import open_console, toast


@pytest.fixture(scope="module")
def sm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); run `make system-deps`")
    with running_node(tmp_path_factory.mktemp("console-sm") / "consortium", signer=True, crypto="sm") as url:
        yield url


@pytest.fixture
def sm_page(browser: Any, sm_url: str) -> Iterator[Any]:
    with console_page(browser, sm_url) as p:
        yield p


def test_proof_checked_with_sm3_in_the_browser(sm_page: Any, sm_url: str) -> None:
    assert httpx.get(f"{sm_url}/chain").json()["suite"] == "sm2-sm3"
    open_console(sm_page)
    sm_page.wait_for_selector("[data-stat=height] .value")
    assert sm_page.inner_text("[data-stat=orgs] .value") == str(DEMO_ORG_COUNT_FULL)
    open_console(sm_page, "/block/3")
    sm_page.wait_for_selector("h1:has-text('Block 3')")
    sm_page.locator("table a.mono").first.click()
    sm_page.click("#verify-proof")
    sm_page.wait_for_selector(".verified:has-text('Proof verified in your browser')")
    assert sm_page.locator("ul.checks li.pass").count() == 5
    shot(sm_page, "sm-transaction-proof")


def test_a_tampered_view_fails_the_sm3_check(sm_page: Any, sm_url: str) -> None:
    import json

    view = httpx.get(f"{sm_url}/transactions/{httpx.get(f'{sm_url}/blocks/3').json()['receipts'][0]['tx_id']}").json()
    view["tx"]["nonce"] += 1
    open_console(sm_page)
    checks = dict(sm_page.evaluate("""async (text) => {
        const lib = await import("/console/static/lib.js");
        return (await lib.verifyTransaction(text)).checks; }""", json.dumps(view)))
    assert checks["the transaction hashes to its id"] is False and checks["the header hashes to the block hash"] is True


def test_voucher_accepted_and_file_deposited_signed_with_sm2(sm_page: Any, sm_url: str, tmp_path: Path) -> None:
    open_console(sm_page, "/scf", identity="jinglian-parts/admin")
    sm_page.wait_for_selector("#holdings-total")
    sm_page.locator("[data-accept]").first.click()
    assert "done in block" in toast(sm_page, "Accept voucher")
    content = b"national-suite deposit\n" * 50
    open_console(sm_page, "/evidence", identity="jinglian-parts/admin")
    sm_page.set_input_files("#evidence-file", files=[{"name": "sm.pdf", "mimeType": "application/pdf", "buffer": content}])
    sm_page.wait_for_selector("#evidence-status .notice:has-text('not on the chain')")
    sm_page.click("#deposit")
    assert "done in block" in toast(sm_page, "Deposit")
    height = httpx.get(f"{sm_url}/chain").json()["height"]
    block = httpx.get(f"{sm_url}/blocks/{height}").json()
    assert block["txs"][-1]["tx"]["contract"] == "evidence" and block["receipts"][-1]["status"] == "ok"
    tx = block["txs"][-1]["tx"]
    assert get_suite("sm2-sm3").hash(codec.encode(tx)).hex() == block["receipts"][-1]["tx_id"]  # an SM3 id
    shot(sm_page, "sm-evidence")
