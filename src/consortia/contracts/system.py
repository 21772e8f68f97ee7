"""System contracts: governance by vote of member organisations, and membership.

Both keep their data under the ``sys/`` state prefix, which execution also reads
to decide who may transact (organisations, frozen identities and contracts,
revoked certificates) and how the chain is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

from consortia.contracts.sdk import Context, Contract, Revert, method, query, require
from consortia.contracts.usercode import NAME_RE, Program, archive_source, compile_archive, compute_code_hash
from consortia.crypto.suite import get_suite
from consortia.errors import NotFound
from consortia.identity.x509 import CertificateError, check_ca, check_org_id, load_pem
from consortia.types import codec
from consortia.types.clock import is_zone_name

# An organisation's kind is the consortium's decision (genesis or a vote), so apps may trust it
# for privileged seats: the regulator, and the authorities of the e-invoice, trade and charity apps.
ORG_KINDS = ("core", "supplier", "funder", "regulator", "tax_authority", "customs", "civil_affairs", "member")

DEFAULT_CONFIG: dict[str, Any] = {
    "block_max_txs": 500,
    "block_timeout_ms": 50,
    "max_tx_bytes": 1_048_576,
    "gov_policy": "majority",
    "gov_required_orgs": [],
    "proposal_ttl_ms": 7 * 24 * 3600 * 1000,
    # The service's filing with the Cyberspace Administration of China (区块链信息服务备案):
    # {"service_name", "operator", "filing_number"}; empty until filed. Changed by vote.
    "filing": {},
    # Free text in transactions is refused if it contains one of these (case-insensitive); set by vote.
    "sensitive_words": [],
    # Members need a real-name record (the ``realname`` contract) before they may transact.
    "require_real_name": False,
    # The volume-spike alert rule (node/alerts.py): an organisation's transactions in one minute of
    # block time at least this many and this many times its recent average. Chain config, so every
    # node derives the same alerts; a change applies from the block after the one that made it.
    "alert_spike_min": 200,
    "alert_spike_factor": 5,
    # Steps one call of a member's contract may take (function entries, loop iterations, items
    # built; ADR 0014). Counted the same way on every node; changed by vote.
    "contract_max_steps": 1_000_000,
    # The zone people read times in (console, CLI, consumer page): an IANA name; display only.
    "time_zone": "Asia/Shanghai",
}
FILING_FIELDS = ("service_name", "operator", "filing_number")
POLICIES = ("majority", "two_thirds", "all")
ACTIONS = ("add_org", "remove_org", "freeze_identity", "unfreeze_identity", "freeze_object", "unfreeze_object",
           "freeze_contract", "unfreeze_contract", "set_config", "mask", "unmask", "install_contract",
           "upgrade_contract")
DEPLOY = ("install_contract", "upgrade_contract")
ENFORCEMENT = ("freeze", "mask")  # actions containing these need every regulator organisation's yes
SYSTEM_CONTRACTS = ("gov", "members")


# Keys relative to the ``sys/`` prefix --------------------------------------------------

def org_key(org_id: str) -> str:
    return f"org/{org_id}"


def frozen_identity_key(identity_id: str) -> str:
    return f"frozen/identity/{identity_id}"


def frozen_object_key(contract: str, object_id: str) -> str:
    """An application object (a voucher, a lot...) frozen by vote; the app checks it."""
    return f"frozen/object/{contract}/{object_id}"


def frozen_contract_key(name: str) -> str:
    return f"frozen/contract/{name}"


def revoked_key(org_id: str, fingerprint: str) -> str:
    return f"revoked/{org_id}/{fingerprint}"


def mask_tx_key(tx_id: str) -> str:
    """Masked fields of a committed transaction (ADR 0012)."""
    return f"mask/tx/{tx_id}"


def mask_state_key(state_key: str) -> str:
    """Masked fields of a state object, by its full state key (``scf/v/<id>``)."""
    return f"mask/state/{state_key}"


def installed_key(name: str) -> str:
    """A member's contract installed by vote: name, version, code hash, access, who approved."""
    return f"contract/{name}"


def code_key(code_hash: str) -> str:
    """The canonical archive of an installed contract version, by its hash."""
    return f"code/{code_hash}"


CONFIG_KEY = "config"


