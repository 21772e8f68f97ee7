"""The CBV 2.0 vocabulary as the EPCIS 2.0 JSON-LD context defines it.

In JSON-LD a standard value is written bare (``"bizStep": "shipping"``); its meaning is the Web
URI the context maps it to (``https://ref.gs1.org/cbv/BizStep-shipping``). The maps below are
read from the official context shipped with the package (``data/epcis-context.jsonld``), so
the bare terms accepted here are exactly the standard's.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

STANDARD_PREFIXES = {"epcis": "https://ref.gs1.org/epcis/", "cbv": "https://ref.gs1.org/cbv/",
                     "cbvmda": "urn:epcglobal:cbv:mda:", "gs1": "https://gs1.org/voc/",
                     "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "owl": "http://www.w3.org/2002/07/owl#",
                     "xsd": "http://www.w3.org/2001/XMLSchema#", "dcterms": "http://purl.org/dc/terms/"}
CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# Old CBV URNs and their Web URI forms (rule 14 of the event hash).
URN_TO_WEB = (("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
              ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
              ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
              ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
              ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"))


def data_text(name: str) -> str:
    """A file shipped in ``consortia/apps/trace/data`` (schemas, context)."""
    return resources.files("consortia.apps.trace").joinpath("data").joinpath(name).read_text(encoding="utf-8")


def _expand(curie: str) -> str:
    prefix, sep, rest = curie.partition(":")
    return STANDARD_PREFIXES[prefix] + rest if sep and prefix in STANDARD_PREFIXES else curie


def _terms(node: dict[str, Any]) -> dict[str, str]:
    scoped = node.get("@context", {})
    if isinstance(scoped, list):
        merged: dict[str, Any] = {}
        for part in scoped:
            merged.update(part)
        scoped = merged
    return {k: _expand(v) for k, v in scoped.items() if isinstance(v, str) and not k.startswith("@") and ":" in v
            and k not in STANDARD_PREFIXES}


@cache
def vocabularies() -> dict[str, dict[str, str]]:
    """``{field: {bare term: Web URI}}`` for every field whose values are standard terms."""
    root = json.loads(data_text("epcis-context.jsonld"))["@context"]
    sensor = root["sensorElementList"]["@context"]["sensorReport"]["@context"]
    return {
        "bizStep": _terms(root["bizStep"]),
        "disposition": _terms(root["disposition"]),
        "persistentDisposition": _terms(root["persistentDisposition"]),
        "bizTransactionType": _terms(root["bizTransactionList"]["@context"]["type"]),
        "sourceType": _terms(root["sourceList"]["@context"]["type"]),
        "destinationType": _terms(root["destinationList"]["@context"]["type"]),
        "measurementType": _terms(sensor["type"]),
        "exception": _terms(sensor["exception"]),
        "component": _terms(sensor.get("component", {})),
        "errorReason": _terms(root["errorDeclaration"]["@context"]["reason"]),
    }


def expand_term(field: str, value: str, namespaces: dict[str, str] | None = None) -> str:
    """The Web URI of a value of ``field``: a bare standard term, an old CBV URN or a CURIE."""
    table = vocabularies().get(field, {})
    if value in table:
        return table[value]
    return expand_uri(value, namespaces)


def expand_uri(value: str, namespaces: dict[str, str] | None = None) -> str:
    """Old CBV URNs to Web URIs, CURIEs (``gs1:Temperature``) to full URIs; anything else unchanged."""
    for urn, web in URN_TO_WEB:
        if value.startswith(urn):
            return web + value[len(urn):]
    prefix, sep, rest = value.partition(":")
    if sep and not rest.startswith("//"):
        if namespaces and prefix in namespaces:
            return namespaces[prefix] + rest
        if prefix in STANDARD_PREFIXES and prefix != "cbvmda":
            return STANDARD_PREFIXES[prefix] + rest
    return value


def bare_term(field: str, uri: str) -> str:
    """The short form of a standard value, for display (``https://...BizStep-shipping`` -> ``shipping``)."""
    for bare, full in vocabularies().get(field, {}).items():
        if full == uri or bare == uri:
            return bare
    for urn, web in URN_TO_WEB:
        if uri.startswith(urn):
            return uri[len(urn):]
        if uri.startswith(web):
            return uri[len(web):]
    return uri
