"""A member identity on disk: ``<home>/orgs/<org>/members/<name>/{key.pem,cert.pem}``."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from consortia.crypto.suite import CryptoSuite, Signer
from consortia.errors import Fault, NotFound
from consortia.identity.x509 import cert_b64, check_member_name, check_org_id, check_suite, load_pem, org_of


@dataclass(frozen=True)
class Wallet:
    """A member's signer and certificate; ``repr`` never shows the key."""

    org: str
    name: str
    signer: Signer
    cert: x509.Certificate

    @property
    def id(self) -> str:
        return f"{self.org}/{self.name}"

    @property
    def sender(self) -> str:
        """The certificate as carried in a transaction's ``sender`` field."""
        return cert_b64(self.cert)

    @property
    def roles(self) -> list[str]:
        return sorted(str(a.value) for a in self.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME))

    def __repr__(self) -> str:
        return f"Wallet({self.id})"


def member_dir(home: Path, org: str, name: str) -> Path:
    return Path(home) / "orgs" / check_org_id(org) / "members" / check_member_name(name)


def save_member(home: Path, org: str, name: str, signer: Signer, cert: x509.Certificate) -> Path:
    from consortia.identity.x509 import cert_pem

    path = member_dir(home, org, name)
    path.mkdir(parents=True, exist_ok=True)
    write_secret(path / "key.pem", signer.private_key_pem())
    (path / "cert.pem").write_text(cert_pem(cert))
    return path


def write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def check_private(path: Path) -> None:
    """Refuse a secrets file (a private key, the real-name store) that others may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise Fault(f"{path} holds secrets but its mode is {mode:o}, open to others: run `chmod 600 {path}` "
                    "(and check who could read it)", code="SECRETS_EXPOSED", path=str(path))


def load_wallet(home: Path, suite: CryptoSuite, identity: str) -> Wallet:
    """Load ``<org>/<name>`` from a consortium directory; ``WRONG_SUITE`` if it is on another suite."""
    org, sep, name = identity.partition("/")
    if not sep:
        raise NotFound(f"identity must be written <org>/<name>, got {identity!r}", code="BAD_IDENTITY")
    path = member_dir(home, org, name)
    if not (path / "key.pem").exists():
        raise NotFound(f"no identity {identity} under {home}", code="IDENTITY_NOT_FOUND")
    cert = load_pem((path / "cert.pem").read_bytes())
    if org_of(cert) != org:
        raise NotFound(f"certificate in {path} belongs to {org_of(cert)}", code="BAD_IDENTITY")
    check_suite(suite, cert)
    check_private(path / "key.pem")
    return Wallet(org, name, suite.load_signer((path / "key.pem").read_bytes()), cert)


def list_identities(home: Path) -> list[str]:
    root = Path(home) / "orgs"
    if not root.is_dir():
        return []
    return sorted(f"{m.parent.parent.name}/{m.name}" for m in root.glob("*/members/*") if (m / "key.pem").exists())
