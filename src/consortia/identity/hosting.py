"""Onboarding SMEs as hosted members of an operator organisation (ADR 0023).

The operator reads a CSV of SMEs (``name,uscc,company,legal_rep[,csr]``), checks every row
before anything happens, and for each SME either makes a key (delivered as a key file) or
certifies the key of the SME's own certificate request. What goes on the chain per member is
its name, USCC, company name, the public key it signs with and a salted digest of its legal
representative's name; the clear name and the salt stay with the operator.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import csr as asn1_csr
from asn1crypto import pem as asn1_pem
from cryptography import x509

from consortia.crypto.suite import CryptoSuite, Signer
from consortia.errors import BadInput, ConsortiaError, Revert
from consortia.identity.realname import realname_digest
from consortia.identity.x509 import NAME_RE, _asn1_name, cert_pem, issue_member
from consortia.types import codec

COLUMNS = ("name", "uscc", "company", "legal_rep")
RESERVED = ("admin", "clerk", "node", "inspector")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_RE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")
MAX_ROWS = 100_000
CHUNK = 2_000  # members per staging transaction (well under the chain's transaction size limit)


class BadRows(BadInput):
    """Rows of an import that cannot be onboarded, each with its line number."""

    code = "BAD_ROWS"

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "; ".join(f"line {line}: {text}" for line, text in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} bad row(s), nothing was onboarded: {shown}{more}",
                         rows=[{"line": line, "problem": text} for line, text in problems[:1000]])


def is_uscc(code: str) -> bool:
    if not USCC_RE.fullmatch(code):
        return False
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31] == code[17]


@dataclass(frozen=True, slots=True)
class SmeRow:
    line: int
    name: str
    uscc: str
    company: str
    legal_rep: str
    csr: str = ""  # the SME's own certificate request (PEM), or empty: the operator makes its key


@dataclass(slots=True)
class Onboarded:
    """One SME ready to go on the chain: its record, certificate, and the key file when the
    operator made the key."""

    row: SmeRow
    record: dict[str, Any]
    cert: x509.Certificate
    key_pem: bytes | None
    salt: bytes = field(repr=False)

    def key_file(self) -> bytes:
        """What is delivered to the SME: its private key (if the operator made it) and certificate."""
        return (self.key_pem or b"") + cert_pem(self.cert).encode()


def parse_csv(text: str, load_csr: Callable[[str], str] | None = None) -> list[SmeRow]:
    """Read and check every row; ``BadRows`` names each bad one by its line (the header is line 1).
    A ``csr`` column holds the SME's certificate request, read through ``load_csr`` (a file name
    next to the CSV on the command line) or given inline as PEM."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:4] != list(COLUMNS) or header[4:] not in ([], ["csr"]):
        raise BadRows([(1, f"expected the header {','.join(COLUMNS)}[,csr], got {','.join(header)!r}")])
    rows = []
    problems: list[tuple[int, str]] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.append((line, f"expected {len(header)} fields, got {len(cells)}"))
            continue
        values = dict(zip(header, (c.strip() for c in cells), strict=True))
        csr_text = values.get("csr", "")
        if csr_text and "-----BEGIN" not in csr_text and load_csr is not None:
            try:
                csr_text = load_csr(csr_text)
            except OSError as exc:
                problems.append((line, f"csr: cannot read {values['csr']!r} ({exc.strerror})"))
                continue
        rows.append(SmeRow(line, values["name"], values["uscc"], values["company"], values["legal_rep"], csr_text))
    return check_rows(rows, problems)


def check_rows(rows: list[SmeRow], problems: list[tuple[int, str]] | None = None) -> list[SmeRow]:
    problems = list(problems or [])
    if len(rows) > MAX_ROWS:
        problems.append((rows[MAX_ROWS].line, f"at most {MAX_ROWS} SMEs in one import"))
    first: dict[str, int] = {}
    for row in rows:
        bad = []
        if not NAME_RE.fullmatch(row.name) or row.name in RESERVED:
            bad.append(f"name {row.name!r}: lowercase letters, digits, '.', '_' or '-' (not {', '.join(RESERVED)})")
        if not is_uscc(row.uscc):
            bad.append(f"uscc {row.uscc!r} is not a valid unified social credit code")
        if not 0 < len(row.company) <= 200:
            bad.append("company: 1 to 200 characters")
        if not 0 < len(row.legal_rep) <= 100:
            bad.append("legal_rep: 1 to 100 characters")
        for key in (f"name:{row.name}", f"uscc:{row.uscc}"):
            if key in first:
                bad.append(f"{key.split(':')[0]} repeats line {first[key]}")
            first.setdefault(key, row.line)
        problems += [(row.line, text) for text in bad]
    if problems:
        raise BadRows(sorted(problems))
    return rows


