"""Validation against the official EPCIS 2.0 JSON schema (shipped as package data).

The schema files are GS1's, unchanged, under ``data/``. Two validators read them (ADR 0029):

- a compiled one (``jsonschema_rs``, built once per process) answers whether a document or an
  event is valid, about 20 times faster than the reference;
- the reference (``jsonschema``, Draft 7) runs only on what the compiled one refuses: its verdict
  is final, and it names the field. Its cross-file ``$ref``s are resolved once into one in-memory
  schema per event type.

The reference checks the formats the schemas use (``date-time``, ``uri``) with the expressions
ajv-formats uses; the compiled one checks ``date-time`` with the same expression and ``uri`` with
its own RFC 3986 parser, which is stricter (``a:é`` goes to the reference). A value the compiled
validator cannot read (a lone surrogate, say) goes to the reference too. The first error names the field:
``epcisBody.eventList[3].action: 'SHOUT' is not one of [...]``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import unquote, urljoin

from consortia.apps.trace.vocab import data_text
from consortia.errors import BadInput

BASE = "https://gs1.github.io/EPCIS/JSON-Schema/"
SCHEMA_FILES = ("EPCIS-JSON-Schema-root.json", "EPCIS-Document-JSON-Schema.json", "EPCIS-Event-JSON-Schema.json",
                "schemas/AggregationEvent-JSON-Schema.json", "schemas/AssociationEvent-JSON-Schema.json",
                "schemas/ObjectEvent-JSON-Schema.json", "schemas/TransactionEvent-JSON-Schema.json",
                "schemas/TransformationEvent-JSON-Schema.json", "schemas/bizStep-JSON-Schema.json",
                "schemas/bizTransaction-type-JSON-Schema.json", "schemas/component-JSON-Schema.json",
                "schemas/definitions-JSON-Schema.json", "schemas/disposition-JSON-Schema.json",
                "schemas/error-reason-JSON-Schema.json", "schemas/event-definitions-JSON-Schema.json",
                "schemas/measurement-type-JSON-Schema.json", "schemas/sensor-alert-type-JSON-Schema.json",
                "schemas/source-dest-type-JSON-Schema.json")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})")
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]*")
EVENT_DEFINITIONS = {
    "ObjectEvent": "schemas/ObjectEvent-JSON-Schema.json#/definitions/ObjectEvent",
    "AggregationEvent": "schemas/AggregationEvent-JSON-Schema.json#/definitions/AggregationEvent",
    "TransactionEvent": "schemas/TransactionEvent-JSON-Schema.json#/definitions/TransactionEvent",
    "TransformationEvent": "schemas/TransformationEvent-JSON-Schema.json#/definitions/TransformationEvent",
    "AssociationEvent": "schemas/AssociationEvent-JSON-Schema.json#/definitions/AssociationEvent",
}


class SchemaError(BadInput):
    """A document the official schema refuses; ``details.field`` names where."""

    code = "SCHEMA_INVALID"


@cache
def _documents() -> dict[str, Any]:
    return {BASE + name: json.loads(data_text(name)) for name in SCHEMA_FILES}


class _Inliner:
    """Replace every ``$ref`` by the (shared) object it points to, so validation never looks up."""

    def __init__(self) -> None:
        self.memo: dict[tuple[str, str], dict[str, Any]] = {}

    def resolve(self, ref: str, base: str) -> dict[str, Any]:
        url = urljoin(base, ref)
        file, _, fragment = url.partition("#")
        if (file, fragment) in self.memo:
            return self.memo[(file, fragment)]
        node: Any = _documents()[file]
        for part in (unquote(p) for p in fragment.split("/") if p):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        out: dict[str, Any] = {}
        self.memo[(file, fragment)] = out
        out.update(self.inline(node, file))
        return out

    def inline(self, node: Any, base: str) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return self.resolve(node["$ref"], base)
            return {k: (v if k in ("enum", "const") else self.inline(v, base)) for k, v in node.items()
                    if k not in ("$id", "$schema")}
        if isinstance(node, list):
            return [self.inline(item, base) for item in node]
        return node


def _draft7_with_cached_property_names() -> Any:
    """Draft 7, except that a property name found valid once is not checked again: the
    ``propertyNames`` result depends on the name alone, and EPCIS schemas check every key of
    every object against a list of patterns (half the validation time)."""
    from jsonschema import Draft7Validator, validators

    valid: set[tuple[int, str]] = set()

    def property_names(validator: Any, names_schema: Any, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "object"):
            return
        for name in instance:
            if (id(names_schema), name) in valid:
                continue
            errors = list(validator.descend(instance=name, schema=names_schema))
            if errors:
                yield from errors
            elif len(valid) < 100_000:
                valid.add((id(names_schema), name))

    return validators.extend(Draft7Validator, {"propertyNames": property_names})


@cache
def _validators() -> tuple[Any, dict[str, Any]]:
    from jsonschema import FormatChecker

    Draft7Validator = _draft7_with_cached_property_names()  # noqa: N806

    checker = FormatChecker(formats=())
    checker.checks("date-time")(lambda value: not isinstance(value, str) or _is_date_time(value))
    checker.checks("uri")(lambda value: not isinstance(value, str) or _is_uri(value))
    inliner = _Inliner()
    document = inliner.resolve("EPCIS-Document-JSON-Schema.json#/definitions/epcisDocument", BASE)
    # The envelope is checked with an empty event list; each event is then checked on its own.
    events = {kind: Draft7Validator(inliner.resolve(ref, BASE), format_checker=checker)
              for kind, ref in EVENT_DEFINITIONS.items()}
    return Draft7Validator(document, format_checker=checker), events


def _is_date_time(value: str) -> bool:
    return DATE_TIME.fullmatch(value) is not None


def _is_uri(value: str) -> bool:
    return URI.fullmatch(value) is not None


@cache
def _compiled() -> tuple[Any, dict[str, Any]]:
    """The compiled validators (envelope, then one per event type), from the same schema files."""
    import jsonschema_rs

    documents = _documents()

    def retrieve(uri: str) -> Any:
        return documents[uri]  # the shipped files only: never the network

    def compile_ref(ref: str) -> Any:
        return jsonschema_rs.Draft7Validator({"$ref": BASE + ref}, formats={"date-time": _is_date_time},
                                             validate_formats=True, retriever=retrieve)

    events = {kind: compile_ref(ref) for kind, ref in EVENT_DEFINITIONS.items()}
    return compile_ref("EPCIS-Document-JSON-Schema.json#/definitions/epcisDocument"), events


def _is_valid_compiled(validator: Any, value: Any) -> bool:
    """The compiled validator's verdict; False (ask the reference) for what it cannot read."""
    try:
        return bool(validator.is_valid(value))
    except (ValueError, TypeError, OverflowError):  # e.g. UnicodeEncodeError on a lone surrogate
        return False


