"""The ``consortia`` command."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from consortia import __version__
from consortia.cli.common import (
    emit,
    example,
    handle_errors,
    home_option,
    identity_option,
    json_option,
    parse_json_arg,
    time_zone,
    url_option,
)
from consortia.errors import ConsortiaError


def client_for(home: Path, url: str, identity: str | None = None, need_identity: bool = False) -> Any:
    from consortia.client import Client
    from consortia.identity.wallet import list_identities

    urls = [u.strip().rstrip("/") for u in url.split(",") if u.strip()]
    if need_identity and identity is None:
        identity = default_identity(home, list_identities(home))
        ctx = click.get_current_context(silent=True)
        machine = ctx is not None and (bool(ctx.params.get("as_json")) or ctx.command.name == "query")
        if identity is not None and not machine:  # say who signs: a default nobody chose must not go unnoticed
            click.echo(f"signing as {identity} (the default; choose with --as)", err=True)
    if (Path(home) / "genesis.json").exists():
        return Client.from_home(home, identity, urls)
    if need_identity:
        from consortia.errors import NotFound

        raise NotFound(f"no consortium at {home}; signing needs its identities (use --dir)", code="NOT_INITIALISED")
    return Client(urls)


def default_identity(home: Path, identities: list[str]) -> str | None:
    """The first genesis organisation's admin (the core enterprise in the demo), else any admin."""
    admins = [i for i in identities if i.endswith("/admin")]
    try:
        first = json.loads((Path(home) / "genesis.json").read_text())["orgs"][0]["id"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        first = None
    return f"{first}/admin" if f"{first}/admin" in admins else (admins[0] if admins else None)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=example("consortia init --orgs 4 && consortia up"))
@click.version_option(__version__, prog_name="consortia")
def cli() -> None:
    """Consortia: a consortium blockchain with supply-chain finance, traceability,
    evidence and the regulator's seat built in."""


# -- init / up / demo -------------------------------------------------------------------

@cli.command(epilog=example("consortia init --orgs 4 --dir .consortia\nconsortia init --crypto sm --dir .consortia-sm"))
@home_option
@click.option("--orgs", default=4, show_default=True, type=click.IntRange(1, 64), help="Number of organisations.")
@click.option("--chain-id", default="consortia-local", show_default=True, help="Chain id written into genesis.")
@click.option("--crypto", "crypto", default="ed25519", show_default=True, type=click.Choice(["ed25519", "sm"]),
              help="Crypto suite for the whole chain: ed25519 (Ed25519 + SHA-256) or sm (SM2 + SM3 + SM4).")
@click.option("--block-max-txs", type=click.IntRange(1, 100_000), help="Cut a block at this many transactions.")
@click.option("--block-timeout-ms", type=click.IntRange(1, 60_000), help="Cut a block this long after its first tx.")
@click.option("--sandbox", is_flag=True, help="A test chain, marked as such: its id starts with sandbox-.")
@click.option("--filing-number", default=None, help="The service's CAC blockchain filing number (备案编号).")
@click.option("--service-name", default=None, help="The filed service name (with --filing-number).")
@click.option("--operator", default=None, help="The filed operator (with --filing-number).")
@json_option
@handle_errors
def init(home: Path, orgs: int, chain_id: str, crypto: str, block_max_txs: int | None, block_timeout_ms: int | None,
         sandbox: bool, filing_number: str | None, service_name: str | None, operator: str | None,
         as_json: bool) -> None:
    """Create a local consortium: one CA per organisation, member certificates, genesis.

    The crypto suite is chosen here, once, for the whole chain: certificates, signatures
    and every hash use it, and a key or certificate of the other suite is refused."""
    from consortia.cli.common import CRYPTO_CHOICES
    from consortia.identity.wallet import list_identities
    from consortia.node.home import init_consortium

    config: dict[str, Any] = {}
    if block_max_txs:
        config["block_max_txs"] = block_max_txs
    if block_timeout_ms:
        config["block_timeout_ms"] = block_timeout_ms
    if filing_number or service_name or operator:
        if not (filing_number and service_name and operator):
            raise click.UsageError("a filing record needs --filing-number, --service-name and --operator")
        config["filing"] = {"filing_number": filing_number, "service_name": service_name, "operator": operator}
    genesis = init_consortium(home, orgs=orgs, chain_id=chain_id, suite_name=CRYPTO_CHOICES[crypto], config=config,
                              sandbox=sandbox)
    summary = {"dir": str(home), "chain_id": genesis["chain_id"], "suite": genesis["suite"],
               "sandbox": genesis["sandbox"], "filing": genesis["config"]["filing"] or None,
               "organisations": [{"id": o["id"], "name": o["name"], "kind": o["kind"]} for o in genesis["orgs"]],
               "identities": list_identities(home)}

    def human(s: dict[str, Any]) -> None:
        click.echo(f"Created consortium {s['chain_id']} ({s['suite']}) in {s['dir']}")
        for org in s["organisations"]:
            click.echo(f"  {org['id']:<16} {org['kind']:<10} {org['name']}")
        click.echo(f"{len(s['identities'])} member identities; start the node with: consortia up --dir {s['dir']}")
    emit(summary, as_json, human)


