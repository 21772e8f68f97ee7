"""From an EPCISDocument to capture transactions, and from stored events back to JSON-LD.

``prepare_capture`` is what the capture edge (REST ``POST /epcis/capture`` and ``consortia trace
capture``) does before anything is signed: read the document with exact numbers, validate it
against the official schema and the contract's own checks, compute each event's hash ID, refuse
duplicates inside the document, and cut the events into transaction-sized batches. A document
that fails any check is refused whole, naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from consortia.apps.trace.eventhash import compute_event_hash
from consortia.apps.trace.jsonexact import BadJson, dumps_loaded, loads_exact
from consortia.apps.trace.model import summarise
from consortia.apps.trace.schema import SchemaError, validate_document
from consortia.apps.trace.vocab import CONTEXT_URL
from consortia.errors import BadInput

MAX_BATCH_BYTES = 600_000  # leaves room under the chain's 1 MiB transaction limit
MAX_BATCH_EVENTS = 250
MAX_EVENT_BYTES = 256 * 1024


@dataclass
class PreparedCapture:
    """A validated document: its namespaces, each event's text and hash ID, in batches."""

    namespaces: dict[str, str]
    texts: list[str]
    ids: list[str]
    batches: list[list[str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.texts)


def namespaces_of(context: Any) -> dict[str, str]:
    """The prefix -> IRI definitions of a document's ``@context`` (the standard context aside)."""
    out: dict[str, str] = {}
    for part in context if isinstance(context, list) else [context]:
        if isinstance(part, dict):
            for prefix, iri in part.items():
                if isinstance(iri, str) and not prefix.startswith("@") and len(prefix) <= 64 and len(iri) <= 500:
                    out[prefix] = iri
    return out


def prepare_capture(document_text: str | bytes, *, max_events: int = 100_000) -> PreparedCapture:
    """Validate a whole document and make its capture batches (see the module docstring)."""
    try:
        document = loads_exact(document_text)
    except BadJson as exc:
        raise BadInput(exc.message, code="BAD_JSON") from None
    events = validate_document(document)
    if not events:
        raise SchemaError("epcisBody.eventList: the document has no events", field="epcisBody.eventList", rule="minItems")
    if len(events) > max_events:
        raise BadInput(f"the document has {len(events)} events; at most {max_events} per capture", code="TOO_MANY_EVENTS")
    namespaces = namespaces_of(document.get("@context"))
    texts: list[str] = []
    ids: list[str] = []
    seen: dict[str, int] = {}
    for i, event in enumerate(events):
        where = f"epcisBody.eventList[{i}]"
        summarise(event, where)
        text = dumps_loaded(event)
        if len(text.encode()) > MAX_EVENT_BYTES:
            raise BadInput(f"{where}: an event may be at most {MAX_EVENT_BYTES} bytes", code="TOO_LARGE", field=where)
        event_id = compute_event_hash(event, namespaces)
        if event_id in seen and "errorDeclaration" not in event:
            raise BadInput(f"{where}: the same event as epcisBody.eventList[{seen[event_id]}] ({event_id})",
                           code="DUPLICATE_EVENT", field=where, event_id=event_id)
        seen.setdefault(event_id, i)
        texts.append(text)
        ids.append(event_id)
    return PreparedCapture(namespaces, texts, ids, batch_texts(texts))


def batch_texts(texts: list[str]) -> list[list[str]]:
    """Cut event texts into batches that fit one transaction each."""
    batches: list[list[str]] = [[]]
    size = 0
    for text in texts:
        length = len(text.encode()) + 8
        if batches[-1] and (size + length > MAX_BATCH_BYTES or len(batches[-1]) >= MAX_BATCH_EVENTS):
            batches.append([])
            size = 0
        batches[-1].append(text)
        size += length
    return batches


def capture_args(namespaces: dict[str, str], batch: list[str], share_with: list[str] | None = None) -> dict[str, Any]:
    """The arguments of one ``trace.capture`` transaction."""
    args: dict[str, Any] = {"events": batch, "namespaces": namespaces}
    if share_with:
        args["share_with"] = sorted(set(share_with))
    return args


def query_document(events: list[Any], namespaces: dict[str, str], created: str, query_name: str = "SimpleEventQuery",
                   subscription_id: str | None = None) -> dict[str, Any]:
    """An EPCISQueryDocument (JSON-LD) holding ``events`` (already parsed, numbers as numbers)."""
    context: list[Any] = [CONTEXT_URL]
    if namespaces:
        context.append(dict(sorted(namespaces.items())))
    results: dict[str, Any] = {"queryName": query_name, "resultsBody": {"eventList": events}}
    if subscription_id:
        results["subscriptionID"] = subscription_id
    return {"@context": context, "type": "EPCISQueryDocument", "schemaVersion": "2.0", "creationDate": created,
            "epcisBody": {"queryResults": results}}
