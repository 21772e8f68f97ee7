"""The evidence depository end to end: a real node process, driven through the CLI and HTTP;
certificates fetched from the node and verified offline, on both crypto suites."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from consortia.cli.main import cli
from consortia.node.home import DEMO_ORGS
from tests.conftest import RunningNode, launch

OWNER, WITNESS, NOTARY = (o["id"] for o in DEMO_ORGS[:3])


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    running = launch(tmp_path_factory.mktemp("evidence-api") / "c", orgs=3, suite_name=suite_name,
                     config={"block_timeout_ms": 10})
    yield running
    running.stop()


def run(node: RunningNode, who: str | None, *args: str, ok: bool = True) -> Any:
    extra = ["--dir", str(node.home), "--url", node.url, "--as", f"{who}/admin", "--json"] if who else []
    result = CliRunner().invoke(cli, [*args, *extra])
    assert (result.exit_code == 0) == ok, result.output
    return json.loads(result.output) if ok and who else result.output


def test_deposit_certificate_and_offline_verification(node: RunningNode, tmp_path: Path) -> None:
    files = []
    for i in range(3):
        files.append(tmp_path / f"scan-{i}.pdf")
        files[-1].write_bytes(f"%PDF scan {i}".encode())
    single = run(node, OWNER, "evidence", "deposit", str(files[0]), "--title", "Supply contract", "--meta", "case=17")
    assert single["status"] == "confirmed"
    batch = run(node, OWNER, "evidence", "deposit", str(files[1]), str(files[2]), "--kind", "image")
    assert batch["deposited"] == 2
    refused = run(node, WITNESS, "evidence", "deposit", str(files[0]), ok=False)
    assert "ALREADY_DEPOSITED" in refused
    shown = run(node, OWNER, "evidence", "show", str(files[0]))
    assert shown["title"] == "Supply contract" and shown["metadata"] == {"case": "17"}

    cert_path, html_path = tmp_path / "cert.json", tmp_path / "cert.html"
    run(node, OWNER, "evidence", "cert", str(files[0]), "-o", str(cert_path), "--html", str(html_path))
    credential = json.loads(cert_path.read_text())
    assert "VerifiableCredential" in credential["type"]
    assert "<svg" in html_path.read_text() and "Supply contract" in html_path.read_text()
    genesis = str(node.home / "genesis.json")
    # A solo node signs alone: one of three organisations. The default quorum (a majority) refuses
    # that, saying so; the verifier may accept a single node's signature explicitly.
    out = run(node, None, "verify", str(files[0]), str(cert_path), "--genesis", genesis, ok=False)
    assert "NOT_ENOUGH_SIGNATURES" in out and "1 of 3" in out
    out = run(node, None, "verify", str(files[0]), str(cert_path), "--genesis", genesis, "--quorum", "1")
    assert "VALID" in out and "Merkle" in out
    out = run(node, None, "verify", str(files[1]), str(cert_path), "--genesis", genesis, "--quorum", "1", ok=False)
    assert "FILE_MISMATCH" in out
    tampered = json.loads(cert_path.read_text())
    tampered["credentialSubject"]["deposit"]["owner"] = WITNESS
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    out = run(node, None, "verify", str(files[0]), str(bad), "--genesis", genesis, "--quorum", "1", ok=False)
    assert "SUBJECT_MISMATCH" in out and "owner" in out

    # The public page behind the QR code, and verification by the node.
    digest_ref = credential["credentialSubject"]["deposit"]["id"].replace(":", "/", 1)
    page = httpx.get(f"{node.url}/evidence/verify/{digest_ref}")
    assert page.status_code == 200 and "Registered and confirmed" in page.text and "Supply contract" not in page.text
    assert httpx.get(f"{node.url}/evidence/verify/{digest_ref}", params={"format": "json"}).json()["exists"]
    checked = httpx.post(f"{node.url}/evidence/verify", params={"quorum": 1}, content=cert_path.read_bytes()).json()
    assert checked["valid"] and checked["signed_by"] == [OWNER]
    refused_body = httpx.post(f"{node.url}/evidence/verify", content=bad.read_bytes())
    assert refused_body.status_code == 400 and refused_body.json()["error"]["code"] == "SUBJECT_MISMATCH"
    passed = refused_body.json()["error"]["details"]["passed"]  # what held before the failing check
    assert passed and not any("subject" in line.lower() for line in passed)
    # Certificates are signed reads for those who may see the record.
    assert httpx.get(f"{node.url}/evidence/certificates/{digest_ref}").status_code == 403


def test_cosigning_and_copyright_through_the_cli(node: RunningNode, tmp_path: Path) -> None:
    contract = tmp_path / "lease.pdf"
    contract.write_bytes(b"%PDF lease agreement")
    pending = run(node, OWNER, "evidence", "deposit", str(contract), "--cosigner", WITNESS, "--cosigner", NOTARY,
                  "--threshold", "2")
    assert pending["status"] == "pending"
    assert [p["id"] for p in run(node, WITNESS, "evidence", "pending")["pending"]] == pending["ids"]
    assert "NOT_CONFIRMED" in run(node, OWNER, "evidence", "cert", str(contract), ok=False)
    run(node, WITNESS, "evidence", "cosign", pending["ids"][0])
    assert run(node, NOTARY, "evidence", "cosign", str(contract))["status"] == "confirmed"
    cert = json.loads(CliRunner().invoke(cli, ["evidence", "cert", str(contract), "--dir", str(node.home), "--url",
                                                node.url, "--as", f"{WITNESS}/admin"]).output)
    assert cert["credentialSubject"]["deposit"]["cosigned"] == [WITNESS, NOTARY]

    song = tmp_path / "song.flac"
    song.write_bytes(b"fLaC spring river")
    work = run(node, OWNER, "evidence", "work", "register", str(song), "--title", "Spring River", "--author", "Li Na")
    run(node, OWNER, "evidence", "work", "transfer", work["id"], WITNESS)
    run(node, WITNESS, "evidence", "work", "license", work["id"], NOTARY, "--scope", "streaming", "--until", "2099-12-31")
    capture = tmp_path / "capture.html"
    capture.write_text("<html>pirated copy</html>")
    run(node, NOTARY, "evidence", "infringement", work["id"], str(capture), "--page", "https://pirate.example/x",
        "--captured", "2026-03-16T08:30:00Z")
    history = run(node, OWNER, "evidence", "work", "history", work["id"])
    assert [h["action"] for h in history["history"]] == ["registered", "transferred", "licensed", "infringement"]
    assert "NOT_OWNER" in run(node, OWNER, "evidence", "work", "transfer", work["id"], NOTARY, ok=False)


def test_routes_refuse_bad_input_in_one_shape(node: RunningNode) -> None:
    for path in ("/evidence/verify/md5/abc", "/evidence/certificates/sha-256/XYZ"):
        response = httpx.get(node.url + path)
        assert response.status_code == 400 and response.json()["error"]["code"] in ("BAD_ALGORITHM", "BAD_DIGEST")
    response = httpx.post(node.url + "/evidence/verify", content=b"not json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_JSON"
    missing = httpx.get(f"{node.url}/evidence/verify/sha-256/{'0' * 64}")
    assert missing.status_code == 404 and "Not on this chain" in missing.text
