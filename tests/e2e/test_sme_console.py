"""An SME hosted by the demo platform signs in to the console with its key file and sees its own
holdings and account (not the platform's), on the node without a demo signer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import shot
from tests.e2e.test_keyfile import sign_in_with_key_file

SME = "yunlian-platform/hz-xinda-mould"  # paid 80,000.00 by the automaker, passed 12,000.00 on


def test_a_hosted_sme_signs_in_with_its_key_file_and_sees_its_holdings(keyfile_page: Any, keyfile_home: Path) -> None:
    page = keyfile_page
    sign_in_with_key_file(page, keyfile_home, SME)
    page.goto("/console#/scf")
    page.reload()
    page.wait_for_selector("#holdings-total")
    assert "68,000.00" in page.inner_text("#holdings-total")
    assert f"Acting for {SME}" in page.inner_text("main")
    shot(page, "sme-scf")
    page.goto("/console#/trade")
    page.wait_for_selector("#sme-identity")
    assert page.inner_text("#sme-identity") == SME
    assert "Hangzhou Xinda Mould Factory" in page.inner_text("#sme-account")
    assert "as a bank" not in page.inner_text("#declarations")
    shot(page, "sme-trade")
