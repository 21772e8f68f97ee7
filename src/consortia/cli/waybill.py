"""``consortia waybill``: logistics waybills from the command line.

Temperatures are typed in degrees Celsius ("3.5") and sent as integer tenths; times are ISO 8601
("2026-12-01T08:30:00+08:00") and sent as epoch milliseconds; digests of files are computed
here with the chain's hash, the files never leave the machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from consortia.apps.scf.codes import fen_to_yuan
from consortia.cli.common import app_command, emit
from consortia.errors import BadInput


def _client(home: Path, url: str, identity: str | None) -> Any:
    from consortia.cli.main import client_for

    return client_for(home, url, identity, need_identity=True)



def _send(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any], as_json: bool,
          human: Callable[[Any], None] | None = None) -> Any:
    with _client(home, url, identity) as c:
        result = c.call("waybill", method, args)
    emit(result, as_json, human or _status_line)
    return result


def _status_line(wb: dict[str, Any]) -> None:
    if "status" not in wb:
        click.echo(json.dumps(wb, ensure_ascii=False))
        return
    pending = wb.get("pending")
    click.echo(f"waybill {wb['number']}  {wb['status']}  custodian {wb['custodian']}  packages {wb['packages']}"
               + (f"  (handover to {pending['to']} awaiting its confirmation)" if pending else ""))


def celsius_c10(text: str) -> int:
    """``"3.5"`` -> 35 tenths of a degree."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadInput(f"expected a temperature in °C like 3.5, got {text!r}", code="BAD_TEMPERATURE") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.1")):
        raise BadInput("temperatures have at most one decimal", code="BAD_TEMPERATURE")
    return int(value * 10)


def time_ms(text: str | None) -> int | None:
    if text is None:
        return None
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"expected an ISO 8601 time like 2026-12-01T08:30:00+08:00, got {text!r}", code="BAD_TIME") from None
    if moment.tzinfo is None:
        raise BadInput("the time needs its UTC offset (+08:00)", code="BAD_TIME")
    return int(moment.timestamp() * 1000)


def place_of(name: str | None, city: str | None, country: str | None, gln: str | None) -> dict[str, str] | None:
    if name is None:
        if city or country or gln:
            raise BadInput("--place is needed with --city, --country or --gln", code="BAD_PLACE")
        return None
    fields = {"name": name, "city": city, "country": country, "gln": gln}
    return {k: v for k, v in fields.items() if v is not None}


def place_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in (click.option("--gln", help="GLN of the place (13 digits)."),
                   click.option("--country", help="ISO 3166 alpha-2 country code, e.g. CN."),
                   click.option("--city", help="City."),
                   click.option("--place", "place_name", help="Name of the place.")):
        fn = option(fn)
    return fn


def _digest(home: Path, url: str, identity: str | None, path: Path) -> tuple[str, str]:
    with _client(home, url, identity) as c:
        suite = c.suite
    return suite.hash(path.read_bytes()).hex(), suite.hash_name


@click.group()
def waybill() -> None:
    """Logistics waybills: consignment notes confirmed by each party, and carrier financing."""


@app_command(waybill, "create", "consortia waybill create wb-2026-0001.json --as lianhe-foods/admin")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def create(home: Path, url: str, identity: str | None, as_json: bool, file: Path) -> None:
    """Issue a waybill as the consignor, from a JSON file of its fields: number, consignee,
    carriers (in order), taking_over, delivery_place, goods, and optionally charges (fen),
    charges_payer, cash_on_delivery, documents, temperature (tenths of °C), instructions."""
    try:
        args = json.loads(file.read_text())
    except ValueError as exc:
        raise BadInput(f"{file}: not JSON ({exc})", code="BAD_JSON") from None
    _send(home, url, identity, "create", args, as_json)


@app_command(waybill, "hand-over", "consortia waybill hand-over WB-2026-0001 --place 'Huafeng hub' --city Hangzhou "
                                   "--as huafeng-logistics/admin")
@click.argument("number")
@place_options
@click.option("--at", "at", help="When (ISO 8601 with offset); default: now.")
@click.option("--note", default="", help="A note for the receiving party.")
def hand_over(home: Path, url: str, identity: str | None, as_json: bool, number: str, place_name: str | None,
              city: str | None, country: str | None, gln: str | None, at: str | None, note: str) -> None:
    """Propose to hand the goods to the next party (first carrier, next carrier or consignee);
    custody moves when that party confirms with take-over."""
    args: dict[str, Any] = {"number": number, "note": note}
    place = place_of(place_name, city, country, gln)
    if place:
        args["place"] = place
    if at:
        args["at_ms"] = time_ms(at)
    _send(home, url, identity, "hand_over", args, as_json)


