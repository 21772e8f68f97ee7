"""What every suite promises beyond signatures: sealing payloads, never mixing with the other
suite anywhere on a chain, and (for SM2) interoperating with another implementation."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from consortia.crypto.suite import CryptoSuite, get_suite
from consortia.errors import BadInput
from consortia.execution.genesis import check_genesis
from consortia.identity import x509 as ids
from consortia.identity.wallet import Wallet
from consortia.ledger.records import SignedTx
from consortia.node.home import init_consortium
from tests.unit.helpers import ORGS, Chain, Consortium

ADMIN = f"{ORGS[0]}/admin"


def other_suite(suite: CryptoSuite) -> CryptoSuite:
    return get_suite("sm2-sm3" if suite.name == "ed25519-sha256" else "ed25519-sha256")


# -- sealing application payloads --------------------------------------------------------------


def test_seal_round_trip_binds_key_and_associated_data(suite: CryptoSuite) -> None:
    key = suite.generate_seal_key()
    assert len(key) == suite.seal_key_bytes
    sealed = suite.seal(key, b"invoice 2024-001: 1,250,000.00 yuan", b"scf/doc/1")
    assert suite.open(key, sealed, b"scf/doc/1") == b"invoice 2024-001: 1,250,000.00 yuan"
    assert suite.seal(key, b"x", b"") != suite.seal(key, b"x", b"")  # a fresh nonce every time
    assert suite.open(key, suite.seal(key, b""), b"") == b""
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    refusals = [(suite.generate_seal_key(), sealed, b"scf/doc/1"), (key, sealed, b"scf/doc/2"),
                (key, bytes(tampered), b"scf/doc/1"), (key, sealed[:20], b"scf/doc/1"), (key, b"", b"")]
    for k, payload, aad in refusals:
        with pytest.raises(BadInput) as info:
            suite.open(k, payload, aad)
        assert info.value.code == "DECRYPT_FAILED"


def test_seal_keys_of_the_wrong_size_are_refused(suite: CryptoSuite) -> None:
    for key in (b"", b"k" * (suite.seal_key_bytes - 1), other_suite(suite).generate_seal_key()):
        with pytest.raises(BadInput) as info:
            suite.seal(key, b"payload")
        assert info.value.code == "BAD_KEY"


def test_a_payload_sealed_by_the_other_suite_does_not_open(suite: CryptoSuite) -> None:
    foreign = other_suite(suite)
    sealed = foreign.seal(foreign.generate_seal_key(), b"payload")
    with pytest.raises(BadInput):
        suite.open(suite.generate_seal_key(), sealed)


# -- a chain never mixes suites ------------------------------------------------------------------


@pytest.fixture(scope="module")
def foreigner(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    """A consortium with the same chain id and organisation ids on the other suite."""
    other = "sm2-sm3" if suite_name == "ed25519-sha256" else "ed25519-sha256"
    return Consortium(tmp_path_factory.mktemp("foreign") / "c", orgs=1, suite_name=other)


def test_genesis_refuses_a_ca_of_the_other_suite(consortium: Consortium, foreigner: Consortium) -> None:
    mixed = {**consortium.genesis, "orgs": [*consortium.genesis["orgs"][1:], foreigner.genesis["orgs"][0]]}
    with pytest.raises(BadInput) as info:
        check_genesis(mixed)
    assert info.value.code == "WRONG_SUITE"
    relabelled = {**consortium.genesis, "suite": foreigner.suite.name}
    with pytest.raises(BadInput) as relabel:
        check_genesis(relabelled)
    assert relabel.value.code == "WRONG_SUITE"


def test_governance_refuses_to_add_an_org_of_the_other_suite(chain: Chain, foreigner: Consortium) -> None:
    f_ca = ids.create_ca(foreigner.suite.generate_signer(), "new-org", "New Org", int(time.time() * 1000))
    params = {"id": "new-org", "ca_cert": ids.cert_pem(f_ca)}
    receipt = chain.run(ADMIN, "gov", "propose", {"action": "add_org", "params": params})
    assert (receipt.status, receipt.code) == ("reverted", "WRONG_SUITE")
    assert foreigner.suite.name in receipt.message and chain.suite.name in receipt.message


def test_a_transaction_from_the_other_suite_is_rejected(chain: Chain, foreigner: Consortium) -> None:
    outsider = foreigner.wallet(ADMIN)  # same org id and member name, other suite
    body = {**chain.raw_tx(ADMIN).tx, "sender": outsider.sender}
    forged = SignedTx.create(foreigner.suite, outsider.signer, body)
    before = chain.rows()
    receipt = chain.block(forged).receipts[0]
    assert (receipt.status, receipt.code) == ("rejected", "WRONG_SUITE")
    assert foreigner.suite.name in receipt.message and chain.rows() == before
    # nor can our own member's certificate carry a signature made by the other suite
    mine = {**chain.raw_tx(ADMIN).tx, "nonce": 7}
    wrong_sig = SignedTx.create(foreigner.suite, outsider.signer, mine)
    assert chain.block(wrong_sig).receipts[0].code == "BAD_SIGNATURE"


def test_a_signer_of_the_other_suite_cannot_build_a_transaction(chain: Chain, foreigner: Consortium) -> None:
    with pytest.raises(BadInput) as info:
        SignedTx.create(chain.suite, foreigner.wallet(ADMIN).signer, chain.raw_tx(ADMIN).tx)
    assert info.value.code == "WRONG_SUITE"


def test_a_member_certificate_from_the_other_suite_cannot_join_our_org(chain: Chain, consortium: Consortium,
                                                                        foreigner: Consortium) -> None:
    """A certificate of the other suite presented for one of our organisations is refused at the door."""
    f_wallet = foreigner.wallet(ADMIN)
    mixed = Wallet(ORGS[0], "admin", consortium.wallet(ADMIN).signer, f_wallet.cert)
    tx = SignedTx.create(chain.suite, mixed.signer, {**chain.raw_tx(ADMIN).tx, "sender": mixed.sender, "nonce": 9})
    assert chain.block(tx).receipts[0].code == "WRONG_SUITE"


# -- SM2 interoperability --------------------------------------------------------------------------


def _openssl_with_sm2() -> str | None:
    path = shutil.which("openssl")
    if path is None:
        return None
    listed = subprocess.run([path, "list", "-signature-algorithms"], capture_output=True, text=True, timeout=30)
    return path if listed.returncode == 0 and "SM2" in listed.stdout else None


@pytest.mark.skipif(_openssl_with_sm2() is None, reason="needs the openssl command with SM2 (OpenSSL 3)")
def test_openssl_verifies_sm2_certificates_and_signatures_with_the_default_user_id(tmp_path: Path) -> None:
    """An independent implementation agrees on the certificate encoding and on Z (user ID 1234567812345678)."""
    openssl = _openssl_with_sm2()
    assert openssl is not None
    home = tmp_path / "sm"
    init_consortium(home, orgs=1, suite_name="sm2-sm3")
    org = home / "orgs" / ORGS[0]
    verify = [openssl, "verify", "-vfyopt", "distid:1234567812345678", "-CAfile", str(org / "ca.pem"),
              str(org / "members" / "admin" / "cert.pem")]
    result = subprocess.run(verify, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and ": OK" in result.stdout, result.stdout + result.stderr

    suite = get_suite("sm2-sm3")
    signer = suite.load_signer((org / "members" / "admin" / "key.pem").read_bytes())
    (tmp_path / "msg").write_bytes(b"consortia/tx/v1\x00{}")
    (tmp_path / "sig").write_bytes(signer.sign(b"consortia/tx/v1\x00{}"))
    info = base64.encodebytes(suite.public_key_info(signer.public_key)).decode()
    (tmp_path / "pub.pem").write_text(f"-----BEGIN PUBLIC KEY-----\n{info}-----END PUBLIC KEY-----\n")
    check = [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin",
             "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig"), "-digest", "sm3"]
    with_id = subprocess.run([*check, "-pkeyopt", "distid:1234567812345678"], capture_output=True, text=True,
                             timeout=30)
    assert with_id.returncode == 0 and "Verified Successfully" in with_id.stdout, with_id.stdout + with_id.stderr
    other_id = subprocess.run([*check, "-pkeyopt", "distid:ALICE123@YAHOO.COM"], capture_output=True, text=True,
                              timeout=30)
    assert other_id.returncode != 0  # Z binds the user ID: another ID gives another digest
