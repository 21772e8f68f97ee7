"""``consortia trace``: EPCIS 2.0 traceability from the command line.

Capture signs locally: the document is validated against the official schema here, cut into
``trace.capture`` transactions signed with your identity, and posted to ``/epcis/capture``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from consortia.apps.trace.capture import capture_epcis
from consortia.cli.common import emit, example, handle_errors, home_option, identity_option, json_option, url_option
from consortia.errors import BadInput

F = TypeVar("F", bound=Callable[..., Any])


def trace_command(group: click.Group, name: str, sample: str, *, offline: bool = False) -> Callable[[F], F]:
    """A subcommand with the shared options, error handling and an example."""
    def wrap(fn: F) -> F:
        fn = handle_errors(fn)
        options = (json_option,) if offline else (json_option, identity_option, url_option, home_option)
        for option in options:
            fn = option(fn)
        return group.command(name, epilog=example(sample))(fn)  # type: ignore[return-value]
    return wrap


def _client(home: Path, url: str, identity: str | None, need_identity: bool = True) -> Any:
    from consortia.cli.main import client_for

    return client_for(home, url, identity, need_identity=need_identity)



def _send(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any], as_json: bool,
          human: Callable[[Any], None]) -> None:
    with _client(home, url, identity) as c:
        result = c.call("trace", method, args)
        _learn_zone(c)
    emit(result, as_json, human)


def _ask(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any], as_json: bool,
         human: Callable[[Any], None], signed: bool = True) -> None:
    with _client(home, url, identity, need_identity=signed) as c:
        result = c.query("trace", method, args, signed=signed)
        _learn_zone(c)
    emit(result, as_json, human)


def _when(ms: int | None, tz: str = "") -> str:
    """A time on the chain's clock (the console's and the consumer page's), not the event's own."""
    from consortia.cli.common import time_zone
    from consortia.types.clock import format_time

    return format_time(ms, SHOWN_ZONE[-1] if SHOWN_ZONE else time_zone())


SHOWN_ZONE: list[str] = []  # the chain's zone, learnt by the command's client before it closes


def _learn_zone(c: Any) -> None:
    from consortia.cli.common import time_zone

    SHOWN_ZONE.append(time_zone(c))


def _place(view: dict[str, Any] | None) -> str:
    if not view:
        return "-"
    return ", ".join(p for p in (view.get("name"), view.get("city")) if p) or view["key"]


@click.group()
def trace() -> None:
    """Traceability on GS1 EPCIS 2.0: capture, query, trace back and forward, recall, QR codes."""


# -- parties and master data -------------------------------------------------------------

@trace.group()
def party() -> None:
    """Traceability parties: roles, GS1 company prefixes and GLNs of each organisation."""


@trace_command(party, "register", "consortia trace party register --role farm --name 'Jiangxi Green Valley Farm' "
                                  "--prefix 6923456 --as green-valley-farm/admin")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["farm", "processor", "warehouse", "carrier", "retailer", "brand_owner", "regulator",
                                 "other"]), help="Role(s); repeat for several.")
@click.option("--name", required=True, help="Name shown on the consumer page.")
@click.option("--prefix", "prefixes", multiple=True, help="GS1 company prefix (6-12 digits); repeatable.")
@click.option("--gln", "glns", multiple=True, help="A GLN (13 digits) outside your prefixes; repeatable.")
def party_register(roles: tuple[str, ...], name: str, prefixes: tuple[str, ...], glns: tuple[str, ...], home: Path,
                   url: str, identity: str | None, as_json: bool) -> None:
    """Register your organisation (signed by its admin)."""
    _send(home, url, identity, "register_party", {"roles": list(roles), "name": name, "company_prefixes": list(prefixes),
                                                  "glns": list(glns)}, as_json,
          lambda p: click.echo(f"registered {p['org']} as {', '.join(p['roles'])}; prefixes "
                               f"{', '.join(p['company_prefixes']) or '-'}"))


@trace_command(party, "list", "consortia trace party list")
def party_list(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """All traceability parties."""
    def human(rows: list[dict[str, Any]]) -> None:
        for p in rows:
            click.echo(f"{p['org']:<22} {','.join(p['roles']):<20} {','.join(p['company_prefixes']):<16} {p['name']}")
    _ask(home, url, identity, "parties", {}, as_json, human, signed=False)


@trace_command(trace, "sealing-key", "consortia trace sealing-key --as green-valley-farm/admin")
def sealing_key(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Publish your organisation's key for sealed payloads (ADR 0013), making it first if
    ``<dir>/orgs/<org>/sealing-key.pem`` does not exist. From then on your captures are sealed
    to their parties, and your node opens payloads sealed to you. Back the key file up: payloads
    sealed to it cannot be read without it."""
    from consortia.node.home import create_sealing_key, load_genesis, sealing_key_path

    with _client(home, url, identity) as c:
        if c.wallet is None:
            raise click.UsageError("--as <org>/admin is required")
        if c.suite.name != load_genesis(home)["suite"]:
            raise click.UsageError("the node's chain uses another suite than this consortium directory")
        path_existed = sealing_key_path(home, c.wallet.org).exists()
        key = create_sealing_key(home, c.suite, c.wallet.org)
        result = c.call("trace", "set_sealing_key", {"key": key.public_key.hex()})
    emit({**result, "created": not path_existed}, as_json,
          lambda r: click.echo(f"{'created and ' if r['created'] else ''}published the sealing key of {r['org']} "
                               f"({c.suite.wrap_name}, {r['sealing_key'][:16]}...)"
                               + ("; restart the organisation's node so that it opens payloads" if r["created"] else "")))


