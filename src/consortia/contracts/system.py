"""System contracts: governance by vote of member organisations, and membership.

Both keep their data under the ``sys/`` state prefix, which execution also reads
to decide who may transact (organisations, frozen identities and contracts,
revoked certificates) and how the chain is configured.
"""

from __future__ import annotations

from typing import Any

from consortia.contracts.sdk import Context, Contract, Revert, method, query, require
from consortia.crypto.suite import get_suite
from consortia.errors import NotFound
from consortia.identity.x509 import CertificateError, check_ca, check_org_id, load_pem

ORG_KINDS = ("core", "supplier", "funder", "regulator", "member")

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
}
FILING_FIELDS = ("service_name", "operator", "filing_number")
POLICIES = ("majority", "two_thirds", "all")
ACTIONS = ("add_org", "remove_org", "freeze_identity", "unfreeze_identity", "freeze_object", "unfreeze_object",
           "freeze_contract", "unfreeze_contract", "set_config")
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


CONFIG_KEY = "config"


# Validation shared by genesis and governance -----------------------------------------

CONFIG_MINIMUM = {"max_tx_bytes": 16 * 1024, "proposal_ttl_ms": 60_000}


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
        if "freeze" in proposal["action"]:  # enforcement needs every regulator's yes, whatever the policy
            required += [o for o in members if (ctx.member_org(o) or {}).get("kind") == "regulator"]
        vetoed = any(proposal["votes"].get(o) is False for o in required)
        if yes >= need and all(proposal["votes"].get(o) is True for o in required):
            try:
                self._apply(ctx, proposal["action"], proposal["params"])
                proposal["status"], proposal["outcome"] = "passed", "applied"
            except Revert as exc:
                proposal["status"], proposal["outcome"] = "failed", f"{exc.code}: {exc.message}"
            ctx.emit("ProposalClosed", id=proposal["id"], status=proposal["status"], outcome=proposal["outcome"])
        elif vetoed or len(members) - no < need:
            proposal["status"], proposal["outcome"] = "rejected", "not enough votes can remain"
            ctx.emit("ProposalClosed", id=proposal["id"], status="rejected", outcome=proposal["outcome"])
        ctx.put(f"proposal/{proposal['id']}", proposal)
        return proposal

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

    def _apply(self, ctx: Context, action: str, params: dict[str, Any]) -> None:
        self._check_action(ctx, action, params)
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

    @query
    def proposal(self, ctx: Context, proposal_id: str) -> dict[str, Any]:
        found = ctx.get(f"proposal/{proposal_id}")
        require(found is not None, NotFound(f"no proposal {proposal_id!r}", code="PROPOSAL_NOT_FOUND"))
        return self._with_expiry(ctx, found)

    @query
    def proposals(self, ctx: Context, status: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """Proposals, optionally only those with ``status`` (open, passed, failed, rejected, expired)."""
        rows = [self._with_expiry(ctx, p) for _, p in ctx.range("proposal/", limit=10_000)]
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
