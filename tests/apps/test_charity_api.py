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
