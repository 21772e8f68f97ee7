"""Ed25519 suite, key files, per-organisation CAs and member certificates, wallets."""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from consortia.crypto.suite import Ed25519Sha256, Ed25519Signer, get_suite
from consortia.errors import BadInput, NotFound
from consortia.identity import x509 as ids
from consortia.identity.wallet import Wallet, list_identities, load_wallet
from consortia.identity.x509 import CertificateError

SUITE = get_suite("ed25519-sha256")
NOW = int(time.time() * 1000)


@pytest.fixture(scope="module")
def org_a() -> tuple[Ed25519Signer, x509.Certificate]:
    signer = SUITE.generate_signer()
    return signer, ids.create_ca(signer, "org-a", "Org A", NOW)


@pytest.fixture(scope="module")
def org_b() -> tuple[Ed25519Signer, x509.Certificate]:
    signer = SUITE.generate_signer()
    return signer, ids.create_ca(signer, "org-b", "Org B", NOW)


def issue(ca: tuple[Ed25519Signer, x509.Certificate], name: str, roles: list[str]) -> tuple[Ed25519Signer, x509.Certificate]:
    signer = SUITE.generate_signer()
    return signer, ids.issue_member(ca[0], ca[1], name, roles, signer.public_key, NOW)


def raw_cert(issuer_key: ed25519.Ed25519PrivateKey, issuer: x509.Name, subject: list[x509.NameAttribute],
             public: ed25519.Ed25519PublicKey, *, ca: bool | None = False) -> x509.Certificate:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    builder = (x509.CertificateBuilder().subject_name(x509.Name(subject)).issuer_name(issuer).public_key(public)
               .serial_number(x509.random_serial_number()).not_valid_before(start)
               .not_valid_after(start + dt.timedelta(days=1)))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return builder.sign(issuer_key, algorithm=None)


# -- the suite ----------------------------------------------------------------------------


def test_sign_and_verify() -> None:
    signer = SUITE.generate_signer()
    sig = signer.sign(b"message")
    assert len(sig) == 64 and len(signer.public_key) == 32
    assert SUITE.verify(signer.public_key, b"message", sig)
    assert signer.sign(b"message") == sig  # Ed25519 is deterministic


def test_verify_fails_for_wrong_key_message_or_signature() -> None:
    signer, other = SUITE.generate_signer(), SUITE.generate_signer()
    sig = signer.sign(b"message")
    assert not SUITE.verify(other.public_key, b"message", sig)
    assert not SUITE.verify(signer.public_key, b"messagf", sig)
    assert not SUITE.verify(signer.public_key, b"", sig)
    assert not SUITE.verify(signer.public_key, b"message", sig[:-1])
    assert not SUITE.verify(signer.public_key, b"message", sig + b"\x00")
    assert not SUITE.verify(signer.public_key, b"message", b"")
    assert not SUITE.verify(signer.public_key[:31], b"message", sig)
    assert not SUITE.verify(b"\x00" * 32, b"message", sig)
    for i in (0, 31, 32, 63):
        flipped = bytearray(sig)
        flipped[i] ^= 0x01
        assert not SUITE.verify(signer.public_key, b"message", bytes(flipped))


def test_suite_metadata_and_hash() -> None:
    assert isinstance(SUITE, Ed25519Sha256)
    assert (SUITE.name, SUITE.hash_name, SUITE.signature_name) == ("ed25519-sha256", "sha-256", "ed25519")
    assert SUITE.hash(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_unknown_suite() -> None:
    with pytest.raises(BadInput) as info:
        get_suite("sm2-sm3")
    assert info.value.code == "UNKNOWN_SUITE"
    assert "ed25519-sha256" in info.value.message


def test_private_key_pem_round_trip() -> None:
    signer = SUITE.generate_signer()
    pem = signer.private_key_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = SUITE.load_signer(pem)
    assert again.public_key == signer.public_key
    assert again.sign(b"m") == signer.sign(b"m")
    assert again.private_key_pem() == pem


def test_load_signer_rejects_garbage_and_other_algorithms() -> None:
    from cryptography.hazmat.primitives import serialization

    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for pem in (b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", ec_pem):
        with pytest.raises(BadInput) as info:
            SUITE.load_signer(pem)
        assert info.value.code == "BAD_KEY"


def test_signer_repr_hides_the_key() -> None:
    signer = SUITE.generate_signer()
    text = repr(signer)
    assert signer.public_key.hex()[:16] in text
    assert "PRIVATE" not in text
    assert bytes(signer._key).hex()[:16] not in text  # noqa: SLF001 - checking the secret is absent


# -- CA certificates ----------------------------------------------------------------------


def test_ca_is_self_signed_for_its_org(org_a: tuple[Ed25519Signer, x509.Certificate]) -> None:
    _, ca = org_a
    ids.check_ca(ca, "org-a")
    assert ids.org_of(ca) == "org-a"
    assert ca.issuer == ca.subject
    with pytest.raises(CertificateError, match="expected 'org-b'"):
        ids.check_ca(ca, "org-b")


def test_ca_pem_and_der_round_trip(org_a: tuple[Ed25519Signer, x509.Certificate]) -> None:
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


def test_check_ca_rejects_member_certs_and_forged_self_signature(org_a: tuple[Ed25519Signer, x509.Certificate]) -> None:
    _, member = issue(org_a, "alice", ["client"])
    with pytest.raises(CertificateError, match="not a CA"):
        ids.check_ca(member, "org-a")
    # a "self-signed" CA whose signature was made by a different key
    real, forger = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "org-x")])
    forged = raw_cert(forger, name, list(name), real.public_key(), ca=True)
    with pytest.raises(CertificateError, match="not validly self-signed"):
        ids.check_ca(forged, "org-x")
    no_constraints = raw_cert(real, name, list(name), real.public_key(), ca=None)
    with pytest.raises(CertificateError, match="BasicConstraints"):
        ids.check_ca(no_constraints, "org-x")


