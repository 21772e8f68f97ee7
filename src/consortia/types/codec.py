"""The one canonical byte encoding that everything hashed or signed goes through.

Canonical form is compact JSON (UTF-8, no insignificant whitespace) with object
keys sorted by code point at every depth. Values are restricted to a small,
float-free data model so that every implementation produces the same bytes:

    None, bool, int in the signed 64-bit range, str, list, dict with str keys.

Bytes are carried as lowercase hex strings by the records that need them.

An object may not name a key twice: parsers disagree on which value wins (orjson keeps the last,
others the first), so two nodes could read different transactions from the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from consortia.errors import BadInput

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
MAX_DEPTH = 32

_DUMPS_OPTIONS = orjson.OPT_SORT_KEYS


class CodecError(BadInput):
    code = "BAD_ENCODING"


def _in_model(value: Any, depth: int) -> bool:
    """Whether ``value`` belongs to the data model: the fast walk, which builds no paths."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return INT_MIN <= value <= INT_MAX  # type: ignore[no-any-return]
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        for key, item in value.items():
            kind = type(item)
            if type(key) is not str:
                return False
            if kind is str or item is None or kind is bool:
                continue
            if not _in_model(item, depth + 1):
                return False
        return True
    if kind is list:
        for item in value:
            kind = type(item)
            if kind is str or item is None or kind is bool:
                continue
            if not _in_model(item, depth + 1):
                return False
        return True
    return False


def check_value(value: Any, path: str = "$", depth: int = 0) -> None:
    """Raise ``CodecError`` unless ``value`` belongs to the canonical data model.

    Values that belong to it (nearly all) pass one walk that builds nothing; only a value that
    does not is walked again, with paths, to say where."""
    if depth == 0 and _in_model(value, 0):
        return
    _explain(value, path, depth)


def _explain(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CodecError(f"{path}: nesting deeper than {MAX_DEPTH}")
    if value is None or value is True or value is False or type(value) is str:
        return
    if type(value) is int:
        if not INT_MIN <= value <= INT_MAX:
            raise CodecError(f"{path}: integer {value} outside the signed 64-bit range")
        return
    if type(value) is list:
        for i, item in enumerate(value):
            _explain(item, f"{path}[{i}]", depth + 1)
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise CodecError(f"{path}: object key {key!r} is not a string")
            _explain(item, f"{path}.{key}", depth + 1)
        return
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 2**63:  # JSON parsers read huge integers as floats
            raise CodecError(f"{path}: integer outside the signed 64-bit range")
        raise CodecError(f"{path}: floats are not allowed (got {value!r}); use integer minor units")
    raise CodecError(f"{path}: unsupported type {type(value).__name__}")


def encode(value: Any) -> bytes:
    """Canonical bytes of ``value``; raises ``CodecError`` for anything outside the model."""
    check_value(value)
    try:
        return orjson.dumps(value, option=_DUMPS_OPTIONS)
    except orjson.JSONEncodeError as exc:  # e.g. a string holding a lone UTF-16 surrogate
        raise CodecError(f"cannot encode as UTF-8 JSON: {exc}") from None


def _parse(data: bytes | str) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CodecError(f"not valid JSON: {exc}") from None
    check_value(value)
    return value


def decode(data: bytes | str) -> Any:
    """Parse JSON and check it belongs to the data model (canonical or not); refuse an object
    that names a key twice."""
    value = _parse(data)
    raw = data.encode() if type(data) is str else data
    if orjson.dumps(value) != raw:  # compact input (what clients send) re-encodes exactly: no duplicates
        refuse_duplicate_keys(raw)
    return value


def refuse_duplicate_keys(data: bytes | str) -> None:
    """Raise ``CodecError`` if an object in ``data`` (valid JSON) names a key twice."""
    def pairs(items: list[tuple[str, Any]]) -> None:
        seen = set()
        for key, _ in items:
            if key in seen:
                raise CodecError(f"duplicate object key {key!r:.80}")
            seen.add(key)
    json.loads(data, object_pairs_hook=pairs)


def decode_canonical(data: bytes) -> Any:
    """Parse bytes that must already be in canonical form (block store, wire records); canonical
    bytes cannot repeat a key, so this needs no other check."""
    value = _parse(data)
    if orjson.dumps(value, option=_DUMPS_OPTIONS) != data:
        raise CodecError("bytes are not in canonical form")
    return value


def decode_trusted(data: bytes) -> Any:
    """Parse bytes this node wrote itself through ``encode`` (state, block store)."""
    return orjson.loads(data)


def dumps_unchecked(value: Any) -> bytes:
    """Canonical bytes of a value already known to be in the model (our own records)."""
    return orjson.dumps(value, option=_DUMPS_OPTIONS)