def _path(prefix: str, parts: Any) -> str:
    out = prefix
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "$"


def _deepest(errors: Any) -> Any:
    """The most specific error: follow ``anyOf`` / ``oneOf`` branches to the deepest failure
    (so a bad ``action`` is reported at ``action``, not as "the event matches no schema")."""
    best, best_rank = None, (-1, -1)
    stack = list(errors)
    while stack:
        error = stack.pop()
        stack.extend(error.context or ())
        rank = (len(error.absolute_path), 0 if error.validator in ("anyOf", "oneOf", "if", "not") else 1)
        if rank > best_rank:
            best, best_rank = error, rank
    return best


def _first_error(validator: Any, value: Any, prefix: str) -> SchemaError | None:
    error = _deepest(validator.iter_errors(value))
    if error is None:
        return None
    field = _path(prefix, error.absolute_path)
    message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
    if error.validator == "required":
        missing = message.split("'")[1] if "'" in message else ""
        field = _path(field if field != "$" else "", [missing]) if missing else field
    return SchemaError(f"{field}: {message}", field=field, rule=str(error.validator))


def validate_event(event: Any, where: str = "event") -> None:
    """Raise ``SchemaError`` unless ``event`` is valid against its type's official schema."""
    kind = event.get("type") if isinstance(event, dict) else None
    if not isinstance(kind, str) or kind not in EVENT_DEFINITIONS:
        raise SchemaError(f"{where}.type: expected one of {', '.join(EVENT_DEFINITIONS)}, got {kind!r:.40}",
                          field=f"{where}.type", rule="enum")
    if _is_valid_compiled(_compiled()[1][kind], event):
        return
    error = _first_error(_validators()[1][kind], event, where)
    if error is not None:
        raise error


def validate_document(document: Any) -> list[Any]:
    """Check an EPCISDocument or EPCISQueryDocument; return its events. Refuses the document
    whole, naming the first bad field."""
    if not isinstance(document, dict):
        raise SchemaError("$: expected an EPCISDocument object", field="$", rule="type")
    kind = document.get("type")
    body = document.get("epcisBody")
    if kind == "EPCISDocument":
        if not isinstance(body, dict):
            raise SchemaError("epcisBody: is required and must be an object", field="epcisBody", rule="required")
        events = body.get("eventList", [body["event"]] if "event" in body else None)
        prefix = "epcisBody.eventList" if "eventList" in body else "epcisBody.event"
        shell = {**document, "epcisBody": {**body, "eventList": []}}
        shell["epcisBody"].pop("event", None)
        error = None if _is_valid_compiled(_compiled()[0], shell) else _first_error(_validators()[0], shell, "")
    elif kind == "EPCISQueryDocument":
        results = body.get("queryResults", {}) if isinstance(body, dict) else {}
        events = results.get("resultsBody", {}).get("eventList") if isinstance(results, dict) else None
        prefix, error = "epcisBody.queryResults.resultsBody.eventList", None
    else:
        raise SchemaError(f"type: expected EPCISDocument or EPCISQueryDocument, got {kind!r:.40}", field="type",
                          rule="enum")
    if error is not None:
        raise error
    if not isinstance(events, list):
        raise SchemaError(f"{prefix}: expected a list of events", field=prefix, rule="type")
    for i, event in enumerate(events):
        validate_event(event, f"{prefix}[{i}]" if prefix.endswith("eventList") else prefix)
    return events