@pytest.mark.parametrize("org_id", ["", "Org", "-org", "org_a", "a/b", "x" * 49])
def test_bad_org_ids_rejected(org_id: str) -> None:
    with pytest.raises(BadInput) as info:
        ids.create_ca(SUITE.generate_signer(), org_id, "Name", NOW)
    assert info.value.code == "BAD_ORG_ID"


# -- member certificates ------------------------------------------------------------------


def test_member_identity_reads_org_name_roles_and_key(org_a: tuple[Ed25519Signer, x509.Certificate]) -> None:
    signer, cert = issue(org_a, "alice", ["client", "admin", "client"])
    member = ids.member_identity(SUITE, cert, org_a[1])
    assert (member.org, member.name, member.id) == ("org-a", "alice", "org-a/alice")
    assert member.roles == frozenset({"admin", "client"})
    assert member.has_role("admin") and not member.has_role("node")
    assert member.public_key == signer.public_key
    assert member.fingerprint == ids.fingerprint(SUITE, cert)
    assert len(member.fingerprint) == 64
    assert member.not_before_ms <= NOW < member.not_after_ms
    assert member.not_after_ms <= int(org_a[1].not_valid_after_utc.timestamp() * 1000)
    assert member.to_dict() == {"id": "org-a/alice", "org": "org-a", "name": "alice", "roles": ["admin", "client"],
                                "fingerprint": member.fingerprint}


@pytest.mark.parametrize("roles", [["node"], ["auditor", "client"], ["admin", "client", "node", "auditor"]])
def test_member_roles_parse(org_a: tuple[Ed25519Signer, x509.Certificate], roles: list[str]) -> None:
    _, cert = issue(org_a, "m", roles)
    assert ids.member_identity(SUITE, cert, org_a[1]).roles == frozenset(roles)


def test_member_of_another_orgs_ca_rejected(org_a: tuple[Ed25519Signer, x509.Certificate],
                                            org_b: tuple[Ed25519Signer, x509.Certificate]) -> None:
    _, cert = issue(org_a, "alice", ["client"])
    with pytest.raises(CertificateError, match="not issued by this organisation"):
        ids.member_identity(SUITE, cert, org_b[1])


def test_member_of_a_look_alike_ca_rejected(org_a: tuple[Ed25519Signer, x509.Certificate]) -> None:
    # same subject as org-a's CA (same org id and display name), different key
    impostor_signer = SUITE.generate_signer()
    impostor = ids.create_ca(impostor_signer, "org-a", "Org A", NOW)
    assert impostor.subject == org_a[1].subject
    _, cert = issue((impostor_signer, impostor), "alice", ["admin"])
    with pytest.raises(CertificateError, match="does not verify"):
        ids.member_identity(SUITE, cert, org_a[1])


def test_ca_certificate_cannot_act_as_member(org_a: tuple[Ed25519Signer, x509.Certificate]) -> None:
    with pytest.raises(CertificateError, match="CA certificate cannot sign"):
        ids.member_identity(SUITE, org_a[1], org_a[1])


