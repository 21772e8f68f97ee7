"""Both crypto suites, key files, per-organisation CAs and member certificates, wallets.

Most tests take the ``suite`` fixture and so run once per suite (see ``tests/conftest.py``).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consortia.crypto.suite import CryptoSuite, Ed25519Sha256, Signer, get_suite
from consortia.errors import BadInput, NotFound
from consortia.identity import x509 as ids
from consortia.identity.wallet import Wallet, list_identities, load_wallet
from consortia.identity.x509 import CertificateError

NOW = int(time.time() * 1000)
CA = tuple[Signer, x509.Certificate]


def other_suite(suite: CryptoSuite) -> CryptoSuite:
    return get_suite("sm2-sm3" if suite.name == "ed25519-sha256" else "ed25519-sha256")


@pytest.fixture(scope="module")
def org_a(suite: CryptoSuite) -> CA:
    signer = suite.generate_signer()
    return signer, ids.create_ca(signer, "org-a", "Org A", NOW)


@pytest.fixture(scope="module")
def org_b(suite: CryptoSuite) -> CA:
    signer = suite.generate_signer()
    return signer, ids.create_ca(signer, "org-b", "Org B", NOW)


def issue(ca: CA, name: str, roles: list[str]) -> tuple[Signer, x509.Certificate]:
    signer = ca[0].suite.generate_signer()
    return signer, ids.issue_member(ca[0], ca[1], name, roles, signer.public_key, NOW)


def raw_cert(issuer: Signer, issuer_name: x509.Name | None, subject: list[tuple[str, str]], public_key_info: bytes,
             *, ca: bool | None = False) -> x509.Certificate:
    """A certificate made field by field (to craft the ones ``issue_member`` refuses to make)."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    return ids.build_certificate(issuer, subject, None if issuer_name is None else issuer_name.public_bytes(),
                                 public_key_info, start, start + dt.timedelta(days=1), ca=ca)


def p256_key_info() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# -- the suite ----------------------------------------------------------------------------


def test_sign_and_verify(suite: CryptoSuite) -> None:
    signer = suite.generate_signer()
    sig = signer.sign(b"message")
    assert suite.verify(signer.public_key, b"message", sig)
    if suite.name == "ed25519-sha256":
        assert len(sig) == 64 and len(signer.public_key) == 32
        assert signer.sign(b"message") == sig  # Ed25519 is deterministic
    else:
        assert 8 <= len(sig) <= 72 and sig[0] == 0x30 and len(signer.public_key) == 65  # DER (r, s); 04 || x || y
        assert suite.verify(signer.public_key, b"message", signer.sign(b"message"))  # SM2 draws a fresh k


def test_verify_fails_for_wrong_key_message_or_signature(suite: CryptoSuite) -> None:
    signer, other = suite.generate_signer(), suite.generate_signer()
    sig = signer.sign(b"message")
    assert not suite.verify(other.public_key, b"message", sig)
    assert not suite.verify(signer.public_key, b"messagf", sig)
    assert not suite.verify(signer.public_key, b"", sig)
    assert not suite.verify(signer.public_key, b"message", sig[:-1])
    assert not suite.verify(signer.public_key, b"message", sig + b"\x00")
    assert not suite.verify(signer.public_key, b"message", b"")
    assert not suite.verify(signer.public_key[:31], b"message", sig)
    assert not suite.verify(b"\x00" * len(signer.public_key), b"message", sig)
    for i in (0, 1, 31, 32, len(sig) - 1):
        flipped = bytearray(sig)
        flipped[i] ^= 0x01
        assert not suite.verify(signer.public_key, b"message", bytes(flipped))
    assert suite.verify(signer.public_key, b"message", sig)  # refused forgeries leave nothing behind


def test_a_signature_of_the_other_suite_does_not_verify(suite: CryptoSuite) -> None:
    foreign = other_suite(suite).generate_signer()
    assert not suite.verify(foreign.public_key, b"m", foreign.sign(b"m"))


