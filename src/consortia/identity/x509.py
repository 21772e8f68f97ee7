"""Per-organisation CAs and member certificates (X.509).

Each organisation runs its own CA. A member certificate names its organisation in
``O``, the member in ``CN`` and each role in an ``OU`` (admin, client, node,
auditor). A member's identity id is ``<org>/<name>``.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from consortia.crypto.suite import CryptoSuite, Ed25519Signer, Signer
from consortia.errors import BadInput

ROLES = ("admin", "client", "node", "auditor")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ORG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


class CertificateError(BadInput):
    code = "BAD_CERTIFICATE"


@dataclass(frozen=True, slots=True)
class Identity:
    """A member as the chain sees it, after its certificate checked out."""

    org: str
    name: str
    roles: frozenset[str]
    public_key: bytes
    fingerprint: str  # hex hash of the certificate's DER, under the chain's suite
    not_before_ms: int
    not_after_ms: int

    @property
    def id(self) -> str:
        return f"{self.org}/{self.name}"

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "org": self.org, "name": self.name, "roles": sorted(self.roles),
                "fingerprint": self.fingerprint}


def check_org_id(org_id: str) -> str:
    if not isinstance(org_id, str) or not ORG_RE.fullmatch(org_id):
        raise BadInput(f"organisation id must match {ORG_RE.pattern}, got {org_id!r}", code="BAD_ORG_ID")
    return org_id


def check_member_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise BadInput(f"member name must match {NAME_RE.pattern}, got {name!r}", code="BAD_MEMBER_NAME")
    return name


def _crypto_key(signer: Signer) -> ed25519.Ed25519PrivateKey:
    if not isinstance(signer, Ed25519Signer):
        raise BadInput(f"X.509 issuing is not implemented for suite {signer.suite.name}", code="UNSUPPORTED")
    return signer.crypto_key()


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def create_ca(signer: Signer, org_id: str, org_name: str, now_ms: int, years: int = 10) -> x509.Certificate:
    """A self-signed CA certificate for ``org_id``."""
    check_org_id(org_id)
    key = _crypto_key(signer)
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_id),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{org_name} CA"),
    ])
    start = _utc(now_ms) - dt.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, algorithm=None)
    )


def issue_member(ca_signer: Signer, ca_cert: x509.Certificate, name: str, roles: list[str],
                 public_key: bytes, now_ms: int, days: int = 730) -> x509.Certificate:
    """A member certificate signed by the organisation's CA."""
    check_member_name(name)
    bad = [r for r in roles if r not in ROLES]
    if not roles or bad:
        raise BadInput(f"roles must be a non-empty subset of {ROLES}, got {roles}", code="BAD_ROLE")
    org_id = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(org_id))]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, r) for r in sorted(set(roles))]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
    start = _utc(now_ms) - dt.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(ed25519.Ed25519PublicKey.from_public_bytes(public_key))
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(min(start + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(_crypto_key(ca_signer), algorithm=None)
    )


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def cert_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def load_pem(pem: str | bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from None


def load_der_b64(text: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"not a base64 DER certificate: {exc}") from None


def org_of(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if len(values) != 1:
        raise CertificateError("certificate must name exactly one organisation (O)")
    return str(values[0].value)


def check_ca(cert: x509.Certificate, org_id: str) -> None:
    """Raise unless ``cert`` is a self-signed CA certificate for ``org_id``."""
    if org_of(cert) != org_id:
        raise CertificateError(f"CA certificate names organisation {org_of(cert)!r}, expected {org_id!r}")
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise CertificateError("CA certificate has no BasicConstraints") from None
    if not basic.ca:
        raise CertificateError("certificate is not a CA")
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, Exception) as exc:  # InvalidSignature has no common base
        raise CertificateError(f"CA certificate is not validly self-signed: {exc}") from None


def fingerprint(suite: CryptoSuite, cert: x509.Certificate) -> str:
    return suite.hash(cert.public_bytes(serialization.Encoding.DER)).hex()


def member_identity(suite: CryptoSuite, cert: x509.Certificate, ca_cert: x509.Certificate) -> Identity:
    """Check ``cert`` was issued by ``ca_cert`` and read the member out of it.

    Time validity is left to the caller, who knows the block time.
    """
    if cert.issuer != ca_cert.subject:
        raise CertificateError("certificate was not issued by this organisation's CA")
    try:
        cert.verify_directly_issued_by(ca_cert)
    except Exception as exc:  # noqa: BLE001 - cryptography raises several unrelated types
        raise CertificateError(f"certificate signature does not verify against the CA: {exc}") from None
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if basic.ca:
            raise CertificateError("a CA certificate cannot sign transactions")
    except x509.ExtensionNotFound:
        pass
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not NAME_RE.fullmatch(str(names[0].value)):
        raise CertificateError("certificate must carry one valid member name (CN)")
    roles = frozenset(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME))
    public = cert.public_key()
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise CertificateError(f"certificate key does not belong to suite {suite.name}")
    return Identity(
        org=org_of(cert),
        name=str(names[0].value),
        roles=roles & frozenset(ROLES),
        public_key=public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        fingerprint=fingerprint(suite, cert),
        not_before_ms=int(cert.not_valid_before_utc.timestamp() * 1000),
        not_after_ms=int(cert.not_valid_after_utc.timestamp() * 1000),
    )
