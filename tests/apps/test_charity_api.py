"""The charity demo as `consortia up --init` seeds it, served by a real node process: the public
pages without login and their proofs, the CLI, and bad input over REST (both crypto suites)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from consortia.client import Client
from consortia.crypto import get_suite
from consortia.crypto.merkle import MerkleProof, is_valid_proof
from consortia.errors import ConsortiaError, Forbidden
from consortia.node.demo_charity import AUTHORITY, CHARITY, INDIVIDUALS, seed_charity_demo
from consortia.node.home import DEMO_ORG_COUNT_FULL, init_consortium, load_genesis
from consortia.node.node import Node
from tests.conftest import RunningNode, launch

Demo = tuple[RunningNode, dict[str, Any]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("charity-demo") / "c"
    init_consortium(home, orgs=DEMO_ORG_COUNT_FULL, suite_name=suite_name)
    node = Node(load_genesis(home), home / "node")
    node.start()
    try:
        seeded = seed_charity_demo(node, home)
    finally:
        node.stop()
    running = launch(home)
    yield running, seeded
    running.stop()


def cli_run(node: RunningNode, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--dir", str(node.home), "--url", node.url])
    return result


def test_the_public_need_page_shows_every_donation_path_with_proofs_and_no_beneficiary_data(demo: Demo) -> None:
    node, seeded = demo
    with httpx.Client(base_url=node.url, timeout=60) as http:
        page = http.get(seeded["need_page"])  # no login
        data = http.get(seeded["need_page"], params={"format": "json"}).json()
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Heart surgery" in html and "¥50,000.00" in html and "✓ on chain" in html and "✗" not in html
    need = data["need"]
    assert (need["raised"], need["granted"], need["confirmed"]) == (4_688_888, 5_000_000, 5_000_000)
    assert len(data["donations"]) == 3 + len(INDIVIDUALS) + 1  # and the general-fund gift it drew on
    assert data["proofs"] and all(p["verified"] for p in data["proofs"].values())
    with Client.from_home(node.home, f"{AUTHORITY}/admin", node.url) as authority:
        pseudonym = authority.query("charity", "need_detail", {"need_id": need["id"]}, signed=True)["beneficiary"]
        suite = authority.suite
    for text in (html, json.dumps(data)):
        assert pseudonym not in text and "Wang Fang" not in text and "resident id" not in text
    # every proof checks offline against the header the node serves for that height
    for tx_id, proof in data["proofs"].items():
        header = httpx.get(f"{node.url}/blocks/{proof['height']}", timeout=30).json()["header"]
        assert header["tx_root"] == proof["tx_root"]
        assert is_valid_proof(suite.hash, bytes.fromhex(tx_id), MerkleProof.from_dict(proof["proof"]),
                              bytes.fromhex(header["tx_root"]), header["tx_count"])


def test_where_did_my_200_yuan_go(demo: Demo) -> None:
    node, seeded = demo
    with httpx.Client(base_url=node.url, timeout=60) as http:
        html = http.get(seeded["donation_page"]).text
        data = http.get(seeded["donation_page"], params={"format": "json"}).json()
        missing = http.get("/charity/donations/" + "0" * 32)
        missing_json = http.get("/charity/needs/" + "0" * 32, params={"format": "json"})
    assert "Where did my ¥200.00 go?" in html and "confirmed by the verifier" in html
    [use] = data["donation"]["uses"]
    assert use["amount"] == 20_000 and use["status"] == "confirmed" and data["donation"]["donor"] is None
    assert all(p["verified"] for p in data["proofs"].values()) and len(data["proofs"]) == 3  # recorded, granted, confirmed
    assert missing.status_code == 404 and "no donation" in missing.text
    assert missing_json.status_code == 404 and missing_json.json()["error"]["code"] == "NEED_NOT_FOUND"


def test_the_cli_shows_pages_discloses_donors_to_the_authority_and_maps_refusals(demo: Demo) -> None:
    node, seeded = demo
    surgery, jackets = seeded["needs"]
    shown = cli_run(node, "charity", "need", "show", surgery)
    assert shown.exit_code == 0 and "transactions proved against their blocks" in shown.output, shown.output
    donation_id = seeded["donation_page"].rsplit("/", 1)[1]
    disclosed = cli_run(node, "charity", "disclose", donation_id, "--as", f"{AUTHORITY}/admin")
    assert disclosed.exit_code == 0 and "Wang Fang" in disclosed.output and "matches" in disclosed.output
    refused = cli_run(node, "charity", "disclose", donation_id, "--as", f"{CHARITY}/admin")
    assert refused.exit_code == 5 and "NOT_CIVIL_AFFAIRS" in refused.output
    recorded = cli_run(node, "charity", "record", "88.88", "--donor", "Qian Hua", "--need", jackets,
                       "--channel", "alipay", "--as", f"{CHARITY}/admin", "--json")
    assert recorded.exit_code == 0, recorded.output
    assert json.loads(recorded.output)["donation"]["amount"] == 8_888
    over = cli_run(node, "charity", "grant", jackets, "1000000", "--as", f"{CHARITY}/admin")
    assert over.exit_code == 6 and "OVER_MATCHED" in over.output
    overview = cli_run(node, "charity", "overview", "--as", "sh-regulator/admin", "--json")
    assert overview.exit_code == 0 and len(json.loads(overview.output)["unmatched_donations"]) == 1
    listed = cli_run(node, "charity", "need", "list", "--status", "open")
    assert listed.exit_code == 0 and surgery in listed.output and jackets in listed.output


def test_bad_input_unauthorised_callers_and_replays_change_nothing(demo: Demo) -> None:
    node, seeded = demo
    surgery = seeded["needs"][0]
    with Client.from_home(node.home, "hongqiao-auto/admin", node.url) as donor:
        before = donor.query("charity", "need", {"need_id": surgery})
        for args, code in [({"charity": CHARITY, "amount": "lots", "need": surgery}, "BAD_ARGS"),
                           ({"charity": CHARITY, "need": surgery}, "BAD_ARGS"),
                           ({"charity": CHARITY, "amount": 1.5, "need": surgery}, None),
                           ({"charity": CHARITY, "amount": 100, "need": surgery, "extra": 1}, "BAD_ARGS")]:
            with pytest.raises(ConsortiaError) as refused:
                donor.call("charity", "donate", args)
            assert code is None or refused.value.code == code
        with pytest.raises(ConsortiaError) as wrong_seat:
            donor.call("charity", "verify_need", {"need_id": surgery, "approve": True})
        assert wrong_seat.value.code == "NOT_CIVIL_AFFAIRS"
        tx = donor.build("charity", "pledge", {"charity": CHARITY, "amount": 100, "need": surgery})
        first, = donor.submit(tx)
        assert first["receipt"]["status"] == "ok"
        with pytest.raises(ConsortiaError) as replay:
            donor.submit(tx)
        assert replay.value.code == "TX_DUPLICATE"
        after = donor.query("charity", "need", {"need_id": surgery})
    assert after["pledged"] == before["pledged"] + 100 and after["raised"] == before["raised"]
    with Client([node.url]) as anonymous, pytest.raises(Forbidden) as unsigned:
        anonymous.query("charity", "overview", {})
    assert unsigned.value.code == "UNAUTHENTICATED"
    assert get_suite(node.genesis["suite"]).name == node.genesis["suite"]


def test_a_need_from_publication_to_confirmed_goods_through_the_cli_and_the_sdk(demo: Demo, tmp_path: Any) -> None:
    from consortia.apps.charity import sdk
    from consortia.apps.charity.donor import compute_pseudonym
    from consortia.node.home import load_sealing_key

    node, _ = demo
    report = tmp_path / "assessment.pdf"
    report.write_bytes(b"%PDF school heating assessment")

    def ok(*args: str) -> Any:
        result = cli_run(node, *args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    need = ok("charity", "need", "publish", "--title", "Stoves for Yixian school", "--purpose", "Two coal-free stoves",
              "--beneficiary-id", "Yixian school 3", "--verifier", AUTHORITY, "--target", "8000.50",
              "--item", "electric stove:2:set", "--evidence", str(report), "--as", f"{CHARITY}/admin")
    assert need["target_fen"] == 800_050 and need["items"] == [{"name": "electric stove", "quantity": 2, "unit": "set"}]
    assert need["evidence"][0]["label"] == "assessment.pdf" and len(need["evidence"][0]["digest"]) == 64
    with Client.from_home(node.home, f"{AUTHORITY}/clerk", node.url) as clerk:
        pseudonym = compute_pseudonym(clerk.suite, need["salt"], "Yixian school 3")  # the verifier recomputes it
    assert pseudonym == need["beneficiary"]
    ok("charity", "need", "attest", need["id"], "--beneficiary", pseudonym, "--as", f"{AUTHORITY}/clerk")
    ok("charity", "need", "verify", need["id"], "--approve", "--as", f"{AUTHORITY}/admin")
    slip = tmp_path / "slip.pdf"
    slip.write_bytes(b"transfer slip")
    pledge = ok("charity", "pledge", CHARITY, "5000", "--need", need["id"], "--as", "pudong-bank/admin")
    gift = ok("charity", "donate", CHARITY, "5000", "--need", need["id"], "--slip", str(slip), "--pledge", pledge["id"],
              "--as", "pudong-bank/admin")
    ok("charity", "match", gift["id"], "--as", f"{CHARITY}/admin")
    with Client.from_home(node.home, f"{CHARITY}/admin", node.url) as charity:
        anonymous = sdk.record_anonymous_donation(charity, "Wu Gang, resident id 1301...", 300_050, need=need["id"])
    grant = ok("charity", "grant", need["id"], "8000", "--goods", "--item", "electric stove:2:set", "--vendor",
               "huaxin-mart", "--waybill", "YD8800000001", "--as", f"{CHARITY}/admin")
    assert [s["donation"] for s in grant["sources"]] == [gift["id"], anonymous["donation"]["id"]]
    photo = tmp_path / "stoves.jpg"
    photo.write_bytes(b"two stoves installed")
    done = ok("charity", "confirm", grant["id"], "--evidence", str(photo), "--evidence",
              "signed note=sha-256:" + "ab" * 32, "--as", f"{AUTHORITY}/clerk")
    assert [e["label"] for e in done["confirmation"]["evidence"]] == ["stoves.jpg", "signed note"]
    shown = cli_run(node, "charity", "donation", anonymous["donation"]["id"])
    assert shown.exit_code == 0 and "confirmed" in shown.output and "3/3 transactions proved" in shown.output
    with Client.from_home(node.home, f"{AUTHORITY}/admin", node.url) as authority:
        key = load_sealing_key(node.home, authority.suite, AUTHORITY)
        assert key is not None
        opened = sdk.disclose_donor(authority, key, anonymous["donation"]["id"])
        path = sdk.donation_path(authority, anonymous["donation"]["id"])
        page = sdk.need_page(authority, need["id"])
    assert opened["donor"] == "Wu Gang, resident id 1301..." and opened["verified"]
    assert path["donation"]["uses"][0]["status"] == "confirmed"
    assert page["need"]["confirmed"] == 800_000 and all(p["verified"] for p in page["proofs"].values())
    bad = cli_run(node, "charity", "grant", need["id"], "1", "--goods", "--item", "stove", "--as", f"{CHARITY}/admin")
    assert bad.exit_code == 3 and "BAD_ITEMS" in bad.output
    left = ok("charity", "grant", need["id"], "0.50", "--as", f"{CHARITY}/admin")
    ok("charity", "exception", left["id"], "--reason", "returned", "--note", "account closed", "--returned",
       "--as", f"{CHARITY}/admin")
    ok("charity", "need", "close", need["id"], "--as", f"{CHARITY}/admin")
