"""Per-organisation CAs and member certificates (X.509), on the chain's crypto suite.

Each organisation runs its own CA. A member certificate names its organisation in
``O``, the member in ``CN`` and each role in an ``OU`` (admin, client, node,
auditor). A member's identity id is ``<org>/<name>``.

Certificates are read with ``cryptography`` on every suite (it parses an SM2 certificate
even though it cannot verify one); signatures are checked by the chain's suite over the
to-be-signed bytes, so one code path serves Ed25519 and SM2. Ed25519 certificates are
built by ``cryptography``; SM2 certificates (signature ``1.2.156.10197.1.501``, SM2 with
SM3; EC key on curve ``1.2.156.10197.1.301``) are built with asn1crypto and signed by the
SM2 key, since no maintained Python X.509 builder speaks SM2. A certificate of another
suite than the chain's is refused with ``WRONG_SUITE``.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from consortia.crypto.suite import CryptoSuite, Ed25519Signer, Signer, WrongSuite, suite_for_signature_oid
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


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def create_ca(signer: Signer, org_id: str, org_name: str, now_ms: int, years: int = 10) -> x509.Certificate:
    """A self-signed CA certificate for ``org_id``, on the signer's suite."""
    check_org_id(org_id)
    if not isinstance(signer, Ed25519Signer):
        attrs = [("organization_name", org_id), ("common_name", f"{org_name} CA")]
        start = _utc(now_ms) - dt.timedelta(minutes=5)
        return build_certificate(signer, attrs, None, signer.suite.public_key_info(signer.public_key), start,
                                 start + dt.timedelta(days=365 * years), ca=True)
    key = signer.crypto_key()
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
    check_suite(ca_signer.suite, ca_cert)
    key_info = ca_signer.suite.public_key_info(public_key)  # BAD_KEY unless a key of the CA's suite
    org_id = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    start = _utc(now_ms) - dt.timedelta(minutes=5)
    end = min(start + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    if not isinstance(ca_signer, Ed25519Signer):
        subject = [("organization_name", str(org_id)), *[("organizational_unit_name", r) for r in sorted(set(roles))],
                   ("common_name", name)]
        return build_certificate(ca_signer, subject, ca_cert.subject.public_bytes(), key_info, start, end, ca=False)
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(org_id))]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, r) for r in sorted(set(roles))]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(ed25519.Ed25519PublicKey.from_public_bytes(public_key))
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_signer.crypto_key(), algorithm=None)
    )


def build_certificate(signer: Signer, subject: list[tuple[str, str]], issuer: bytes | None, public_key_info: bytes,
                      not_before: dt.datetime, not_after: dt.datetime, *, ca: bool | None) -> x509.Certificate:
    """An X.509 v3 certificate built with asn1crypto and signed by ``signer`` on its suite.

    ``subject`` is a list of (asn1crypto attribute name, value), in order; ``issuer`` the DER
    of the issuer's name (None: the subject, self-signed); ``public_key_info`` the subject's
    DER SubjectPublicKeyInfo; ``ca`` None leaves out BasicConstraints.
    """
    suite = signer.suite
    algorithm = {"algorithm": suite.cert_signature_oid}
    name = _asn1_name(subject)
    extensions = []
    if ca is not None:
        constraints = asn1_x509.BasicConstraints({"ca": True, "path_len_constraint": 0} if ca else {"ca": False})
        extensions.append({"extn_id": "basic_constraints", "critical": True, "extn_value": constraints})
    if ca:
        extensions.append({"extn_id": "key_usage", "critical": True,
                           "extn_value": {"digital_signature", "key_cert_sign", "crl_sign"}})
    tbs = asn1_x509.TbsCertificate({
        "version": "v3",
        "serial_number": int.from_bytes(os.urandom(20), "big") >> 1,
        "signature": algorithm,
        "issuer": name if issuer is None else asn1_x509.Name.load(issuer),
        "validity": {"not_before": _asn1_time(not_before), "not_after": _asn1_time(not_after)},
        "subject": name,
        "subject_public_key_info": asn1_keys.PublicKeyInfo.load(public_key_info),
        "extensions": extensions or None,
    })
    certificate = asn1_x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": algorithm,
                                         "signature_value": signer.sign(tbs.dump())})
    return x509.load_der_x509_certificate(certificate.dump())


