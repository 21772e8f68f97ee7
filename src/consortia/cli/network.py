"""``consortia network``: a NATS JetStream cluster and one node per organisation, on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from consortia.cli.common import emit, example, handle_errors, json_option

DEFAULT_NETWORK_HOME = ".network"


def network_home(fn: Any) -> Any:
    return click.option("--dir", "home", type=click.Path(path_type=Path), default=DEFAULT_NETWORK_HOME,
                        show_default=True, help="Network directory (consortium, NATS servers, nodes).")(fn)


@click.group()
def network() -> None:
    """A replicated consortium on one machine: 3 NATS servers, one node per organisation."""


@network.command("up", epilog=example("consortia network up --orgs 4"))
@network_home
@click.option("--orgs", default=4, show_default=True, type=click.IntRange(1, 16), help="Organisations (first run).")
@click.option("--servers", default=3, show_default=True, type=click.IntRange(1, 7), help="NATS servers (first run).")
@click.option("--tls", is_flag=True, help="First run: NATS with TLS and client certificates from each organisation's "
                                          "TLS CA, node APIs over HTTPS (tls/cas.pem is what clients trust).")
@json_option
@handle_errors
def network_up(home: Path, orgs: int, servers: int, tls: bool, as_json: bool) -> None:
    """Start (or resume) the NATS cluster and every organisation's node, then show their status."""
    from consortia.node.network import LocalNetwork

    net = LocalNetwork(home)
    net.create(orgs=orgs, servers=servers, tls=tls, chain_id="consortia-net")
    click.echo(f"starting {len(net.state.servers)} NATS servers and {len(net.state.nodes)} nodes...", err=True)
    net.up()
    _show(net.status(), as_json)


@network.command("down", epilog=example("consortia network down"))
@network_home
@handle_errors
def network_down(home: Path) -> None:
    """Stop every node and NATS server of the network (data stays; `up` resumes)."""
    from consortia.node.network import LocalNetwork

    LocalNetwork(home).down()
    click.echo("network stopped")


@network.command("status", epilog=example("consortia network status --json"))
@network_home
@json_option
@handle_errors
def network_status(home: Path, as_json: bool) -> None:
    """Height, final height, pending transactions and lag of every node; which servers run."""
    from consortia.node.network import LocalNetwork

    _show(LocalNetwork(home).status(), as_json)


def _show(rows: list[dict[str, Any]], as_json: bool) -> None:
    def human(rs: list[dict[str, Any]]) -> None:
        for r in rs:
            if "org" in r:
                click.echo(f"node   {r['org']:<18} {r['url']:<24} {r.get('status', '?'):<11} height {r.get('height')}"
                           f" (attested by {r.get('attested_by')})  final {r.get('final_height')}"
                           f"  pending {r.get('pending')}  lag {r.get('lag')}")
            else:
                click.echo(f"server {r['server']:<18} {r['url']:<24} {'running' if r['running'] else 'stopped'}")
    emit(rows, as_json, human)
