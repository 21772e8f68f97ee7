"""``consortia contract``: write, check, propose, review and list members' contracts (ADR 0014)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from consortia.cli.common import example, handle_errors, home_option, identity_option, json_option, url_option
from consortia.errors import BadInput


@click.group()
def contract() -> None:
    """Members' own contracts: write one, check it, propose it by vote, review and list them."""


TEMPLATE = '''"""{title}: a contract of this consortium's members.

Deterministic by construction: block time is ctx.time_ms, ids come from ctx.derive_id(),
money is integer fen, and `consortia contract check` refuses what would let nodes disagree.
"""

from __future__ import annotations

from typing import Any

from consortia.contracts.sdk import Context, Contract, method, query, refuse, require


class {cls}(Contract):
    """{title}."""

    name = "{name}"
    version = "0.1.0"

    @method
    def create(self, ctx: Context, item_id: str, amount: int) -> dict[str, Any]:
        """Record ``item_id`` with ``amount`` (fen), owned by the caller's organisation."""
        require(0 < len(item_id) <= 64, refuse("BAD_ID", "item_id: 1..64 characters"))
        require(amount > 0, refuse("BAD_AMOUNT", f"amount: expected a positive number of fen, got {{amount}}"))
        require(not ctx.has(f"item/{{item_id}}"), refuse("DUPLICATE", f"item {{item_id}} exists"))
        item = {{"id": item_id, "owner": ctx.require_caller().org, "amount": amount, "created_ms": ctx.time_ms}}
        ctx.put(f"item/{{item_id}}", item)
        ctx.emit("ItemCreated", id=item_id, owner=item["owner"], amount=amount)
        return item

    @method
    def transfer(self, ctx: Context, item_id: str, to: str) -> dict[str, Any]:
        """The owner passes ``item_id`` to another member organisation."""
        item = self._item(ctx, item_id)
        require(item["owner"] == ctx.require_caller().org, refuse("NOT_OWNER", f"{{item_id}} belongs to {{item['owner']}}"))
        require(ctx.member_org(to) is not None, refuse("UNKNOWN_ORG", f"{{to!r:.64}} is not a member organisation"))
        item["owner"] = to
        ctx.put(f"item/{{item_id}}", item)
        ctx.emit("ItemTransferred", id=item_id, to=to)
        return item

    @query
    def item(self, ctx: Context, item_id: str) -> dict[str, Any]:
        """One item."""
        return self._item(ctx, item_id)

    def _item(self, ctx: Context, item_id: str) -> dict[str, Any]:
        found = ctx.get(f"item/{{item_id}}")
        require(found is not None, refuse("NOT_FOUND", f"no item {{item_id!r:.64}}"))
        return found  # type: ignore[no-any-return]
'''

TEST_TEMPLATE = '''"""Tests of {name}: plain pytest on a chain made for each test (consortia.testing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.testing import ContractChain

HERE = Path(__file__).parent


@pytest.fixture
def chain() -> Iterator[ContractChain]:
    with ContractChain(["alpha", "beta", "gamma"]) as c:
        c.deploy(HERE)  # installed by a vote of every organisation, as on a network
        yield c


def test_create_and_transfer(chain: ContractChain) -> None:
    item = chain.ok("alpha", "{name}", "create", item_id="A-1", amount=100_00)
    assert item["owner"] == "alpha"
    chain.advance(days=1)
    assert chain.ok("alpha", "{name}", "transfer", item_id="A-1", to="beta")["owner"] == "beta"
    assert chain.query("{name}", "item", item_id="A-1")["owner"] == "beta"


def test_refusals_change_nothing(chain: ContractChain) -> None:
    chain.ok("alpha", "{name}", "create", item_id="A-1", amount=1)
    chain.refused("DUPLICATE", "beta", "{name}", "create", item_id="A-1", amount=1)
    chain.refused("NOT_OWNER", "beta", "{name}", "transfer", item_id="A-1", to="gamma")
    chain.refused("BAD_AMOUNT", "alpha", "{name}", "create", item_id="A-2", amount=0)
    chain.refused("BAD_ARGS", "alpha", "{name}", "create", item_id="A-2", amount="1")
'''


def contract_name(slug: str) -> str:
    """``warehouse-receipt`` -> ``warehouse_receipt`` (how transactions name contracts)."""
    from consortia.contracts.usercode import NAME_RE

    name = slug.strip().lower().replace("-", "_")
    if not NAME_RE.fullmatch(name):
        raise BadInput(f"contract name: expected letters, digits, - or _ (2..32, starting with a letter), got "
                       f"{slug!r:.40}", code="BAD_NAME")
    return name


@contract.command("new", epilog=example("consortia contract new warehouse-receipt\n"
                                        "consortia contract check warehouse-receipt"))