@trace.group()
def location() -> None:
    """Locations (GLNs) with names, kinds and addresses, shown on the consumer page."""


@trace_command(location, "register", "consortia trace location register 6923456000019 --name 'Green Valley Farm, barn 3' "
                                     "--kind farm --city Ganzhou --as green-valley-farm/admin")
@click.argument("gln")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(["farm", "processing", "storage", "transport", "shelf", "other"]))
@click.option("--address", default="")
@click.option("--city", default="")
@click.option("--country", default="")
def location_register(gln: str, name: str, kind: str, address: str, city: str, country: str, home: Path, url: str,
                      identity: str | None, as_json: bool) -> None:
    """Describe GLN (13 digits, an SGLN URN or a (414) Digital Link) for everyone."""
    _send(home, url, identity, "register_location", {"location": gln, "name": name, "kind": kind, "address": address,
                                                     "city": city, "country": country}, as_json,
          lambda r: click.echo(f"location {r['key']}: {r['name']} ({r['kind']})"))


@trace_command(location, "list", "consortia trace location list")
def location_list(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Every registered location."""
    def human(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            click.echo(f"{r['key']:<28} {r['kind']:<11} {r['name']} ({r['city'] or '-'}) — {r['org']}")
    _ask(home, url, identity, "locations", {}, as_json, human, signed=False)


@trace.group()
def product() -> None:
    """Products (GTINs) with names and the sensor ranges they must be kept in."""


def _range(text: str) -> tuple[str, dict[str, str]]:
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise BadInput(f"--range: expected TYPE:MIN:MAX[:UOM] like Temperature:-1:4:CEL, got {text!r}", code="BAD_RANGE")
    bounds = {"min": parts[1], "max": parts[2]}
    if len(parts) == 4:
        bounds["uom"] = parts[3]
    return parts[0], bounds


@trace_command(product, "register", "consortia trace product register 06923456000017 --name 'Chilled pork loin 500 g' "
                                    "--range Temperature:-1:4:CEL --as green-valley-farm/admin")
@click.argument("gtin")
@click.option("--name", required=True)
@click.option("--category", default="")
@click.option("--description", default="")
@click.option("--range", "ranges", multiple=True, help="TYPE:MIN:MAX[:UOM], e.g. Temperature:-1:4:CEL; repeatable.")
def product_register(gtin: str, name: str, category: str, description: str, ranges: tuple[str, ...], home: Path,
                     url: str, identity: str | None, as_json: bool) -> None:
    """Describe a GTIN of yours (brand owner), with its cold-chain ranges."""
    _send(home, url, identity, "register_product", {"gtin": gtin, "name": name, "category": category,
                                                    "description": description, "ranges": dict(map(_range, ranges))},
          as_json, lambda p: click.echo(f"product {p['gtin']}: {p['name']}; ranges {p['ranges'] or '-'}"))


@trace_command(product, "list", "consortia trace product list")
def product_list(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Every registered product."""
    def human(rows: list[dict[str, Any]]) -> None:
        for p in rows:
            click.echo(f"{p['gtin']}  {p['name']}  ({p['brand_owner']})")
    _ask(home, url, identity, "products", {}, as_json, human, signed=False)


# -- capture -----------------------------------------------------------------------------

def _job_line(job: dict[str, Any]) -> str:
    state = "running" if job["running"] else ("done" if job["success"] else "failed")
    return (f"capture {job['captureID']}: {state}, {job['capturedCount']}/{job['eventCount']} events captured, "
            f"{job['committedTransactions']}/{job['transactions']} transactions committed")


@trace_command(trace, "capture", "consortia trace capture pork-journey.jsonld --as green-valley-farm/clerk")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--share-with", "share_with", multiple=True, help="Also show the payload to this organisation.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Poll the capture job until it ends.")
@click.option("--seal/--clear", "seal", default=None,
              help="Seal payloads to the events' parties, or capture in clear. Default: seal once your organisation "
                   "has published a sealing key (`consortia trace sealing-key`).")
def capture(path: Path, share_with: tuple[str, ...], wait: bool, seal: bool | None, home: Path, url: str,
            identity: str | None, as_json: bool) -> None:
    """Validate an EPCISDocument, sign its events and capture them (bulk: 10,000+ events)."""
    seen: list[dict[str, Any]] = []

    def progress(job: dict[str, Any]) -> None:
        if not as_json and not seen:
            named = job.get("masterData") or {}
            if named.get("registered"):
                click.echo(f"named {len(named['registered'])} of your locations from the document's master data")
            click.echo(f"{job['eventCount']} events valid; {job['transactions']} signed transactions submitted")
        elif not as_json:
            click.echo("  " + _job_line(job), err=True)
        seen.append(job)

    with _client(home, url, identity) as c:
        job = capture_epcis(c, path, share_with=share_with, wait=wait, progress=progress, seal=seal)
    emit(job, as_json, lambda j: click.echo(_job_line(j) + "".join(f"\n  error {e['code']}: {e['message']}"
                                                                     for e in j["errors"])))
    if not job["running"] and not job["success"]:
        raise SystemExit(6)


@trace_command(trace, "job", "consortia trace job cap3f2a9c...")
@click.argument("capture_id")
def job(capture_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """A capture job's progress and errors."""
    with _client(home, url, identity, need_identity=False) as c:
        found = c.capture_job(capture_id)
    emit(found, as_json, lambda j: click.echo(_job_line(j)))


@trace_command(trace, "hash", "consortia trace hash pork-journey.jsonld", offline=True)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def hash_events(path: Path, as_json: bool) -> None:
    """The standard event hash ID of every event in a document (offline)."""
    from consortia.apps.trace.document import prepare_capture

    prepared = prepare_capture(path.read_bytes())
    emit(prepared.ids, as_json, lambda ids: click.echo("\n".join(ids)))


# -- queries -----------------------------------------------------------------------------

def _event_line(e: dict[str, Any]) -> str:
    where = e.get("biz_location") or e.get("read_point") or "-"
    lock = "" if e.get("visible", True) else "  (payload not visible to you)"
    return (f"{_when(e['time_ms'], e['tz'])}  {e['type']:<19} {e.get('biz_step') or '-':<14} "
            f"{e.get('disposition') or '-':<12} {where:<26} by {e['org']}{lock}")


@trace_command(trace, "events", "consortia trace events --epc https://id.gs1.org/01/06923456000017/21/1001 "
                                "--step shipping --since 2026-03-01T00:00:00Z")
@click.option("--epc", "epcs", multiple=True, help="MATCH_anyEPC: an EPC URN, Digital Link or class; repeatable.")
@click.option("--step", "steps", multiple=True, help="EQ_bizStep (bare CBV term or URI); repeatable.")
@click.option("--location", "locations", multiple=True, help="EQ_bizLocation (GLN, SGLN or Digital Link).")
@click.option("--disposition", "dispositions", multiple=True, help="EQ_disposition; repeatable.")
@click.option("--since", help="GE_eventTime, e.g. 2026-03-01T00:00:00+08:00.")
@click.option("--until", help="LT_eventTime.")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 1000))
def events(epcs: tuple[str, ...], steps: tuple[str, ...], locations: tuple[str, ...], dispositions: tuple[str, ...],
           since: str | None, until: str | None, limit: int, home: Path, url: str, identity: str | None,
           as_json: bool) -> None:
    """The EPCIS event query (prints the EPCISQueryDocument with --json)."""
    params: dict[str, Any] = {"perPage": limit}
    for name, values in (("MATCH_anyEPC", epcs), ("EQ_bizStep", steps), ("EQ_bizLocation", locations),
                         ("EQ_disposition", dispositions)):
        if values:
            params[name] = "|".join(values)
    if since:
        params["GE_eventTime"] = since
    if until:
        params["LT_eventTime"] = until
    with _client(home, url, identity) as c:
        document = c.epcis_events(params)
        _learn_zone(c)

    def human(doc: dict[str, Any]) -> None:
        from consortia.apps.trace.times import parse_time_ms

        for event in doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]:
            ms = parse_time_ms(event["eventTime"])
            click.echo(f"{_when(ms, event.get('eventTimeZoneOffset', '+00:00'))}  {event['type']:<19} "
                       f"{event.get('bizStep', '-'):<14} {event.get('disposition', '-'):<12} {event['eventID']}")
    emit(document, as_json, human)