def test_suite_metadata_and_hash() -> None:
    suite = get_suite("ed25519-sha256")
    assert isinstance(suite, Ed25519Sha256)
    assert (suite.name, suite.hash_name, suite.signature_name, suite.seal_name) == (
        "ed25519-sha256", "sha-256", "ed25519", "xchacha20-poly1305")
    assert suite.hash(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_unknown_suite() -> None:
    with pytest.raises(BadInput) as info:
        get_suite("rsa-sha1")
    assert info.value.code == "UNKNOWN_SUITE"
    assert "ed25519-sha256" in info.value.message and "sm2-sm3" in info.value.message


def test_private_key_pem_round_trip(suite: CryptoSuite) -> None:
    signer = suite.generate_signer()
    pem = signer.private_key_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = suite.load_signer(pem)
    assert again.public_key == signer.public_key
    assert suite.verify(signer.public_key, b"m", again.sign(b"m"))
    assert again.private_key_pem() == pem


def test_load_signer_rejects_garbage_and_other_algorithms(suite: CryptoSuite) -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for pem in (b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", ec_pem):
        with pytest.raises(BadInput) as info:
            suite.load_signer(pem)
        assert info.value.code == "BAD_KEY"
    with pytest.raises(BadInput) as wrong:
        suite.load_signer(other_suite(suite).generate_signer().private_key_pem())
    assert wrong.value.code == "WRONG_SUITE" and other_suite(suite).name in wrong.value.message


def test_signer_repr_hides_the_key(suite: CryptoSuite) -> None:
    signer = suite.generate_signer()
    text = repr(signer)
    assert signer.public_key.hex()[:16] in text
    body = "".join(signer.private_key_pem().decode().splitlines()[1:-1])
    assert "PRIVATE" not in text and body[:24] not in text and body[-24:] not in text
    if suite.name == "ed25519-sha256":
        assert bytes(signer._key).hex()[:16] not in text  # type: ignore[attr-defined]  # noqa: SLF001


def test_public_key_info_round_trip_and_refusals(suite: CryptoSuite) -> None:
    signer = suite.generate_signer()
    info = suite.public_key_info(signer.public_key)
    assert suite.public_key_from_info(info) == signer.public_key
    foreign = other_suite(suite)
    for alien in (foreign.public_key_info(foreign.generate_signer().public_key), p256_key_info()):
        with pytest.raises(BadInput) as wrong:
            suite.public_key_from_info(alien)
        assert wrong.value.code == "WRONG_SUITE"
    with pytest.raises(BadInput) as bad:
        suite.public_key_from_info(b"\x30\x03garbage")
    assert bad.value.code == "BAD_KEY"
    with pytest.raises(BadInput) as off_curve:
        suite.public_key_info(b"\x04" + b"\x01" * 64 if suite.name == "sm2-sm3" else b"\x01" * 31)
    assert off_curve.value.code == "BAD_KEY"


# -- CA certificates ----------------------------------------------------------------------


def test_ca_is_self_signed_for_its_org(org_a: CA, suite: CryptoSuite) -> None:
    _, ca = org_a
    ids.check_ca(ca, "org-a")
    ids.check_ca(ca, "org-a", suite)
    assert ids.org_of(ca) == "org-a"
    assert ca.issuer == ca.subject
    assert ca.signature_algorithm_oid.dotted_string == suite.cert_signature_oid
    assert ids.suite_of(ca) is suite
    with pytest.raises(CertificateError, match="expected 'org-b'"):
        ids.check_ca(ca, "org-b")


def test_ca_of_the_other_suite_is_refused(org_a: CA, suite: CryptoSuite) -> None:
    with pytest.raises(CertificateError) as info:
        ids.check_ca(org_a[1], "org-a", other_suite(suite))
    assert info.value.code == "WRONG_SUITE" and suite.name in info.value.message


def test_ca_pem_and_der_round_trip(org_a: CA) -> None:
    _, ca = org_a
    assert ids.load_pem(ids.cert_pem(ca)) == ca
    assert ids.load_pem(ids.cert_pem(ca).encode()) == ca
    assert ids.load_der_b64(ids.cert_b64(ca)) == ca


@pytest.mark.parametrize("text", ["", "AAAA", "not base64 !!", "-----BEGIN CERTIFICATE-----"])
def test_load_rejects_garbage(text: str) -> None:
    with pytest.raises(CertificateError):
        ids.load_der_b64(text)
    with pytest.raises(CertificateError):
        ids.load_pem(text)


def test_check_ca_rejects_member_certs_and_forged_self_signature(org_a: CA, suite: CryptoSuite) -> None:
    _, member = issue(org_a, "alice", ["client"])
    with pytest.raises(CertificateError, match="not a CA"):
        ids.check_ca(member, "org-a")
    # a "self-signed" CA whose signature was made by a different key
    real, forger = suite.generate_signer(), suite.generate_signer()
    name = [("organization_name", "org-x")]
    forged = raw_cert(forger, None, name, suite.public_key_info(real.public_key), ca=True)
    with pytest.raises(CertificateError, match="not validly self-signed"):
        ids.check_ca(forged, "org-x")
    no_constraints = raw_cert(real, None, name, suite.public_key_info(real.public_key), ca=None)
    with pytest.raises(CertificateError, match="BasicConstraints"):
        ids.check_ca(no_constraints, "org-x")


@pytest.mark.parametrize("org_id", ["", "Org", "-org", "org_a", "a/b", "x" * 49])
def test_bad_org_ids_rejected(org_id: str, suite: CryptoSuite) -> None:
    with pytest.raises(BadInput) as info:
        ids.create_ca(suite.generate_signer(), org_id, "Name", NOW)
    assert info.value.code == "BAD_ORG_ID"


# -- member certificates ------------------------------------------------------------------


def test_member_identity_reads_org_name_roles_and_key(org_a: CA, suite: CryptoSuite) -> None:
    signer, cert = issue(org_a, "alice", ["client", "admin", "client"])
    member = ids.member_identity(suite, cert, org_a[1])
    assert (member.org, member.name, member.id) == ("org-a", "alice", "org-a/alice")
    assert member.roles == frozenset({"admin", "client"})
    assert member.has_role("admin") and not member.has_role("node")
    assert member.public_key == signer.public_key
    assert member.fingerprint == ids.fingerprint(suite, cert)
    assert len(member.fingerprint) == 64
    assert member.not_before_ms <= NOW < member.not_after_ms
    assert member.not_after_ms <= int(org_a[1].not_valid_after_utc.timestamp() * 1000)
    assert member.to_dict() == {"id": "org-a/alice", "org": "org-a", "name": "alice", "roles": ["admin", "client"],
                                "fingerprint": member.fingerprint}


@pytest.mark.parametrize("roles", [["node"], ["auditor", "client"], ["admin", "client", "node", "auditor"]])
def test_member_roles_parse(org_a: CA, roles: list[str], suite: CryptoSuite) -> None:
    _, cert = issue(org_a, "m", roles)
    assert ids.member_identity(suite, cert, org_a[1]).roles == frozenset(roles)


def test_member_of_another_orgs_ca_rejected(org_a: CA, org_b: CA, suite: CryptoSuite) -> None:
    _, cert = issue(org_a, "alice", ["client"])
    with pytest.raises(CertificateError, match="not issued by this organisation"):
        ids.member_identity(suite, cert, org_b[1])


def test_member_of_a_look_alike_ca_rejected(org_a: CA, suite: CryptoSuite) -> None:
    # same subject as org-a's CA (same org id and display name), different key
    impostor_signer = suite.generate_signer()
    impostor = ids.create_ca(impostor_signer, "org-a", "Org A", NOW)
    assert impostor.subject == org_a[1].subject
    _, cert = issue((impostor_signer, impostor), "alice", ["admin"])
    with pytest.raises(CertificateError, match="does not verify"):
        ids.member_identity(suite, cert, org_a[1])


def test_ca_certificate_cannot_act_as_member(org_a: CA, suite: CryptoSuite) -> None:
    with pytest.raises(CertificateError, match="CA certificate cannot sign"):
        ids.member_identity(suite, org_a[1], org_a[1])


def test_member_certificates_of_the_other_suite_are_refused(org_a: CA, suite: CryptoSuite) -> None:
    foreign = other_suite(suite)
    f_signer = foreign.generate_signer()
    f_ca = ids.create_ca(f_signer, "org-a", "Org A", NOW)
    _, f_member = issue((f_signer, f_ca), "alice", ["client"])
    for cert, ca in ((f_member, org_a[1]), (f_member, f_ca)):
        with pytest.raises(CertificateError) as info:
            ids.member_identity(suite, cert, ca)
        assert info.value.code == "WRONG_SUITE"
    # our CA issues no certificate for the other suite's key, and does not sign under the other suite's CA
    with pytest.raises(BadInput) as key:
        ids.issue_member(org_a[0], org_a[1], "bob", ["client"], foreign.generate_signer().public_key, NOW)
    assert key.value.code == "BAD_KEY"
    with pytest.raises(BadInput) as mixed:
        ids.issue_member(org_a[0], f_ca, "bob", ["client"], suite.generate_signer().public_key, NOW)
    assert mixed.value.code == "WRONG_SUITE"


def test_crafted_member_certs(org_a: CA, suite: CryptoSuite) -> None:
    ca_signer, ca = org_a
    key_info = suite.public_key_info(suite.generate_signer().public_key)
    o = ("organization_name", "org-a")
    bad_cn = raw_cert(ca_signer, ca.subject, [o, ("common_name", "Bad Name")], key_info)
    with pytest.raises(CertificateError, match="member name"):
        ids.member_identity(suite, bad_cn, ca)
    two_cn = raw_cert(ca_signer, ca.subject, [o, ("common_name", "a"), ("common_name", "b")], key_info)
    with pytest.raises(CertificateError, match="member name"):
        ids.member_identity(suite, two_cn, ca)
    # unknown OUs are ignored, known ones kept
    odd_roles = raw_cert(ca_signer, ca.subject, [o, ("organizational_unit_name", "superuser"),
                                                 ("organizational_unit_name", "client"), ("common_name", "carol")],
                         key_info)
    assert ids.member_identity(suite, odd_roles, ca).roles == frozenset({"client"})
    # a key of another algorithm, even in a certificate our CA signed
    foreign = other_suite(suite)
    for alien in (p256_key_info(), foreign.public_key_info(foreign.generate_signer().public_key)):
        alien_cert = raw_cert(ca_signer, ca.subject, [o, ("common_name", "dan")], alien)
        with pytest.raises(CertificateError, match="belong.* to (this chain's )?suite") as info:
            ids.member_identity(suite, alien_cert, ca)
        assert info.value.code == "WRONG_SUITE"


@pytest.mark.parametrize("name", ["", "Admin", "-x", ".x", "_x", "a b", "a/b", "x" * 65, "é", "\na"])
def test_bad_member_names_rejected(org_a: CA, name: str) -> None:
    with pytest.raises(BadInput) as info:
        issue(org_a, name, ["client"])
    assert info.value.code == "BAD_MEMBER_NAME"


def test_trailing_newline_rejected_in_names() -> None:
    with pytest.raises(BadInput):
        ids.check_member_name("admin\n")
    with pytest.raises(BadInput):
        ids.check_org_id("org-a\n")


@pytest.mark.parametrize("name", ["a", "0", "x" * 64, "a.b_c-d"])
def test_good_member_names_accepted(org_a: CA, name: str, suite: CryptoSuite) -> None:
    _, cert = issue(org_a, name, ["client"])
    assert ids.member_identity(suite, cert, org_a[1]).name == name


@pytest.mark.parametrize("roles", [[], ["root"], ["client", "Admin"]])
def test_bad_roles_rejected(org_a: CA, roles: list[str]) -> None:
    with pytest.raises(BadInput) as info:
        issue(org_a, "alice", roles)
    assert info.value.code == "BAD_ROLE"


# -- wallets ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Path:
    from consortia.node.home import init_consortium

    path = tmp_path_factory.mktemp("wallets") / "c"
    init_consortium(path, orgs=4, suite_name=suite_name)
    return path


def test_wallet_loads_and_signs(home: Path, suite: CryptoSuite) -> None:
    wallet = load_wallet(home, suite, "sh-regulator/inspector")
    assert (wallet.id, wallet.org, wallet.name) == ("sh-regulator/inspector", "sh-regulator", "inspector")
    assert wallet.roles == ["auditor", "client"]
    assert ids.load_der_b64(wallet.sender) == wallet.cert
    ca = ids.load_pem((home / "orgs" / "sh-regulator" / "ca.pem").read_bytes())
    member = ids.member_identity(suite, wallet.cert, ca)
    assert member.public_key == wallet.signer.public_key
    assert suite.verify(member.public_key, b"x", wallet.signer.sign(b"x"))


def test_wallet_of_the_other_suite_is_refused(home: Path, suite: CryptoSuite) -> None:
    with pytest.raises(BadInput) as info:
        load_wallet(home, other_suite(suite), "hongqiao-auto/admin")
    assert info.value.code == "WRONG_SUITE"


def test_wallet_repr_does_not_leak_the_key(home: Path, suite: CryptoSuite) -> None:
    wallet = load_wallet(home, suite, "hongqiao-auto/admin")
    pem = (home / "orgs" / "hongqiao-auto" / "members" / "admin" / "key.pem").read_text()
    secrets = ["".join(pem.splitlines()[1:-1])]
    if suite.name == "ed25519-sha256":
        secret = bytes(wallet.signer._key).hex()  # type: ignore[attr-defined]  # noqa: SLF001
        secrets += [secret, secret[:16]]
    for text in (repr(wallet), str(wallet), f"{wallet}", repr([wallet]), repr({"w": wallet})):
        assert "Wallet(hongqiao-auto/admin)" in text
        assert all(s not in text for s in secrets) and "PRIVATE" not in text
    assert isinstance(wallet, Wallet)


def test_key_files_are_private(home: Path) -> None:
    key = home / "orgs" / "pudong-bank" / "members" / "clerk" / "key.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home / "orgs" / "pudong-bank" / "ca.key").st_mode) == 0o600


def test_list_identities(home: Path) -> None:
    found = list_identities(home)
    assert len(found) == 4 * 3 + 1
    assert found == sorted(found)
    assert "sh-regulator/inspector" in found and "pudong-bank/node" in found
    assert list_identities(home / "nowhere") == []


@pytest.mark.parametrize(("identity", "code"), [("no-slash", "BAD_IDENTITY"), ("hongqiao-auto/ghost", "IDENTITY_NOT_FOUND"),
                                                ("ghost-org/admin", "IDENTITY_NOT_FOUND")])
def test_load_wallet_errors(home: Path, identity: str, code: str, suite: CryptoSuite) -> None:
    with pytest.raises(NotFound) as info:
        load_wallet(home, suite, identity)
    assert info.value.code == code


def test_load_wallet_rejects_path_tricks(home: Path, suite: CryptoSuite) -> None:
    with pytest.raises(BadInput):
        load_wallet(home, suite, "hongqiao-auto/../admin")
    with pytest.raises(BadInput):
        load_wallet(home, suite, "../hongqiao-auto/admin")
