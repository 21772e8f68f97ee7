"""The canonical codec: one byte encoding for everything hashed or signed."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from consortia.errors import BadInput
from consortia.types import codec
from consortia.types.codec import INT_MAX, INT_MIN, MAX_DEPTH, CodecError


def nested(depth: int, leaf: Any = 1) -> Any:
    """``leaf`` wrapped in ``depth`` alternating lists and dicts."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


# -- canonical bytes ----------------------------------------------------------------------


def test_keys_sorted_at_every_depth_without_whitespace() -> None:
    value = {"b": 1, "a": {"z": [1, {"y": None, "x": True}], "m": "é"}, "A": False}
    assert codec.encode(value) == '{"A":false,"a":{"m":"é","z":[1,{"x":true,"y":null}]},"b":1}'.encode()


def test_insertion_order_does_not_change_bytes() -> None:
    forward = {str(i): i for i in range(50)}
    backward = {str(i): i for i in reversed(range(50))}
    assert list(forward) != list(backward)
    assert codec.encode(forward) == codec.encode(backward)


def test_keys_sort_by_code_point_not_utf16() -> None:
    # U+FFFF < U+10000 by code point, but the UTF-16 encoding of U+10000 (a surrogate pair) sorts first.
    value = {"\U00010000": 2, "\uffff": 1, "a": 0, "B": 0}
    encoded = codec.encode(value)
    assert list(codec.decode(encoded)) == ["B", "a", "\uffff", "\U00010000"]
    assert encoded == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_non_ascii_is_raw_utf8_and_control_chars_escaped() -> None:
    assert codec.encode("汇票\n\x01") == '"汇票\\n\\u0001"'.encode()


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -1, INT_MAX, INT_MIN, "", "x", [], {}, [None, [True, {"a": [1, "2"]}]],
     {"nested": {"deeper": {"list": [{"k": INT_MIN}]}}}, "\u2028\U0001f600", nested(MAX_DEPTH)],
)
def test_round_trip(value: Any) -> None:
    data = codec.encode(value)
    assert codec.decode(data) == value
    assert codec.decode(data.decode()) == value
    assert codec.decode_canonical(data) == value
    assert codec.dumps_unchecked(value) == data


def test_bool_stays_bool_and_int_stays_int() -> None:
    decoded = codec.decode(codec.encode([True, 1, False, 0]))
    assert [type(v) for v in decoded] == [bool, int, bool, int]


# -- rejected values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [1.0, 0.0, float("nan"), float("inf"), [1, 2.5], {"a": {"b": [0.1]}}, nested(10, 3.14), {"k": [{"x": -0.0}]}],
)
def test_floats_rejected_anywhere(value: Any) -> None:
    with pytest.raises(CodecError, match="floats are not allowed"):
        codec.encode(value)
    with pytest.raises(CodecError):
        codec.check_value(value)


def test_error_names_the_path_of_the_bad_value() -> None:
    with pytest.raises(CodecError, match=r"\$\.a\.b\[1\]: floats"):
        codec.encode({"a": {"b": [0, 1.5]}})


@pytest.mark.parametrize("value", [INT_MAX + 1, INT_MIN - 1, 2**64, -(2**64), 10**40])
def test_ints_outside_signed_64_bit_rejected_on_encode(value: int) -> None:
    with pytest.raises(CodecError, match=r"outside the signed 64-bit range|floats"):
        codec.encode(value)
    with pytest.raises(CodecError):
        codec.encode({"nested": [value]})


@pytest.mark.parametrize(
    "text",
    [str(INT_MAX + 1), str(INT_MIN - 1), str(2**64 - 1), str(2**64), str(-(2**64)), "1" * 400, "[1, 99999999999999999999]"],
)
def test_huge_ints_rejected_on_decode(text: str) -> None:
    with pytest.raises(CodecError) as info:
        codec.decode(text.encode())
    assert info.value.code == "BAD_ENCODING"


def test_int_range_boundaries_accepted_on_decode() -> None:
    assert codec.decode(str(INT_MAX).encode()) == INT_MAX
    assert codec.decode(str(INT_MIN).encode()) == INT_MIN


