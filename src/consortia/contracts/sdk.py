"""The contract SDK: ``Contract``, ``@method`` / ``@query``, ``Context`` and ``require``.

Contracts must be deterministic: no wall clock (use ``ctx.time_ms``), no random
or uuid (use ``ctx.derive_id``), no floats, no I/O, no iteration over unordered
sets without sorting. Every value a contract stores, emits or returns passes the
canonical codec, which refuses floats and anything outside the data model.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, Union

from consortia.errors import BadInput, ConsortiaError, Forbidden, NotFound, Revert
from consortia.identity.x509 import Identity
from consortia.ledger.records import Event
from consortia.types import codec

__all__ = ["Context", "Contract", "Revert", "method", "query", "refuse", "require", "BadArgs", "StateAccess"]

F = TypeVar("F", bound=Callable[..., Any])
MAX_KEY_BYTES = 512
KEY_END = "\U0010ffff"


class BadArgs(BadInput):
    code = "BAD_ARGS"


def method(fn: F) -> F:
    """Mark a state-changing contract method (called by a signed transaction)."""
    fn._consortia_kind = "method"  # type: ignore[attr-defined]
    return fn


def query(fn: F) -> F:
    """Mark a read-only contract method (called through the query API, no transaction)."""
    fn._consortia_kind = "query"  # type: ignore[attr-defined]
    return fn


class _Refusal(Revert):
    """A ``Revert`` made for ``require``: contracts make one for every check and raise almost none,
    so it is built without ``ConsortiaError.__init__`` (half the cost)."""

    def __init__(self, message: str, code: str = "REVERTED") -> None:
        self.args = (message,)
        self.code = code
        self.details = {}

    def __reduce__(self) -> tuple[Any, ...]:  # pickled with its code (the default would drop it)
        return (_Refusal, (self.args[0], self.code))


def refuse(code: str, message: str) -> Revert:
    """A contract refusal with a stable ``code``: ``require(ok, refuse("NOT_HOLDER", "..."))``."""
    return _Refusal(message, code)


def require(condition: object, error: ConsortiaError | str, message: str = "") -> None:
    """Refuse the call with ``error`` unless ``condition`` holds (unlike ``assert``, kept under -O).

    In a transaction any error becomes a ``reverted`` receipt with its code; in a query it
    becomes the matching HTTP error (``NotFound`` 404, ``Forbidden`` 403, ``Revert`` 409).
    """
    if condition:
        return
    if isinstance(error, ConsortiaError):
        raise error
    raise Revert(message or error, code=error)


class StateAccess(Protocol):
    """What a context needs from the world state: raw bytes under full keys."""

    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, value: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def range(self, start: str, end: str, limit: int) -> list[tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class ArgSpec:
    name: str
    annotation: Any
    required: bool


@dataclass(frozen=True, slots=True)
class Entry:
    """One callable contract entry point with its argument spec."""

    name: str
    kind: str
    fn: Callable[..., Any]
    args: tuple[ArgSpec, ...]
    doc: str


class Contract:
    """Base class. Subclasses set ``name`` and define ``@method`` / ``@query`` functions."""

    name: ClassVar[str]
    namespace: ClassVar[str | None] = None  # state prefix; defaults to ``name``
    description: ClassVar[str] = ""
    _entries: ClassVar[dict[str, Entry]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._entries = collect_entries(cls)

    @classmethod
    def entry(cls, name: str) -> Entry | None:
        return cls._entries.get(name)

    @classmethod
    def entries(cls) -> dict[str, Entry]:
        return dict(cls._entries)

    @property
    def state_prefix(self) -> str:
        return (self.namespace or self.name) + "/"


def collect_entries(cls: type) -> dict[str, Entry]:
    """The ``@method`` and ``@query`` functions of a contract class, with their argument specs."""
    entries: dict[str, Entry] = {}
    for attr in dir(cls):
        fn = getattr(cls, attr, None)
        kind = getattr(fn, "_consortia_kind", None)
        if kind is None or attr.startswith("_"):
            continue
        entries[attr] = Entry(attr, kind, fn, _arg_specs(fn), (fn.__doc__ or "").strip())  # type: ignore[arg-type]
    return entries


def _arg_specs(fn: Callable[..., Any]) -> tuple[ArgSpec, ...]:
    import inspect

    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())[2:]  # skip self, ctx
    return tuple(
        ArgSpec(p.name, hints.get(p.name, Any), p.default is inspect.Parameter.empty) for p in params
    )


def bind_args(entry: Entry, args: dict[str, Any]) -> dict[str, Any]:
    """Check ``args`` against the entry's annotations; raise ``BadArgs`` naming the field."""
    if type(args) is not dict:
        raise BadArgs(f"args: expected an object, got {type(args).__name__}")
    known = {a.name for a in entry.args}
    extra = sorted(set(args) - known)
    if extra:
        raise BadArgs(f"{entry.name}: unknown argument(s) {', '.join(extra)}; expected {', '.join(sorted(known)) or 'none'}")
    for spec in entry.args:
        if spec.name not in args:
            if spec.required:
                raise BadArgs(f"{entry.name}: missing argument {spec.name!r}")
            continue
        try:
            check_type(f"{spec.name}", args[spec.name], spec.annotation)
        except codec.CodecError as exc:
            raise BadArgs(exc.message) from None
    return args


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def check_type(path: str, value: Any, annotation: Any) -> None:
    """Raise ``BadArgs`` unless ``value`` matches ``annotation`` (exactly: bool is not int)."""
    if annotation is Any or annotation is object:
        codec.check_value(value, path)
        return
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                check_type(path, value, option)
                return
            except BadArgs:
                continue
        raise BadArgs(f"{path}: expected {_type_name(annotation)}, got {type(value).__name__}")
    if annotation is type(None):
        if value is not None:
            raise BadArgs(f"{path}: expected null, got {type(value).__name__}")
        return
    if origin is list:
        if type(value) is not list:
            raise BadArgs(f"{path}: expected a list, got {type(value).__name__}")
        (item_type,) = typing.get_args(annotation) or (Any,)
        for i, item in enumerate(value):
            check_type(f"{path}[{i}]", item, item_type)
        return
    if origin is dict:
        if type(value) is not dict:
            raise BadArgs(f"{path}: expected an object, got {type(value).__name__}")
        _, item_type = typing.get_args(annotation) or (str, Any)
        for key, item in value.items():
            check_type(f"{path}.{key}", item, item_type)
        return
    if annotation in (int, str, bool, list, dict):
        if type(value) is not annotation:
            raise BadArgs(f"{path}: expected {annotation.__name__}, got {type(value).__name__}")
        if annotation in (list, dict) or annotation is int:
            codec.check_value(value, path)
        return
    raise BadArgs(f"{path}: unsupported parameter annotation {annotation!r}")