# Validation shared by genesis and governance -----------------------------------------

CONFIG_MINIMUM = {"max_tx_bytes": 16 * 1024, "proposal_ttl_ms": 60_000, "contract_max_steps": 1_000}


def check_config_value(key: Any, value: Any) -> None:
    if type(key) is not str or key not in DEFAULT_CONFIG:
        raise Revert(f"unknown config key {key!r}; known: {', '.join(sorted(DEFAULT_CONFIG))}", code="BAD_CONFIG")
    default = DEFAULT_CONFIG[key]
    if type(value) is not type(default):
        raise Revert(f"config {key}: expected {type(default).__name__}, got {type(value).__name__}", code="BAD_CONFIG")
    if type(value) is int and value < CONFIG_MINIMUM.get(key, 1):
        raise Revert(f"config {key}: expected at least {CONFIG_MINIMUM.get(key, 1)}, got {value}", code="BAD_CONFIG")
    if key == "gov_policy" and value not in POLICIES:
        raise Revert(f"config gov_policy: expected one of {POLICIES}, got {value!r}", code="BAD_CONFIG")
    if key == "sensitive_words" and not all(type(w) is str and 0 < len(w) <= 100 for w in value):
        raise Revert("config sensitive_words: expected a list of non-empty words", code="BAD_CONFIG")
    if key == "time_zone" and not is_zone_name(value):
        raise Revert(f"config time_zone: expected an IANA zone name like Asia/Shanghai, got {value!r:.40}",
                     code="BAD_CONFIG")
    if key == "gov_required_orgs" and not all(type(o) is str for o in value):
        raise Revert("config gov_required_orgs: expected a list of organisation ids", code="BAD_CONFIG")
    if key == "filing" and value and (set(value) != set(FILING_FIELDS) or not all(
            type(value[f]) is str and 0 < len(value[f]) <= 200 for f in FILING_FIELDS)):
        raise Revert(f"config filing: expected {{{', '.join(FILING_FIELDS)}}} as non-empty strings", code="BAD_CONFIG")


def check_org_record(org: Any, suite: str | None = None) -> dict[str, Any]:
    """Validate an organisation record ``{id, name, kind, ca_cert}``; return it normalised.

    With ``suite`` (the chain's suite name), a CA certificate of another suite is refused
    with ``WRONG_SUITE``: a chain never mixes suites.
    """
    if type(org) is not dict:
        raise Revert("organisation: expected an object", code="BAD_ORG")
    missing = {"id", "name", "ca_cert"} - org.keys()
    if missing:
        raise Revert(f"organisation: missing {', '.join(sorted(missing))}", code="BAD_ORG")
    try:
        check_org_id(org["id"])
    except Exception as exc:  # noqa: BLE001 - re-raised as a revert with its message
        raise Revert(str(exc), code="BAD_ORG") from None
    kind = org.get("kind", "member")
    if kind not in ORG_KINDS:
        raise Revert(f"organisation kind: expected one of {ORG_KINDS}, got {kind!r}", code="BAD_ORG")
    if type(org["name"]) is not str or not 0 < len(org["name"]) <= 200:
        raise Revert("organisation name: expected 1..200 characters", code="BAD_ORG")
    if type(org["ca_cert"]) is not str:
        raise Revert("organisation ca_cert: expected a PEM string", code="BAD_ORG")
    try:
        check_ca(load_pem(org["ca_cert"]), org["id"], None if suite is None else get_suite(suite))
    except CertificateError as exc:
        raise Revert(str(exc), code="WRONG_SUITE" if exc.code == "WRONG_SUITE" else "BAD_ORG") from None
    extra = {k: v for k, v in org.items() if k not in {"id", "name", "kind", "ca_cert"}}
    return {"id": org["id"], "name": org["name"], "kind": kind, "ca_cert": org["ca_cert"], **extra}


