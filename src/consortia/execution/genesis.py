"""The genesis document: chain id, crypto suite, organisations and config."""

from __future__ import annotations

import re
from typing import Any

from consortia.contracts.system import DEFAULT_CONFIG, check_config_value, check_org_record
from consortia.crypto.suite import get_suite
from consortia.errors import BadInput, Revert

SANDBOX_PREFIX = "sandbox-"
CHAIN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")


def check_genesis(doc: Any) -> dict[str, Any]:
    """Validate a genesis document and return it with config defaults filled in."""
    if type(doc) is not dict:
        raise BadInput("genesis: expected an object", code="BAD_GENESIS")
    missing = {"chain_id", "suite", "time_ms", "orgs"} - doc.keys()
    if missing:
        raise BadInput(f"genesis: missing {', '.join(sorted(missing))}", code="BAD_GENESIS")
    if type(doc["chain_id"]) is not str or not CHAIN_ID_RE.fullmatch(doc["chain_id"]):
        raise BadInput(f"genesis chain_id must match {CHAIN_ID_RE.pattern}", code="BAD_GENESIS")
    get_suite(doc["suite"])
    if type(doc["time_ms"]) is not int or doc["time_ms"] <= 0:
        raise BadInput("genesis time_ms: expected a positive integer", code="BAD_GENESIS")
    if type(doc["orgs"]) is not list or not doc["orgs"]:
        raise BadInput("genesis orgs: expected a non-empty list", code="BAD_GENESIS")
    try:
        orgs = [check_org_record(o, doc["suite"]) for o in doc["orgs"]]
        config = {**DEFAULT_CONFIG, **doc.get("config", {})}
        for key, value in config.items():
            check_config_value(key, value)
    except Revert as exc:
        raise BadInput(f"genesis: {exc.message}", code="WRONG_SUITE" if exc.code == "WRONG_SUITE" else "BAD_GENESIS") from None
    ids = [o["id"] for o in orgs]
    if len(set(ids)) != len(ids):
        raise BadInput("genesis orgs: duplicate organisation id", code="BAD_GENESIS")
    sandbox = doc.get("sandbox", False)
    if type(sandbox) is not bool:
        raise BadInput("genesis sandbox: expected true or false", code="BAD_GENESIS")
    if sandbox != doc["chain_id"].startswith(SANDBOX_PREFIX):
        # a test chain's data can never be mistaken for production: the id says which it is
        raise BadInput(f"genesis: a sandbox chain's id starts with {SANDBOX_PREFIX!r} and only a sandbox's does",
                       code="BAD_GENESIS")
    return {**doc, "orgs": orgs, "config": config, "sandbox": sandbox}