class Context:
    """What a contract sees of the world during one call."""

    __slots__ = ("_state", "_prefix", "_writable", "caller", "tx_id", "height", "time_ms",
                 "_hash", "events", "_contract", "_derived", "suite")

    def __init__(self, state: StateAccess, contract: Contract, caller: Identity | None, tx_id: bytes,
                 height: int, time_ms: int, hasher: Callable[[bytes], bytes], writable: bool,
                 suite: str = "ed25519-sha256") -> None:
        self._state = state
        self._contract = contract.name
        self._prefix = contract.state_prefix
        self._writable = writable
        self.caller = caller
        self.tx_id = tx_id
        self.height = height
        self.time_ms = time_ms
        self._hash = hasher
        self.suite = suite  # the chain's crypto suite name, e.g. "sm2-sm3"
        self.events: list[Event] = []
        self._derived = 0

    # -- state ------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        if type(key) is not str or not key or len(key.encode()) > MAX_KEY_BYTES or KEY_END in key or "\x00" in key:
            raise BadArgs(f"state key must be a non-empty string of at most {MAX_KEY_BYTES} bytes, got {key!r:.80}")
        return self._prefix + key

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._state.get(self._key(key))
        return default if raw is None else codec.decode_trusted(raw)

    def has(self, key: str) -> bool:
        return self._state.get(self._key(key)) is not None

    def prefetch(self, keys: list[str]) -> None:
        """Say which keys the call is about to read (say, every digest of a batch), so that they
        are read from storage together rather than one at a time. Changes nothing a read returns."""
        prefetch = getattr(self._state, "prefetch", None)
        if prefetch is None or type(keys) is not list:
            return
        full = []
        for key in keys:
            try:
                full.append(self._key(key))
            except BadArgs:  # no key: left for the read that will refuse it
                continue
        prefetch(full)

    def read_other(self, contract: str, key: str) -> Any:
        """Another contract's stored value under ``key`` (None if absent), read-only: how one app
        checks a record of another, e.g. ``scf`` a waybill offered as a receivable (ADR 0017)."""
        require(type(contract) is str and contract.isidentifier(), refuse("BAD_ARGS", "contract: expected a name"))
        raw = self._state.get(contract + "/" + self._key(key)[len(self._prefix):])
        return None if raw is None else codec.decode_trusted(raw)

    def put(self, key: str, value: Any) -> None:
        self._check_writable()
        self._state.put(self._key(key), codec.encode(value))

    def delete(self, key: str) -> None:
        self._check_writable()
        self._state.delete(self._key(key))

    def range(self, prefix: str = "", limit: int = 1000, after: str = "") -> list[tuple[str, Any]]:
        """Up to ``limit`` entries whose key starts with ``prefix`` and sorts after ``after``,
        in key order (keys relative to the contract)."""
        if type(limit) is not int or limit < 0:
            raise BadArgs(f"range limit: expected a non-negative integer, got {limit!r}")
        start = self._prefix + max(prefix, after + "\x00") if after else self._prefix + prefix
        rows = self._state.range(start, self._prefix + prefix + KEY_END, limit)
        cut = len(self._prefix)
        return [(k[cut:], codec.decode_trusted(v)) for k, v in rows]

    def _check_writable(self) -> None:
        if not self._writable:
            raise Revert("queries cannot change state", code="READ_ONLY")

    # -- events and ids ---------------------------------------------------------------

    def emit(self, name: str, **data: Any) -> None:
        self._check_writable()
        codec.check_value(data, f"event {name}")
        self.events.append(Event(self._contract, name, data))

    def derive_id(self, *parts: str) -> str:
        """A fresh id derived from the transaction (deterministic on every node)."""
        self._derived += 1
        material = codec.dumps_unchecked([self.tx_id.hex(), self._derived, *[str(p) for p in parts]])
        return self._hash(material).hex()[:32]

    def member_org(self, org_id: str) -> dict[str, Any] | None:
        """The consortium's own record of a member organisation (id, name, kind), read-only.

        The kind (core, supplier, funder, regulator, member) is set at genesis or by a
        governance vote, so an application can trust it for privileged roles."""
        if type(org_id) is not str or not 0 < len(org_id) <= 64 or "/" in org_id:
            return None
        raw = self._state.get("sys/org/" + org_id)
        if raw is None:
            return None
        record = codec.decode_trusted(raw)
        return {k: record.get(k) for k in ("id", "name", "kind")}

    def org_kind(self, org_id: str) -> str | None:
        """The kind governance gave organisation ``org_id`` (None if it is not a member)."""
        return (self.member_org(org_id) or {}).get("kind")

    def require_org_kind(self, kind: str, code: str = "WRONG_ORG_KIND") -> str:
        """Refuse the call unless the caller's organisation has ``kind``; returns the organisation id."""
        org = self.require_caller().org
        if self.org_kind(org) != kind:
            raise Revert(f"{org} is not a {kind.replace('_', ' ')} organisation of this consortium (kinds are set "
                         "at genesis or by a governance vote)", code=code)
        return org

    def hosted_member(self, identity_id: str) -> dict[str, Any] | None:
        """The record of a member identity ``org/name`` its organisation hosts as a party of its own
        (an SME without a node, onboarded with the ``hosted`` contract), or None; read-only."""
        record = self._hosted_record(identity_id)
        return record if record is not None and self._is_active(record) else None

    def _hosted_record(self, identity_id: str) -> dict[str, Any] | None:
        if type(identity_id) is not str or identity_id.count("/") != 1 or len(identity_id) > 200:
            return None
        raw = self._state.get("hosted/m/" + identity_id)
        return None if raw is None else codec.decode_trusted(raw)

    def _is_active(self, record: dict[str, Any]) -> bool:
        batch = self._state.get("hosted/batch/" + record["batch"])
        return batch is not None and codec.decode_trusted(batch)["status"] == "committed" and record["status"] == "active"

    def acting_party(self) -> str:
        """Who the caller acts for in an app: itself (``org/name``) when it is a hosted member,
        else its organisation. A hosted member signs with the key it was onboarded with; any other
        certificate its organisation's CA issues under the same name is refused (NOT_HOSTED_KEY)."""
        caller = self.require_caller()
        record = self._hosted_record(caller.id)
        if record is None:
            return caller.org
        if not self._is_active(record):  # staged in a batch not committed (yet), or abandoned
            raise Revert(f"{caller.id} is not an active hosted member (its onboarding was not committed)",
                         code="NOT_HOSTED_YET")
        if record["public_key"] != caller.public_key.hex():
            raise Revert(f"{caller.id} is a hosted member and must sign with the key it was onboarded with",
                         code="NOT_HOSTED_KEY")
        return caller.id

    def is_frozen(self, object_id: str) -> bool:
        """True when a governance vote froze this contract's object ``object_id`` (a voucher, a lot)."""
        return self._state.get(f"sys/frozen/object/{self._contract}/{object_id}") is not None

    def require_regulator_kind(self, roles: list[str]) -> None:
        """Refuse a ``regulator`` role unless governance made the caller's organisation a regulator."""
        if "regulator" in roles:
            org = self.require_caller().org
            if (self.member_org(org) or {}).get("kind") != "regulator":
                raise Revert(f"{org} is not a regulator of this consortium (its kind is set at genesis or by "
                             "a governance vote)", code="NOT_REGULATOR")

    def resolve_id(self, collection: str, text: str, what: str, not_found: str) -> str:
        """The full id of the one entry under ``collection`` (a key prefix such as ``"v/"``) whose id
        is ``text`` or starts with it, so that an id printed short pastes back. For queries: none
        is ``NotFound(not_found)``; two or more, or a prefix under 4 characters, is ``AMBIGUOUS_ID``."""
        if type(text) is not str or not 0 < len(text) <= 200:
            raise BadArgs(f"{what} id: expected a non-empty string, got {text!r:.40}")
        if self.has(collection + text):
            return text
        matches = [key[len(collection):] for key, _ in self.range(collection + text, limit=2)] if len(text) >= 4 else []
        if len(matches) == 1:
            return matches[0]
        if not matches and len(text) >= 4:
            raise NotFound(f"no {what} {text!r}", code=not_found)
        if len(text) < 4:
            raise BadInput(f"{what} id {text!r} is too short to look up: give at least 4 characters",
                           code="AMBIGUOUS_ID")
        raise BadInput(f"{what} id {text!r} matches more than one {what}: give more of it", code="AMBIGUOUS_ID")

    def require_caller(self) -> Identity:
        if self.caller is None:
            raise Forbidden("this call needs a signed caller (X-Consortia-Auth on queries)", code="UNAUTHENTICATED")
        return self.caller