@trace_command(trace, "event", "consortia trace event 'ni:///sha-256;5f7c...?ver=CBV2.0'")
@click.argument("event_id")
def event(event_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """One event: its place on the chain, and its payload if you may see it."""
    def human(e: dict[str, Any]) -> None:
        click.echo(_event_line(e))
        click.echo(f"  on chain at height {e['height']}, tx {e['tx']}")
        if e.get("text"):
            click.echo("  " + e["text"])
    _ask(home, url, identity, "event", {"event_id": event_id}, as_json, human)


def _walk_human(title: str) -> Callable[[dict[str, Any]], None]:
    def human(w: dict[str, Any]) -> None:
        click.echo(f"{title}: {len(w['events'])} events, {len(w['nodes'])} identifiers, "
                   f"{len(w['locations'])} locations, holders {', '.join(w['holders']) or '-'}"
                   + ("  (truncated)" if w["truncated"] else ""))
        for e in w["events"]:
            click.echo("  " + _event_line(e))
        for loc in w["locations"]:
            click.echo(f"  location {loc['key']:<28} {_place(loc)}")
        for pkg in w.get("packages", []):
            click.echo(f"  package {pkg['key']:<40} last seen {_when(pkg['last_seen_ms'])} at {_place(pkg['last_place'])}"
                       f" ({pkg['holder'] or '-'})")
    return human


@trace_command(trace, "backward", "consortia trace backward https://id.gs1.org/01/06923456000017/10/L2026-0301/21/1001")
@click.argument("identifier")
def backward(identifier: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Where a package, lot or pallet came from, with the events that prove it."""
    _ask(home, url, identity, "backward", {"id": identifier}, as_json, _walk_human(f"backward from {identifier}"))


@trace_command(trace, "forward", "consortia trace forward urn:epc:class:lgtin:6923456.000001.L2026-0301")
@click.argument("identifier")
def forward(identifier: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Every package, location and holder a lot or product reached, with proofs."""
    _ask(home, url, identity, "forward", {"id": identifier}, as_json, _walk_human(f"forward from {identifier}"))


def package_path(key: str, lot: str) -> str:
    """A package's key (``01/<gtin>/21/<serial>``) as the Digital Link path with its lot, which
    ``trace journey`` and the ``/01/...`` page take: ``01/<gtin>/10/<lot>/21/<serial>``."""
    from consortia.apps.trace.identifiers import digital_link

    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "01" or parts[2] != "21" or not lot:
        return key
    return digital_link(parts[1], lot, parts[3], base="").lstrip("/")


def split_link(text: str, lot: str, serial: str) -> tuple[str, str, str]:
    """GTIN, lot and serial from a GTIN and options, or from a Digital Link URI or path
    (``01/<gtin>/10/<lot>/21/<serial>``, as ``trace recall report`` prints it)."""
    from consortia.apps.trace.identifiers import parse_digital_link

    if "/" not in text:
        return text, lot, serial
    uri = text if text.startswith(("https://", "http://")) else "https://id.gs1.org/" + text.lstrip("/")
    parsed = parse_digital_link(uri)
    if parsed is None or parsed.ai != "01":
        raise BadInput(f"expected a GTIN or a Digital Link 01/<gtin>[/10/<lot>][/21/<serial>], got {text!r}",
                       code="BAD_IDENTIFIER")
    return parsed.value, parsed.get("10") or lot, parsed.get("21") or serial


@trace_command(trace, "journey", "consortia trace journey 06923456000017 --lot L2026-0301 --serial 1001\n"
                                 "consortia trace journey 01/06923456000017/10/L2026-0301/21/1001")
@click.argument("gtin")
@click.option("--lot", default="")
@click.option("--serial", default="")
def journey(gtin: str, lot: str, serial: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """What a consumer sees after scanning: the public journey of one package (no identity needed).
    GTIN may also be the package's Digital Link (URI or path 01/<gtin>/10/<lot>/21/<serial>)."""
    from consortia.apps.trace.words import step_words

    gtin, lot, serial = split_link(gtin, lot, serial)
    def human(j: dict[str, Any]) -> None:
        name = (j.get("product") or {}).get("name") or j["gtin"]
        click.echo(f"{name}  {j['link']}")
        if j.get("recall"):
            click.echo(f"  RECALLED: {j['recall']['reason']}")
        for s in j["steps"]:
            readings = ", ".join(f"{r['type']} {r.get('value') or r.get('minValue', '')}{r.get('uom', '')}"
                                 for r in s["sensors"])
            click.echo(f"  {_when(s['time_ms'], s['tz'])}  {s['stage']:<10} {step_words(s['step'])[0]:<16} {_place(s['place'])}"
                       f"  ({s['by']}){'  ' + readings if readings else ''}")
    _ask(home, url, identity, "journey", {"gtin": gtin, "lot": lot, "serial": serial}, as_json, human, signed=False)


@trace_command(trace, "alerts", "consortia trace alerts --gtin 06923456000017 --as sh-regulator/admin")
@click.option("--gtin", default="")
def alerts(gtin: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Cold-chain alerts: sensor readings outside a product's declared range."""
    def human(rows: list[dict[str, Any]]) -> None:
        for a in rows:
            click.echo(f"{_when(a['time_ms'])}  {a['gtin']}  {a['type']} {a['value']}{a['uom'] or ''} outside "
                       f"{a['min']}..{a['max']} at {a['place'] or '-'} ({a['org']}, event {a['event']})")
        if not rows:
            click.echo("no alerts")
    _ask(home, url, identity, "alerts", {"gtin": gtin}, as_json, human)


# -- recall ------------------------------------------------------------------------------

@trace.group()
def recall() -> None:
    """Recall a lot and find every affected package."""


@trace_command(recall, "issue", "consortia trace recall issue 06923456000017 L2026-0301 --reason 'Salmonella found "
                                "in a retained sample' --as green-valley-farm/admin")
@click.argument("gtin")
@click.argument("lot")
@click.option("--reason", required=True)
def recall_issue(gtin: str, lot: str, reason: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Recall LOT of GTIN (brand owner or regulator): captures a `recalled` event."""
    _send(home, url, identity, "recall", {"gtin": gtin, "lot": lot, "reason": reason}, as_json,
          lambda r: click.echo(f"recalled lot {r['lot']} of {r['gtin']} (event {r['event']}, height {r['height']})"))


@trace_command(recall, "report", "consortia trace recall report 06923456000017 L2026-0301 --as sh-regulator/admin")
@click.argument("gtin")
@click.argument("lot")
def recall_report(gtin: str, lot: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Every package of a lot, where it was last seen and who holds it."""
    def human(r: dict[str, Any]) -> None:
        state = f"RECALLED: {r['recall']['reason']}" if r["recall"] else "not recalled"
        click.echo(f"lot {r['lot']}: {state}; {len(r['packages'])} packages, {r['events']} events, "
                   f"holders {', '.join(r['holders']) or '-'}")
        for pkg in r["packages"]:
            click.echo(f"  {package_path(pkg['key'], lot):<48} last seen {_when(pkg['last_seen_ms'])} "
                       f"at {_place(pkg['last_place'])} ({pkg['holder'] or '-'})")
    _ask(home, url, identity, "recall_report", {"gtin": gtin, "lot": lot}, as_json, human)


@trace_command(recall, "list", "consortia trace recall list")
def recall_list(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Every recalled lot."""
    def human(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            click.echo(f"{_when(r['time_ms'])}  {r['gtin']} lot {r['lot']}: {r['reason']} ({r['by']})")
        if not rows:
            click.echo("no recalls")
    _ask(home, url, identity, "recalls", {}, as_json, human, signed=False)


# -- QR codes ----------------------------------------------------------------------------

@trace_command(trace, "qr", "consortia trace qr 06923456000017 --lot L2026-0301 --serial 1001 "
                            "--base https://trace.example.cn -o label.svg", offline=True)
@click.argument("gtin")
@click.option("--lot")
@click.option("--serial")
@click.option("--base", default="https://id.gs1.org", show_default=True, help="Resolver the link points at (your node).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write; .png for PNG, anything else is SVG.")
def qr(gtin: str, lot: str | None, serial: str | None, base: str, output: Path, as_json: bool) -> None:
    """A QR code carrying the package's GS1 Digital Link (made locally, no network)."""
    from consortia.apps.trace.identifiers import digital_link
    from consortia.apps.trace.qr import make_qr

    link = digital_link(gtin, lot, serial, base)
    fmt = "png" if output.suffix.lower() == ".png" else "svg"
    output.write_bytes(make_qr(link, fmt))
    emit({"link": link, "file": str(output), "format": fmt}, as_json,
          lambda r: click.echo(f"wrote {r['file']} ({r['format']}): {r['link']}"))
