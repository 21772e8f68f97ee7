"""``consortia node verify``: replay the block store and compare the state."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from consortia.cli.common import emit, example, handle_errors, home_option, json_option
from consortia.errors import NotFound


@click.group("node")
def node_group() -> None:
    """Maintain a node's data directory."""


@node_group.command("verify", epilog=example("consortia node verify --dir .consortia"))
@home_option
@json_option
@handle_errors
def verify(home: Path, as_json: bool) -> None:
    """Replay every stored block into a scratch store; check block hashes and state match."""
    from consortia.node.replay import verify_data_dir

    data = Path(home) / "node"
    if not (data / "chain.db").exists():
        raise NotFound(f"no node data in {data}", code="NO_DATA")
    with click.progressbar(length=1, label="replaying blocks", file=sys.stderr) as bar:
        def step(height: int) -> None:
            bar.length = max(bar.length or 1, height + 1)
            bar.update(1)
        report = verify_data_dir(data, step)
    result = report.to_dict()

    def human(r: dict[str, object]) -> None:
        verdict = "OK" if r["ok"] else "MISMATCH"
        click.echo(f"{verdict}: {r['blocks_checked']} blocks replayed up to height {r['height']}; "
                   f"state rows {r['state_rows']}, state matches: {r['state_matches']}")
        if r["mismatched_blocks"]:
            click.echo(f"blocks whose replay differs: {r['mismatched_blocks']}")
    emit(result, as_json, human)
    if not report.ok:
        sys.exit(1)
