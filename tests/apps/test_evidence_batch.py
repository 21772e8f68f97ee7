"""Deposits of one batch under one Merkle root (ADR 0030): one event per batch, a certificate per
deposit that proves it by its Merkle path, and certificates issued before the change still verify."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consortia.apps.evidence.contract import load_record, stored_form
from consortia.client.certificates import CertificateInvalid, file_digest, verify_certificate
from consortia.types import codec
from tests.apps.test_evidence import NOTARY, OWNER, WITNESS, Depository, alg
from tests.unit.helpers import Consortium

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "evidence" / "batch-certificates-before-adr-0030.json"


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("evidence-batch") / "c", orgs=5, suite_name=suite_name)


@pytest.fixture
def dep(consortium: Consortium, tmp_path: Path) -> Iterator[Depository]:
    d = Depository(consortium, tmp_path / "chain")
    yield d
    d.chain.close()


def scans(count: int, tag: str = "scan") -> list[bytes]:
    return [f"%PDF-1.7 {tag} {i} of the warehouse survey".encode() for i in range(count)]


def batch_items(algorithm: str, files: list[bytes]) -> list[dict[str, Any]]:
    return [{"algorithm": algorithm, "digest": file_digest(algorithm, f), "title": f"survey-{i}.pdf",
             **({"kind": "image", "metadata": {"site": f"W{i}"}} if i % 3 == 1 else {})} for i, f in enumerate(files)]


def fails(credential: dict[str, Any], genesis: dict[str, Any], code: str, match: str | None = None) -> None:
    with pytest.raises(CertificateInvalid, match=match) as info:
        verify_certificate(credential, genesis)
    assert info.value.code == code, info.value.message


def test_a_batch_emits_one_root_and_each_deposit_keeps_its_record(dep: Depository) -> None:
    a = alg(dep)
    files = scans(7)
    receipt = dep.run(OWNER, "deposit_batch", {"items": batch_items(a, files)})
    assert receipt.status == "ok", receipt
    assert [e.name for e in receipt.events] == ["BatchDeposited", "BatchConfirmed"]
    root = receipt.events[1].data
    assert root["count"] == 7 and root["owner"] == OWNER and len(root["root"]) == 64
    assert receipt.result == {"count": 7, "status": "confirmed", "root": root["root"]}
    record = dep.query(OWNER, "get", {"algorithm": a, "digest": file_digest(a, files[1])})
    assert (record["status"], record["kind"], record["metadata"]) == ("confirmed", "image", {"site": "W1"})
    assert record["confirmed_tx"] == receipt.tx_id


def test_every_deposit_of_a_batch_gets_a_small_certificate_that_verifies_offline(dep: Depository) -> None:
    a, genesis = alg(dep), dep.chain.c.genesis
    files = scans(7)
    dep.ok(OWNER, "deposit_batch", {"items": batch_items(a, files)})
    for i in (0, 1, 5, 6):  # the first, one with metadata, and the promoted odd last leaf
        cert = dep.certificate(a, file_digest(a, files[i]))
        assert cert["proof"]["batchPath"]["index"] == i and cert["proof"]["batchPath"]["size"] == 7
        assert len(json.dumps(cert)) < 20_000  # no per-deposit events in the embedded receipt
        report = verify_certificate(cert, genesis, file_data=files[i])
        assert report.subject["title"] == f"survey-{i}.pdf"
        assert any(f"leaf {i + 1} of 7" in line for line in report.checks)


def test_an_altered_deposit_or_path_is_refused(dep: Depository) -> None:
    a, genesis = alg(dep), dep.chain.c.genesis
    files = scans(5)
    dep.ok(OWNER, "deposit_batch", {"items": batch_items(a, files)})
    cert = dep.certificate(a, file_digest(a, files[2]))
    other = dep.certificate(a, file_digest(a, files[3]))
    tampered = copy.deepcopy(cert)
    tampered["credentialSubject"]["deposit"]["title"] = "Someone else's survey"
    fails(tampered, genesis, "SUBJECT_MISMATCH", "Merkle path")
    tampered = copy.deepcopy(cert)
    step = tampered["proof"]["batchPath"]["path"][0]
    step["hash"] = ("0" if step["hash"][0] != "0" else "1") + step["hash"][1:]
    fails(tampered, genesis, "SUBJECT_MISMATCH", "Merkle path")
    tampered = copy.deepcopy(cert)
    tampered["proof"]["batchPath"]["size"] = 4
    fails(tampered, genesis, "SUBJECT_MISMATCH", "Merkle path")
    swapped = copy.deepcopy(cert)  # another deposit's record on this one's path
    swapped["credentialSubject"] = other["credentialSubject"]
    fails(swapped, genesis, "SUBJECT_MISMATCH", "Merkle path")
    tampered = copy.deepcopy(cert)
    tampered["proof"]["transaction"]["receipt"]["events"][1]["data"]["root"] = "0" * 64
    fails(tampered, genesis, "BAD_PROOF", "receipts_root")
    tampered = copy.deepcopy(cert)
    del tampered["proof"]["batchPath"]
    fails(tampered, genesis, "SUBJECT_MISMATCH", "does not confirm")
    tampered = copy.deepcopy(cert)
    tampered["proof"]["batchPath"] = {"index": "x"}
    fails(tampered, genesis, "SUBJECT_MISMATCH", "Merkle path")


def test_a_pending_batch_is_confirmed_deposit_by_deposit(dep: Depository) -> None:
    a = alg(dep)
    files = scans(3, "cosigned")
    result = dep.ok(OWNER, "deposit_batch", {"items": batch_items(a, files), "cosigners": [WITNESS], "threshold": 1})
    assert result == {"count": 3, "status": "pending", "root": None}
    digest = file_digest(a, files[2])
    dep.ok(WITNESS, "cosign", {"algorithm": a, "digest": digest})
    cert = dep.certificate(a, digest)
    assert "batchPath" not in cert["proof"]  # its own Confirmed event, as before ADR 0030
    assert verify_certificate(cert, dep.chain.c.genesis, file_data=files[2]).subject["cosigned"] == [WITNESS]
    listed = dep.query(OWNER, "deposits", {"owner": OWNER})["deposits"]
    assert sorted(d["id"] for d in listed) == sorted(f"{a}:{file_digest(a, f)}" for f in files)


@pytest.mark.parametrize("suite", ["ed25519-sha256", "sm2-sm3"])
def test_certificates_issued_before_the_batch_root_still_verify(suite: str) -> None:
    """A deposit made in a batch before ADR 0030: the receipt carries a Confirmed event per deposit."""
    vector = json.loads(VECTORS.read_text())[suite]
    cert, genesis = vector["certificate"], vector["genesis"]
    assert "batchPath" not in cert["proof"]
    report = verify_certificate(cert, genesis, file_data=vector["file"].encode())
    assert report.subject["metadata"] == {"case": "2026-17"} and report.signed_by == sorted([OWNER, WITNESS, NOTARY])
    tampered = copy.deepcopy(cert)
    tampered["credentialSubject"]["deposit"]["title"] = "forged"
    fails(tampered, genesis, "SUBJECT_MISMATCH", "title")


def test_listing_pages_through_single_deposits_and_batch_rows(dep: Depository) -> None:
    """A batch lists its deposits in one row; a single deposit keeps its own row (as every deposit
    did before ADR 0030); pages of any size walk both, oldest first, each deposit once."""
    a = alg(dep)
    first = dep.ok(OWNER, "deposit", {"algorithm": a, "digest": file_digest(a, b"single one"), "title": "one"})
    batch = batch_items(a, scans(5, "first batch"))
    dep.ok(OWNER, "deposit_batch", {"items": batch})
    dep.ok(WITNESS, "deposit_batch", {"items": batch_items(a, scans(2, "not ours"))})
    last = dep.ok(OWNER, "deposit", {"algorithm": a, "digest": file_digest(a, b"single two"), "title": "two"})
    second = batch_items(a, scans(3, "second batch"))
    dep.ok(OWNER, "deposit_batch", {"items": second})
    expected = [first["id"], *[f"{a}:{i['digest']}" for i in batch], last["id"], *[f"{a}:{i['digest']}" for i in second]]
    assert [d["id"] for d in dep.query(OWNER, "deposits", {"owner": OWNER})["deposits"]] == expected
    for limit in (1, 2, 3, 4, 7, 10):
        listed, after = [], ""
        for _ in range(20):
            page = dep.query(OWNER, "deposits", {"owner": OWNER, "after": after, "limit": limit})
            listed += [d["id"] for d in page["deposits"]]
            assert len(page["deposits"]) <= limit
            if page["next"] is None:
                break
            after = page["next"]
        assert listed == expected, limit
    stolen = dep.query(WITNESS, "deposits", {"owner": WITNESS, "limit": 1})["next"]
    with pytest.raises(Exception, match="not a cursor") as info:
        dep.query(OWNER, "deposits", {"owner": OWNER, "after": stolen})
    assert getattr(info.value, "code", None) == "BAD_ARGS"


def test_deposit_rows_leave_out_defaults_and_full_rows_written_before_still_read(dep: Depository) -> None:
    a = alg(dep)
    plain = dep.ok(OWNER, "deposit", {"algorithm": a, "digest": file_digest(a, b"plain"), "title": "plain"})
    full = dep.ok(OWNER, "deposit", {"algorithm": a, "digest": file_digest(a, b"full"), "title": "full", "kind": "image",
                                     "metadata": {"case": "17"}, "cosigners": [WITNESS], "threshold": 1})
    full = dep.ok(WITNESS, "cosign", {"algorithm": a, "digest": full["digest"]})
    full = dep.ok(OWNER, "grant", {"algorithm": a, "digest": full["digest"], "org": NOTARY})
    for record in (plain, full):
        name = f"{a}/{record['digest']}"
        assert load_record(name, stored_form(record)) == record
        assert not {"id", "algorithm", "digest"} & set(stored_form(record))
    assert set(stored_form(plain)) == {"title", "kind", "owner", "depositor", "registered_ms", "height", "status",
                                       "confirmed_ms", "confirmed_tx"}
    # A row as the code before ADR 0030 wrote it (every field) reads the same.
    store, key = dep.chain.store, f"evidence/d/{a}/{plain['digest']}"
    before = dep.query(OWNER, "get", {"algorithm": a, "digest": plain["digest"]})
    store._writer.execute("UPDATE state SET value=? WHERE key=?", (codec.encode(plain), key))
    store._cache.clear()
    assert dep.query(OWNER, "get", {"algorithm": a, "digest": plain["digest"]}) == before == plain
    assert dep.query(None, "exists", {"algorithm": a, "digest": plain["digest"]})["owner"] == OWNER
    assert [d["id"] for d in dep.query(OWNER, "deposits", {"owner": OWNER})["deposits"]] == [plain["id"], full["id"]]
    assert verify_certificate(dep.certificate(a, plain["digest"]), dep.chain.c.genesis, file_data=b"plain")