@pytest.mark.parametrize("value", [{1: "a"}, {None: 1}, {True: 1}, {"ok": {2: "b"}}, [{("t",): 1}]])
def test_non_string_keys_rejected(value: Any) -> None:
    with pytest.raises(CodecError, match="is not a string"):
        codec.encode(value)


class _IntSub(int):
    pass


class _StrSub(str):
    pass


@pytest.mark.parametrize(
    "value",
    [b"bytes", bytearray(b"x"), {1, 2}, frozenset(), (1, 2), {"a": (1,)}, [b"x"], Decimal(1), object(), _IntSub(1),
     _StrSub("s")],
)
def test_unsupported_types_rejected(value: Any) -> None:
    with pytest.raises(CodecError, match="unsupported type"):
        codec.encode(value)


def test_depth_limit() -> None:
    assert codec.decode(codec.encode(nested(MAX_DEPTH))) == nested(MAX_DEPTH)
    with pytest.raises(CodecError, match="nesting deeper"):
        codec.encode(nested(MAX_DEPTH + 1))
    with pytest.raises(CodecError, match="nesting deeper"):
        codec.encode(nested(MAX_DEPTH + 1, leaf=[]))
    deep = b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5)
    with pytest.raises(CodecError, match="nesting deeper"):
        codec.decode(deep)
    # far beyond anything orjson itself accepts: still a CodecError, never a RecursionError
    with pytest.raises(CodecError):
        codec.decode(b"[" * 5000 + b"]" * 5000)


# -- decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b'{"a": 1}', b'{ "a":1}', b'{"a":1}\n', b' {"a":1}', b"[1, 2]", b'{"b":1,"a":2}', b'{"a":{"d":1,"c":2}}',
     b'"\\u00e9"', b'"\\/"', b'{"a":1,"a":2}', b"-0", b"01"],
)
def test_decode_canonical_rejects_non_canonical_bytes(data: bytes) -> None:
    with pytest.raises(CodecError):
        codec.decode_canonical(data)


def test_decode_accepts_non_canonical_but_valid_json() -> None:
    assert codec.decode(b'{ "b": 1, "a": [1, 2] }\n') == {"a": [1, 2], "b": 1}


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b"nope", b"NaN", b"Infinity", b"[1,]", b"{'a':1}", b'"\xff"', b"\xff\xfe", b'{"a":1}{}', b'"\\ud800"'],
)
def test_invalid_json_is_bad_encoding(data: bytes) -> None:
    with pytest.raises(CodecError) as info:
        codec.decode(data)
    assert info.value.code == "BAD_ENCODING"
    assert info.value.status == 400
    assert isinstance(info.value, BadInput)


def test_decode_rejects_float_literals() -> None:
    for data in (b"1.0", b"1e3", b'{"a":[0.5]}'):
        with pytest.raises(CodecError, match="floats"):
            codec.decode(data)


def test_lone_surrogate_string_is_a_codec_error() -> None:
    with pytest.raises(CodecError):
        codec.encode({"key": "\ud800"})



@pytest.mark.parametrize("text", [
    b'{"a":1,"a":2}',
    b'{"a": 1, "b": {"x": true, "x": false}}',
    b'[{"k":"v"},{"k":"v","k":"w"}]',
    b'{"a":1,"\\u0061":2}',  # the same key spelt with an escape
    '{"tx": {"nonce": 1, "nonce": 2}}',
])
def test_duplicate_object_keys_are_refused(text: bytes | str) -> None:
    with pytest.raises(codec.CodecError) as err:
        codec.decode(text)
    assert "duplicate" in str(err.value)


@pytest.mark.parametrize("text", [b'{"a":1,"b":{"a":2}}', b'{ "a" : 1 , "b" : [ {"a": 1}, {"a": 2} ] }',
                                  b'{"\\u00e9":1,"\xc3\xa9x":2}', b'[]', b'"a"'])
def test_repeated_names_in_different_objects_are_fine(text: bytes) -> None:
    codec.decode(text)
