"""``consortia members``: SMEs hosted by an operator organisation, acting in their own name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from consortia.cli.common import CRYPTO_CHOICES, app_command, example, handle_errors


@click.group()
def members() -> None:
    """Hosted members: SMEs without a node, onboarded by an operator with keys from its CA."""


@app_command(members, "import", "consortia members import sme.csv --as yunlian-platform/admin --out sme-keys")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Also write one <name>.pem key file per SME here, to hand to each SME.")
def import_cmd(csv_file: Path, out: Path | None, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Onboard every SME of CSV_FILE (name,uscc,company,legal_rep[,csr]) as a member of your
    organisation, all or nothing: a bad row is reported by its line and nothing is done. A csr
    cell names the SME's own certificate request (a file next to the CSV); without one a key is
    made for the SME."""
    from consortia.cli.main import client_for
    from consortia.identity.hosting import BadRows, parse_csv
    from consortia.node.onboarding import onboard

    try:
        rows = parse_csv(csv_file.read_text(encoding="utf-8"), lambda name: (csv_file.parent / name).read_text())
        with client_for(home, url, identity, need_identity=True) as c:
            summary = onboard(home, c.suite, c.wallet.org, rows, lambda m, a: c.call("hosted", m, a), out)
    except BadRows as exc:
        for line, text in exc.problems:
            click.echo(f"{csv_file}:{line}: {text}", err=True)
        raise
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    click.echo(f"onboarded {summary['count']} SMEs as members of {summary['operator']} in batch {summary['batch']} "
               f"({summary['made_keys']} keys made, {summary['certified_requests']} requests certified) "
               f"in {summary['seconds']} s")


@members.command("csr", epilog=example("consortia members csr yunlian-platform sme-0042 --crypto sm --out sme-0042"))
@click.argument("operator")
@click.argument("name")
@click.option("--crypto", type=click.Choice(sorted(CRYPTO_CHOICES)), default="ed25519", show_default=True,
              help="The consortium's crypto suite.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for key.pem (keep it) and request.csr (send it to the operator).")
@handle_errors
def csr_cmd(operator: str, name: str, crypto: str, out: Path) -> None:
    """Make your own key as SME NAME of OPERATOR and a certificate request for the operator."""
    from consortia.crypto import get_suite
    from consortia.identity.hosting import make_csr
    from consortia.identity.wallet import write_secret
    from consortia.identity.x509 import check_member_name, check_org_id

    signer = get_suite(CRYPTO_CHOICES[crypto]).generate_signer()
    out.mkdir(parents=True, exist_ok=True)
    write_secret(out / "key.pem", signer.private_key_pem())
    (out / "request.csr").write_text(make_csr(signer, check_org_id(operator), check_member_name(name)))
    click.echo(f"{out / 'key.pem'} (yours, keep it) and {out / 'request.csr'} (put its file name in the csr "
               "column of the operator's CSV)")


@app_command(members, "list", "consortia members list yunlian-platform --as yunlian-platform/admin")
@click.argument("operator")
def list_cmd(operator: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The SMEs OPERATOR hosts (for the operator and regulators)."""
    from consortia.cli.main import client_for

    rows: list[dict[str, Any]] = []
    after = ""
    with client_for(home, url, identity, need_identity=True) as c:
        while True:
            page = c.query("hosted", "members_of", {"operator": operator, "after": after}, signed=True)
            rows += page["members"]
            if not page["next"] or not page["members"]:
                break
            after = page["next"]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for m in rows:
        click.echo(f"{m['identity']:<40} {m['uscc']}  {m['company']}")
    click.echo(f"{len(rows)} hosted members")


@app_command(members, "show", "consortia members show yunlian-platform/sme-0001 --as hongqiao-auto/admin")
@click.argument("member")
def show_cmd(member: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """A hosted member's record: its USCC, company, key and onboarding batch."""
    from consortia.cli.main import client_for

    with client_for(home, url, identity, need_identity=True) as c:
        found = c.query("hosted", "member", {"identity": member}, signed=True)
    click.echo(json.dumps(found, indent=2, ensure_ascii=False))
