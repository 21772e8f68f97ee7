"""Capturing an EPCIS 2.0 document through the SDK, the way ``consortia trace capture`` does:
validated here, cut into ``trace.capture`` transactions signed by the client's member, posted to
``/epcis/capture`` and polled. It lives with the trace app (the SDK itself knows no app)::

    from consortia.apps.trace.capture import capture_epcis
    with Client.from_home(".consortia", "lianhe-foods/clerk", "http://127.0.0.1:8700") as c:
        job = capture_epcis(c, Path("pallets.jsonld"))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from consortia.apps.trace.document import prepare_capture
from consortia.apps.trace.jsonexact import dumps_exact, loads_exact
from consortia.apps.trace.masterdata import compute_registrations, get_locations
from consortia.apps.trace.sealing import capture_calls
from consortia.client import Client
from consortia.errors import BadInput


def capture_epcis(client: Client, document: str | bytes | Path | Mapping[str, Any], *, share_with: Sequence[str] = (),
                  wait: bool = True, timeout: float = 600.0, poll: float = 0.2, master_data: bool = True,
                  progress: Callable[[dict[str, Any]], None] | None = None, seal: bool | None = None) -> dict[str, Any]:
    """Capture an EPCISDocument as ``client``'s member (ADR 0007): what ``consortia trace capture`` does.

    The document (JSON text, a file, or a mapping whose non-integer numbers are ``Decimal``) is
    validated here against the EPCIS 2.0 schema, cut into ``trace.capture`` transactions signed
    locally, and posted to ``/epcis/capture``. Returns the capture job; with ``wait`` it is
    polled until it ends or ``timeout`` seconds pass (then ``job["running"]`` is still true).
    ``progress`` is called with every job status seen, the first one included. A job that
    ended with ``success`` false lists its ``errors``; it is returned, not raised.

    With ``master_data``, the header's names of this member's own locations that the chain
    does not describe yet are registered first (``trace.register_location``); the job then
    carries ``masterData``: the keys ``registered`` and any ``refused`` with their reasons.

    Payloads are sealed to the event's parties (ADR 0013) when ``seal`` is true or, left at
    None, when the member's organisation has published a sealing key; ``seal=False`` captures
    in clear. Sealing to a party that published no key is refused (``NO_SEALING_KEY``)."""
    if client.wallet is None:
        raise BadInput("capturing needs a member identity: Client.from_home(home, identity, url)", code="NO_IDENTITY")
    org = client.wallet.org
    if isinstance(document, Path):
        text: str | bytes = document.read_bytes()
    elif isinstance(document, Mapping):
        text = dumps_exact(dict(document))
    else:
        text = document
    prepared = prepare_capture(text)
    named = _register_master_data(client, org, text) if master_data else None
    method, calls = capture_calls(client.suite, client.chain_id, org, prepared.namespaces, prepared.batches,
                                  lambda places: client.query("trace", "sealing_directory", {"places": places}),
                                  share_with, seal)
    txs = [client.build("trace", method, args) for args in calls]
    job = client.post_capture(txs)
    if named is not None:
        job["masterData"] = named
    deadline = time.monotonic() + timeout
    while True:
        if progress is not None:
            progress(job)
        if not (wait and job["running"]) or time.monotonic() >= deadline:
            return job
        time.sleep(poll)
        job = {**client.capture_job(job["captureID"]), **({"masterData": named} if named is not None else {})}

def _register_master_data(client: Client, org: str, text: str | bytes) -> dict[str, Any] | None:
    """Register the document's unknown locations of this member's organisation (see ``capture_epcis``)."""
    document = loads_exact(text)
    if not get_locations(document):
        return None
    known = {loc["key"] for loc in client.query("trace", "locations")}
    wanted = compute_registrations(document, org, client.query("trace", "parties"), known)
    done: dict[str, Any] = {"registered": [], "refused": []}
    if wanted:
        views = client.submit([client.build("trace", "register_location", args) for args in wanted])
        for args, view in zip(wanted, views, strict=True):
            receipt = view.get("receipt") or {}
            if receipt.get("status") == "ok":
                done["registered"].append(receipt["result"]["key"])
            else:
                done["refused"].append({"location": args["location"], "code": receipt.get("code", "NOT_COMMITTED"),
                                        "message": receipt.get("message", "")})
    return done

