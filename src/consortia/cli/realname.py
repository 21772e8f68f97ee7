"""``consortia realname``: bind member identities to real-name records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from consortia.cli.common import example, handle_errors, home_option, identity_option, url_option


@click.group()
def realname() -> None:
    """Real-name records: a salted digest on the chain, the clear value with the organisation."""


@realname.command("register", epilog=example(
    "consortia realname register jinglian-parts/clerk --kind person --id-type phone --value 13800138000 "
    "--as jinglian-parts/admin"))
@click.argument("member")
@click.option("--kind", required=True, type=click.Choice(["person", "organisation"]))
@click.option("--id-type", required=True, type=click.Choice(["resident_id", "phone", "passport", "uscc"]))
@click.option("--value", required=True, help="The verified ID number, phone number or USCC.")
@home_option
@url_option
@identity_option
@handle_errors
def register(member: str, kind: str, id_type: str, value: str, home: Path, url: str, identity: str | None) -> None:
    """Record MEMBER's real-name digest on the chain and keep the clear value on your node."""
    from consortia.cli.main import client_for
    from consortia.identity.realname import realname_digest

    with client_for(home, url, identity, need_identity=True) as c:
        salt = os.urandom(16)
        record = c.call("realname", "register", {"identity": member, "kind": kind, "id_type": id_type,
                                                  "digest": realname_digest(c.suite.hash, salt, kind, id_type, value)})
        c._request("POST", "/realname/clear", body={"identity": member, "value": value, "salt": salt.hex()},
                   signed=True)
    click.echo(f"{member}: real-name record version {record['version']} on the chain ({record['digest'][:16]}...); "
               "the clear value stays on this organisation's node")


@realname.command("show", epilog=example("consortia realname show jinglian-parts/clerk --as sh-regulator/admin"))
@click.argument("member")
@home_option
@url_option
@identity_option
@handle_errors
def show(member: str, home: Path, url: str, identity: str | None) -> None:
    """Read MEMBER's clear real-name value (its own organisation or a regulator) and check it."""
    from consortia.cli.main import client_for

    with client_for(home, url, identity, need_identity=True) as c:
        found = c._request("GET", "/realname/clear", params={"identity": member}, signed=True).json()
    click.echo(json.dumps(found, indent=2, ensure_ascii=False))