@click.argument("slug")
@click.option("--into", type=click.Path(path_type=Path), default=None,
              help="Directory to create (default: ./SLUG).")
@handle_errors
def contract_new(slug: str, into: Path | None) -> None:
    """Write a contract module and a pytest file for it, both working as they are."""
    name = contract_name(slug)
    target = into or Path(slug)
    if (target / "contract.py").exists():
        raise BadInput(f"{target / 'contract.py'} exists; choose another directory", code="EXISTS")
    target.mkdir(parents=True, exist_ok=True)
    title = slug.replace("-", " ").replace("_", " ").strip().capitalize()
    cls = "".join(part.capitalize() for part in name.split("_"))
    (target / "contract.py").write_text(TEMPLATE.format(title=title, cls=cls, name=name), encoding="utf-8")
    (target / "test_contract.py").write_text(TEST_TEMPLATE.format(name=name), encoding="utf-8")
    click.echo(f"wrote {target / 'contract.py'} (contract {name} 0.1.0) and {target / 'test_contract.py'}")
    click.echo(f"next: pytest -q {target}; consortia contract check {target}; "
               f"consortia contract propose {target} --as <org>/admin")


@contract.command("check", epilog=example("consortia contract check warehouse-receipt"))
@click.argument("path", type=click.Path(path_type=Path))
@json_option
@handle_errors
def contract_check(path: Path, as_json: bool) -> None:
    """Run the deploy-time checks every node runs; name each offending line.

    PATH is a contract directory (its contract.py) or a .py file. Exits 6 when refused."""
    from consortia.client.contracts import read_source
    from consortia.contracts.usercode import ContractRefused, compile_archive, make_archive
    from consortia.crypto import get_suite, suite_names

    source = read_source(path)
    shown = path / "contract.py" if path.is_dir() else path
    try:
        program = compile_archive(make_archive(source))
    except ContractRefused as exc:
        findings = exc.details.get("findings") or [{"line": 1, "message": exc.message}]
        if as_json:
            click.echo(json.dumps({"ok": False, "findings": findings}, indent=2))
        else:
            for f in findings:
                click.echo(f"{shown}:{f['line']}: {f['message']}")
        raise
    from consortia.contracts.usercode import compute_code_hash

    archive = make_archive(source)
    hashes = {s: compute_code_hash(get_suite(s).hash, get_suite(s).hash_name, archive) for s in suite_names()}
    entries = [{"name": e.name, "kind": e.kind, "doc": e.doc} for e in sorted(program.entries.values(),
                                                                              key=lambda e: e.name)]
    if as_json:
        click.echo(json.dumps({"ok": True, "name": program.outline.name, "version": program.outline.version,
                               "code_hash": hashes, "entries": entries}, indent=2))
        return
    click.echo(f"ok: {program.outline.name} {program.outline.version}, "
               f"{sum(e['kind'] == 'method' for e in entries)} methods, {sum(e['kind'] == 'query' for e in entries)} "
               f"queries{', and a migration' if program.has_migrate else ''}")
    for suite, digest in hashes.items():
        click.echo(f"  code hash on {suite} chains: {digest}")


def _parse_access(restrict: tuple[str, ...]) -> dict[str, list[str]]:
    access: dict[str, list[str]] = {}
    for item in restrict:
        method, sep, orgs = item.partition("=")
        if not sep or not method or not orgs:
            raise BadInput(f"--restrict {item!r}: expected METHOD=ORG[,ORG...]", code="BAD_ARGS")
        access[method.strip()] = sorted({o.strip() for o in orgs.split(",") if o.strip()})
    return access


@contract.command("propose", epilog=example(
    "consortia contract propose warehouse-receipt --as hongqiao-auto/admin --restrict issue=hongqiao-auto\n"
    "consortia gov vote <proposal id> --yes --as pudong-bank/admin"))
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--restrict", multiple=True, metavar="METHOD=ORG[,ORG]",
              help="Only these organisations may call METHOD (repeatable); approved with the code.")
@click.option("--reason", default="", help="Why; recorded with the proposal.")
@home_option
@url_option
@identity_option
@json_option
@handle_errors
def contract_propose(path: Path, restrict: tuple[str, ...], reason: str, home: Path, url: str,
                     identity: str | None, as_json: bool) -> None:
    """Propose installing the contract at PATH, or upgrading to its version; your organisation
    votes yes. Other organisations review it (`consortia contract show --proposal ID`) and vote."""
    from consortia.cli.main import _print_proposal, client_for
    from consortia.client.contracts import read_source

    source = read_source(path)
    with client_for(home, url, identity, need_identity=True) as c:
        outline, current, action, params = c.contract_proposal(source, _parse_access(restrict))
        proposal = c.call("gov", "propose", {"action": action, "params": params, "reason": reason})
    if not as_json:
        what = f"install {outline.name} {outline.version}" if current is None else \
            f"upgrade {outline.name} {current['version']} -> {outline.version}"
        click.echo(f"proposed to {what}, code hash {params['code_hash']}")
    _print_proposal(proposal, as_json)
    if not as_json and proposal["status"] == "open":
        click.echo(f"  others review: consortia contract show --proposal {proposal['id']}")
        click.echo(f"  and vote:      consortia gov vote {proposal['id']} --yes --as <org>/admin")


