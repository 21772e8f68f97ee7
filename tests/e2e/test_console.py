"""The console in a real headless Chromium: explorer, proofs, supply chain finance, governance,
the regulator's dashboard and traceability, all through the node's REST API."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from consortia.node.home import DEMO_ORG_COUNT_FULL
from tests.e2e.conftest import console_page, shot


def open_console(page: Any, hash_: str = "", identity: str = "") -> None:
    page.goto("/console" + (f"#{hash_}" if hash_ else ""))
    page.wait_for_selector("body[data-ready='1']")
    if identity:
        page.select_option("#identity", identity)
        page.wait_for_selector(f".toast:has-text('Signed in as {identity}')")


def toast(page: Any, text: str) -> str:
    return str(page.locator(".toast", has_text=text).first.inner_text())


def submit_event(page: Any, fields: dict[str, str], *, open_panel: bool = True) -> None:
    """Fill the single-event form (``bizStep`` and ``disposition`` are selects) and submit it."""
    if open_panel:
        page.locator("#event-panel summary").click()
    form = page.locator("#event-form")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if name in ("bizStep", "disposition"):
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()


def test_console_is_served_from_the_package_with_no_external_assets(console_url: str) -> None:
    html = httpx.get(f"{console_url}/console").text
    assert "/console/static/app.js" in html and "http" not in html.split("<body>")[0].replace("http-equiv", "")
    for name in ("app.js", "lib.js", "explorer.js", "scf.js", "gov.js", "regulator.js", "trace.js", "evidence.js",
                 "wallet.js", "app.css"):
        r = httpx.get(f"{console_url}/console/static/{name}")
        assert r.status_code == 200, name
        assert "https://" not in r.text.replace("https://id.gs1.org", "").replace("https://ref.gs1.org", ""), name
        assert "cdn" not in r.text.lower(), name
    vendored = httpx.get(f"{console_url}/console/static/sm-crypto.vendor.js")  # SM2/SM3 for key files on the SM suite
    assert vendored.status_code == 200 and "javascript" in vendored.headers["content-type"]
    assert "fetch(" not in vendored.text and not [line for line in vendored.text.splitlines()
                                                  if line.startswith("import ") or "require(" in line]
    assert httpx.get(f"{console_url}/console/static/../api/console.py").status_code == 404
    assert "/console" not in str(httpx.get(f"{console_url}/openapi.json").json()["paths"])


def test_overview_shows_the_chain_and_live_blocks(page: Any) -> None:
    open_console(page)
    page.wait_for_selector("[data-stat=height] .value")
    assert int(page.inner_text("[data-stat=height] .value")) > 50
    assert page.inner_text("[data-stat=orgs] .value") == str(DEMO_ORG_COUNT_FULL)
    assert "ok" in page.inner_text("[data-stat=health]")
    assert page.locator("#live-blocks tbody tr").count() == 20
    page.wait_for_selector(".live.on")
    shot(page, "explorer-overview")


def test_block_page_and_proof_verified_in_the_browser(page: Any) -> None:
    open_console(page, "/block/3")
    page.wait_for_selector("h1:has-text('Block 3')")
    page.locator("table a.mono").first.click()
    page.wait_for_selector("#verify-proof")
    page.click("#verify-proof")
    page.wait_for_selector(".verified:has-text('Proof verified in your browser')")
    assert page.locator("ul.checks li.pass").count() == 5
    shot(page, "transaction-proof")


def test_search_by_height_and_tx_id(page: Any, console_url: str) -> None:
    open_console(page)
    page.fill("#search-q", "2")
    page.press("#search-q", "Enter")
    page.wait_for_selector("h1:has-text('Block 2')")
    tx_id = httpx.get(f"{console_url}/blocks/5").json()["receipts"][0]["tx_id"]
    page.fill("#search-q", tx_id)
    page.press("#search-q", "Enter")
    page.wait_for_selector("#verify-proof")
    page.fill("#search-q", "no-such-thing")
    page.press("#search-q", "Enter")
    page.wait_for_selector(".empty:has-text('Nothing found')")


def test_supplier_accepts_the_offered_voucher_and_sees_its_lineage(page: Any) -> None:
    open_console(page, "/scf", identity="jinglian-parts/admin")
    page.wait_for_selector("#holdings-total")
    accept = page.locator("[data-accept]").first
    voucher = accept.get_attribute("data-accept")
    shot(page, "scf-portfolio")
    accept.click()
    assert "done in block" in toast(page, "Accept voucher")
    page.wait_for_selector("#inbox .empty:has-text('No voucher waits')")
    page.goto(f"/console#/voucher/{voucher}")
    page.wait_for_selector(f"#lineage-tree [data-piece='{voucher}'] .badge:has-text('active')")
    open_console(page, "/scf")
    page.locator("#holdings tr", has=page.locator(".badge:has-text('pledged')")).locator("a.mono").click()
    page.wait_for_selector("#lineage-tree ul li")  # the demo voucher, split down three supplier tiers
    assert page.locator("#lineage-tree .piece").count() >= 4
    assert "conserved" in page.inner_text("dl.fields")
    shot(page, "voucher-lineage")


def test_split_transfer_refused_in_words_then_accepted_down_the_tiers(page: Any, console_url: str) -> None:
    open_console(page, "/scf", identity="jinglian-parts/admin")
    page.wait_for_selector("#holdings-total")
    row = page.locator("#holdings tr", has=page.locator(".badge:has-text('active')")).first
    row.locator("button:has-text('Split-transfer')").click()
    panel = page.locator("#split-panel")
    panel.locator("[name=to]").fill("hengtai-castings")
    panel.locator("[name=amount]").fill("99999999")
    panel.locator("button[type=submit]").click()
    assert "more than this piece holds" in toast(page, "Split-transfer refused")
    panel.locator("[name=amount]").fill("1000.50")
    panel.locator("button[type=submit]").click()
    assert "done in block" in toast(page, "Split-transfer: done")

    open_console(page, "/scf", identity="hengtai-castings/admin")
    answer = page.locator("[data-answer]").first
    answer.click()
    assert "done in block" in toast(page, "Accept transfer")
    page.wait_for_selector("#holdings td:has-text('¥1,000.50')")


def test_admin_votes_an_open_proposal(page: Any) -> None:
    open_console(page, "/gov", identity="hongqiao-auto/admin")
    page.wait_for_selector("[data-vote]")
    shot(page, "governance")
    page.locator("[data-vote]").first.click()
    assert "done in block" in toast(page, "Vote yes")
    page.wait_for_selector("#proposals td:has-text('2 yes')")
    page.locator("[data-vote]").first.click()
    assert "already voted" in toast(page, "Vote yes refused")
    page.locator("summary:has-text('Propose')").click()
    page.select_option("#propose [name=action]", "freeze_identity")
    page.fill("#propose [name=params]", '{"id": "ruifeng-fasteners/clerk"}')
    page.fill("#propose [name=reason]", "lost laptop")
    page.click("#propose button[type=submit]")
    assert "done in block" in toast(page, "Propose")
    page.wait_for_selector("#proposals td:has-text('lost laptop')")


def test_regulator_dashboard_draws_charts(page: Any) -> None:
    open_console(page, "/regulator", identity="sh-regulator/admin")
    page.wait_for_selector("#volumes svg.chart rect")
    page.wait_for_selector("#exposure svg.chart rect")
    assert "hongqiao-auto" in page.inner_text("#exposure")
    page.wait_for_selector("#trace-alerts td:has-text('LH260318A')")
    shot(page, "regulator")


def test_a_non_regulator_is_told_why_the_overview_is_hidden(page: Any) -> None:
    open_console(page, "/regulator", identity="jinglian-parts/clerk")
    page.wait_for_selector("#exposure .notice:has-text('is not a regulator')")


def test_traceability_journey_timeline(page: Any) -> None:
    open_console(page, "/trace")
    page.click("#journey-form button[type=submit]")
    page.wait_for_selector("#journey li")
    assert page.locator("#journey li").count() > 3
    page.wait_for_selector("#temperature-chart polyline")
    shot(page, "traceability")


def test_recall_report_and_search_by_digital_link(page: Any) -> None:
    open_console(page, "/trace", identity="sh-regulator/admin")
    page.locator("[data-recall='LH260318A']").click()
    page.wait_for_selector("#recall-report h3:has-text('affected package')")
    assert page.locator("#recall-report tbody tr").count() > 0
    page.fill("#search-q", "https://id.gs1.org/01/06925678000012/10/LH260318A/21/20001")
    page.press("#search-q", "Enter")
    page.wait_for_selector("#journey-box .error:has-text('Recalled')")


def test_phone_width_has_no_horizontal_scroll(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_console(page)
    page.wait_for_selector("#live-blocks tbody tr")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 391, width
    shot(page, "explorer-phone")
    open_console(page, "/scf", identity="jinglian-parts/admin")
    page.wait_for_selector("#holdings-total")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    shot(page, "scf-phone")


def test_financing_lifecycle_apply_approve_disburse(page: Any) -> None:
    open_console(page, "/scf", identity="hengtai-castings/admin")
    page.wait_for_selector("#holdings-total")
    piece = page.locator("#holdings tr", has=page.locator(".badge:has-text('active')")).first
    voucher = piece.locator("a.mono").get_attribute("title")
    panel = page.locator("#apply-panel")
    panel.locator("summary").click()
    panel.locator("[name=voucher_id]").fill(str(voucher))
    panel.locator("[name=funder]").fill("pudong-bank")
    panel.locator("[name=kind]").select_option("factoring")
    panel.locator("button[type=submit]").click()
    assert "done in block" in toast(page, "Apply for financing")

    open_console(page, "/scf", identity="pudong-bank/admin")
    page.locator("#book button:has-text('Approve…')").first.click()
    page.locator("#approve-panel button[type=submit]").click()
    assert "done in block" in toast(page, "Approve financing")
    page.locator("#book button:has-text('Disburse')").first.click()
    assert "done in block" in toast(page, "Disburse")
    page.wait_for_selector("#book .badge:has-text('disbursed')")


def test_evidence_file_hashed_in_the_browser_deposited_and_certified(page: Any, console_url: str) -> None:
    if "evidence" not in httpx.get(f"{console_url}/chain").json()["contracts"]:
        pytest.skip("this node has no evidence contract")
    content = b"purchase contract HQ-PO-2026-0042, signed scan\n" * 100
    digest = hashlib.sha256(content).hexdigest()
    open_console(page, "/evidence", identity="jinglian-parts/admin")
    page.set_input_files("#evidence-file", files=[{"name": "contract.pdf", "mimeType": "application/pdf", "buffer": content}])
    page.wait_for_selector(f"#file-digest code:has-text('{digest}')")
    page.wait_for_selector("#evidence-status .notice:has-text('not on the chain')")
    page.click("#deposit")
    assert "done in block" in toast(page, "Deposit")
    page.wait_for_selector("#evidence-status .verified:has-text('jinglian-parts')")
    with page.expect_download() as download:
        page.click("#download-certificate")
    assert download.value.suggested_filename.startswith("certificate-")
    page.wait_for_selector("#my-deposits td:has-text('contract.pdf')")
    shot(page, "evidence")
    page.fill("#search-q", digest)
    page.press("#search-q", "Enter")
    page.wait_for_url(f"**/console#/evidence/{digest}")
    page.wait_for_selector("#evidence-status .verified:has-text('jinglian-parts')")


def epcis_document(events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                       "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T00:00:00Z",
                       "epcisBody": {"eventList": events}}).encode()


def test_capture_an_epcis_document_with_progress_then_trace_it(page: Any) -> None:
    package = "https://id.gs1.org/01/06925678000012/10/E2ELOT/21/0001"
    observed = {"type": "ObjectEvent", "eventTime": "2026-03-20T08:00:00.000+08:00", "eventTimeZoneOffset": "+08:00",
                "epcList": [package], "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit"}
    open_console(page, "/trace", identity="lianhe-foods/clerk")
    page.set_input_files("#capture-file", files=[{"name": "bad.jsonld", "mimeType": "application/ld+json",
                                                  "buffer": epcis_document([{**observed, "action": "SIDEWAYS"}])}])
    page.click("#capture")
    page.wait_for_selector("#capture-result .error:has-text('action')")
    page.set_input_files("#capture-file", files=[{"name": "shipping.jsonld", "mimeType": "application/ld+json",
                                                  "buffer": epcis_document([observed])}])
    page.click("#capture")
    page.wait_for_selector("#capture-result .verified:has-text('Captured 1 of 1 events')")
    assert page.get_attribute("#capture-progress", "value") == "1"
    page.fill("#journey-form [name=lot]", "E2ELOT")
    page.fill("#journey-form [name=serial]", "0001")
    page.click("#journey-form button[type=submit]")
    page.wait_for_selector("#journey li:has-text('Shipped · 发货')")  # CBV codes as words


def test_record_one_event_and_see_the_journey_as_a_flow_of_locations(page: Any) -> None:
    open_console(page, "/trace", identity="lianhe-foods/clerk")
    submit_event(page, {"gtin": "06925678000013"})
    page.wait_for_selector("#event-result .error:has-text('check digit')")
    submit_event(page, {"gtin": "06925678000012", "lot": "LH260316A", "serials": "00001", "bizStep": "receiving",
                        "disposition": "in_progress", "gln": "6925678000029", "time": "2027-12-01T09:30",
                        "temperature": "3.0"}, open_panel=False)
    shot(page, "trace-event-form")
    page.wait_for_selector("#event-result .verified:has-text('Captured 1 of 1 events')")
    page.fill("#journey-form [name=lot]", "LH260316A")
    page.fill("#journey-form [name=serial]", "00001")
    page.click("#journey-form button[type=submit]")
    page.wait_for_selector("#journey li:has-text('Received · 收货')")
    stops = page.locator("#journey-flow li.stop")
    assert stops.count() >= 4  # farm, plant, cold store, truck, store... and back to the cold store
    assert page.locator("#journey-flow li.arrow").count() == stops.count() - 1
    assert "cold store" in stops.last.inner_text() and "Received" in stops.last.inner_text()
    first, second = (page.locator("#journey-flow").bounding_box(), page.locator("#journey").bounding_box())
    assert first["x"] + first["width"] <= second["x"] + 1  # the flow beside the timeline on a laptop
    shot(page, "trace-journey-flow")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    shot(page, "trace-phone")


def test_regulator_sees_a_new_alert_live(browser: Any, console_url: str, page: Any) -> None:
    open_console(page, "/regulator", identity="sh-regulator/admin")
    page.wait_for_selector("#alerts-live.on")
    page.wait_for_selector("#alerts-feed li[data-rule='recall']")  # the demo's recall, from the backlog
    before = page.locator("#alerts-feed li").count()
    newest = int(page.locator("#alerts-feed li").first.get_attribute("data-seq"))
    with console_page(browser, console_url) as other:  # a carrier records a warm reading meanwhile
        open_console(other, "/trace", identity="lianhe-foods/clerk")
        submit_event(other, {"gtin": "06925678000012", "lot": "WARMLOT", "serials": "0007", "bizStep": "transporting",
                             "disposition": "in_transit", "gln": "6925678000029", "temperature": "9.5"})
        other.wait_for_selector("#event-result .verified")
    top = page.locator("#alerts-feed li").first
    page.wait_for_function(f"Number(document.querySelector('#alerts-feed li').dataset.seq) > {newest}")
    assert top.get_attribute("data-rule") == "sensor_breach"
    assert "Cold-chain reading out of range" in top.inner_text() and "9.5" in top.inner_text()
    assert page.locator("#alerts-feed li").count() == before + 1
    shot(page, "regulator-live-alerts")


def test_a_non_regulator_gets_no_alert_feed(page: Any) -> None:
    open_console(page, "/regulator", identity="jinglian-parts/clerk")
    page.wait_for_selector("text=is not a regulator: sign in as sh-regulator/admin to see the live alerts")


def test_verify_a_file_against_its_certificate_in_the_browser(page: Any, console_url: str) -> None:
    if "evidence" not in httpx.get(f"{console_url}/chain").json()["contracts"]:
        pytest.skip("this node has no evidence contract")
    content = b"design draft D-77, revision 3\n" * 50
    open_console(page, "/evidence", identity="hongqiao-auto/admin")
    page.set_input_files("#evidence-file", files=[{"name": "draft.txt", "mimeType": "text/plain", "buffer": content}])
    page.wait_for_selector("#evidence-status .notice:has-text('not on the chain')")
    page.click("#deposit")
    assert "done in block" in toast(page, "Deposit")
    with page.expect_download() as download:
        page.click("#download-certificate")
    certificate = Path(download.value.path()).read_bytes()

    def verify(file: bytes, cert: bytes, quorum: str = "1") -> str:  # one node signs on this single-node demo
        page.fill("#verify-quorum", quorum)
        page.set_input_files("#verify-file", files=[{"name": "draft.txt", "mimeType": "text/plain", "buffer": file}])
        page.set_input_files("#verify-certificate", files=[{"name": "certificate.json", "mimeType": "application/json",
                                                            "buffer": cert}])
        page.click("#verify")
        page.wait_for_selector("#verify-result ul.checks")
        return str(page.inner_text("#verify-result"))

    good = verify(content, certificate)
    assert good.startswith("Verified: draft.txt is the deposited file") and "✗" not in good
    assert page.locator("#verify-result li.pass").count() >= 4
    shot(page, "evidence-verify")
    tampered = verify(content.replace(b"revision 3", b"revision 4"), certificate)
    assert tampered.startswith("NOT verified") and "digest" in tampered and "FILE_MISMATCH" in tampered
    assert page.locator("#verify-result li.fail").count() == 1
    edited = json.loads(certificate)
    edited["credentialSubject"]["deposit"]["title"] = "someone else's draft"
    forged = verify(content, json.dumps(edited).encode())
    assert forged.startswith("NOT verified: the chain's proof") and "SUBJECT_MISMATCH" in forged
    assert "BAD_JSON" in verify(content, b"{not json")
    assert "NOT_ENOUGH_SIGNATURES" in verify(content, certificate, quorum="")  # a majority of the demo organisations
    shot(page, "evidence-verify-tampered")