def required_votes(policy: str, members: int) -> int:
    if policy == "all":
        return members
    if policy == "two_thirds":
        return -(-2 * members // 3)
    return members // 2 + 1


# Masking a committed field's display (ADR 0012) ----------------------------------------

_STEP = re.compile(r"([A-Za-z0-9_\-]+)|\[(\d{1,6})\]")
MAX_PATH = 200
_TX_ID = re.compile(r"[0-9a-f]{64}|[0-9a-f]{128}")


class Ledger(Protocol):
    """What the governance contract may read beyond its own state while a block executes:
    committed transactions (blocks before this one) and any contract's state. Set by the
    executor for the block it runs (``LEDGER``); both reads are the same on every node."""

    def committed_tx(self, tx_id: str) -> dict[str, Any] | None: ...

    def state_key(self, contract: str, key: str) -> str | None: ...

    def state_value(self, full_key: str) -> Any: ...

    def is_builtin(self, name: str) -> bool: ...

    def migrate(self, ctx: Context, record: dict[str, Any], archive: dict[str, Any], from_version: str) -> None: ...


LEDGER: ContextVar[Ledger | None] = ContextVar("consortia_ledger", default=None)


def parse_path(path: Any) -> list[str | int]:
    """``args.items[0].note`` -> ``["args", "items", 0, "note"]``; a bad path reverts with BAD_PARAMS."""
    bad = Revert(f"path: expected fields and [indexes] like args.items[0].note, got {path!r:.80}", code="BAD_PARAMS")
    if type(path) is not str or not 0 < len(path) <= MAX_PATH:
        raise bad
    steps: list[str | int] = []
    for part in path.split("."):
        at = 0
        while at < len(part):
            found = _STEP.match(part, at)
            if found is None or (at == 0) != (found.group(1) is not None):
                raise bad
            steps.append(found.group(1) if found.group(1) is not None else int(found.group(2)))
            at = found.end()
        if not part:
            raise bad
    return steps


def get_path(value: Any, steps: list[str | int]) -> Any:
    """The value at ``steps`` inside ``value``; reverts with MASK_PATH_NOT_FOUND."""
    for step in steps:
        if type(step) is str and type(value) is dict and step in value:
            value = value[step]
        elif type(step) is int and type(value) is list and step < len(value):
            value = value[step]
        else:
            raise Revert(f"path: nothing at {step!r}", code="MASK_PATH_NOT_FOUND")
    return value


def compute_marker(value: Any, proposal: str, hasher: Callable[[bytes], bytes], algorithm: str) -> dict[str, Any]:
    """What a masked field displays: the proposal that masked it and the digest of its canonical encoding."""
    return {"masked": True, "proposal": proposal, "digest": hasher(codec.encode(value)).hex(), "algorithm": algorithm}


def _replaced(value: Any, steps: list[str | int], new: Any) -> Any:
    if not steps:
        return new
    head, rest = steps[0], steps[1:]
    if type(value) is dict and type(head) is str and head in value:
        return {**value, head: _replaced(value[head], rest, new)}
    if type(value) is list and type(head) is int and head < len(value):
        return [*value[:head], _replaced(value[head], rest, new), *value[head + 1:]]
    return value  # the path no longer exists (a state object changed): nothing to hide


def _replace_equal(value: Any, markers: dict[str, dict[str, Any]]) -> Any:
    if type(value) is str:
        return markers.get(value, value)
    if type(value) is list:
        return [_replace_equal(v, markers) for v in value]
    if type(value) is dict:
        return {k: _replace_equal(v, markers) for k, v in value.items()}
    return value


def compute_masked(doc: Any, record: dict[str, Any], hasher: Callable[[bytes], bytes],
                   algorithm: str) -> tuple[Any, list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """``doc`` with each masked path of ``record`` replaced by its marker.

    Returns the masked copy, the list of ``{path, **marker}`` and the markers by clear text
    (so that copies of a masked text, in a receipt's result or events, can be hidden too)."""
    listed: list[dict[str, Any]] = []
    by_text: dict[str, dict[str, Any]] = {}
    for path, field in sorted(record.get("fields", {}).items()):
        steps = parse_path(path)
        try:
            clear = get_path(doc, steps)
        except Revert:
            continue
        marker = compute_marker(clear, field["proposal"], hasher, algorithm)
        doc = _replaced(doc, steps, marker)
        listed.append({"path": path, **marker})
        if type(clear) is str:
            by_text[clear] = marker
    return doc, listed, by_text


def compute_masked_tx(tx: dict[str, Any], receipt: dict[str, Any], record: dict[str, Any],
                      hasher: Callable[[bytes], bytes], algorithm: str
                      ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A transaction body and its receipt as displayed under a mask record: the masked paths of
    ``args`` become markers, and so does every copy of a masked text in the receipt."""
    masked, listed, by_text = compute_masked({"args": tx["args"]}, record, hasher, algorithm)
    shown = {**receipt, "result": _replace_equal(receipt.get("result"), by_text),
             "events": [{**e, "data": _replace_equal(e["data"], by_text)} for e in receipt.get("events", [])]}
    return {**tx, "args": masked["args"]}, shown, listed


def summarise(proposal: dict[str, Any]) -> dict[str, Any]:
    """A proposal as receipts and lists show it: a contract's source is named by its size (the
    ``proposal`` query and ``consortia contract show --proposal`` give it whole)."""
    archive = proposal["params"].get("archive") if proposal["action"] in DEPLOY else None
    if type(archive) is not dict or type(archive.get("files")) is not dict:
        return proposal
    sizes = {f: f"{len(src) if type(src) is str else 0} characters" for f, src in archive["files"].items()}
    return {**proposal, "params": {**proposal["params"], "archive": {**archive, "files": sizes}}}


class SystemReads:
    """Helpers every system contract uses to read ``sys/`` state through a context."""

    @staticmethod
    def _config(ctx: Context) -> dict[str, Any]:
        return {**DEFAULT_CONFIG, **ctx.get(CONFIG_KEY, {})}

    @staticmethod
    def _org_ids(ctx: Context) -> list[str]:
        return [key.split("/", 1)[1] for key, _ in ctx.range("org/", limit=10_000)]

    @staticmethod
    def _require_admin(ctx: Context) -> str:
        caller = ctx.require_caller()
        require(caller.has_role("admin"), Revert(f"{caller.id} is not an organisation admin", code="NOT_ADMIN"))
        require(ctx.has(org_key(caller.org)), Revert(f"{caller.org} is not a member", code="NOT_MEMBER"))
        return caller.org


class Governance(Contract, SystemReads):
    """Proposals voted by organisation admins; a passed proposal takes effect at once."""

    name = "gov"
    namespace = "sys"
    description = "Add or remove organisations, freeze identities or contracts, change config, by vote."

    @method
    def propose(self, ctx: Context, action: str, params: dict[str, Any], reason: str = "") -> dict[str, Any]:
        """Open a proposal; the proposer's organisation votes yes."""
        org = self._require_admin(ctx)
        require(action in ACTIONS, Revert(f"unknown action {action!r}; expected one of {ACTIONS}", code="BAD_ACTION"))
        require(len(reason) <= 2000, Revert("reason: at most 2000 characters", code="BAD_ARGS"))
        require(action != "mask" or reason.strip() != "", Revert("mask: give the reason", code="BAD_ARGS"))
        self._check_action(ctx, action, params)
        proposal_id = ctx.derive_id("proposal")
        config = self._config(ctx)
        proposal = {
            "id": proposal_id, "action": action, "params": params, "reason": reason,
            "proposer": ctx.require_caller().id, "created_ms": ctx.time_ms, "height": ctx.height,
            "expires_ms": ctx.time_ms + config["proposal_ttl_ms"], "votes": {}, "status": "open", "outcome": "",
        }
        ctx.emit("ProposalOpened", id=proposal_id, action=action, proposer=proposal["proposer"])
        return self._cast(ctx, proposal, org, True)

    @method
    def vote(self, ctx: Context, proposal_id: str, approve: bool) -> dict[str, Any]:
        """Cast this organisation's vote; one vote per organisation."""
        org = self._require_admin(ctx)
        proposal = ctx.get(f"proposal/{proposal_id}")
        require(proposal is not None, Revert(f"no proposal {proposal_id!r}", code="PROPOSAL_NOT_FOUND"))
        require(proposal["status"] == "open", Revert(f"proposal is {proposal['status']}", code="PROPOSAL_CLOSED"))
        require(ctx.time_ms <= proposal["expires_ms"], Revert("proposal has expired", code="PROPOSAL_EXPIRED"))
        require(org not in proposal["votes"], Revert(f"{org} has already voted", code="ALREADY_VOTED"))
        return self._cast(ctx, proposal, org, approve)

    def _cast(self, ctx: Context, proposal: dict[str, Any], org: str, approve: bool) -> dict[str, Any]:
        proposal["votes"][org] = approve
        ctx.emit("VoteCast", id=proposal["id"], org=org, approve=approve)
        members = self._org_ids(ctx)
        config = self._config(ctx)
        need = required_votes(config["gov_policy"], len(members))
        yes = sum(1 for m in members if proposal["votes"].get(m) is True)
        no = sum(1 for m in members if proposal["votes"].get(m) is False)
        required = [o for o in config["gov_required_orgs"] if o in members]
        if any(word in proposal["action"] for word in ENFORCEMENT):  # every regulator's yes, whatever the policy
            required += [o for o in members if (ctx.member_org(o) or {}).get("kind") == "regulator"]
        vetoed = any(proposal["votes"].get(o) is False for o in required)
        if yes >= need and all(proposal["votes"].get(o) is True for o in required):
            try:
                self._apply(ctx, proposal)
                proposal["status"], proposal["outcome"] = "passed", "applied"
            except Revert as exc:
                proposal["status"], proposal["outcome"] = "failed", f"{exc.code}: {exc.message}"
            ctx.emit("ProposalClosed", id=proposal["id"], status=proposal["status"], outcome=proposal["outcome"])
        elif vetoed or len(members) - no < need:
            proposal["status"], proposal["outcome"] = "rejected", "not enough votes can remain"
            ctx.emit("ProposalClosed", id=proposal["id"], status="rejected", outcome=proposal["outcome"])
        ctx.put(f"proposal/{proposal['id']}", proposal)
        return summarise(proposal)

    def _check_action(self, ctx: Context, action: str, params: dict[str, Any]) -> None:
        def need(*names: str) -> None:
            missing = [n for n in names if type(params.get(n)) is not str]
            require(not missing, Revert(f"{action}: params need string field(s) {missing}", code="BAD_PARAMS"))
            extra = sorted(set(params) - set(names) - ({"name", "kind"} if action == "add_org" else set()))
            require(not extra, Revert(f"{action}: unknown params {extra}", code="BAD_PARAMS"))

        if action == "add_org":
            need("id", "ca_cert")
            check_org_record({"name": params.get("name", params["id"]), **params}, ctx.suite)
            require(not ctx.has(org_key(params["id"])), Revert(f"{params['id']} is already a member", code="ORG_EXISTS"))
        elif action == "remove_org":
            need("id")
            require(ctx.has(org_key(params["id"])), Revert(f"{params['id']} is not a member", code="ORG_NOT_FOUND"))
            require(len(self._org_ids(ctx)) > 1, Revert("cannot remove the last organisation", code="LAST_ORG"))
        elif action in ("freeze_identity", "unfreeze_identity"):
            need("id")
            require(params["id"].count("/") == 1, Revert("identity id is <org>/<name>", code="BAD_PARAMS"))
        elif action in ("freeze_object", "unfreeze_object"):
            need("contract", "id")
            require(0 < len(params["id"]) <= 200 and 0 < len(params["contract"]) <= 32,
                    Revert("freeze_object: contract and id are short strings", code="BAD_PARAMS"))
        elif action in ("freeze_contract", "unfreeze_contract"):
            need("name")
            require(params["name"] not in SYSTEM_CONTRACTS,
                    Revert("system contracts cannot be frozen", code="BAD_PARAMS"))
        elif action == "set_config":
            require(set(params) == {"key", "value"}, Revert("set_config: params are key and value", code="BAD_PARAMS"))
            check_config_value(params["key"], params["value"])
        elif action in ("mask", "unmask"):
            need(*(("tx", "path") if "tx" in params else ("contract", "key", "path")))
            self._mask_target(ctx, action, params)
        elif action in DEPLOY:
            self._check_deploy(ctx, action, params)

    def _check_deploy(self, ctx: Context, action: str, params: dict[str, Any]) -> Program:
        """An install or upgrade: the named hash is the archive's, the source passes every rule,
        and the class declares the proposed name and version (ADR 0014)."""
        extra = sorted(set(params) - {"name", "version", "archive", "code_hash", "access"})
        require(not extra, Revert(f"{action}: unknown params {extra}", code="BAD_PARAMS"))
        missing = [n for n in ("name", "version", "code_hash") if type(params.get(n)) is not str]
        require(not missing and type(params.get("archive")) is dict,
                Revert(f"{action}: params need name, version, code_hash (strings) and archive (an object)",
                       code="BAD_PARAMS"))
        name = params["name"]
        ledger = LEDGER.get()
        if ledger is None:
            raise Revert("deploying needs a block being executed", code="BAD_ACTION")
        require(NAME_RE.fullmatch(name) is not None,
                Revert(f"contract name: expected {NAME_RE.pattern}, got {name!r:.40}", code="BAD_PARAMS"))
        require(not ledger.is_builtin(name),
                Revert(f"{name} is a built-in contract of this platform", code="CONTRACT_EXISTS"))
        current = ctx.get(installed_key(name))
        if action == "install_contract":
            require(current is None, Revert(f"{name} is installed (version {current and current['version']}); "
                                            "propose upgrade_contract", code="CONTRACT_EXISTS"))
        else:
            require(current is not None, Revert(f"no installed contract {name!r}", code="CONTRACT_NOT_FOUND"))
            used = {current["version"], *(h["version"] for h in current["history"])}
            require(params["version"] not in used,
                    Revert(f"{name} version {params['version']} was installed before; name a new version",
                           code="VERSION_EXISTS"))
        suite = get_suite(ctx.suite)
        code_hash = compute_code_hash(suite.hash, suite.hash_name, params["archive"])
        require(params["code_hash"] == code_hash,
                Revert(f"code_hash: the archive hashes to {code_hash}, not {params['code_hash']:.80}",
                       code="CODE_HASH_MISMATCH"))
        program = compile_archive(params["archive"])
        declared = (program.outline.name, program.outline.version)
        require(declared == (name, params["version"]),
                Revert(f"the source declares {declared[0]} version {declared[1]}, the proposal {name} version "
                       f"{params['version']:.40}", code="CONTRACT_MISMATCH"))
        access = params.get("access") or {}
        require(type(access) is dict, Revert("access: expected {method: [organisation ids]}", code="BAD_PARAMS"))
        members = set(self._org_ids(ctx))
        for method_name, orgs in sorted(access.items()):
            entry = program.entries.get(method_name)
            require(entry is not None and entry.kind == "method",
                    Revert(f"access: {name} has no method {method_name!r:.40}", code="BAD_PARAMS"))
            require(type(orgs) is list and orgs and all(type(o) is str and o in members for o in orgs),
                    Revert(f"access.{method_name}: expected a non-empty list of member organisations",
                           code="BAD_PARAMS"))
        return program

    def _mask_target(self, ctx: Context, action: str, params: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        """(mask record key, record, clear value) of a mask or unmask proposal; reverts on a bad target."""
        ledger = LEDGER.get()
        if ledger is None:
            raise Revert("masking needs a block being executed", code="BAD_ACTION")
        steps = parse_path(params["path"])
        if "tx" in params:
            require(_TX_ID.fullmatch(params["tx"]) is not None,
                    Revert("tx: expected a transaction id in lowercase hex", code="BAD_PARAMS"))
            tx = ledger.committed_tx(params["tx"])
            if tx is None:
                raise Revert(f"no committed transaction {params['tx']}", code="MASK_TX_NOT_FOUND")
            require(steps[0] == "args", Revert("path: a transaction's masked field is under args", code="BAD_PARAMS"))
            doc: Any = {"args": tx["args"]}
            key = mask_tx_key(params["tx"])
            record = ctx.get(key, {"target": "tx", "tx": params["tx"], "fields": {}})
        else:
            full = ledger.state_key(params["contract"], params["key"])
            doc = None if full is None else ledger.state_value(full)
            if full is None or doc is None:
                raise Revert(f"no state object {params['key']!r:.80} of contract {params['contract']!r:.40}",
                             code="MASK_KEY_NOT_FOUND")
            key = mask_state_key(full)
            record = ctx.get(key, {"target": "state", "key": full, "fields": {}})
        value = get_path(doc, steps)
        require(type(value) is str, Revert(f"path: only text can be masked, {params['path']} is a "
                                           f"{type(value).__name__}", code="MASK_NOT_TEXT"))
        masked = params["path"] in record["fields"]
        require(action == "unmask" or not masked, Revert(f"{params['path']} is already masked", code="ALREADY_MASKED"))
        require(action == "mask" or masked, Revert(f"{params['path']} is not masked", code="NOT_MASKED"))
        return key, record, value

    def _apply(self, ctx: Context, proposal: dict[str, Any]) -> None:
        action, params = proposal["action"], proposal["params"]
        self._check_action(ctx, action, params)
        if action in ("mask", "unmask"):
            self._apply_mask(ctx, proposal)
        if action == "add_org":
            ctx.put(org_key(params["id"]), check_org_record({"name": params.get("name", params["id"]), **params},
                                                            ctx.suite))
        elif action == "remove_org":
            ctx.delete(org_key(params["id"]))
        elif action == "freeze_identity":
            ctx.put(frozen_identity_key(params["id"]), {"since_ms": ctx.time_ms, "height": ctx.height})
        elif action == "unfreeze_identity":
            ctx.delete(frozen_identity_key(params["id"]))
        elif action == "freeze_contract":
            ctx.put(frozen_contract_key(params["name"]), {"since_ms": ctx.time_ms, "height": ctx.height})
        elif action == "unfreeze_contract":
            ctx.delete(frozen_contract_key(params["name"]))
        elif action == "freeze_object":
            ctx.put(frozen_object_key(params["contract"], params["id"]), {"since_ms": ctx.time_ms, "height": ctx.height})
        elif action == "unfreeze_object":
            ctx.delete(frozen_object_key(params["contract"], params["id"]))
        elif action == "set_config":
            ctx.put(CONFIG_KEY, {**ctx.get(CONFIG_KEY, {}), params["key"]: params["value"]})
            ctx.emit("ConfigChanged", key=params["key"], value=params["value"])
        elif action in DEPLOY:
            self._apply_deploy(ctx, proposal)

    def _apply_deploy(self, ctx: Context, proposal: dict[str, Any]) -> None:
        """Install the version on every node at this block: run its migration (if any), then keep
        the archive and the record. State under the contract's name stays across versions."""
        params = proposal["params"]
        name = params["name"]
        current = ctx.get(installed_key(name))
        record = {
            "name": name, "version": params["version"], "code_hash": params["code_hash"],
            "access": {k: sorted(v) for k, v in sorted((params.get("access") or {}).items())},
            "proposal": proposal["id"], "height": ctx.height, "installed_ms": ctx.time_ms,
            "approved_by": sorted(o for o, yes in proposal["votes"].items() if yes),
            "history": [] if current is None else [
                *current["history"], {k: current[k] for k in ("version", "code_hash", "proposal", "height",
                                                             "approved_by")}],
        }
        ledger = LEDGER.get()
        if ledger is None:  # checked by _check_deploy
            raise Revert("deploying needs a block being executed", code="BAD_ACTION")
        ledger.migrate(ctx, record, params["archive"], "" if current is None else current["version"])
        ctx.put(code_key(params["code_hash"]), params["archive"])
        ctx.put(installed_key(name), record)
        ctx.emit("ContractInstalled" if current is None else "ContractUpgraded", contract=name, version=params["version"],
                 code_hash=params["code_hash"], proposal=proposal["id"])

    def _apply_mask(self, ctx: Context, proposal: dict[str, Any]) -> None:
        params = proposal["params"]
        key, record, value = self._mask_target(ctx, proposal["action"], params)
        if proposal["action"] == "mask":
            suite = get_suite(ctx.suite)
            marker = compute_marker(value, proposal["id"], suite.hash, suite.hash_name)
            record["fields"][params["path"]] = {**marker, "reason": proposal["reason"], "height": ctx.height,
                                                "since_ms": ctx.time_ms}
        else:
            del record["fields"][params["path"]]
        if record["fields"]:
            ctx.put(key, record)
        else:
            ctx.delete(key)
        ctx.emit("FieldMasked" if proposal["action"] == "mask" else "FieldUnmasked", proposal=proposal["id"],
                 target=record.get("tx") or record["key"], path=params["path"])

    @query
    def masks(self, ctx: Context, limit: int = 1000) -> list[dict[str, Any]]:
        """Every masked field: its target (a transaction or a state object), path, digest and proposal."""
        return [record for _, record in ctx.range("mask/", limit=max(0, min(limit, 100_000)))]

    @query
    def proposal(self, ctx: Context, proposal_id: str) -> dict[str, Any]:
        found = ctx.get(f"proposal/{proposal_id}")
        require(found is not None, NotFound(f"no proposal {proposal_id!r}", code="PROPOSAL_NOT_FOUND"))
        return self._with_expiry(ctx, found)

    @query
    def proposals(self, ctx: Context, status: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """Proposals, optionally only those with ``status`` (open, passed, failed, rejected, expired)."""
        rows = [summarise(self._with_expiry(ctx, p)) for _, p in ctx.range("proposal/", limit=10_000)]
        rows.sort(key=lambda p: (p["created_ms"], p["id"]), reverse=True)
        return [p for p in rows if not status or p["status"] == status][: max(0, min(limit, 1000))]

    @staticmethod
    def _with_expiry(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
        if p["status"] == "open" and ctx.time_ms > p["expires_ms"]:
            return {**p, "status": "expired"}
        return p

    @query
    def config(self, ctx: Context) -> dict[str, Any]:
        return self._config(ctx)

    @query
    def contracts(self, ctx: Context) -> list[dict[str, Any]]:
        """Members' contracts installed by vote: name, version, code hash, access, who approved."""
        return [record for _, record in ctx.range("contract/", limit=10_000)]

    @query
    def contract(self, ctx: Context, name: str, version: str = "") -> dict[str, Any]:
        """An installed contract's record and source (``version``: an earlier one)."""
        record: dict[str, Any] | None = ctx.get(installed_key(name)) if NAME_RE.fullmatch(name) else None
        if record is None:
            raise NotFound(f"no installed contract {name!r:.40}", code="CONTRACT_NOT_FOUND")
        chosen = record if not version or version == record["version"] else next(
            (h for h in record["history"] if h["version"] == version), None)
        if chosen is None:
            raise NotFound(f"{name} has no version {version!r:.40}", code="VERSION_NOT_FOUND")
        archive = ctx.get(code_key(chosen["code_hash"]))
        return {**record, "shown_version": chosen["version"], "shown_code_hash": chosen["code_hash"],
                "source": archive_source(archive)}

    @query
    def frozen(self, ctx: Context) -> dict[str, list[str]]:
        return {
            "identities": [k.split("/", 2)[2] for k, _ in ctx.range("frozen/identity/", limit=10_000)],
            "contracts": [k.split("/", 2)[2] for k, _ in ctx.range("frozen/contract/", limit=10_000)],
            "objects": [k.split("/", 2)[2] for k, _ in ctx.range("frozen/object/", limit=100_000)],
        }


class Membership(Contract, SystemReads):
    """Organisations and their members' certificates."""

    name = "members"
    namespace = "sys"
    description = "List organisations; an organisation admin revokes its own members' certificates."

    @method
    def revoke(self, ctx: Context, fingerprint: str, reason: str = "") -> None:
        """Revoke one of this organisation's member certificates, by fingerprint (hex)."""
        org = self._require_admin(ctx)
        require(len(fingerprint) in (64, 128) and all(c in "0123456789abcdef" for c in fingerprint),
                Revert("fingerprint: expected a lowercase hex digest", code="BAD_ARGS"))
        key = revoked_key(org, fingerprint)
        require(not ctx.has(key), Revert("certificate already revoked", code="ALREADY_REVOKED"))
        ctx.put(key, {"by": ctx.require_caller().id, "reason": reason[:500], "height": ctx.height})
        ctx.emit("CertificateRevoked", org=org, fingerprint=fingerprint)

    @query
    def whoami(self, ctx: Context) -> dict[str, Any]:
        """The signed caller as the chain sees it (needs a signed query)."""
        caller = ctx.require_caller()
        return {**caller.to_dict(), "org_record": {k: v for k, v in ctx.get(org_key(caller.org), {}).items()
                                                   if k != "ca_cert"}}

    @query
    def orgs(self, ctx: Context) -> list[dict[str, Any]]:
        return [org for _, org in ctx.range("org/", limit=10_000)]

    @query
    def revoked(self, ctx: Context, org: str) -> list[str]:
        return [k.rsplit("/", 1)[1] for k, _ in ctx.range(f"revoked/{org}/", limit=100_000)]