def make_csr(signer: Signer, org: str, name: str) -> str:
    """A PKCS#10 certificate request for ``org/name`` signed by the SME's own key (on its suite)."""
    suite = signer.suite
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1", "subject": _asn1_name([("organization_name", org), ("common_name", name)]),
        "subject_pk_info": asn1_csr.PublicKeyInfo.load(suite.public_key_info(signer.public_key)), "attributes": []})
    request = asn1_csr.CertificationRequest({"certification_request_info": info,
                                             "signature_algorithm": {"algorithm": suite.cert_signature_oid},
                                             "signature": signer.sign(info.dump())})
    return str(asn1_pem.armor("CERTIFICATE REQUEST", request.dump()).decode())


def read_csr(suite: CryptoSuite, text: str, org: str, name: str) -> bytes:
    """The public key of a certificate request for ``org/name`` whose signature proves its
    holder has the private key; ``BadInput`` otherwise."""
    try:
        _, _, der = asn1_pem.unarmor(text.strip().encode())
        request = asn1_csr.CertificationRequest.load(der)
        info = request["certification_request_info"]
        oid = request["signature_algorithm"]["algorithm"].dotted
        public_key = suite.public_key_from_info(info["subject_pk_info"].dump())
        subject = info["subject"].native
    except Exception as exc:  # noqa: BLE001 - any parse failure is the caller's bad input
        raise BadInput(f"unreadable certificate request ({exc})", code="BAD_CSR") from None
    if oid != suite.cert_signature_oid:
        raise BadInput(f"the certificate request is signed with {oid}; this chain uses {suite.name}", code="WRONG_SUITE")
    if subject.get("common_name") != name or subject.get("organization_name") not in (None, org):
        raise BadInput(f"the certificate request names {subject}, expected {org}/{name}", code="BAD_CSR")
    if not suite.verify(public_key, info.dump(), request["signature"].native):
        raise BadInput("the certificate request's signature does not verify", code="BAD_CSR")
    return public_key


def plan(suite: CryptoSuite, ca_signer: Signer, ca_cert: x509.Certificate, org: str, rows: list[SmeRow],
         now_ms: int) -> list[Onboarded]:
    """Certificates (and keys where the SME sent no request) and chain records for every row;
    ``BadRows`` if a certificate request is bad, before anything is written anywhere."""
    problems: list[tuple[int, str]] = []
    keys: list[tuple[bytes, bytes | None]] = []
    for row in rows:
        if row.csr:
            try:
                keys.append((read_csr(suite, row.csr, org, row.name), None))
            except BadInput as exc:
                problems.append((row.line, f"csr: {exc.message}"))
        else:
            signer = suite.generate_signer()
            keys.append((signer.public_key, signer.private_key_pem()))
    if problems:
        raise BadRows(problems)
    out = []
    for row, (public_key, key_pem) in zip(rows, keys, strict=True):
        salt = os.urandom(16)
        record = {"name": row.name, "uscc": row.uscc, "company": row.company, "public_key": public_key.hex(),
                  "legal_rep_digest": realname_digest(suite.hash, salt, "person", "legal_representative", row.legal_rep)}
        cert = issue_member(ca_signer, ca_cert, row.name, ["client"], public_key, now_ms)
        out.append(Onboarded(row, record, cert, key_pem, salt))
    return out


def list_digest(suite: CryptoSuite, members: list[Onboarded]) -> str:
    """The digest the batch commits to: the hash of the canonical list of chain records."""
    return suite.hash(codec.encode([m.record for m in members])).hex()


def chunks(members: list[Onboarded], size: int = CHUNK) -> list[list[Onboarded]]:
    return [members[i:i + size] for i in range(0, len(members), size)]


def line_of_refusal(message: str, chunk: list[Onboarded]) -> int | None:
    """The CSV line of the row a chain refusal names (``members[12]: ...``), if it names one."""
    found = re.search(r"members\[(\d+)\]", message)
    if found is None or int(found.group(1)) >= len(chunk):
        return None
    return chunk[int(found.group(1))].row.line


def clear_records(members: list[Onboarded]) -> bytes:
    """What the operator keeps (never on the chain): each legal representative's name and salt."""
    return codec.encode([{"identity_name": m.row.name, "uscc": m.row.uscc, "legal_rep": m.row.legal_rep,
                          "salt": m.salt.hex()} for m in members])


Call = Callable[[str, dict[str, Any]], Any]  # a signed call of a ``hosted`` method, raising Revert if refused


def submit_batch(call: Call, suite: CryptoSuite, members: list[Onboarded]) -> dict[str, Any]:
    """Open a batch, stage every chunk, commit: all members count at once or none does. A chunk
    the chain refuses abandons the batch and is reported by the CSV line of the row it names."""
    batch = call("open_batch", {"count": len(members), "digest": list_digest(suite, members)})
    try:
        for chunk in chunks(members):
            try:
                call("stage", {"batch_id": batch["id"], "members": [m.record for m in chunk]})
            except Revert as exc:
                raise BadRows([(line_of_refusal(exc.message, chunk) or 0, f"{exc.code}: {exc.message}")]) from None
        return call("commit", {"batch_id": batch["id"]})  # type: ignore[no-any-return]
    except ConsortiaError:
        call("abandon", {"batch_id": batch["id"]})
        raise
