"""What a member's contract runs with: a step meter, size guards, restricted builtins and a
context that offers the SDK's public calls and nothing behind them (ADR 0014).

Every limit is counted, never timed: a step is a function entry, a loop iteration or an item a
comprehension draws, plus a charge for what guarded operations build (one step per 16 items
or characters), so every node stops a runaway call at the same point. A limit raises
``LimitExceeded``, a ``BaseException`` that ``except Exception`` in contract code does not
catch, and the meter remembers it, so even a swallowed limit reverts the call.
"""

from __future__ import annotations

import builtins
import dataclasses
import decimal
import enum
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from consortia.contracts import sdk
from consortia.errors import Revert
from consortia.types import codec

DEFAULT_MAX_STEPS = 1_000_000
MAX_DEPTH = 100  # contract frames on the stack at once
MAX_LEN = 1_000_000  # items of one list / tuple / dict, characters of one str, bytes of one bytes
MAX_INT_BITS = 1 << 16  # about 19,700 decimal digits
CHARGE_SHIFT = 4  # one step per 16 items built
MAX_WRITES = 1_000  # state writes per call
MAX_VALUE_BYTES = 256 * 1024  # one stored value, encoded
MAX_WRITTEN_BYTES = 2 * 1024 * 1024  # all values one call stores, encoded
MAX_EVENTS = 100
MAX_EVENT_BYTES = 16 * 1024
MAX_RESULT_BYTES = 256 * 1024
MAX_RANGE_ROWS = 1_000
# One decimal context for every call on every node: 28 significant digits, half-even rounding,
# and the errors that would otherwise give an infinity or NaN raise instead.
DECIMAL_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN, Emin=-999_999, Emax=999_999,
                                  traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
_SEQUENCES = (str, bytes, list, tuple)
_SIZED = (str, bytes, list, tuple, dict, set, frozenset)


