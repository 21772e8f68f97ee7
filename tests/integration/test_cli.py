"""The ``consortia`` command: every command documented, exits and output checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from consortia.cli.main import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def all_commands(group: click.Group = cli, prefix: str = "consortia") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        out.append((path, command))
        if isinstance(command, click.Group):
            out.extend(all_commands(command, path))
    return out


def leaf_commands() -> list[tuple[str, click.Command]]:
    return [(p, c) for p, c in all_commands() if not isinstance(c, click.Group)]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("path, command", leaf_commands(), ids=[p for p, _ in leaf_commands()])
def test_every_command_is_in_the_readme_and_its_help_ends_with_an_example(runner: CliRunner, path: str,
                                                                         command: click.Command) -> None:
    assert f"`{path}" in README.read_text(), f"{path} is missing from README.md"
    result = runner.invoke(cli, [*path.split()[1:], "--help"])
    assert result.exit_code == 0, result.output
    tail = result.output.rstrip().splitlines()
    example_at = max(i for i, line in enumerate(tail) if line.strip() == "Example:")
    assert all(line.strip().startswith("consortia") for line in tail[example_at + 1:]), result.output


def test_init_keys_and_errors(runner: CliRunner, tmp_path: Path, suite_name: str) -> None:
    home = str(tmp_path / "c")
    crypto = {"ed25519-sha256": "ed25519", "sm2-sm3": "sm"}[suite_name]
    result = runner.invoke(cli, ["init", "--dir", home, "--orgs", "5", "--crypto", crypto, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert len(summary["organisations"]) == 5 and "sh-regulator/inspector" in summary["identities"]
    assert summary["suite"] == suite_name
    again = runner.invoke(cli, ["init", "--dir", home])
    assert again.exit_code == 6 and "ALREADY_INITIALISED" in again.output
    created = runner.invoke(cli, ["keys", "create", "jinglian-parts", "alice", "--role", "client", "--dir", home])
    assert created.exit_code == 0, created.output
    listed = json.loads(runner.invoke(cli, ["keys", "list", "--dir", home, "--json"]).output)
    alice = next(row for row in listed if row["id"] == "jinglian-parts/alice")
    assert alice["roles"] == ["client"] and len(alice["fingerprint"]) == 64
    dup = runner.invoke(cli, ["keys", "create", "jinglian-parts", "alice", "--dir", home])
    assert dup.exit_code == 6 and "IDENTITY_EXISTS" in dup.output
    bad = runner.invoke(cli, ["keys", "create", "jinglian-parts", "Bad Name", "--dir", home])
    assert bad.exit_code == 3 and "BAD_MEMBER_NAME" in bad.output
    missing = runner.invoke(cli, ["keys", "list", "--dir", str(tmp_path / "none")])
    assert missing.exit_code == 4 and "NOT_INITIALISED" in missing.output


def test_init_crypto_sm_makes_sm2_certificates(runner: CliRunner, tmp_path: Path) -> None:
    from consortia.identity.x509 import load_pem

    home = tmp_path / "sm"
    result = runner.invoke(cli, ["init", "--dir", str(home), "--crypto", "sm", "--orgs", "2"])
    assert result.exit_code == 0 and "(sm2-sm3)" in result.output, result.output
    genesis = json.loads((home / "genesis.json").read_text())
    assert genesis["suite"] == "sm2-sm3"
    for pem in [o["ca_cert"] for o in genesis["orgs"]] + [(home / "orgs" / "jinglian-parts" / "members" / "clerk" /
                                                           "cert.pem").read_text()]:
        assert load_pem(pem).signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
    bad = runner.invoke(cli, ["init", "--dir", str(tmp_path / "x"), "--crypto", "rsa"])
    assert bad.exit_code == 2 and "rsa" in bad.output


def test_submit_show_block_status_and_query(runner: CliRunner, live_node) -> None:  # type: ignore[no-untyped-def]
    common = ["--dir", str(live_node.home), "--url", live_node.url]
    sent = runner.invoke(cli, ["tx", "submit", "kv", "put", '{"key": "cli/a", "value": 7}', *common,
                               "--as", "pudong-bank/clerk", "--json"])
    assert sent.exit_code == 0, sent.output
    view = json.loads(sent.output)
    assert view["receipt"]["status"] == "ok"
    shown = runner.invoke(cli, ["tx", "show", view["tx_id"], *common])
    assert shown.exit_code == 0 and "proof     verified" in shown.output and "kv.put" in shown.output
    block = runner.invoke(cli, ["block", "show", str(view["height"]), *common, "--json"])
    assert json.loads(block.output)["header"]["height"] == view["height"]
    assert "block " in runner.invoke(cli, ["block", "show", "latest", *common]).output
    status = runner.invoke(cli, ["status", *common])
    assert status.exit_code == 0 and "hongqiao-auto" in status.output
    queried = runner.invoke(cli, ["query", "kv", "get", '{"key": "cli/a"}', *common])
    assert json.loads(queried.output) == 7
    signed = runner.invoke(cli, ["query", "kv", "get", '{"key": "cli/a"}', *common, "--signed"])
    assert signed.exit_code == 0 and json.loads(signed.output) == 7


def test_cli_errors_print_code_and_exit_non_zero(runner: CliRunner, live_node) -> None:  # type: ignore[no-untyped-def]
    common = ["--dir", str(live_node.home), "--url", live_node.url]
    reverted = runner.invoke(cli, ["tx", "submit", "kv", "delete", '{"key": "cli/none"}', *common])
    assert reverted.exit_code == 6 and "NO_SUCH_KEY" in reverted.output
    bad_json = runner.invoke(cli, ["tx", "submit", "kv", "put", "{nope", *common])
    assert bad_json.exit_code == 3 and "error BAD_ARGS" in bad_json.output
    floats = runner.invoke(cli, ["tx", "submit", "kv", "put", '{"key": "x", "value": 1.5}', *common])
    assert floats.exit_code == 3 and "floats are not allowed" in floats.output
    unknown = runner.invoke(cli, ["tx", "show", "ab" * 32, *common])
    assert unknown.exit_code == 4 and "TX_NOT_FOUND" in unknown.output
    down = runner.invoke(cli, ["status", "--url", "http://127.0.0.1:1", "--dir", str(live_node.home)])
    assert down.exit_code == 7 and "NODE_UNREACHABLE" in down.output
    nobody = runner.invoke(cli, ["tx", "submit", "kv", "put", '{"key": "x", "value": 1}', *common, "--as", "nobody/x"])
    assert nobody.exit_code == 4 and "IDENTITY_NOT_FOUND" in nobody.output


def test_governance_from_the_command_line(runner: CliRunner, live_node) -> None:  # type: ignore[no-untyped-def]
    common = ["--dir", str(live_node.home), "--url", live_node.url]
    opened = runner.invoke(cli, ["gov", "propose", "set_config", '{"key": "block_timeout_ms", "value": 25}',
                                 "--reason", "faster blocks", *common, "--as", "hongqiao-auto/admin", "--json"])
    assert opened.exit_code == 0, opened.output
    proposal = json.loads(opened.output)
    assert proposal["status"] == "open" and proposal["votes"] == {"hongqiao-auto": True}
    listed = runner.invoke(cli, ["gov", "list", "--status", "open", *common])
    assert proposal["id"] in listed.output
    twice = runner.invoke(cli, ["gov", "vote", proposal["id"], "--yes", *common, "--as", "hongqiao-auto/admin"])
    assert twice.exit_code == 6 and "ALREADY_VOTED" in twice.output
    runner.invoke(cli, ["gov", "vote", proposal["id"][:8], "--yes", *common, "--as", "pudong-bank/admin"])  # a prefix
    passed = runner.invoke(cli, ["gov", "vote", proposal["id"], "--yes", *common, "--as", "sh-regulator/admin", "--json"])
    assert json.loads(passed.output)["status"] == "passed"
    config = json.loads(runner.invoke(cli, ["query", "gov", "config", *common]).output)
    assert config["block_timeout_ms"] == 25
    late = runner.invoke(cli, ["gov", "vote", proposal["id"], "--no", *common, "--as", "jinglian-parts/admin"])
    assert late.exit_code == 6 and "PROPOSAL_CLOSED" in late.output


def test_node_verify_replays_the_block_store(runner: CliRunner, tmp_path: Path, suite_name: str) -> None:
    from consortia.client.txbuild import build_tx
    from consortia.crypto import get_suite
    from consortia.identity.wallet import load_wallet
    from consortia.node import Node
    from consortia.node.home import init_consortium

    home = tmp_path / "c"
    genesis = init_consortium(home, suite_name=suite_name)
    node = Node(genesis, home / "node")
    node.start()
    suite = get_suite(genesis["suite"])
    wallet = load_wallet(home, suite, "jinglian-parts/admin")
    for _, future in node.submit([build_tx(suite, wallet, genesis["chain_id"], "kv", "put",
                                           {"key": f"k{i}", "value": i}).to_wire() for i in range(30)]):
        future.result(10)
    node.stop()
    result = runner.invoke(cli, ["node", "verify", "--dir", str(home), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["ok"] and report["state_rows"] >= 30
    assert re.search(r'"state_matches": true', result.output)


def test_up_init_creates_and_seeds_the_demo_then_resumes(tmp_path: Path, suite_name: str) -> None:
    """The whole demo consortium runs on each suite, the national one included (`make demo CRYPTO=sm`)."""
    from consortia.cli.bench import free_port, start_node
    from consortia.node.home import DEMO_ORG_COUNT_FULL

    home = tmp_path / "demo"
    port = free_port()
    import subprocess
    import sys

    import httpx
    first = subprocess.run([sys.executable, "-m", "consortia.cli.main", "up", "--init", "--dir", str(home),
                            "--crypto", "sm" if suite_name == "sm2-sm3" else "ed25519",
                            "--port", "1", "--host", "256.0.0.1"], capture_output=True, text=True, timeout=120)
    recorded = re.search(r"Recorded (\d+) demo transactions", first.stdout)
    assert recorded and "traceability events" in first.stdout, first.stdout + first.stderr
    process = start_node(home, port)  # resumes from disk
    try:
        chain = httpx.get(f"http://127.0.0.1:{port}/chain").json()
        assert len(chain["organisations"]) == DEMO_ORG_COUNT_FULL
        counted, before = 0, None
        while True:  # every demo transaction is on the chain, several organisations' sharing a block
            page = httpx.get(f"http://127.0.0.1:{port}/blocks", params={"limit": 100, **(
                {"before": before} if before is not None else {})}).json()["blocks"]
            if not page:
                break
            counted += sum(b["tx_count"] for b in page)
            before = page[-1]["height"]
        assert counted == int(recorded.group(1)) and chain["height"] < counted
        assert chain["suite"] == suite_name
        proposals = httpx.post(f"http://127.0.0.1:{port}/query/gov/proposals", json={}).json()["result"]
        assert sorted(p["status"] for p in proposals) == ["open", "passed", "passed"]  # config, contract
        from consortia.node.demo import DEMO_WORK, INFRINGING_PAGE

        work = httpx.post(f"http://127.0.0.1:{port}/query/evidence/work_by_digest",
                          json={"algorithm": DEMO_WORK["algorithm"], "digest": DEMO_WORK["digest"]}).json()["result"]
        assert work["owner"] == "hongqiao-auto" and work["licences"][0]["licensee"] == "hengtai-castings"
        steps = httpx.post(f"http://127.0.0.1:{port}/query/evidence/history", json={"work_id": work["id"]}).json()
        assert [h["action"] for h in steps["result"]["history"]] == ["registered", "licensed", "transferred",
                                                                     "infringement"]
        assert steps["result"]["history"][-1]["url"] == INFRINGING_PAGE
        contracts = {c["name"]: c for c in httpx.get(f"http://127.0.0.1:{port}/contracts").json()["contracts"]}
        assert contracts["warehouse_receipt"]["origin"] == "member"  # the example, installed by vote
        held = httpx.post(f"http://127.0.0.1:{port}/query/warehouse_receipt/holdings",
                          json={"owner": "jinglian-parts"}).json()["result"]
        assert sorted((r["state"], r["pledgee"]) for r in held) == [("held", None), ("pledged", "pudong-bank")]
    finally:
        process.terminate()
        process.wait(30)


# -- what a newcomer pastes from one command into the next ---------------------------------

def test_ids_printed_by_one_command_are_accepted_by_the_next(runner: CliRunner, tmp_path: Path,
                                                             suite_name: str) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from consortia.node.home import DEMO_ORGS
    from tests.conftest import launch

    node = launch(tmp_path / "c", suite_name=suite_name, config={"block_timeout_ms": 20})
    common = ["--dir", str(node.home), "--url", node.url]

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(cli, [*args, *common])
        assert (result.exit_code == 0) is ok, result.output
        return result.output

    try:
        roles = {"core": "core", "supplier": "supplier", "funder": "funder", "regulator": "regulator"}
        for org in DEMO_ORGS[:4]:
            run("scf", "party", "register", "--role", roles[org["kind"]], "--uscc", org["uscc"], "--name", org["name"],
                "--as", f"{org['id']}/admin")
        granted = run("scf", "credit", "grant", "hongqiao-auto", "1000000", "--expires", "+300d", "--as", "pudong-bank/admin")
        line = re.search(r"credit line ([0-9a-f]{32})", granted).group(1)  # type: ignore[union-attr]
        run("scf", "doc", "register", "invoice", "JL-1", "--digest", "ab" * 32, "--amount", "500000",
            "--counterparty", "hongqiao-auto", "--as", "jinglian-parts/admin")
        issued = run("scf", "voucher", "issue", "jinglian-parts", "500000", "--due", "2027-04-02", "--line", line[:8],
                     "--doc", "jinglian-parts:invoice:JL-1", "--as", "hongqiao-auto/admin")
        voucher = re.search(r"voucher ([0-9a-f]{32})", issued).group(1)  # type: ignore[union-attr]
        # Verify: the inbox prints the whole id, and a 12-character prefix of it (the old short form) works
        assert voucher in run("scf", "inbox", "--as", "jinglian-parts/admin")
        assert "is now active" in run("scf", "voucher", "accept", voucher[:12], "--as", "jinglian-parts/admin")
        holdings = run("scf", "holdings", "jinglian-parts", "--as", "jinglian-parts/admin")
        assert voucher in holdings and "due 2027-04-02" in holdings
        assert voucher in run("scf", "voucher", "lineage", voucher[:12], "--as", "sh-regulator/admin")
        shown = run("scf", "voucher", "show", voucher[:6], "--as", "jinglian-parts/admin", "--json")
        due = json.loads(shown)["due_ms"]
        # Verify: the day printed is the day on the chain's clock (Asia/Shanghai), as the console shows it
        assert dt.datetime.fromtimestamp(due / 1000, ZoneInfo("Asia/Shanghai")).date().isoformat() == "2027-04-02"
        short = runner.invoke(cli, ["scf", "voucher", "show", voucher[:3], *common, "--as", "jinglian-parts/admin"])
        assert short.exit_code == 3 and "AMBIGUOUS_ID" in short.output
        proposed = run("scf", "voucher", "transfer", voucher[:10], "--to", "pudong-bank:1", "--as", "jinglian-parts/admin")
        transfer = re.search(r"transfer ([0-9a-f]{32}) proposed", proposed).group(1)  # type: ignore[union-attr]
        assert "cancelled" in run("scf", "transfer", "cancel", transfer[:8], "--as", "jinglian-parts/admin")
        overview = run("scf", "overview", "--as", "sh-regulator/admin")
        assert "{" not in overview and "parties" in overview

        # Verify: tx submit says the status once, and who signed when --as was left out
        sent = run("tx", "submit", "kv", "put", '{"key": "newcomer", "value": 1}')
        assert "signing as hongqiao-auto/admin" in sent and re.search(r"block \d+  ok\n", sent)
        assert "ok OK" not in sent
        tx_id = re.search(r"tx ([0-9a-f]{64})", sent).group(1)  # type: ignore[union-attr]
        assert f"tx {tx_id}" in run("tx", "show", tx_id[:12])
        block = json.loads(run("block", "show", "latest", "--json"))
        assert f"block {block['header']['height']}" in run("block", "show", block["hash"][:12])
        assert tx_id in run("block", "show", str(json.loads(run("tx", "show", tx_id, "--json"))["height"]))
        unknown = runner.invoke(cli, ["tx", "show", "abc", *common])
        assert unknown.exit_code == 3 and "BAD_TX_ID" in unknown.output
    finally:
        node.stop()


def test_recall_report_paths_paste_into_trace_journey() -> None:
    from consortia.cli.trace import package_path, split_link

    path = package_path("01/06925678000012/21/20001", "LH260318A")
    assert path == "01/06925678000012/10/LH260318A/21/20001"
    assert split_link(path, "", "") == ("06925678000012", "LH260318A", "20001")
    assert split_link("/" + path, "", "") == ("06925678000012", "LH260318A", "20001")
    assert split_link(f"https://id.gs1.org/{path}", "", "") == ("06925678000012", "LH260318A", "20001")
    assert split_link("06925678000012", "L1", "7") == ("06925678000012", "L1", "7")
    from consortia.errors import BadInput

    with pytest.raises(BadInput):
        split_link("00/106141412345678908", "", "")