def _asn1_name(attrs: list[tuple[str, str]]) -> asn1_x509.Name:
    rdns = [asn1_x509.RelativeDistinguishedName([asn1_x509.NameTypeAndValue({
        "type": kind, "value": asn1_x509.DirectoryString(name="utf8_string", value=value)})]) for kind, value in attrs]
    return asn1_x509.Name(name="", value=asn1_x509.RDNSequence(rdns))


def _asn1_time(when: dt.datetime) -> asn1_x509.Time:
    when = when.astimezone(dt.UTC).replace(microsecond=0)
    return asn1_x509.Time(name="utc_time" if when.year < 2050 else "general_time", value=when)


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


def suite_of(cert: x509.Certificate) -> CryptoSuite:
    """The registered suite whose signature algorithm signed ``cert``."""
    oid = cert.signature_algorithm_oid.dotted_string
    suite = suite_for_signature_oid(oid)
    if suite is None:
        raise CertificateError(f"certificate signature algorithm {oid} belongs to no known crypto suite",
                               code="WRONG_SUITE")
    return suite


def check_suite(suite: CryptoSuite, cert: x509.Certificate) -> None:
    """Raise ``WRONG_SUITE`` unless ``cert`` is signed with ``suite``'s algorithm."""
    oid = cert.signature_algorithm_oid.dotted_string
    if oid != suite.cert_signature_oid:
        other = suite_for_signature_oid(oid)
        raise CertificateError(f"certificate is signed with {other.name if other else oid}; this chain uses "
                               f"suite {suite.name}", code="WRONG_SUITE")


def public_key_of(suite: CryptoSuite, cert: x509.Certificate) -> bytes:
    """The certificate's raw public key in ``suite``'s format; ``WRONG_SUITE`` for another suite's key."""
    try:
        info = asn1_x509.TbsCertificate.load(cert.tbs_certificate_bytes)["subject_public_key_info"].dump()
        return suite.public_key_from_info(info)
    except WrongSuite as exc:
        raise CertificateError(f"certificate key: {exc.message}", code="WRONG_SUITE") from None
    except (BadInput, ValueError) as exc:
        raise CertificateError(f"cannot read the certificate's public key: {exc}") from None


def is_signed_by(suite: CryptoSuite, cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key made ``cert``'s signature (both on ``suite``)."""
    check_suite(suite, cert)
    return suite.verify(public_key_of(suite, issuer), cert.tbs_certificate_bytes, cert.signature)


def check_ca(cert: x509.Certificate, org_id: str, suite: CryptoSuite | None = None) -> None:
    """Raise unless ``cert`` is a self-signed CA certificate for ``org_id`` (on ``suite`` when given)."""
    if suite is None:
        suite = suite_of(cert)
    check_suite(suite, cert)
    if org_of(cert) != org_id:
        raise CertificateError(f"CA certificate names organisation {org_of(cert)!r}, expected {org_id!r}")
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise CertificateError("CA certificate has no BasicConstraints") from None
    if not basic.ca:
        raise CertificateError("certificate is not a CA")
    if cert.issuer != cert.subject or not is_signed_by(suite, cert, cert):
        raise CertificateError("CA certificate is not validly self-signed")


def fingerprint(suite: CryptoSuite, cert: x509.Certificate) -> str:
    return suite.hash(cert.public_bytes(serialization.Encoding.DER)).hex()


def member_identity(suite: CryptoSuite, cert: x509.Certificate, ca_cert: x509.Certificate) -> Identity:
    """Check ``cert`` was issued by ``ca_cert`` and read the member out of it.

    Time validity is left to the caller, who knows the block time.
    """
    check_suite(suite, cert)
    if cert.issuer != ca_cert.subject:
        raise CertificateError("certificate was not issued by this organisation's CA")
    if not is_signed_by(suite, cert, ca_cert):
        raise CertificateError("certificate signature does not verify against the CA")
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
    return Identity(
        org=org_of(cert),
        name=str(names[0].value),
        roles=roles & frozenset(ROLES),
        public_key=public_key_of(suite, cert),
        fingerprint=fingerprint(suite, cert),
        not_before_ms=int(cert.not_valid_before_utc.timestamp() * 1000),
        not_after_ms=int(cert.not_valid_after_utc.timestamp() * 1000),
    )