class LimitExceeded(BaseException):  # noqa: N818 - deliberately outside Exception
    """A metered limit; contract code cannot catch it with ``except Exception``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Meter:
    """Counts one call's steps and depth. Its methods are bound into the contract's globals."""

    __slots__ = ("left", "budget", "depth", "failure")

    def __init__(self, budget: int = DEFAULT_MAX_STEPS) -> None:
        self.budget = budget
        self.left = budget
        self.depth = 0
        self.failure: LimitExceeded | None = None

    @property
    def used(self) -> int:
        return self.budget - self.left

    def fail(self, code: str, message: str) -> typing.NoReturn:
        self.left = -1
        self.failure = LimitExceeded(code, message)
        raise self.failure

    def step(self) -> None:
        self.left -= 1
        if self.left < 0:
            self.fail("OUT_OF_STEPS", f"the call used its {self.budget:,} steps")

    def charge(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            self.fail("OUT_OF_STEPS", f"the call used its {self.budget:,} steps")

    def enter(self) -> None:
        self.depth += 1
        self.step()
        if self.depth > MAX_DEPTH:
            self.fail("RECURSION_LIMIT", f"more than {MAX_DEPTH} contract calls deep")

    def leave(self) -> None:
        self.depth -= 1

    def iterate(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            self.step()
            yield item

    # -- sizes --------------------------------------------------------------------------

    def sized(self, value: Any) -> Any:
        """Charge for a value just built and refuse it beyond ``MAX_LEN``."""
        if isinstance(value, _SIZED):
            self.allot(len(value))
        return value

    def allot(self, size: int) -> None:
        if size > MAX_LEN:
            self.fail("OUT_OF_MEMORY", f"a value of {size:,} items or characters; the limit is {MAX_LEN:,}")
        self.charge(size >> CHARGE_SHIFT)

    def bits(self, bits: int) -> None:
        if bits > MAX_INT_BITS:
            self.fail("OUT_OF_MEMORY", f"an integer of about {bits:,} bits; the limit is {MAX_INT_BITS:,}")

    # -- guarded operators (the instrumentation rewrites a + b into add(a, b), ...) --------

    def add(self, a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int:
            return a + b
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self.allot(len(a) + len(b))
        return a + b

    def iadd(self, a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int:
            return a + b
        if isinstance(a, _SEQUENCES) and hasattr(b, "__len__"):
            self.allot(len(a) + len(b))
        a += b
        return self.sized(a) if isinstance(a, list) else a

    def _times(self, a: Any, b: Any) -> None:
        if isinstance(a, _SEQUENCES) and type(b) is int:
            self.allot(len(a) * max(b, 0))
        elif isinstance(b, _SEQUENCES) and type(a) is int:
            self.allot(len(b) * max(a, 0))
        elif type(a) is int and type(b) is int:
            self.bits(a.bit_length() + b.bit_length())

    def mul(self, a: Any, b: Any) -> Any:
        self._times(a, b)
        return a * b

    def imul(self, a: Any, b: Any) -> Any:
        self._times(a, b)
        a *= b
        return a

    def pow(self, a: Any, b: Any, mod: Any = None) -> Any:
        if type(a) is int and type(b) is int and mod is None:
            if b < 0:
                raise Revert(f"{a} ** {b} is a float; floats are not allowed in contracts", code="FLOAT_REFUSED")
            self.bits(max(a.bit_length(), 1) * b if abs(a) > 1 else 1)
        return builtins.pow(a, b, mod)

    def lshift(self, a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int and b > 0:
            self.bits(a.bit_length() + b)
        return a << b

    def mod(self, a: Any, b: Any) -> Any:
        if isinstance(a, str | bytes):
            raise Revert("%-formatting is not allowed in contracts; use an f-string", code="NOT_ALLOWED")
        return a % b

    def div(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int):
            raise Revert("int / int makes a float; use // for integers, or Decimal", code="FLOAT_REFUSED")
        return a / b

    # -- guarded builders and methods ---------------------------------------------------

    def build(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``list(x)``, ``range(n)``, ``str(x)``, ``sum(xs)``...: charged for what they read and build."""
        if args and isinstance(args[0], _SIZED):
            self.charge(len(args[0]) >> (CHARGE_SHIFT - 2 if fn is sorted else CHARGE_SHIFT))
        if fn is sum:
            start = args[1] if len(args) > 1 else kwargs.get("start", 0)
            if type(start) is not int:
                raise Revert("sum() of sequences builds them again at every step; use a loop or join",
                             code="NOT_ALLOWED")
        if fn is range:
            r = range(*args, **kwargs)
            self.charge(len(r))
            return r
        if fn is pow:
            return self.pow(*args, **kwargs)
        if fn is bytes and args and type(args[0]) is int:
            self.allot(args[0])
        return self.sized(fn(*args, **kwargs))

    def contains(self, item: Any, container: Any) -> bool:
        """``item in container``: a scan of a sequence is charged by its length."""
        if isinstance(container, _SEQUENCES):
            self.charge(len(container) >> CHARGE_SHIFT)
        return item in container

    def call(self, obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        """A method call: on a str, bytes or container charged by its size; those that can build
        more than they are given (``s.replace``, ``xs.extend``...) checked before they run."""
        if not isinstance(obj, _SIZED):
            return getattr(obj, name)(*args, **kwargs)
        self.charge(len(obj) >> CHARGE_SHIFT)
        if isinstance(obj, str | bytes):
            if name in ("ljust", "rjust", "center", "zfill") and args and type(args[0]) is int:
                self.allot(args[0])
            elif name == "expandtabs":
                size = args[0] if args else kwargs.get("tabsize", 8)
                tabs = obj.count("\t") if isinstance(obj, str) else obj.count(b"\t")
                self.allot(len(obj) + tabs * max(int(size), 0))
            elif name == "replace" and len(args) >= 2:
                old, new = args[0], args[1]
                count = obj.count(old) + (1 if not old else 0)
                self.allot(len(obj) + count * max(len(new) - len(old), 0))
        elif isinstance(obj, list) and name == "extend" and args and hasattr(args[0], "__len__"):
            self.allot(len(obj) + len(args[0]))
        result = getattr(obj, name)(*args, **kwargs)
        if name == "extend" and isinstance(obj, list):
            self.sized(obj)
            return result
        return self.sized(result)

    def slice(self, obj: Any, lower: Any, upper: Any, stride: Any) -> Any:
        return self.sized(obj[lower:upper:stride])

    def helpers(self) -> dict[str, Any]:
        """The names the instrumentation calls, for the contract's globals."""
        return {"__cx_step__": self.step, "__cx_enter__": self.enter, "__cx_leave__": self.leave,
                "__cx_iter__": self.iterate, "__cx_sized__": self.sized, "__cx_add__": self.add,
                "__cx_iadd__": self.iadd, "__cx_mul__": self.mul, "__cx_imul__": self.imul, "__cx_pow__": self.pow,
                "__cx_lshift__": self.lshift, "__cx_mod__": self.mod, "__cx_div__": self.div,
                "__cx_build__": self.build, "__cx_call__": self.call, "__cx_slice__": self.slice,
                "__cx_in__": self.contains}


# -- what the contract's module sees ----------------------------------------------------

class Frozen:
    """A callable that cannot carry attributes, so nothing a contract sets on a shared function
    survives the call."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        object.__setattr__(self, "_fn", fn)

    _fn: Callable[..., Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("shared SDK functions are read-only")

    def __repr__(self) -> str:
        return f"<sdk {getattr(self._fn, '__name__', 'function')}>"


_SHARED: dict[str, dict[str, Any]] = {
    "__future__": {"annotations": __import__("__future__").annotations},
    "typing": {"Any": typing.Any},
    "dataclasses": {n: Frozen(getattr(dataclasses, n)) for n in ("dataclass", "field", "asdict", "astuple", "replace")},
    "decimal": {"Decimal": decimal.Decimal, **{n: getattr(decimal, n) for n in (
        "ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN", "ROUND_DOWN", "ROUND_UP", "ROUND_FLOOR",
        "ROUND_CEILING")}},
    "enum": {"auto": Frozen(enum.auto), "unique": Frozen(enum.unique)},  # and fresh Enum classes
}


class _SandboxContract(sdk.Contract):
    """The base a member's contract class derives from, one fresh subclass per call. Its entries
    are collected once, when the program is compiled (``package.compile_archive``), not per call."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls._entries = {}


def _sdk_names() -> dict[str, Any]:
    class Contract(_SandboxContract):
        pass

    class Revert(sdk.Revert):
        pass

    return {"Contract": Contract, "Revert": Revert, "Context": Frozen(SandboxContext), "method": Frozen(sdk.method),
            "query": Frozen(sdk.query), "require": Frozen(sdk.require), "refuse": Frozen(sdk.refuse)}


def _enum_names() -> dict[str, Any]:
    class Enum(enum.Enum):
        pass

    class IntEnum(enum.IntEnum):
        pass

    class StrEnum(enum.StrEnum):
        pass

    return {**_SHARED["enum"], "Enum": Enum, "IntEnum": IntEnum, "StrEnum": StrEnum}


def _decimal_names() -> dict[str, Any]:
    class InvalidOperation(decimal.InvalidOperation):
        pass

    return {**_SHARED["decimal"], "InvalidOperation": InvalidOperation}


# Classes a contract subclasses or raises are made afresh for each call (when it imports them),
# so that an attribute set on one cannot outlive the call.
_FRESH: dict[str, Callable[[], dict[str, Any]]] = {
    "consortia.contracts.sdk": _sdk_names, "enum": _enum_names, "decimal": _decimal_names}


def _import(name: str, globals: dict[str, Any] | None = None, locals: Any = None,  # noqa: A002
            fromlist: tuple[str, ...] = (), level: int = 0) -> Any:
    made: dict[str, dict[str, Any]] | None = (globals or {}).get("__cx_imports__")
    if level != 0 or made is None or not fromlist or (name not in _SHARED and name not in _FRESH):
        raise ImportError(f"contracts cannot import {name!r}")
    offered = made.get(name)
    if offered is None:
        offered = made[name] = _FRESH[name]() if name in _FRESH else _SHARED[name]
    missing = [n for n in fromlist if n not in offered]
    if missing:
        raise ImportError(f"cannot import {', '.join(missing)} from {name!r}")
    return _Facade(offered)


class _Facade:
    __slots__ = ("_names",)

    def __init__(self, names: dict[str, Any]) -> None:
        object.__setattr__(self, "_names", names)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._names[name]
        except KeyError:
            raise AttributeError(name) from None


SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name) for name in (
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "frozenset", "int", "isinstance", "len",
        "list", "map", "max", "min", "pow", "range", "repr", "reversed", "round", "set", "sorted", "str", "sum",
        "tuple", "zip", "bytes", "chr", "ord", "bin", "oct", "hex", "issubclass", "callable", "next", "property",
        "staticmethod", "True", "False", "None", "Exception", "ValueError", "KeyError", "IndexError", "TypeError",
        "ArithmeticError", "ZeroDivisionError", "LookupError", "NotImplementedError", "StopIteration",
        "NotImplemented")
}
SAFE_BUILTINS["__import__"] = _import
SAFE_BUILTINS["__build_class__"] = builtins.__build_class__


