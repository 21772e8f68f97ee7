"""TLS between machines (ADR 0027): one TLS CA per organisation, ECDSA P-256, apart from its
member CA; certificates for its node (NATS client and HTTPS server) and for NATS servers.

    <home>/tls/<org>/ca.pem, ca.key       the organisation's TLS CA
    <home>/tls/<org>/node.pem, node.key   its node: client of NATS, server of the API
    <home>/tls/servers/<name>.pem, .key   a NATS server (issued by the first organisation's CA)
    <home>/tls/cas.pem                    every organisation's TLS CA: what NATS and clients trust

A node finds its files in ``CONSORTIA_TLS_CERT``, ``CONSORTIA_TLS_KEY`` and ``CONSORTIA_TLS_CA``
(``consortia up --tls-cert/--tls-key/--tls-ca`` sets them).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consortia.identity.wallet import write_secret

CERT_ENV, KEY_ENV, CA_ENV = "CONSORTIA_TLS_CERT", "CONSORTIA_TLS_KEY", "CONSORTIA_TLS_CA"
VALID_DAYS = 825
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _name(org: str, common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _builder(subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS)))


def _write(folder: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_secret(folder / f"{stem}.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_ca(folder: Path, org: str) -> None:
    """A self-signed TLS CA for ``org`` (may sign end-entity certificates only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(org, f"{org} TLS CA")
    cert = (_builder(name, name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write(folder, "ca", key, cert)


def issue(ca_folder: Path, folder: Path, stem: str, org: str, common: str, hosts: tuple[str, ...] = LOCAL_HOSTS) -> None:
    """An end-entity certificate from the CA in ``ca_folder``, good as TLS server and client."""
    ca_key = serialization.load_pem_private_key((ca_folder / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((ca_folder / "ca.pem").read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (_builder(_name(org, common), ca_cert.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(folder, stem, key, cert)


def ensure_network_tls(home: Path, orgs: list[str], servers: list[str]) -> Path:
    """Create what is missing of the layout above; returns the trust bundle ``tls/cas.pem``."""
    root = Path(home) / "tls"
    for org in orgs:
        folder = root / org
        if not (folder / "ca.pem").exists():
            make_ca(folder, org)
        if not (folder / "node.pem").exists():
            issue(folder, folder, "node", org, f"{org} node")
    for name in servers:
        if not (root / "servers" / f"{name}.pem").exists():
            issue(root / orgs[0], root / "servers", name, orgs[0], f"nats {name}")
    bundle = root / "cas.pem"
    bundle.write_bytes(b"".join((root / org / "ca.pem").read_bytes() for org in orgs))
    return bundle


def client_context(cert: str | Path, key: str | Path, ca: str | Path) -> ssl.SSLContext:
    """A TLS client that presents ``cert`` and trusts only the CAs in ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def nats_context_from_env() -> ssl.SSLContext | None:
    """The node's NATS client context when ``CONSORTIA_TLS_*`` name its files, else None."""
    cert, key, ca = (os.environ.get(n, "") for n in (CERT_ENV, KEY_ENV, CA_ENV))
    return client_context(cert, key, ca) if cert and key and ca else None