@cli.command(epilog=example("consortia up --dir .consortia --port 8700"))
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(1, 65535), help="API port.")
@click.option("--init", "init_missing", is_flag=True,
              help="Create the demo consortium (10 organisations, demo data) first if none exists.")
@click.option("--crypto", default="ed25519", show_default=True, type=click.Choice(["ed25519", "sm"]),
              help="Crypto suite of a consortium that --init creates.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--data", type=click.Path(path_type=Path), help="Node data directory (default: <dir>/node).")
@click.option("--nats", default=None, help="Comma-separated NATS URLs: join a replicated network instead of "
                                            "ordering in-process.")
@click.option("--org", default=None, help="This node's organisation; it signs attestations as <org>/node.")
@click.option("--peers", default="", help="Comma-separated API URLs of other nodes, to catch up from when the "
                                          "stream no longer holds what this node missed.")
@click.option("--webhook", "webhooks", multiple=True, help="POST every risk alert (JSON) to this URL; repeatable.")
@click.option("--no-demo-signer", is_flag=True,
              help="Do not offer the console's demo signer even on loopback: members sign in with key files.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TLS certificate (PEM) of this node: served by the API (HTTPS) and presented to NATS.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None, help="Its private key (PEM).")
@click.option("--tls-ca", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The organisations' TLS CAs (PEM bundle) this node trusts for NATS servers and peers.")
@handle_errors
def up(home: Path, host: str, port: int, init_missing: bool, crypto: str, log_level: str, data: Path | None,
       nats: str | None, org: str | None, peers: str, webhooks: tuple[str, ...], no_demo_signer: bool,
       tls_cert: str | None, tls_key: str | None, tls_ca: str | None) -> None:
    """Start a node and its REST API; Ctrl-C stops it, running it again resumes.

    Alone it orders transactions in-process; with --nats it is one organisation's node of a
    replicated network (see `consortia network`)."""
    import uvicorn

    from consortia.api.app import create_app
    from consortia.node import Node
    from consortia.node.home import init_consortium, load_genesis

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    created = False
    if init_missing and not (Path(home) / "genesis.json").exists():
        from consortia.cli.common import CRYPTO_CHOICES
        from consortia.node.home import DEMO_ORG_COUNT_FULL as DEMO_ORG_COUNT

        init_consortium(home, orgs=DEMO_ORG_COUNT, suite_name=CRYPTO_CHOICES[crypto])
        created = True
        click.echo(f"Created a {DEMO_ORG_COUNT}-organisation demo consortium in {home}")
    genesis = load_genesis(home)
    data_dir = data or Path(home) / "node"
    tls = _tls_environment(tls_cert, tls_key, tls_ca)  # TLS across machines (ADR 0027)

    def make_node() -> Node:
        from consortia.crypto import get_suite
        from consortia.identity.wallet import load_wallet

        node_org = org or genesis["orgs"][0]["id"]
        wallet_path = Path(home) / "orgs" / node_org / "members" / "node" / "key.pem"
        wallet = load_wallet(Path(home), get_suite(genesis["suite"]), f"{node_org}/node") if wallet_path.exists() else None
        urls = [u.strip() for u in nats.split(",") if u.strip()] if nats else None
        from consortia.node.home import load_sealing_key

        # A network node opens what is sealed to its organisation; a one-node consortium serves them all.
        served = [node_org] if urls else [o["id"] for o in genesis["orgs"]]
        keys = {o: k for o in served if (k := load_sealing_key(Path(home), get_suite(genesis["suite"]), o)) is not None}
        return Node(genesis, data_dir, name=node_org, nats=urls, node_wallet=wallet,
                    peers=[p.strip() for p in peers.split(",") if p.strip()], webhooks=list(webhooks),
                    sealing_keys=keys)

    node = make_node()
    if created:
        from consortia.node.demo import seed_demo
        from consortia.node.demo_trace import seed_trace_demo

        node.start()
        sent = seed_demo(node, Path(home))
        traced = seed_trace_demo(node, Path(home))
        from consortia.node.demo_contracts import seed_contract_demo

        contracts = seed_contract_demo(node, Path(home))
        sent += contracts["transactions"]
        from consortia.node.demo_invoice import seed_invoice_demo

        invoiced = seed_invoice_demo(node, Path(home))
        from consortia.node.demo_trade import seed_trade_demo

        traded = seed_trade_demo(node, Path(home))
        click.echo(f"Trade finance demo: declaration {traded['declaration']} financed by two banks, an over-quota draw "
                   f"refused, credit {traded['credit'][:12]} paid; {len(traded['smes'])} SMEs hosted by yunlian-platform")
        sent += traded["transactions"]
        from consortia.node.demo_waybill import seed_waybill_demo

        waybilled = seed_waybill_demo(node, Path(home))  # a cold-chain waybill, delivered and financed
        sent += waybilled["transactions"]
        from consortia.node.demo_charity import seed_charity_demo

        charity = seed_charity_demo(node, Path(home))
        sent += charity["transactions"]
        node.stop()
        node = make_node()
        click.echo(f"Recorded {sent + traced['transactions'] + invoiced['transactions']} demo transactions: supply "
                   f"chain finance, governance, e-invoices, and {traced['events']} traceability events")
        click.echo(f"  a package's consumer page: http://{host}:{port}{traced['consumer_page']}")
        click.echo(f"  a recalled package's page: http://{host}:{port}{traced['recalled_page']}")
        if contracts["transactions"]:
            click.echo("  a member's contract installed by vote: warehouse_receipt (consortia contract list; "
                       "the console's Contracts page)")
        click.echo("  charity: a need funded by several donors, granted and confirmed: "
                   f"http://{host}:{port}{charity['need_page']}")
        if invoiced["verify_page"]:
            click.echo(f"  e-invoices: {invoiced['transactions']} transactions; an invoice's public check: "
                       f"http://{host}:{port}{invoiced['verify_page']}")
        click.echo(f"  waybill {waybilled['waybill']} ({waybilled['transactions']} transactions), its journey: "
                   f"http://{host}:{port}{waybilled['consumer_page']}")
    base = f"{'https' if tls else 'http'}://{host}:{port}"
    click.echo(f"Consortia node for chain {node.chain_id} at height {node.store.height()} ({node.mode} ordering)")
    click.echo(f"  API       {base}/chain")
    click.echo(f"  API docs  {base}/docs")
    click.echo(f"  events    {base}/events")
    click.echo(f"  metrics   {base}/metrics")
    click.echo(f"  console   {base}/console")
    import os

    os.environ.setdefault("CONSORTIA_NODE_HOME", str(Path(home).resolve()))  # POST /members/import finds CAs here
    if no_demo_signer:
        os.environ["CONSORTIA_CONSOLE_SIGNER"] = ""
    elif host in ("127.0.0.1", "localhost", "::1"):  # the console's demo signer: local keys, loopback only (ADR 0010)
        os.environ.setdefault("CONSORTIA_CONSOLE_SIGNER", str(Path(home).resolve()))
    click.echo("Press Ctrl-C to stop.", err=True)
    sys.stdout.flush()
    from consortia.node.runtime import tune_gc

    app = create_app(node)
    tune_gc()  # issue 18: collections tuned for a process that allocates this much
    uvicorn.run(app, host=host, port=port, log_level=log_level if log_level != "info" else "warning",
                access_log=False, ssl_certfile=tls.get("ssl_certfile"), ssl_keyfile=tls.get("ssl_keyfile"))
    click.echo("Node stopped.", err=True)


def _tls_environment(cert: str | None, key: str | None, ca: str | None) -> dict[str, str]:
    """Check the three TLS files come together; point the NATS client (CONSORTIA_TLS_*) and peer
    catch-up (SSL_CERT_FILE) at them; return uvicorn's options for HTTPS."""
    import os

    given = [v for v in (cert, key, ca) if v]
    if not given:
        return {}
    from consortia.errors import BadInput

    if len(given) != 3:
        raise BadInput("--tls-cert, --tls-key and --tls-ca go together", code="BAD_TLS")
    from consortia.node.tls import CA_ENV, CERT_ENV, KEY_ENV

    assert cert and key and ca
    os.environ.update({CERT_ENV: cert, KEY_ENV: key, CA_ENV: ca, "SSL_CERT_FILE": ca})
    return {"ssl_certfile": cert, "ssl_keyfile": key}


# -- status, blocks, transactions -------------------------------------------------------

@cli.command(epilog=example("consortia status --url http://127.0.0.1:8700"))
@home_option
@url_option
@json_option
@handle_errors
def status(home: Path, url: str, as_json: bool) -> None:
    """Show the chain and the node's health."""
    with client_for(home, url) as c:
        info = {**c.chain(), "health": c.health()}

    def human(i: dict[str, Any]) -> None:
        if i.get("sandbox"):
            click.echo("SANDBOX: a test environment; nothing on this chain is production data")
        click.echo(f"chain     {i['chain_id']}  ({i['suite']})")
        filing = i.get("filing")
        click.echo(f"filing    {filing['filing_number']} ({filing['service_name']}, {filing['operator']})" if filing
                   else "filing    not filed with the CAC")
        click.echo(f"height    {i['height']}  latest {i['latest_hash']}")
        click.echo(f"health    {i['health']['status']}  pending {i['health']['pending']}")
        click.echo(f"time zone {(i.get('config') or {}).get('time_zone', 'Asia/Shanghai')} (every time shown)")
        click.echo("organisations:")
        for org in i["organisations"]:
            click.echo(f"  {org['id']:<20} {org['kind']:<14} {org['name']}")
    emit(info, as_json, human)


@cli.group()
def block() -> None:
    """Read blocks."""


@block.command("show", epilog=example("consortia block show 12\nconsortia block show latest --json"))
@click.argument("ref")
@home_option
@url_option
@json_option
@handle_errors
def block_show(ref: str, home: Path, url: str, as_json: bool) -> None:
    """Show a block by height, hash, or 'latest'."""
    with client_for(home, url) as c:
        if ref == "latest":
            ref = str(c.chain()["height"])
        found = c.block(ref)
        zone = time_zone(c)
    from consortia.types.clock import format_time

    def human(b: dict[str, Any]) -> None:
        h = b["header"]
        click.echo(f"block {h['height']}  {b['hash']}")
        click.echo(f"  {'time':<14}{format_time(h['time_ms'], zone, seconds=True)}  ({h['time_ms']} ms)")
        for key in ("prev_hash", "tx_root", "receipts_root", "state_root", "proposer", "suite"):
            click.echo(f"  {key:<14}{h[key]}")
        click.echo(f"  {len(b['txs'])} transaction(s)")
        for wire, receipt in zip(b["txs"], b["receipts"], strict=True):
            tx = wire["tx"]
            click.echo(f"    {receipt['tx_id']}  {sender_of(tx):<28} {tx['contract']}.{tx['method']:<16} "
                       f"{describe_status(receipt)}")
    emit(found, as_json, human)


@cli.group()
def tx() -> None:
    """Submit and inspect transactions."""


@tx.command("show", epilog=example("consortia tx show 4386d0f4...cffd359"))
@click.argument("tx_id")
@home_option
@url_option
@json_option
@handle_errors
def tx_show(tx_id: str, home: Path, url: str, as_json: bool) -> None:
    """Show a transaction's receipt and verify its Merkle proofs locally."""
    with client_for(home, url) as c:
        view = c.transaction(tx_id, verify=True)
    view["proof_verified"] = True

    def human(v: dict[str, Any]) -> None:
        r = v["receipt"]
        click.echo(f"tx {v['tx_id']}")
        click.echo(f"  block     {v['height']} (index {v['index']})  {v['block_hash']}")
        click.echo(f"  call      {v['tx']['contract']}.{v['tx']['method']}({json.dumps(v['tx']['args'], ensure_ascii=False)})")
        click.echo(f"  status    {describe_status(r)}")
        for e in r["events"]:
            click.echo(f"  event     {e['contract']}.{e['name']} {json.dumps(e['data'], ensure_ascii=False)}")
        if r["result"] is not None:
            click.echo(f"  result    {json.dumps(r['result'], ensure_ascii=False)}")
        click.echo("  proof     verified: tx and receipt are in the block, header hashes to the block hash")
    emit(view, as_json, human)


@tx.command("submit", epilog=example("consortia tx submit kv put '{\"key\": \"a\", \"value\": 1}' --as hongqiao-auto/admin"))
@click.argument("contract")
@click.argument("method")
@click.argument("args", required=False)
@home_option
@url_option
@identity_option
@click.option("--no-wait", is_flag=True, help="Return the tx id at once instead of waiting for the commit.")
@json_option
@handle_errors
def tx_submit(contract: str, method: str, args: str | None, home: Path, url: str, identity: str | None,
              no_wait: bool, as_json: bool) -> None:
    """Sign a call to CONTRACT.METHOD with ARGS (a JSON object) and submit it."""
    payload = parse_json_arg(args, "ARGS")
    with client_for(home, url, identity, need_identity=True) as c:
        view = c.send(contract, method, payload, wait=not no_wait)

    def human(v: dict[str, Any]) -> None:
        click.echo(f"tx {v['tx_id']}")
        if not v["committed"]:
            click.echo("  submitted; not committed yet")
            return
        r = v["receipt"]
        click.echo(f"  block {v['height']}  {describe_status(r)}")
        if r["result"] is not None:
            click.echo(f"  result {json.dumps(r['result'], ensure_ascii=False)}")
    emit(view, as_json, human)
    if view.get("committed") and view["receipt"]["status"] != "ok":
        sys.exit(6)


def sender_of(tx: dict[str, Any]) -> str:
    """``clerk@jinglian-parts``: who signed a transaction, read from its sender certificate."""
    from cryptography.x509.oid import NameOID

    from consortia.identity.x509 import load_der_b64, org_of

    try:
        cert = load_der_b64(tx["sender"])
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        value = names[0].value if names else "?"
        return f"{value.decode() if isinstance(value, bytes) else value}@{org_of(cert)}"
    except (ConsortiaError, ValueError, KeyError, TypeError):
        return "?"


def describe_status(receipt: dict[str, Any]) -> str:
    """``ok``, or ``reverted NOT_HOLDER: message``: the status once, its code only when it says more."""
    status, code, message = receipt["status"], receipt.get("code") or "", receipt.get("message") or ""
    if code.lower() == status.lower():
        code = ""
    return f"{status} {code}".strip() + (f": {message}" if message else "")


@cli.command("query", epilog=example("consortia query kv get '{\"key\": \"a\"}'"))
@click.argument("contract")
@click.argument("method")
@click.argument("args", required=False)
@home_option
@url_option
@identity_option
@click.option("--signed", is_flag=True, help="Sign the request so role-restricted queries know who asks.")
@handle_errors
def query_cmd(contract: str, method: str, args: str | None, home: Path, url: str, identity: str | None,
              signed: bool) -> None:
    """Call a contract's query method and print the JSON result."""
    with client_for(home, url, identity, need_identity=signed) as c:
        result = c.query(contract, method, parse_json_arg(args, "ARGS"), signed=signed)
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


# -- keys -------------------------------------------------------------------------------

@cli.group()
def keys() -> None:
    """Member identities in the local consortium directory."""


@keys.command("list", epilog=example("consortia keys list --dir .consortia"))
@home_option
@json_option
@handle_errors
def keys_list(home: Path, as_json: bool) -> None:
    """List member identities (org/name, roles, certificate fingerprint)."""
    from consortia.crypto import get_suite
    from consortia.identity.wallet import list_identities, load_wallet
    from consortia.identity.x509 import fingerprint
    from consortia.node.home import load_genesis
    suite = get_suite(load_genesis(home)["suite"])
    rows = []
    for ident in list_identities(home):
        w = load_wallet(home, suite, ident)
        rows.append({"id": ident, "roles": w.roles, "fingerprint": fingerprint(suite, w.cert),
                     "not_after": w.cert.not_valid_after_utc.isoformat()})

    def human(rs: list[dict[str, Any]]) -> None:
        for r in rs:
            click.echo(f"{r['id']:<32} {','.join(r['roles']):<20} {r['fingerprint'][:16]}")
    emit(rows, as_json, human)


@keys.command("create", epilog=example("consortia keys create jinglian-parts alice --role client"))
@click.argument("org")
@click.argument("name")
@click.option("--role", "roles", multiple=True, default=["client"], show_default=True,
              type=click.Choice(["admin", "client", "node", "auditor"]), help="Role(s); repeat for several.")
@home_option
@handle_errors
def keys_create(org: str, name: str, roles: tuple[str, ...], home: Path) -> None:
    """Issue a new member certificate with ORG's CA (kept in the consortium directory)."""
    from consortia.crypto import get_suite
    from consortia.node.home import create_member, load_genesis

    path = create_member(home, get_suite(load_genesis(home)["suite"]), org, name, list(roles))
    click.echo(f"created {org}/{name} ({', '.join(roles)}) in {path}")


# -- governance -------------------------------------------------------------------------

@cli.group()
def gov() -> None:
    """Governance: proposals voted by organisation admins."""


@gov.command("propose", epilog=example(
    "consortia gov propose freeze_identity '{\"id\": \"jinglian-parts/clerk\"}' --as hongqiao-auto/admin"))
@click.argument("action", type=click.Choice(["add_org", "remove_org", "freeze_identity", "unfreeze_identity",
                                             "freeze_contract", "unfreeze_contract", "set_config"]))
@click.argument("params")
@click.option("--reason", default="", help="Why; recorded with the proposal.")
@home_option
@url_option
@identity_option
@json_option
@handle_errors
def gov_propose(action: str, params: str, reason: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Open a proposal (ACTION with PARAMS as JSON); your organisation votes yes."""
    with client_for(home, url, identity, need_identity=True) as c:
        proposal = c.call("gov", "propose", {"action": action, "params": parse_json_arg(params, "PARAMS"),
                                             "reason": reason})
    _print_proposal(proposal, as_json)


@gov.command("vote", epilog=example("consortia gov vote 3f2a... --yes --as pudong-bank/admin"))
@click.argument("proposal_id")
@click.option("--yes/--no", "approve", required=True, help="Approve or reject.")
@home_option
@url_option
@identity_option
@json_option
@handle_errors
def gov_vote(proposal_id: str, approve: bool, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Vote on a proposal for your organisation."""
    with client_for(home, url, identity, need_identity=True) as c:
        if len(proposal_id) < 32:  # a unique prefix, as ids are accepted everywhere (ADR 0020)
            matches = [p["id"] for p in c.query("gov", "proposals", {"status": ""}) if p["id"].startswith(proposal_id)]
            if len(matches) != 1 or len(proposal_id) < 4:
                from consortia.errors import BadInput, NotFound

                if not matches and len(proposal_id) >= 4:
                    raise NotFound(f"no proposal {proposal_id!r}", code="PROPOSAL_NOT_FOUND")
                raise BadInput(f"proposal id {proposal_id!r} matches {len(matches)} proposals: give more of it "
                               "(at least 4 characters)", code="AMBIGUOUS_ID")
            proposal_id = matches[0]
        proposal = c.call("gov", "vote", {"proposal_id": proposal_id, "approve": approve})
    _print_proposal(proposal, as_json)


@gov.command("list", epilog=example("consortia gov list --status open"))
@click.option("--status", default="", type=click.Choice(["", "open", "passed", "failed", "rejected", "expired"]),
              help="Only proposals with this status.")
@home_option
@url_option
@json_option
@handle_errors
def gov_list(status: str, home: Path, url: str, as_json: bool) -> None:
    """List proposals, newest first."""
    with client_for(home, url) as c:
        rows = c.query("gov", "proposals", {"status": status})
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no proposals")
    for p in rows:
        votes = " ".join(f"{o}:{'yes' if v else 'no'}" for o, v in sorted(p["votes"].items()))
        click.echo(f"{p['id']}  {p['status']:<8} {p['action']:<18} {json.dumps(p['params'])[:60]}  {votes}")


def _print_proposal(p: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(p, indent=2, ensure_ascii=False))
        return
    click.echo(f"proposal {p['id']}  {p['action']}  status {p['status']} {p['outcome']}")
    click.echo("  votes: " + ", ".join(f"{o} {'yes' if v else 'no'}" for o, v in sorted(p["votes"].items())))


def _register_more() -> None:
    from consortia.cli.audit import audit
    from consortia.cli.bench import bench
    from consortia.cli.network import network
    from consortia.cli.realname import realname
    from consortia.cli.scf import scf
    from consortia.cli.verify_store import node_group

    cli.add_command(bench)
    cli.add_command(node_group)
    cli.add_command(scf)
    cli.add_command(network)
    cli.add_command(audit)
    cli.add_command(realname)
    from consortia.cli.trace import trace

    cli.add_command(trace)
    from consortia.cli.evidence import evidence, verify

    cli.add_command(evidence)
    cli.add_command(verify)
    from consortia.cli.contract import contract

    cli.add_command(contract)
    from consortia.cli.invoice import invoice

    cli.add_command(invoice)
    from consortia.cli.members import members
    from consortia.cli.trade import trade

    cli.add_command(trade)
    cli.add_command(members)
    from consortia.cli.waybill import waybill

    cli.add_command(waybill)
    from consortia.cli.charity import charity

    cli.add_command(charity)


_register_more()


def main() -> None:
    try:
        cli(prog_name="consortia")
    except ConsortiaError as exc:  # raised outside a command body
        from consortia.cli.common import exit_code_for

        click.echo(f"error {exc.code}: {exc.message}", err=True)
        sys.exit(exit_code_for(exc))


if __name__ == "__main__":
    main()
