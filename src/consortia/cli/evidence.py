"""``consortia evidence``: deposit file fingerprints, co-sign, fetch certificates, register works;
and ``consortia verify FILE CERT``, which checks a certificate offline (no network).

Files never leave this machine: the CLI hashes them locally and sends only the digest, unless
the owner chooses ``evidence upload`` to leave an encrypted copy with its node (ADR 0011).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from consortia.cli.common import app_command, emit, example, handle_errors, json_option
from consortia.errors import BadInput

F = TypeVar("F", bound=Callable[..., Any])
BATCH_ITEMS = 1000  # deposits per transaction: each one's certificate proves it by a Merkle path (ADR 0030)


@click.group("evidence", epilog=example("consortia evidence deposit contract.pdf --title 'Supply contract'"))
def evidence() -> None:
    """Evidence and copyright depository: fingerprints on the chain, certificates that verify offline."""


ev_command = app_command


def _client(home: Path, url: str, identity: str | None) -> Any:
    from consortia.cli.main import client_for

    return client_for(home, url, identity, need_identity=True)


def default_algorithm(home: Path) -> str:
    genesis = home / "genesis.json"
    if genesis.exists() and json.loads(genesis.read_text()).get("suite") == "sm2-sm3":
        return "sm3"
    return "sha-256"


def fingerprint(ref: str, algorithm: str) -> tuple[str, str]:
    """``ALG:DIGEST`` as given, or the digest of a local file."""
    from consortia.client.certificates import file_digest

    if ":" in ref and not Path(ref).exists():
        alg, _, digest = ref.partition(":")
        return alg, digest.lower()
    path = Path(ref)
    if not path.is_file():
        raise BadInput(f"{ref}: not a file, nor a fingerprint like sha-256:<hex>", code="NOT_A_FILE")
    return algorithm, file_digest(algorithm, path.read_bytes())


def _ok(receipt: dict[str, Any], tx_id: str) -> Any:
    from consortia.errors import Revert

    if receipt["status"] != "ok":
        raise Revert(receipt["message"], code=receipt["code"], tx_id=tx_id, status=receipt["status"])
    return receipt["result"]


def show_ms(ms: int | None) -> str:
    """A block time to the second on the console's clock (the chain's time zone)."""
    from consortia.cli.common import time_zone
    from consortia.types.clock import format_time, zone_label

    return "-" if ms is None else f"{format_time(ms, time_zone(), seconds=True)} {zone_label(ms, time_zone())}"


def _echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def _record_line(r: dict[str, Any]) -> str:
    return f"{r['id']}  {r['status']}  owner {r['owner']}  confirmed {show_ms(r.get('confirmed_ms'))}  {r.get('title', '')}"


def _print_record(r: dict[str, Any]) -> None:
    click.echo(_record_line(r))


algorithm_option = click.option("--algorithm", type=click.Choice(["sha-256", "sm3"]), default=None,
                                help="Digest algorithm (default: sm3 on an SM chain, else sha-256).")


@ev_command(evidence, "deposit", "consortia evidence deposit scans/*.pdf --kind contract --meta case=2026-17 "
                                 "--cosigner pudong-bank --threshold 1")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", default=None, help="Title (default: the file name).")
@click.option("--kind", default="document", show_default=True, help="document, contract, image, audio, video, ...")
@click.option("--meta", multiple=True, help="Metadata KEY=VALUE (repeatable).")
@click.option("--cosigner", multiple=True, help="Organisation that must co-sign (repeatable).")
@click.option("--threshold", type=int, default=None, help="Co-signatures needed (default: all co-signers).")
@algorithm_option
def deposit(home: Path, url: str, identity: str | None, as_json: bool, files: tuple[Path, ...], title: str | None,
            kind: str, meta: tuple[str, ...], cosigner: tuple[str, ...], threshold: int | None,
            algorithm: str | None) -> None:
    """Hash FILES locally and deposit their digests (one request; thousands of files are cut into
    transactions of 1,000). The first confirmed registration of a digest wins."""
    from consortia.client.certificates import file_digest

    algorithm = algorithm or default_algorithm(home)
    metadata = dict(m.split("=", 1) for m in meta if "=" in m)
    if len(metadata) != len(meta):
        raise BadInput("--meta: expected KEY=VALUE", code="BAD_METADATA")
    items = [{"algorithm": algorithm, "digest": file_digest(algorithm, f.read_bytes()),
              "title": title or f.name, "kind": kind, "metadata": metadata} for f in files]
    signing = {"cosigners": list(cosigner), "threshold": len(cosigner) if threshold is None else threshold}
    with _client(home, url, identity) as c:
        if len(items) == 1:
            args = {**items[0], **signing}
            txs = [c.build("evidence", "deposit", args)]
        else:
            txs = [c.build("evidence", "deposit_batch", {"items": items[i:i + BATCH_ITEMS], **signing})
                   for i in range(0, len(items), BATCH_ITEMS)]
        views = c.submit(txs)
    results = [_ok(v["receipt"], v["tx_id"]) for v in views]
    ids = [results[0]["id"]] if len(items) == 1 else [f"{i['algorithm']}:{i['digest']}" for i in items]
    out = {"deposited": len(items), "ids": ids, "tx_ids": [v["tx_id"] for v in views],
           "status": results[0].get("status", "confirmed" if not cosigner else "pending") if len(items) == 1
           else ("pending" if cosigner else "confirmed")}
    emit(out, as_json, lambda o: click.echo(f"deposited {o['deposited']} ({o['status']}): " + ", ".join(o["ids"][:5])
                                            + (" ..." if len(o["ids"]) > 5 else "")))


@ev_command(evidence, "cosign", "consortia evidence cosign sha-256:9f86d0... --as pudong-bank/admin")
@click.argument("ref")
@algorithm_option
def cosign(home: Path, url: str, identity: str | None, as_json: bool, ref: str, algorithm: str | None) -> None:
    """Co-sign a pending deposit (a FILE or ALG:DIGEST) for your organisation."""
    alg, digest = fingerprint(ref, algorithm or default_algorithm(home))
    with _client(home, url, identity) as c:
        record = c.call("evidence", "cosign", {"algorithm": alg, "digest": digest})
    emit(record, as_json, _print_record)


@ev_command(evidence, "grant", "consortia evidence grant contract.pdf pudong-bank")
@click.argument("ref")
@click.argument("org")
@algorithm_option
def grant(home: Path, url: str, identity: str | None, as_json: bool, ref: str, org: str, algorithm: str | None) -> None:
    """Let ORG see the record of a deposit you own (a FILE or ALG:DIGEST) and read its file copy."""
    alg, digest = fingerprint(ref, algorithm or default_algorithm(home))
    with _client(home, url, identity) as c:
        record = c.call("evidence", "grant", {"algorithm": alg, "digest": digest, "org": org})
    emit(record, as_json, lambda r: click.echo(f"{r['id']} is visible to {', '.join(r['grantees'])}"))


@ev_command(evidence, "show", "consortia evidence show contract.pdf")
@click.argument("ref")
@algorithm_option
def show(home: Path, url: str, identity: str | None, as_json: bool, ref: str, algorithm: str | None) -> None:
    """Whether a FILE (hashed locally) or ALG:DIGEST is on the chain; the full record if you may see it."""
    from consortia.errors import Forbidden

    alg, digest = fingerprint(ref, algorithm or default_algorithm(home))
    with _client(home, url, identity) as c:
        found = c.query("evidence", "exists", {"algorithm": alg, "digest": digest})
        if found["exists"]:
            try:
                found = {**found, **c.query("evidence", "get", {"algorithm": alg, "digest": digest}, signed=True)}
            except Forbidden:
                pass
    emit(found, as_json, lambda r: _print_record(r) if r["exists"] else click.echo(f"{alg}:{digest} is not on the chain"))


@ev_command(evidence, "list", "consortia evidence list --owner jinglian-parts")
@click.option("--owner", default=None, help="Organisation (default: yours).")
def list_deposits(home: Path, url: str, identity: str | None, as_json: bool, owner: str | None) -> None:
    """An organisation's deposits, oldest first."""
    with _client(home, url, identity) as c:
        result = c.query("evidence", "deposits", {"owner": owner or c.wallet.org}, signed=True)
    emit(result, as_json, lambda r: _echo_lines([_record_line(d) for d in r["deposits"]]))