@app_command(waybill, "take-over", "consortia waybill take-over WB-2026-0001 --packages 80 --as yida-express/admin")
@click.argument("number")
@click.option("--packages", type=int, required=True, help="The packages you counted.")
@click.option("--reservation", "reservations", multiple=True, help="A reservation about the goods; repeatable.")
@click.option("--exception", "exception", help="KIND:NOTE when your count differs (shortage, surplus) or for damage.")
@click.option("--at", "at", help="When (ISO 8601 with offset); default: now.")
def take_over(home: Path, url: str, identity: str | None, as_json: bool, number: str, packages: int,
              reservations: tuple[str, ...], exception: str | None, at: str | None) -> None:
    """Confirm a handover proposed to you with your own count; as the consignee this is the delivery."""
    args: dict[str, Any] = {"number": number, "packages": packages, "reservations": list(reservations)}
    if exception:
        kind, _, text = exception.partition(":")
        args["exception"] = {"kind": kind, "note": text or kind}
    if at:
        args["at_ms"] = time_ms(at)
    _send(home, url, identity, "take_over", args, as_json)


@app_command(waybill, "cancel-handover", "consortia waybill cancel-handover WB-2026-0001 --reason 'truck broke down'")
@click.argument("number")
@click.option("--reason", default="", help="Why.")
def cancel_handover(home: Path, url: str, identity: str | None, as_json: bool, number: str, reason: str) -> None:
    """Withdraw (as the giver) or decline (as the taker) a pending handover."""
    _send(home, url, identity, "cancel_handover", {"number": number, "reason": reason}, as_json)


@app_command(waybill, "checkpoint", "consortia waybill checkpoint WB-2026-0001 --place 'G60 Jinhua service area' "
                                    "--city Jinhua --temp 2.8 --as huafeng-logistics/admin")
@click.argument("number")
@place_options
@click.option("--temp", help="Reefer temperature in °C (one decimal).")
@click.option("--at", "at", help="When (ISO 8601 with offset); default: now.")
@click.option("--note", default="", help="A note.")
def checkpoint(home: Path, url: str, identity: str | None, as_json: bool, number: str, place_name: str | None,
               city: str | None, country: str | None, gln: str | None, temp: str | None, at: str | None,
               note: str) -> None:
    """As the carrier in custody, record where the goods are (and the temperature)."""
    place = place_of(place_name, city, country, gln)
    if place is None:
        raise BadInput("a checkpoint needs --place", code="BAD_PLACE")
    args: dict[str, Any] = {"number": number, "place": place, "note": note}
    if temp is not None:
        args["temperature_c10"] = celsius_c10(temp)
    if at:
        args["at_ms"] = time_ms(at)
    _send(home, url, identity, "checkpoint", args, as_json,
          lambda s: click.echo(f"step {s['seq']} recorded" + ("  TEMPERATURE EXCURSION" if s["excursion"] else "")))


@app_command(waybill, "exception", "consortia waybill exception WB-2026-0001 shortage -1 'carton fell off at Jinhua'")
@click.argument("number")
@click.argument("kind", type=click.Choice(["shortage", "surplus", "damage", "other"]))
@click.argument("delta", type=int)
@click.argument("note")
def exception(home: Path, url: str, identity: str | None, as_json: bool, number: str, kind: str, delta: int,
              note: str) -> None:
    """As the carrier in custody, record packages lost (negative), found (positive) or damaged (0)."""
    _send(home, url, identity, "record_exception", {"number": number, "kind": kind, "packages_delta": delta,
                                                    "note": note}, as_json,
          lambda e: click.echo(f"exception recorded: {e['kind']} {e['delta']:+d}"))


@app_command(waybill, "attach", "consortia waybill attach WB-2026-0001 certificate --file vet-cert.pdf")
@click.argument("number")
@click.argument("kind", type=click.Choice(["invoice", "packing_list", "certificate", "customs", "temperature_log",
                                           "photo", "contract", "other"]))
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The document; only its digest is sent.")
def attach(home: Path, url: str, identity: str | None, as_json: bool, number: str, kind: str, file: Path) -> None:
    """Attach a document to a waybill by its digest, before delivery."""
    digest, algorithm = _digest(home, url, identity, file)
    _send(home, url, identity, "attach_document", {"number": number, "kind": kind, "digest": digest,
                                                   "algorithm": algorithm}, as_json)