@contract.command("show", epilog=example("consortia contract show warehouse_receipt\n"
                                         "consortia contract show --proposal 3f2a..."))
@click.argument("name", required=False)
@click.option("--version", "version", default="", help="An earlier installed version.")
@click.option("--proposal", "proposal_id", default=None, help="The source a proposal would install.")
@home_option
@url_option
@json_option
@handle_errors
def contract_show(name: str | None, version: str, proposal_id: str | None, home: Path, url: str,
                  as_json: bool) -> None:
    """Print an installed contract's source with its code hash (or a proposal's, to review it)."""
    from consortia.cli.main import client_for
    from consortia.contracts.usercode import archive_source, compute_code_hash

    if (name is None) == (proposal_id is None):
        raise BadInput("give an installed contract's NAME or --proposal ID", code="BAD_ARGS")
    with client_for(home, url) as c:
        if proposal_id is not None:
            p = c.query("gov", "proposal", {"proposal_id": proposal_id})
            if p["action"] not in ("install_contract", "upgrade_contract"):
                raise BadInput(f"proposal {proposal_id} is {p['action']}, not a contract", code="NOT_A_CONTRACT")
            params = p["params"]
            computed = compute_code_hash(c.suite.hash, c.suite.hash_name, params["archive"])
            shown: dict[str, Any] = {"name": params["name"], "version": params["version"],
                                     "code_hash": params["code_hash"], "computed_hash": computed,
                                     "access": params.get("access") or {}, "status": p["status"],
                                     "votes": p["votes"], "source": archive_source(params["archive"])}
        else:
            record = c.query("gov", "contract", {"name": name, "version": version})
            shown = {**record, "version": record["shown_version"], "code_hash": record["shown_code_hash"]}
    if as_json:
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    click.echo(f"# {shown['name']} {shown['version']}  code hash {shown['code_hash']}")
    if "computed_hash" in shown:
        verdict = "matches" if shown["computed_hash"] == shown["code_hash"] else "DOES NOT MATCH"
        click.echo(f"# proposal {shown['status']}; the source below hashes to {shown['computed_hash']} ({verdict})")
    else:
        click.echo(f"# installed at height {shown['height']}, approved by {', '.join(shown['approved_by'])}")
    for method, orgs in sorted(shown["access"].items()):
        click.echo(f"# {method}: only {', '.join(orgs)}")
    click.echo(shown["source"], nl=not shown["source"].endswith("\n"))


@contract.command("list", epilog=example("consortia contract list"))
@home_option
@url_option
@json_option
@handle_errors
def contract_list(home: Path, url: str, as_json: bool) -> None:
    """Installed members' contracts: name, version, code hash, who approved, frozen or not."""
    from consortia.cli.main import client_for

    with client_for(home, url) as c:
        rows = c.query("gov", "contracts", {})
        frozen = set(c.query("gov", "frozen", {})["contracts"])
    if as_json:
        click.echo(json.dumps([{**r, "frozen": r["name"] in frozen} for r in rows], indent=2))
        return
    if not rows:
        click.echo("no members' contracts installed")
    for r in rows:
        state = "FROZEN " if r["name"] in frozen else ""
        click.echo(f"{r['name']:<24} {r['version']:<10} {state}{r['code_hash']}  approved by "
                   f"{', '.join(r['approved_by'])} at height {r['height']}")


def _freeze_command(name: str, action: str, doc: str, sample: str) -> None:
    @contract.command(name, epilog=example(sample))
    @click.argument("contract_name")
    @click.option("--reason", default="", help="Why; recorded with the proposal.")
    @home_option
    @url_option
    @identity_option
    @json_option
    @handle_errors
    def command(contract_name: str, reason: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
        from consortia.cli.main import _print_proposal, client_for

        with client_for(home, url, identity, need_identity=True) as c:
            proposal = c.call("gov", "propose", {"action": action, "params": {"name": contract_name},
                                                 "reason": reason})
        _print_proposal(proposal, as_json)

    command.__doc__ = doc


_freeze_command("freeze", "freeze_contract", "Propose to freeze a contract: every call is refused until a vote "
                "unfreezes it.", "consortia contract freeze warehouse_receipt --reason 'under review'")
_freeze_command("unfreeze", "unfreeze_contract", "Propose to unfreeze a contract, so that it can be called again.",
                "consortia contract unfreeze warehouse_receipt")