@ev_command(evidence, "pending", "consortia evidence pending --as pudong-bank/admin")
def pending(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Deposits waiting for your organisation's co-signature."""
    with _client(home, url, identity) as c:
        result = c.query("evidence", "pending", {}, signed=True)
    emit(result, as_json, lambda r: _echo_lines([_record_line(d) for d in r["pending"]]))


@ev_command(evidence, "cert", "consortia evidence cert contract.pdf -o contract.cert.json --html contract.cert.html")
@click.argument("ref")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the credential here (default: stdout).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the HTML rendering with its QR code here.")
@algorithm_option
def cert(home: Path, url: str, identity: str | None, as_json: bool, ref: str, output: Path | None,
         html_out: Path | None, algorithm: str | None) -> None:
    """Fetch the certificate (W3C Verifiable Credential with its own proof) of a FILE or ALG:DIGEST."""
    alg, digest = fingerprint(ref, algorithm or default_algorithm(home))
    path = f"/evidence/certificates/{alg}/{digest}"
    with _client(home, url, identity) as c:
        credential = c._request("GET", path, signed=True).json()
        if html_out is not None:
            html_out.write_text(c._request("GET", path, params={"format": "html"}, signed=True).text)
    text = json.dumps(credential, indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n")
        written = {"certificate": str(output), "html": str(html_out) if html_out else None}
        emit(written, as_json, lambda w: click.echo(f"wrote {w['certificate']}" + (f" and {w['html']}" if w["html"] else "")))


def _signed_put(c: Any, path: str, data: bytes) -> Any:
    """PUT raw bytes with ``X-Consortia-Auth`` signing them (the SDK's requests carry JSON bodies)."""
    from consortia.client.client import _error_from
    from consortia.identity.read_auth import HEADER, sign_read

    headers = {"content-type": "application/octet-stream",
               HEADER: sign_read(c._require_wallet(), c.suite.hash, c.chain_id, "PUT", path, data)}
    response = c._http.request("PUT", c.url + path, content=data, headers=headers)
    if response.status_code >= 400:
        raise _error_from(response)
    return response.json()


@ev_command(evidence, "upload", "consortia evidence upload contract.pdf")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@algorithm_option
def upload(home: Path, url: str, identity: str | None, as_json: bool, file: Path, algorithm: str | None) -> None:
    """Leave an encrypted copy of a FILE you deposited with the node; it serves the copy only to your
    organisation, the organisations you granted (``grant``) and regulators."""
    alg, digest = fingerprint(str(file), algorithm or default_algorithm(home))
    with _client(home, url, identity) as c:
        stored = _signed_put(c, f"/evidence/files/{alg}/{digest}", file.read_bytes())
    emit(stored, as_json, lambda s: click.echo(f"{'stored' if s['created'] else 'already stored'}: {s['id']} "
                                               f"({s['bytes']} bytes, sealed with {s['cipher']})"))


@ev_command(evidence, "download", "consortia evidence download sha-256:9f86d0... -o contract.pdf")
@click.argument("ref")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the file.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def download(home: Path, url: str, identity: str | None, as_json: bool, ref: str, output: Path, force: bool) -> None:
    """Fetch the node's copy of the file deposited as REF (ALG:DIGEST); its digest is checked here
    before anything is written."""
    from consortia.client.certificates import file_digest

    alg, _, digest = ref.partition(":")
    if not digest:
        raise BadInput(f"{ref}: expected a fingerprint like sha-256:<hex>", code="BAD_DIGEST")
    digest = digest.lower()
    if output.exists() and not force:
        raise BadInput(f"{output} exists (use --force to overwrite)", code="FILE_EXISTS")
    with _client(home, url, identity) as c:
        data = c._request("GET", f"/evidence/files/{alg}/{digest}", signed=True).content
    if file_digest(alg, data) != digest:
        raise BadInput(f"the node sent bytes that do not hash to {alg}:{digest}; nothing written", code="FILE_MISMATCH")
    output.write_bytes(data)
    emit({"id": f"{alg}:{digest}", "output": str(output), "bytes": len(data)}, as_json,
         lambda o: click.echo(f"wrote {o['output']} ({o['bytes']} bytes, {o['id']} checked)"))


@evidence.group("work", epilog=example("consortia evidence work register song.flac --title 'Spring River' --author 'Li Na'"))
def work() -> None:
    """Copyright works: register, transfer, license, history."""


def _work_out(as_json: bool) -> Callable[[Any], None]:
    def human(w: dict[str, Any]) -> None:
        click.echo(f"work {w['id']}  owner {w['owner']}  {w['title']}  registered {show_ms(w['registered_ms'])}")
    return lambda w: emit(w, as_json, human)


@ev_command(work, "register", "consortia evidence work register song.flac --title 'Spring River' --author 'Li Na'")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", required=True)
@click.option("--author", required=True)
@click.option("--kind", default="document", show_default=True)
@algorithm_option
def work_register(home: Path, url: str, identity: str | None, as_json: bool, file: Path, title: str, author: str,
                  kind: str, algorithm: str | None) -> None:
    """Register a work; its id derives from the content digest, your organisation and the block time."""
    alg, digest = fingerprint(str(file), algorithm or default_algorithm(home))
    with _client(home, url, identity) as c:
        _work_out(as_json)(c.call("evidence", "register_work", {"algorithm": alg, "digest": digest, "title": title,
                                                                "author": author, "kind": kind}))


@ev_command(work, "transfer", "consortia evidence work transfer 3f2a... pudong-bank")
@click.argument("work_id")
@click.argument("to")
def work_transfer(home: Path, url: str, identity: str | None, as_json: bool, work_id: str, to: str) -> None:
    """Assign a work you own to another member organisation."""
    with _client(home, url, identity) as c:
        _work_out(as_json)(c.call("evidence", "transfer_work", {"work_id": work_id, "to": to}))


@ev_command(work, "license", "consortia evidence work license 3f2a... huaxin-mart --scope 'in-store audio' --until 2027-12-31")
@click.argument("work_id")
@click.argument("licensee")
@click.option("--scope", required=True)
@click.option("--until", required=True, help="Last day, e.g. 2027-12-31 (UTC).")
@click.option("--exclusive", is_flag=True)
def work_license(home: Path, url: str, identity: str | None, as_json: bool, work_id: str, licensee: str, scope: str,
                 until: str, exclusive: bool) -> None:
    """License a work you own for a scope until a date."""
    try:
        day = dt.date.fromisoformat(until)
    except ValueError:
        raise BadInput(f"--until: expected a date like 2027-12-31, got {until!r}", code="BAD_DATE") from None
    until_ms = int(dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=dt.UTC).timestamp() * 1000)
    with _client(home, url, identity) as c:
        _work_out(as_json)(c.call("evidence", "license_work", {"work_id": work_id, "licensee": licensee, "scope": scope,
                                                               "until_ms": until_ms, "exclusive": exclusive}))


@ev_command(work, "history", "consortia evidence work history 3f2a...")
@click.argument("work_id")
def work_history(home: Path, url: str, identity: str | None, as_json: bool, work_id: str) -> None:
    """Every step of a work: registration, transfers, licences, infringement evidence."""
    with _client(home, url, identity) as c:
        result = c.query("evidence", "history", {"work_id": work_id})
    emit(result, as_json, lambda r: _echo_lines([f"{show_ms(h['at_ms'])}  {h['action']:<13} by {h['by']}"
                                                 for h in r["history"]]))


@ev_command(evidence, "infringement", "consortia evidence infringement 3f2a... capture.html "
                                      "--page https://pirate.example/song --captured 2026-03-16T08:30:00Z")
@click.argument("work_id")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--page", "page_url", required=True, help="URL where the infringing copy was found.")
@click.option("--captured", required=True, help="When it was captured (ISO 8601, e.g. 2026-03-16T08:30:00Z).")
@click.option("--note", default="")
@algorithm_option
def infringement(home: Path, url: str, identity: str | None, as_json: bool, work_id: str, capture: Path,
                 page_url: str, captured: str, note: str, algorithm: str | None) -> None:
    """Record infringement evidence (URL, capture time, digest of the captured copy) against a work."""
    try:
        when = dt.datetime.fromisoformat(captured.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--captured: expected an ISO 8601 time, got {captured!r}", code="BAD_TIME") from None
    if when.tzinfo is None:
        raise BadInput("--captured: give a time zone (Z or +08:00)", code="BAD_TIME")
    alg, digest = fingerprint(str(capture), algorithm or default_algorithm(home))
    with _client(home, url, identity) as c:
        record = c.call("evidence", "record_infringement", {"work_id": work_id, "url": page_url, "note": note,
                                                            "captured_ms": int(when.timestamp() * 1000),
                                                            "algorithm": alg, "digest": digest})
    emit(record, as_json, lambda r: click.echo(f"recorded {r['id']} against work {r['work']}"))


@click.command("verify", epilog=example("consortia verify contract.pdf contract.cert.json --genesis .consortia/genesis.json"))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--genesis", "genesis_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(".consortia/genesis.json"), show_default=True,
              help="The genesis document you trust: its chain id, suite and organisations' CAs.")
@click.option("--quorum", type=click.IntRange(1, 1000), default=None,
              help="Organisations whose nodes must have signed the block (default: a majority of the genesis).")
@json_option
@handle_errors
def verify(file: Path, certificate: Path, genesis_path: Path, quorum: int | None, as_json: bool) -> None:
    """Check offline, with no network, that FILE matches the CERTIFICATE's digest, that the proof chains
    to a block header, and that a quorum of the consortium's nodes signed that header."""
    from consortia.client.certificates import CertificateInvalid, Verification, verify_certificate
    from consortia.execution.genesis import check_genesis
    from consortia.types import codec

    if not genesis_path.is_file():
        raise BadInput(f"no trusted genesis at {genesis_path} (use --genesis)", code="NO_GENESIS")
    genesis = check_genesis(codec.decode(genesis_path.read_bytes()))
    try:
        credential = json.loads(certificate.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{certificate}: not a JSON certificate ({exc})", code="MALFORMED_CERTIFICATE") from None
    report = Verification()
    try:
        verify_certificate(credential, genesis, file_data=file.read_bytes(), quorum=quorum, report=report)
    except CertificateInvalid:
        if not as_json:
            _echo_lines([f"ok  {line}" for line in report.checks])
            click.echo("INVALID: the check below failed", err=True)
        raise
    out = {"valid": True, "checks": report.checks, "deposit": report.subject, "height": report.height,
           "block_hash": report.block_hash, "signed_by": report.signed_by, "quorum": report.quorum}
    emit(out, as_json, lambda o: _echo_lines([f"ok  {line}" for line in o["checks"]] + [
        f"VALID: {file.name} was deposited as {o['deposit']['id']} by {o['deposit']['owner']}"]))
