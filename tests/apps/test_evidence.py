"""The evidence contract through a real executor and store, and its certificates verified offline,
on both crypto suites."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consortia.apps.evidence.batch import batch_proof
from consortia.client.certificates import (
    ATTEST_DOMAIN,
    CertificateInvalid,
    attest_message,
    build_certificate,
    file_digest,
    verify_certificate,
)
from consortia.errors import BadInput, Forbidden, NotFound
from consortia.execution.executor import CommittedBlock, Reader
from consortia.identity.x509 import Identity
from consortia.ledger.records import Receipt, compute_receipt_proof, compute_tx_proof
from consortia.node import finality
from consortia.node.finality import sign_attestation
from consortia.node.home import DEMO_ORGS
from tests.unit.helpers import Chain, Consortium

OWNER, WITNESS, NOTARY, REG, OTHER = (o["id"] for o in DEMO_ORGS[:5])
FILE = b"%PDF-1.7 design drawings of the brake caliper, rev. C"


class Depository:
    """A five-organisation chain driving the evidence contract, keeping every committed block."""

    def __init__(self, consortium: Consortium, path: Path) -> None:
        self.chain = Chain(consortium, path)
        self.blocks: dict[int, CommittedBlock] = {}
        self._nonce = 0

    def run(self, org: str, method: str, args: dict[str, Any], who: str = "admin") -> Receipt:
        self._nonce += 1
        tx = self.chain.tx(f"{org}/{who}", "evidence", method, args, ttl_ms=0, not_after_height=10**9, nonce=self._nonce)
        block = self.chain.block(tx)
        self.blocks[block.header.height] = block
        return block.receipts[0]

    def ok(self, org: str, method: str, args: dict[str, Any]) -> Any:
        receipt = self.run(org, method, args)
        assert (receipt.status, receipt.code) == ("ok", "OK"), receipt
        return receipt.result

    def refused(self, org: str, method: str, args: dict[str, Any], code: str) -> None:
        """The call is refused with ``code`` and the state does not change at all."""
        before = self.chain.rows()
        receipt = self.run(org, method, args)
        assert receipt.status in ("reverted", "rejected") and receipt.code == code, receipt
        assert receipt.events == () and self.chain.rows() == before

    def identity(self, org: str) -> Identity:
        store = self.chain.store
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        return self.chain.executor.identity(reader, self.chain.c.wallet(f"{org}/admin").sender, self.chain.time_ms)

    def query(self, org: str | None, method: str, args: dict[str, Any]) -> Any:
        return self.chain.executor.query("evidence", method, args, self.identity(org) if org else None)

    # -- what the API does: the tx view and the attestations of its block ----------------

    def tx_view(self, tx_id: str) -> dict[str, Any]:
        suite = self.chain.suite
        for block in self.blocks.values():
            ids = [t.id.hex() for t in block.txs]
            if tx_id in ids:
                i = ids.index(tx_id)
                return {"tx_id": tx_id, "height": block.header.height, "index": i, "block_hash": block.hash,
                        "tx": block.txs[i].tx, "receipt": block.receipts[i].to_dict(), "header": block.header.to_dict(),
                        "proof": {"tx": compute_tx_proof(suite, [t.id for t in block.txs], i).to_dict(),
                                  "receipt": compute_receipt_proof(suite, block.receipts, i).to_dict()}}
        raise AssertionError(f"no tx {tx_id}")

    def attest(self, height: int, orgs: tuple[str, ...]) -> list[dict[str, Any]]:
        block = self.blocks[height]
        return [sign_attestation(self.chain.c.wallet(f"{org}/node"), self.chain.c.chain_id, block.header, block.hash)
                for org in orgs]

    def certificate(self, algorithm: str, digest: str, orgs: tuple[str, ...] = (OWNER, WITNESS, NOTARY)) -> dict[str, Any]:
        record = self.query(OWNER, "get", {"algorithm": algorithm, "digest": digest})
        view = self.tx_view(record["confirmed_tx"])
        return build_certificate(record, view, self.attest(view["height"], orgs), self.chain.c.genesis,
                                 verify_url=f"http://node/evidence/verify/{algorithm}/{digest}",
                                 batch=batch_proof(self.chain.suite.hash, view, record))


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("evidence") / "c", orgs=5, suite_name=suite_name)


@pytest.fixture
def dep(consortium: Consortium, tmp_path: Path) -> Iterator[Depository]:
    d = Depository(consortium, tmp_path / "chain")
    yield d
    d.chain.close()


def alg(dep: Depository) -> str:
    return "sm3" if dep.chain.suite.name == "sm2-sm3" else "sha-256"


def deposit_args(algorithm: str, data: bytes = FILE, **extra: Any) -> dict[str, Any]:
    return {"algorithm": algorithm, "digest": file_digest(algorithm, data), "title": "Brake caliper drawings",
            "kind": "document", "metadata": {"author": "Wang Lei"}, **extra}


# -- deposits ------------------------------------------------------------------------------


def test_first_deposit_wins_at_block_time_and_reads_follow_visibility(dep: Depository) -> None:
    a = alg(dep)
    record = dep.ok(OWNER, "deposit", deposit_args(a))
    assert record["status"] == "confirmed" and record["confirmed_ms"] == dep.chain.time_ms
    assert record["owner"] == OWNER and record["id"] == f"{a}:{file_digest(a, FILE)}"
    dep.refused(WITNESS, "deposit", deposit_args(a, title="mine"), "ALREADY_DEPOSITED")
    public = dep.query(None, "exists", {"algorithm": a, "digest": record["digest"]})
    assert public["exists"] and "title" not in public and public["confirmed_ms"] == record["confirmed_ms"]
    assert dep.query(None, "exists", {"algorithm": a, "digest": "0" * 64}) == {"exists": False, "algorithm": a,
                                                                               "digest": "0" * 64}
    with pytest.raises(Forbidden):
        dep.query(WITNESS, "get", {"algorithm": a, "digest": record["digest"]})
    assert dep.query(REG, "get", {"algorithm": a, "digest": record["digest"]})["title"] == "Brake caliper drawings"
    dep.ok(OWNER, "grant", {"algorithm": a, "digest": record["digest"], "org": WITNESS})
    assert dep.query(WITNESS, "get", {"algorithm": a, "digest": record["digest"]})["grantees"] == [WITNESS]
    assert [d["id"] for d in dep.query(OWNER, "deposits", {"owner": OWNER})["deposits"]] == [record["id"]]
    with pytest.raises(Forbidden):
        dep.query(WITNESS, "deposits", {"owner": OWNER})
    with pytest.raises(NotFound):
        dep.query(OWNER, "get", {"algorithm": a, "digest": "1" * 64})


@pytest.mark.parametrize(("change", "code"), [
    ({"algorithm": "md5"}, "BAD_ALGORITHM"),
    ({"digest": "ABC"}, "BAD_DIGEST"),
    ({"digest": "G" * 64}, "BAD_DIGEST"),
    ({"title": " "}, "BAD_ARGS"),
    ({"kind": "poem"}, "BAD_KIND"),
    ({"metadata": {"k" * 65: "v"}}, "BAD_METADATA"),
    ({"cosigners": ["nobody"], "threshold": 1}, "UNKNOWN_ORG"),
    ({"cosigners": [WITNESS], "threshold": 2}, "BAD_THRESHOLD"),
    ({"cosigners": [WITNESS], "threshold": 0}, "BAD_THRESHOLD"),
    ({"metadata": {"n": 1}}, "BAD_ARGS"),
])
def test_bad_deposits_are_refused_and_change_nothing(dep: Depository, change: dict[str, Any], code: str) -> None:
    dep.refused(OWNER, "deposit", {**deposit_args(alg(dep)), **change}, code)


def test_batch_of_thousands_in_one_transaction_is_all_or_nothing(dep: Depository) -> None:
    a = alg(dep)
    items = [{"algorithm": a, "digest": file_digest(a, f"scan {i}".encode()), "title": f"scan {i}"} for i in range(2000)]
    result = dep.ok(OWNER, "deposit_batch", {"items": items})
    assert result["count"] == 2000
    assert dep.query(None, "exists", {"algorithm": a, "digest": items[1999]["digest"]})["exists"]
    fresh = [{"algorithm": a, "digest": file_digest(a, f"new {i}".encode()), "title": "n"} for i in range(3)]
    dep.refused(OWNER, "deposit_batch", {"items": [*fresh, items[5]]}, "ALREADY_DEPOSITED")
    dep.refused(OWNER, "deposit_batch", {"items": [fresh[0], fresh[0]]}, "DUPLICATE_IN_BATCH")
    dep.refused(OWNER, "deposit_batch", {"items": [{**fresh[0], "colour": "red"}]}, "BAD_ARGS")
    dep.refused(OWNER, "deposit_batch", {"items": []}, "BAD_BATCH")


def test_m_of_n_cosigning_confirms_only_at_the_threshold(dep: Depository) -> None:
    a = alg(dep)
    record = dep.ok(OWNER, "deposit", deposit_args(a, cosigners=[WITNESS, NOTARY, REG], threshold=2))
    key = {"algorithm": a, "digest": record["digest"]}
    assert record["status"] == "pending" and record["confirmed_ms"] is None
    assert [p["id"] for p in dep.query(WITNESS, "pending", {})["pending"]] == [record["id"]]
    dep.refused(OTHER, "cosign", key, "NOT_COSIGNER")
    with pytest.raises(BadInput, match="not confirmed"):
        build_certificate(record, {}, [], dep.chain.c.genesis)
    assert dep.ok(WITNESS, "cosign", key)["status"] == "pending"
    dep.refused(WITNESS, "cosign", key, "ALREADY_COSIGNED")
    confirmed = dep.ok(NOTARY, "cosign", key)
    assert confirmed["status"] == "confirmed" and confirmed["cosigned"] == [WITNESS, NOTARY]
    assert confirmed["confirmed_ms"] == dep.chain.time_ms > confirmed["registered_ms"]
    dep.refused(REG, "cosign", key, "ALREADY_CONFIRMED")
    assert dep.query(WITNESS, "pending", {})["pending"] == []
    report = verify_certificate(dep.certificate(a, record["digest"]), dep.chain.c.genesis, file_data=FILE)
    assert report.subject["cosigned"] == [WITNESS, NOTARY]


def test_file_copy_access_is_the_owners_to_give(dep: Depository) -> None:
    """ADR 0011: the owner stores a copy; the owner, its grantees and regulators read it; a
    co-signer sees the record but not the file until the owner grants it."""
    a = alg(dep)
    record = dep.ok(OWNER, "deposit", deposit_args(a, cosigners=[NOTARY], threshold=1))
    key = {"algorithm": a, "digest": record["digest"]}
    dep.ok(OWNER, "grant", {**key, "org": WITNESS})
    access = {org: dep.query(org, "file_access", key) for org in (OWNER, WITNESS, NOTARY, REG, OTHER)}
    assert {org: (x["may_upload"], x["may_download"]) for org, x in access.items()} == {
        OWNER: (True, True), WITNESS: (False, True), NOTARY: (False, False), REG: (False, True), OTHER: (False, False)}
    assert access[OTHER]["owner"] == OWNER and access[OTHER]["id"] == record["id"]
    with pytest.raises(NotFound):
        dep.query(OWNER, "file_access", {"algorithm": a, "digest": "2" * 64})
    with pytest.raises(Forbidden):
        dep.query(None, "file_access", key)


# -- copyright -----------------------------------------------------------------------------


def test_work_register_transfer_license_infringement_history(dep: Depository) -> None:
    a = alg(dep)
    digest = file_digest(a, b"song.flac")
    work = dep.ok(OWNER, "register_work", {"algorithm": a, "digest": digest, "title": "Spring River", "author": "Li Na"})
    dep.refused(WITNESS, "register_work", {"algorithm": a, "digest": digest, "title": "x", "author": "y"}, "WORK_EXISTS")
    dep.refused(WITNESS, "transfer_work", {"work_id": work["id"], "to": NOTARY}, "NOT_OWNER")
    dep.refused(OWNER, "transfer_work", {"work_id": work["id"], "to": "nobody"}, "BAD_RECIPIENT")
    dep.ok(OWNER, "transfer_work", {"work_id": work["id"], "to": WITNESS})
    until = dep.chain.time_ms + 10**9
    dep.ok(WITNESS, "license_work", {"work_id": work["id"], "licensee": NOTARY, "scope": "streaming CN",
                                     "until_ms": until, "exclusive": True})
    dep.refused(WITNESS, "license_work", {"work_id": work["id"], "licensee": OTHER, "scope": "streaming CN",
                                          "until_ms": until}, "LICENCE_CONFLICT")
    dep.refused(WITNESS, "license_work", {"work_id": work["id"], "licensee": OTHER, "scope": "radio",
                                          "until_ms": 1}, "BAD_TERM")
    capture = {"work_id": work["id"], "url": "https://pirate.example/spring-river.mp3", "captured_ms": dep.chain.time_ms,
               "algorithm": a, "digest": file_digest(a, b"captured page")}
    dep.refused(OTHER, "record_infringement", capture, "NOT_OWNER")
    dep.refused(NOTARY, "record_infringement", {**capture, "url": "ftp://x"}, "BAD_URL")
    dep.refused(NOTARY, "record_infringement", {**capture, "captured_ms": dep.chain.time_ms + 10**7}, "BAD_TIME")
    evidence = dep.ok(NOTARY, "record_infringement", capture)
    history = dep.query(None, "history", {"work_id": work["id"]})
    assert [h["action"] for h in history["history"]] == ["registered", "transferred", "licensed", "infringement"]
    assert history["work"]["owner"] == WITNESS
    assert dep.query(WITNESS, "infringements", {"work_id": work["id"]})["infringements"][0]["id"] == evidence["id"]
    with pytest.raises(Forbidden):
        dep.query(OTHER, "infringements", {"work_id": work["id"]})
    assert dep.query(None, "work_by_digest", {"algorithm": a, "digest": digest})["id"] == work["id"]


# -- certificates, offline -------------------------------------------------------------------


def test_certificate_verifies_offline_and_names_every_failure(dep: Depository, tmp_path: Path) -> None:
    a = alg(dep)
    record = dep.ok(OWNER, "deposit", deposit_args(a))
    cert = dep.certificate(a, record["digest"])
    genesis = dep.chain.c.genesis
    assert cert["type"] == ["VerifiableCredential", "EvidenceDepositCredential"]
    assert cert["proof"]["cryptosuite"] == dep.chain.suite.name
    report = verify_certificate(cert, genesis, file_data=FILE)
    assert report.signed_by == sorted([OWNER, WITNESS, NOTARY]) and report.quorum == 3
    assert report.time_ms == record["confirmed_ms"]

    def fails(credential: dict[str, Any], code: str, match: str | None = None, **kw: Any) -> None:
        with pytest.raises(CertificateInvalid, match=match) as info:
            verify_certificate(credential, genesis, **kw)
        assert info.value.code == code, info.value.message

    fails(cert, "FILE_MISMATCH", "digest is", file_data=FILE + b" tampered")
    tampered = copy.deepcopy(cert)
    tampered["credentialSubject"]["deposit"]["title"] = "Someone else's drawings"
    fails(tampered, "SUBJECT_MISMATCH", "title")
    tampered = copy.deepcopy(cert)
    tampered["credentialSubject"]["deposit"]["owner"] = OTHER
    confirmed = [e for e in tampered["proof"]["transaction"]["receipt"]["events"] if e["name"] == "Confirmed"]
    confirmed[0]["data"]["record"]["owner"] = OTHER
    fails(tampered, "BAD_PROOF", "receipts_root")
    tampered = copy.deepcopy(cert)
    tampered["proof"]["transaction"]["header"]["time_ms"] += 1
    fails(tampered, "BAD_PROOF", "block hash")
    forged = copy.deepcopy(cert)
    sig = forged["proof"]["attestations"][0]["sig"]
    forged["proof"]["attestations"][0]["sig"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    fails(forged, "BAD_SIGNATURE", "does not verify")
    stolen = copy.deepcopy(cert)  # a client's key is no node key
    block = dep.blocks[cert["proof"]["transaction"]["height"]]
    clerk = sign_attestation(dep.chain.c.wallet(f"{OTHER}/clerk"), genesis["chain_id"], block.header, block.hash)
    stolen["proof"]["attestations"] = [*stolen["proof"]["attestations"][:2], clerk]
    fails(stolen, "UNKNOWN_SIGNER", "not a node")
    few = copy.deepcopy(cert)
    few["proof"]["attestations"] = few["proof"]["attestations"][:1]
    fails(few, "NOT_ENOUGH_SIGNATURES", "1 of 5")
    assert verify_certificate(few, genesis, quorum=1).signed_by == [OWNER]
    other_chain = Consortium(tmp_path / "other", orgs=5, suite_name=dep.chain.suite.name, chain_id="another-chain")
    with pytest.raises(CertificateInvalid) as info:
        verify_certificate(cert, other_chain.genesis)
    assert info.value.code == "WRONG_CHAIN"
    same_id = Consortium(tmp_path / "impostor", orgs=5, suite_name=dep.chain.suite.name)  # same chain id, other CAs
    with pytest.raises(CertificateInvalid) as info:
        verify_certificate(cert, same_id.genesis)
    assert info.value.code == "UNKNOWN_SIGNER"
    fails({"hello": "world"}, "MALFORMED_CERTIFICATE")


def test_attestation_message_is_the_nodes() -> None:
    assert ATTEST_DOMAIN == finality.DOMAIN
    assert attest_message("c", 3, "ab", "cd", "o") == finality.attest_message("c", 3, "ab", "cd", "o")


def test_file_digest_names_its_algorithm() -> None:
    assert file_digest("sha-256", b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert file_digest("sm3", b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    with pytest.raises(Exception, match="unknown digest algorithm"):
        file_digest("md5", b"abc")



def test_first_registration_wins_against_a_model(consortium: Consortium, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Random deposits and batches by random organisations: the chain agrees with a plain dict
    where the first writer of a digest keeps it and a refused batch adds nothing."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    ops = st.lists(st.tuples(st.sampled_from([OWNER, WITNESS, NOTARY]), st.lists(st.integers(0, 7), min_size=1, max_size=4)),
                   min_size=1, max_size=8)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ops)
    def run(steps: list[tuple[str, list[int]]]) -> None:
        dep = Depository(consortium, tmp_path_factory.mktemp("model"))
        a = "sha-256"
        model: dict[str, str] = {}
        try:
            for org, numbers in steps:
                items = [{"algorithm": a, "digest": file_digest(a, bytes([n])), "title": f"file {n}"} for n in numbers]
                receipt = dep.run(org, "deposit_batch", {"items": items})
                digests = [i["digest"] for i in items]
                if len(set(digests)) == len(digests) and not any(d in model for d in digests):
                    assert receipt.status == "ok", receipt
                    model.update(dict.fromkeys(digests, org))
                else:
                    assert receipt.status == "reverted" and receipt.code in ("ALREADY_DEPOSITED", "DUPLICATE_IN_BATCH")
            for n in range(8):
                found = dep.query(None, "exists", {"algorithm": a, "digest": file_digest(a, bytes([n]))})
                assert found.get("owner") == model.get(found["digest"]) and found["exists"] == (found["digest"] in model)
        finally:
            dep.chain.close()

    run()