@app_command(waybill, "close", "consortia waybill close WB-2026-0001 --as huaxin-mart/admin")
@click.argument("number")
def close(home: Path, url: str, identity: str | None, as_json: bool, number: str) -> None:
    """Close a delivered waybill (the consignee at any time; others after the dispute window)."""
    _send(home, url, identity, "close", {"number": number}, as_json)


@app_command(waybill, "dispute", "consortia waybill dispute WB-2026-0001 'core temperature 9 °C' --file probe.jpg")
@click.argument("number")
@click.argument("note")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Evidence; only its digest is sent.")
def dispute(home: Path, url: str, identity: str | None, as_json: bool, number: str, note: str, file: Path | None) -> None:
    """Dispute a delivered waybill within its dispute window."""
    args: dict[str, Any] = {"number": number, "note": note}
    if file:
        args["digest"], args["algorithm"] = _digest(home, url, identity, file)
    _send(home, url, identity, "dispute", args, as_json)


@app_command(waybill, "note", "consortia waybill note WB-2026-0001 'reefer log attached' --file reefer.csv")
@click.argument("number")
@click.argument("note")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Evidence; only its digest is sent.")
def note(home: Path, url: str, identity: str | None, as_json: bool, number: str, note: str, file: Path | None) -> None:
    """Add a note to a disputed waybill (a party or a regulator)."""
    args: dict[str, Any] = {"number": number, "note": note}
    if file:
        args["digest"], args["algorithm"] = _digest(home, url, identity, file)
    _send(home, url, identity, "add_dispute_note", args, as_json)


@app_command(waybill, "cancel", "consortia waybill cancel WB-2026-0001 --reason 'order withdrawn'")
@click.argument("number")
@click.option("--reason", default="", help="Why.")
def cancel(home: Path, url: str, identity: str | None, as_json: bool, number: str, reason: str) -> None:
    """Cancel a waybill nobody has taken over yet (the consignor)."""
    _send(home, url, identity, "cancel", {"number": number, "reason": reason}, as_json)


@app_command(waybill, "show", "consortia waybill show WB-2026-0001")
@click.argument("number")
def show(home: Path, url: str, identity: str | None, as_json: bool, number: str) -> None:
    """A waybill with its steps."""
    with _client(home, url, identity) as c:
        wb = c.waybill(number)

    def human(wb: dict[str, Any]) -> None:
        _status_line(wb)
        click.echo(f"  {wb['consignor']} -> {' -> '.join(wb['carriers'])} -> {wb['consignee']}")
        for s in wb["step_list"]:
            where = (s["place"] or {}).get("name", "")
            temp = "" if s.get("temperature_c10") is None else f"  {Decimal(s['temperature_c10']) / 10} °C"
            click.echo(f"  {s['seq']:>3} {s['kind']:<10} {where}{temp}  by {s['by']}")
    emit(wb, as_json, human)


@app_command(waybill, "list", "consortia waybill list --status in_transit")
@click.option("--status", default="", help="Only waybills in this status.")
def list_(home: Path, url: str, identity: str | None, as_json: bool, status: str) -> None:
    """Your organisation's waybills."""
    with _client(home, url, identity) as c:
        rows = c.waybills(status)
    def human(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            _status_line(row)
        if not rows:
            click.echo("no waybills")
    emit(rows, as_json, human)


@app_command(waybill, "epcis", "consortia waybill epcis WB-2026-0001 > wb-events.jsonld")
@click.argument("number")
def epcis(home: Path, url: str, identity: str | None, as_json: bool, number: str) -> None:
    """The waybill's steps as an EPCIS 2.0 document (its SSCC-labelled goods)."""
    with _client(home, url, identity) as c:
        document = c.waybill_epcis(number)
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@app_command(waybill, "receivable", "consortia waybill receivable WB-2026-0001 --register --as huafeng-logistics/admin")
@click.argument("number")
@click.option("--register", is_flag=True, help="Register it with scf as a waybill document (the first carrier).")
def receivable(home: Path, url: str, identity: str | None, as_json: bool, number: str, register: bool) -> None:
    """The receivable of a closed waybill; with --register the carrier records it in supply chain
    finance, where the payer can issue a voucher against it for a bank to finance."""
    with _client(home, url, identity) as c:
        rec = c.waybill_receivable(number)
        if register:
            rec = c.call("scf", "register_document", {"kind": "waybill", "number": number, "digest": rec["digest"],
                                                      "algorithm": rec["algorithm"], "amount": rec["amount"],
                                                      "counterparty": rec["payer"]})
    emit(rec, as_json, lambda r: click.echo(
        f"{'document ' + r['id'] if register else 'receivable of ' + number}: {fen_to_yuan(r['amount'])} yuan "
        f"payable by {r.get('payer') or r.get('counterparty')}"))