def test_crafted_member_certs(org_a: tuple[Ed25519Signer, x509.Certificate]) -> None:
    ca_signer, ca = org_a
    key = ca_signer.crypto_key()
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    o = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "org-a")
    bad_cn = raw_cert(key, ca.subject, [o, x509.NameAttribute(NameOID.COMMON_NAME, "Bad Name")], public)
    with pytest.raises(CertificateError, match="member name"):
        ids.member_identity(SUITE, bad_cn, ca)
    two_cn = raw_cert(key, ca.subject, [o, x509.NameAttribute(NameOID.COMMON_NAME, "a"),
                                        x509.NameAttribute(NameOID.COMMON_NAME, "b")], public)
    with pytest.raises(CertificateError, match="member name"):
        ids.member_identity(SUITE, two_cn, ca)
    # unknown OUs are ignored, known ones kept
    odd_roles = raw_cert(key, ca.subject, [o, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "superuser"),
                                           x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "client"),
                                           x509.NameAttribute(NameOID.COMMON_NAME, "carol")], public)
    assert ids.member_identity(SUITE, odd_roles, ca).roles == frozenset({"client"})
    ec_cert = (x509.CertificateBuilder().subject_name(x509.Name([o, x509.NameAttribute(NameOID.COMMON_NAME, "dan")]))
               .issuer_name(ca.subject).public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
               .serial_number(1).not_valid_before(dt.datetime.now(dt.UTC))
               .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).sign(key, algorithm=None))
    with pytest.raises(CertificateError, match="does not belong to suite"):
        ids.member_identity(SUITE, ec_cert, ca)


@pytest.mark.parametrize("name", ["", "Admin", "-x", ".x", "_x", "a b", "a/b", "x" * 65, "é", "\na"])
def test_bad_member_names_rejected(org_a: tuple[Ed25519Signer, x509.Certificate], name: str) -> None:
    with pytest.raises(BadInput) as info:
        issue(org_a, name, ["client"])
    assert info.value.code == "BAD_MEMBER_NAME"


def test_trailing_newline_rejected_in_names() -> None:
    with pytest.raises(BadInput):
        ids.check_member_name("admin\n")
    with pytest.raises(BadInput):
        ids.check_org_id("org-a\n")


@pytest.mark.parametrize("name", ["a", "0", "x" * 64, "a.b_c-d"])
def test_good_member_names_accepted(org_a: tuple[Ed25519Signer, x509.Certificate], name: str) -> None:
    _, cert = issue(org_a, name, ["client"])
    assert ids.member_identity(SUITE, cert, org_a[1]).name == name


@pytest.mark.parametrize("roles", [[], ["root"], ["client", "Admin"]])
def test_bad_roles_rejected(org_a: tuple[Ed25519Signer, x509.Certificate], roles: list[str]) -> None:
    with pytest.raises(BadInput) as info:
        issue(org_a, "alice", roles)
    assert info.value.code == "BAD_ROLE"


# -- wallets ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from consortia.node.home import init_consortium

    path = tmp_path_factory.mktemp("wallets") / "c"
    init_consortium(path, orgs=4)
    return path


def test_wallet_loads_and_signs(home: Path) -> None:
    wallet = load_wallet(home, SUITE, "sh-regulator/inspector")
    assert (wallet.id, wallet.org, wallet.name) == ("sh-regulator/inspector", "sh-regulator", "inspector")
    assert wallet.roles == ["auditor", "client"]
    assert ids.load_der_b64(wallet.sender) == wallet.cert
    ca = ids.load_pem((home / "orgs" / "sh-regulator" / "ca.pem").read_bytes())
    member = ids.member_identity(SUITE, wallet.cert, ca)
    assert member.public_key == wallet.signer.public_key
    assert SUITE.verify(member.public_key, b"x", wallet.signer.sign(b"x"))


def test_wallet_repr_does_not_leak_the_key(home: Path) -> None:
    wallet = load_wallet(home, SUITE, "hongqiao-auto/admin")
    pem = (home / "orgs" / "hongqiao-auto" / "members" / "admin" / "key.pem").read_text()
    secret = bytes(wallet.signer._key).hex()  # type: ignore[attr-defined]  # noqa: SLF001
    body = "".join(pem.splitlines()[1:-1])
    for text in (repr(wallet), str(wallet), f"{wallet}", repr([wallet]), repr({"w": wallet})):
        assert "Wallet(hongqiao-auto/admin)" in text
        assert body not in text and secret not in text and secret[:16] not in text and "PRIVATE" not in text
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
def test_load_wallet_errors(home: Path, identity: str, code: str) -> None:
    with pytest.raises(NotFound) as info:
        load_wallet(home, SUITE, identity)
    assert info.value.code == code


def test_load_wallet_rejects_path_tricks(home: Path) -> None:
    with pytest.raises(BadInput):
        load_wallet(home, SUITE, "hongqiao-auto/../admin")
    with pytest.raises(BadInput):
        load_wallet(home, SUITE, "../hongqiao-auto/admin")
