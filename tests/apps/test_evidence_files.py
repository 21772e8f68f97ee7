"""Encrypted copies of deposited files kept by a node (ADR 0011): a real node process driven
through the CLI and signed HTTP requests, on both crypto suites; and the vault on its own."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from consortia.apps.evidence.files import KEY_FILE, MAX_FILE_ENV, FileVault
from consortia.cli.main import cli
from consortia.client import Client
from consortia.client.certificates import file_digest
from consortia.crypto import CryptoSuite
from consortia.errors import BadInput, Fault, NotFound
from consortia.identity.read_auth import HEADER, sign_read
from consortia.node.home import DEMO_ORGS
from tests.conftest import RunningNode, launch

OWNER, GRANTEE, OTHER, REG = (o["id"] for o in DEMO_ORGS[:4])  # REG is sh-regulator, a regulator
LIMIT = 4096  # the node under test keeps copies of at most 4 KiB


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv(MAX_FILE_ENV, str(LIMIT))  # the node process inherits it
        running = launch(tmp_path_factory.mktemp("evidence-files") / "c", orgs=4, suite_name=suite_name,
                         config={"block_timeout_ms": 10})
    yield running
    running.stop()


def alg(node: RunningNode) -> str:
    return "sm3" if node.genesis["suite"] == "sm2-sm3" else "sha-256"


def run(node: RunningNode, who: str, *args: str, ok: bool = True) -> Any:
    result = CliRunner().invoke(cli, [*args, "--dir", str(node.home), "--url", node.url, "--as", f"{who}/admin", "--json"])
    assert (result.exit_code == 0) == ok, result.output
    return json.loads(result.output) if ok else result.output


def client(node: RunningNode, org: str) -> Client:
    return Client.from_home(node.home, f"{org}/admin", node.url)


def deposit(node: RunningNode, data: bytes, title: str = "Signed scan") -> tuple[str, str]:
    a = alg(node)
    digest = file_digest(a, data)
    with client(node, OWNER) as c:
        c.call("evidence", "deposit", {"algorithm": a, "digest": digest, "title": title})
    return a, digest


def put(node: RunningNode, org: str | None, a: str, digest: str, data: bytes, *, signed_body: bytes | None = None,
        chunked: bool = False) -> httpx.Response:
    """PUT raw bytes; ``signed_body`` signs other bytes than those sent (a forged request)."""
    path = f"/evidence/files/{a}/{digest}"
    headers = {"content-type": "application/octet-stream"}
    if org is not None:
        with client(node, org) as c:
            headers[HEADER] = sign_read(c._require_wallet(), c.suite.hash, c.chain_id, "PUT", path,
                                        data if signed_body is None else signed_body)
    content: Any = iter([data[i:i + 1000] for i in range(0, len(data), 1000)]) if chunked else data
    return httpx.put(node.url + path, content=content, headers=headers)


def get(node: RunningNode, org: str | None, a: str, digest: str) -> httpx.Response:
    path = f"/evidence/files/{a}/{digest}"
    headers = {}
    if org is not None:
        with client(node, org) as c:
            headers[HEADER] = sign_read(c._require_wallet(), c.suite.hash, c.chain_id, "GET", path, b"")
    return httpx.get(node.url + path, headers=headers)


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["code"])


def copies(node: RunningNode) -> dict[str, bytes]:
    root = node.home / "node" / "evidence-files"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} \
        if root.exists() else {}


def height(node: RunningNode) -> int:
    return int(httpx.get(node.url + "/chain").json()["height"])


def test_owner_keeps_a_sealed_copy_that_owner_grantees_and_regulators_read(node: RunningNode, tmp_path: Path) -> None:
    scan = tmp_path / "contract.pdf"
    scan.write_bytes(b"%PDF-1.7 HQ-PC-2026-118 signed purchase contract " * 20)
    run(node, OWNER, "evidence", "deposit", str(scan), "--title", "Purchase contract")
    stored = run(node, OWNER, "evidence", "upload", str(scan))
    assert stored["created"] and stored["bytes"] == scan.stat().st_size
    assert stored["cipher"] == ("sm4-gcm" if alg(node) == "sm3" else "xchacha20-poly1305")
    assert not run(node, OWNER, "evidence", "upload", str(scan))["created"]  # kept once
    a, digest = stored["id"].split(":")
    # At rest: sealed, owner-only files, the key beside them in the node's data directory.
    sealed = node.home / "node" / "evidence-files" / a / digest
    assert scan.read_bytes()[:40] not in sealed.read_bytes() and len(sealed.read_bytes()) > scan.stat().st_size
    key = node.home / "node" / KEY_FILE
    assert sealed.stat().st_mode & 0o777 == 0o600 and key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_bytes()) in (16, 32)

    out = tmp_path / "back.pdf"
    downloaded = run(node, OWNER, "evidence", "download", stored["id"], "-o", str(out))
    assert out.read_bytes() == scan.read_bytes() and downloaded["bytes"] == scan.stat().st_size
    assert "FILE_EXISTS" in run(node, OWNER, "evidence", "download", stored["id"], "-o", str(out), ok=False)

    assert error_code(get(node, GRANTEE, a, digest), 403) == "NOT_VISIBLE"
    run(node, OWNER, "evidence", "grant", str(scan), GRANTEE)
    assert get(node, GRANTEE, a, digest).content == scan.read_bytes()
    response = get(node, REG, a, digest)
    assert response.content == scan.read_bytes() and response.headers["x-consortia-digest"] == stored["id"]
    with client(node, REG) as regulator:  # a regulator's read is in the audit log
        audit = regulator._request("GET", "/audit", signed=True).json()["entries"]
    assert any(e.get("action") == "evidence.file" for e in audit)

    assert error_code(get(node, OTHER, a, digest), 403) == "NOT_VISIBLE"
    assert error_code(get(node, None, a, digest), 403) == "UNAUTHENTICATED"
    refused = run(node, OTHER, "evidence", "download", stored["id"], "-o", str(tmp_path / "other.pdf"), ok=False)
    assert "NOT_VISIBLE" in refused and not (tmp_path / "other.pdf").exists()


def test_refused_uploads_and_downloads_change_nothing(node: RunningNode) -> None:
    data = b"delivery acceptance photo set JL-DN-2026-0417"
    a, digest = deposit(node, data, "Acceptance photos")
    with client(node, OWNER) as c:
        c.call("evidence", "grant", {"algorithm": a, "digest": digest, "org": GRANTEE})
    before, at = copies(node), height(node)

    assert error_code(put(node, OWNER, a, digest, data + b"!"), 400) == "FILE_MISMATCH"
    assert error_code(put(node, OTHER, a, digest, data), 403) == "NOT_OWNER"
    assert error_code(put(node, GRANTEE, a, digest, data), 403) == "NOT_OWNER"  # a grantee reads, never stores
    assert error_code(put(node, REG, a, digest, data), 403) == "NOT_OWNER"
    assert error_code(put(node, None, a, digest, data), 403) == "UNAUTHENTICATED"
    assert error_code(put(node, OWNER, a, digest, data, signed_body=b"other bytes"), 403) == "BAD_AUTH"
    assert error_code(put(node, OWNER, a, file_digest(a, b"never deposited"), b"never deposited"), 404) \
        == "DEPOSIT_NOT_FOUND"
    assert error_code(put(node, OWNER, "md5", digest, data), 400) == "BAD_ALGORITHM"
    big = os.urandom(LIMIT + 1)
    big_a, big_digest = deposit(node, big, "Drawing set, full resolution")
    at += 1
    too_large = put(node, OWNER, big_a, big_digest, big)
    assert error_code(too_large, 413) == "FILE_TOO_LARGE" and str(LIMIT) in too_large.json()["error"]["message"]
    assert error_code(put(node, OWNER, big_a, big_digest, big, chunked=True), 413) == "FILE_TOO_LARGE"
    assert error_code(get(node, OWNER, a, digest), 404) == "NO_FILE_COPY"
    assert error_code(get(node, GRANTEE, a, digest), 404) == "NO_FILE_COPY"
    assert error_code(get(node, OTHER, a, digest), 403) == "NOT_VISIBLE"  # outsiders cannot probe for a copy

    assert copies(node) == before and height(node) == at
    assert put(node, OWNER, a, digest, data, chunked=True).status_code == 201  # the same upload, done right


def test_a_tampered_or_moved_copy_is_detected_and_not_served(node: RunningNode, tmp_path: Path) -> None:
    first, second = b"%PDF design drawing BC-400 rev. C", b"%PDF design drawing BC-400 rev. D"
    a, d1 = deposit(node, first, "Drawing rev. C")
    _, d2 = deposit(node, second, "Drawing rev. D")
    for digest, data in ((d1, first), (d2, second)):
        assert put(node, OWNER, a, digest, data).status_code == 201
    root = node.home / "node" / "evidence-files" / a
    sealed = bytearray((root / d1).read_bytes())
    sealed[len(sealed) // 2] ^= 0x01
    (root / d1).write_bytes(bytes(sealed))
    response = get(node, OWNER, a, d1)
    assert error_code(response, 500) == "FILE_COPY_DAMAGED" and "not served" in response.json()["error"]["message"]
    assert first not in response.content
    out = tmp_path / "drawing.pdf"
    assert "FILE_COPY_DAMAGED" in run(node, OWNER, "evidence", "download", f"{a}:{d1}", "-o", str(out), ok=False)
    assert not out.exists()
    # A sealed copy is bound to its digest: one moved into another's place does not open either.
    (root / d1).write_bytes((root / d2).read_bytes())
    assert error_code(get(node, OWNER, a, d1), 500) == "FILE_COPY_DAMAGED"
    assert get(node, OWNER, a, d2).content == second


# -- the vault on its own -----------------------------------------------------------------------


def test_vault_seals_with_the_suite_and_guards_its_key(tmp_path: Path, suite: CryptoSuite) -> None:
    vault = FileVault(tmp_path / "node", suite, "chain-a")
    data = b"copyright registration photo set"
    digest = file_digest("sha-256", data)
    with pytest.raises(NotFound):
        vault.get("sha-256", digest)
    with pytest.raises(BadInput) as mismatch:
        vault.put("sha-256", digest, data + b" ")
    assert mismatch.value.code == "FILE_MISMATCH" and not vault.has("sha-256", digest)
    assert vault.put("sha-256", digest, data) and not vault.put("sha-256", digest, data)
    assert vault.get("sha-256", digest) == data
    assert len(vault.key_path.read_bytes()) == suite.seal_key_bytes
    # Another chain's vault with the same key file does not open it (the chain id is bound in).
    other = FileVault(tmp_path / "node", suite, "chain-b")
    with pytest.raises(Fault) as damaged:
        other.get("sha-256", digest)
    assert damaged.value.code == "FILE_COPY_DAMAGED"
    vault.key_path.chmod(0o644)
    with pytest.raises(Fault) as exposed:
        FileVault(tmp_path / "node", suite, "chain-a").get("sha-256", digest)
    assert exposed.value.code == "KEY_EXPOSED"
