"""Onboard SMEs from an operator's consortium directory, all or nothing (ADR 0023).

The operator's CA signs each SME's certificate; key files are written to a staging directory
first and put in place only once the chain committed the batch, so that a failed import leaves
neither members on the chain nor key files on disk. A made key is delivered the usual way,
``<home>/orgs/<operator>/members/<name>/{key.pem,cert.pem}`` (what ``--as`` and the console's
key-file sign-in read), and, with ``out``, also as one ``<name>.pem`` file per SME holding the
key and the certificate. The legal representatives' clear names and salts stay with the
operator in ``<home>/orgs/<operator>/hosted/<batch>.clear`` (mode 0600).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from consortia.crypto.suite import CryptoSuite
from consortia.errors import NotFound
from consortia.identity.hosting import BadRows, Call, Onboarded, SmeRow, clear_records, plan, submit_batch
from consortia.identity.wallet import write_secret
from consortia.identity.x509 import cert_pem, load_pem
from consortia.types import codec


def onboard(home: Path, suite: CryptoSuite, operator: str, rows: list[SmeRow], call: Call,
            out: Path | None = None) -> dict[str, Any]:
    """Certify every row with ``operator``'s CA, onboard them on the chain through ``call`` and
    deliver their key files; ``BadRows`` (by CSV line) and nothing done if any row is bad."""
    started = time.perf_counter()
    org_dir = Path(home) / "orgs" / operator
    if not (org_dir / "ca.key").exists():
        raise NotFound(f"no CA key for {operator!r} under {home}: onboard from the operator's directory",
                       code="ORG_NOT_FOUND")
    taken = [(r.line, f"{operator}/{r.name} already has a key in {home}") for r in rows
             if (org_dir / "members" / r.name).exists()]
    if taken:
        raise BadRows(taken)
    members = plan(suite, suite.load_signer((org_dir / "ca.key").read_bytes()), load_pem((org_dir / "ca.pem").read_bytes()),
                   operator, rows, int(time.time() * 1000))
    staging = org_dir / "hosted" / f".staging-{time.time_ns()}"
    try:
        _write(staging, members)
        batch = submit_batch(call, suite, members)
        _install(staging, org_dir, batch["id"], out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"batch": batch["id"], "operator": operator, "count": len(members),
            "made_keys": sum(1 for m in members if m.key_pem is not None),
            "certified_requests": sum(1 for m in members if m.key_pem is None),
            "record_bytes": sum(len(codec.encode(m.record)) for m in members) // max(1, len(members)),
            "seconds": round(time.perf_counter() - started, 3),
            "identities": [f"{operator}/{m.row.name}" for m in members]}


def _write(staging: Path, members: list[Onboarded]) -> None:
    for m in members:
        member = staging / "members" / m.row.name
        member.mkdir(parents=True)
        (member / "cert.pem").write_text(cert_pem(m.cert))
        if m.key_pem is not None:
            write_secret(member / "key.pem", m.key_pem)
    (staging / "files").mkdir(exist_ok=True)
    for m in members:
        write_secret(staging / "files" / f"{m.row.name}.pem", m.key_file())
    write_secret(staging / "clear", clear_records(members))


def _install(staging: Path, org_dir: Path, batch_id: str, out: Path | None) -> None:
    (org_dir / "members").mkdir(exist_ok=True)
    for member in sorted((staging / "members").iterdir()):
        member.rename(org_dir / "members" / member.name)
    (staging / "clear").rename(org_dir / "hosted" / f"{batch_id}.clear")
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        for file in sorted((staging / "files").iterdir()):
            shutil.move(str(file), Path(out) / file.name)