# -- the context a contract is given ----------------------------------------------------

@dataclass(frozen=True, slots=True)
class Caller:
    """The signed caller: ``org/name``, its organisation and its roles (sorted)."""

    id: str
    org: str
    name: str
    roles: tuple[str, ...]

    def has_role(self, role: str) -> bool:
        return role in self.roles


_EVENT_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class SandboxContext:
    """The SDK's ``Context`` as a member's contract sees it: the same calls a built-in app makes,
    metered and bounded; the state, the transaction and the node behind it out of reach."""

    __slots__ = ("_ctx", "_meter", "_writes", "_written", "_open", "_caller")

    def __init__(self, ctx: sdk.Context, meter: Meter) -> None:
        self._ctx = ctx
        self._meter = meter
        self._writes = 0
        self._written = 0
        self._open = True
        found = ctx.caller
        self._caller = None if found is None else Caller(found.id, found.org, found.name, tuple(sorted(found.roles)))

    def close(self) -> None:
        """After the call: anything the contract kept (a generator, say) can no longer act."""
        self._open = False

    def _use(self, steps: int) -> None:
        if not self._open:
            raise Revert("this context belongs to a call that has ended", code="CONTEXT_CLOSED")
        self._meter.charge(steps)

    # -- who, when ------------------------------------------------------------------------

    @property
    def caller(self) -> Caller | None:
        return self._caller

    @property
    def tx_id(self) -> str:
        return self._ctx.tx_id.hex()

    @property
    def height(self) -> int:
        return self._ctx.height

    @property
    def time_ms(self) -> int:
        return self._ctx.time_ms

    @property
    def suite(self) -> str:
        return self._ctx.suite

    def require_caller(self) -> Caller:
        self._use(1)
        self._ctx.require_caller()  # raises for an unsigned query
        if self._caller is None:  # pragma: no cover - the line above raised
            raise Revert("no caller", code="UNAUTHENTICATED")
        return self._caller

    # -- state --------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        self._use(20)
        return self._meter.sized(self._ctx.get(key, default))

    def has(self, key: str) -> bool:
        self._use(10)
        return self._ctx.has(key)

    def put(self, key: str, value: Any) -> None:
        self._use(50)
        self._ctx._check_writable()
        full = self._ctx._key(key)
        encoded = codec.encode(value)
        self._count_write(len(encoded))
        self._ctx._state.put(full, encoded)

    def delete(self, key: str) -> None:
        self._use(20)
        self._ctx._check_writable()
        self._count_write(0)
        self._ctx.delete(key)

    def _count_write(self, size: int) -> None:
        self._writes += 1
        self._written += size
        if size > MAX_VALUE_BYTES:
            raise Revert(f"a stored value of {size:,} bytes; the limit is {MAX_VALUE_BYTES:,}", code="VALUE_TOO_LARGE")
        if self._writes > MAX_WRITES:
            self._meter.fail("TOO_MANY_WRITES", f"more than {MAX_WRITES:,} state writes in one call")
        if self._written > MAX_WRITTEN_BYTES:
            self._meter.fail("TOO_MANY_WRITES", f"more than {MAX_WRITTEN_BYTES:,} bytes written in one call")
        self._meter.charge(size >> 6)

    def range(self, prefix: str = "", limit: int = 100, after: str = "") -> list[tuple[str, Any]]:
        """Up to ``limit`` (at most 1,000) entries whose key starts with ``prefix``, in key order."""
        if type(limit) is not int or not 0 <= limit <= MAX_RANGE_ROWS:
            raise sdk.BadArgs(f"range limit: expected 0..{MAX_RANGE_ROWS}, got {limit!r:.40}")
        self._use(20)
        rows = self._ctx.range(prefix, limit=limit, after=after)
        self._meter.charge(5 * len(rows))
        return rows

    # -- events and ids -----------------------------------------------------------------

    def emit(self, name: str, **data: Any) -> None:
        self._use(20)
        if type(name) is not str or not 0 < len(name) <= 64 or not set(name) <= _EVENT_NAME:
            raise sdk.BadArgs(f"event name: expected 1..64 letters, digits or _, got {name!r:.80}")
        if len(self._ctx.events) >= MAX_EVENTS:
            raise Revert(f"more than {MAX_EVENTS} events in one call", code="TOO_MANY_EVENTS")
        size = len(codec.encode(data))
        if size > MAX_EVENT_BYTES:
            raise Revert(f"event {name} is {size:,} bytes; the limit is {MAX_EVENT_BYTES:,}", code="EVENT_TOO_LARGE")
        self._ctx.emit(name, **data)

    def derive_id(self, *parts: str) -> str:
        self._use(10)
        return self._ctx.derive_id(*parts)

    # -- the consortium -----------------------------------------------------------------

    def member_org(self, org_id: str) -> dict[str, Any] | None:
        self._use(20)
        return self._ctx.member_org(org_id)

    def org_kind(self, org_id: str) -> str | None:
        self._use(20)
        return self._ctx.org_kind(org_id)

    def require_org_kind(self, kind: str, code: str = "WRONG_ORG_KIND") -> str:
        self._use(20)
        return self._ctx.require_org_kind(kind, code)

    def require_regulator_kind(self, roles: list[str]) -> None:
        self._use(20)
        self._ctx.require_regulator_kind(roles)

    def is_frozen(self, object_id: str) -> bool:
        self._use(20)
        return self._ctx.is_frozen(object_id)
