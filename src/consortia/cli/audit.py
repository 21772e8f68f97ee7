"""``consortia audit``: export the regulator's audit log and check an export offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from consortia.cli.common import example, handle_errors, home_option, identity_option, url_option
from consortia.errors import BadInput


@click.group()
def audit() -> None:
    """The audit log: regulator reads and admin actions, hash-chained."""


@audit.command("export", epilog=example("consortia audit export --format csv --out audit.csv --as sh-regulator/admin"))
@click.option("--format", "fmt", default="json", show_default=True, type=click.Choice(["json", "csv"]))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of standard output.")
@home_option
@url_option
@identity_option
@handle_errors
def audit_export(fmt: str, out: Path | None, home: Path, url: str, identity: str | None) -> None:
    """Download the node's audit log (needs a regulator identity)."""
    from consortia.cli.main import client_for

    with client_for(home, url, identity, need_identity=True) as c:
        response = c._request("GET", "/audit", params={"format": fmt}, signed=True)
    text = response.text if fmt == "csv" else json.dumps(response.json()["entries"], indent=1, ensure_ascii=False)
    if out:
        out.write_text(text)
        click.echo(f"wrote {out}", err=True)
    else:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))


@audit.command("verify", epilog=example("consortia audit verify audit.csv"))
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@home_option
@handle_errors
def audit_verify(export: Path, home: Path) -> None:
    """Check an export's hash chain offline: any edited, removed or reordered entry is found."""
    from consortia.crypto import get_suite
    from consortia.node.audit import from_csv, verify_entries
    from consortia.node.home import load_genesis

    suite = get_suite(load_genesis(home)["suite"])
    text = export.read_text()
    try:
        entries = json.loads(text) if text.lstrip().startswith("[") else from_csv(text)
    except (ValueError, KeyError) as exc:
        raise BadInput(f"{export} is not an audit export: {exc}", code="BAD_EXPORT") from None
    ok, summary = verify_entries(suite.hash, entries)
    click.echo(("OK: " if ok else "TAMPERED: ") + summary)
    if not ok:
        sys.exit(1)
