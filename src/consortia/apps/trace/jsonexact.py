"""JSON without floats: numbers keep their exact decimal text.

The chain's canonical codec refuses floats, and EPCIS documents are full of them (sensor values,
quantities). An event therefore travels and is stored as its JSON *text*, and is read here with
every non-integer number as a ``Decimal`` holding the exact digits that were written (``26.0``
stays ``26.0``). ``dumps_exact`` writes such a value back without changing a digit, and
``to_plain`` turns it into the chain's data model, a decimal number becoming its text (``"26.0"``).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from consortia.errors import BadInput

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_MARK = re.compile('"\ue000([0-9]+)\ue001"')  # a placeholder string for the n-th decimal (private-use characters)


class BadJson(BadInput):
    code = "BAD_JSON"


def _refuse_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number")


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON; non-integer numbers become ``Decimal`` with their digits as written."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, BadJson):
            raise
        raise BadJson(f"not valid JSON: {exc}") from None


def dumps_exact(value: Any) -> str:
    """Compact JSON text of a value read by ``loads_exact`` (key order kept, digits unchanged).

    The C encoder writes it, each decimal as a placeholder string that is then replaced by the
    decimal's text; the slow writer below takes over when a placeholder could be ambiguous (the
    value holds such a string) or the value holds a float (which it refuses)."""
    return _dumps(value, check_floats=True)


def dumps_loaded(value: Any) -> str:
    """``dumps_exact`` of a value that ``loads_exact`` returned, which holds no float: not looked for."""
    return _dumps(value, check_floats=False)


def _dumps(value: Any, *, check_floats: bool) -> str:
    numbers: list[str] = []

    def placeholder(item: Any) -> str:
        if isinstance(item, Decimal):
            numbers.append(str(item))
            return f"\ue000{len(numbers) - 1}\ue001"
        raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")

    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=placeholder, check_circular=False)
    if (check_floats and _has_float(text)) or (numbers and len(_MARK.findall(text)) != len(numbers)):
        parts: list[str] = []
        _write(value, parts)
        return "".join(parts)
    return _MARK.sub(lambda m: numbers[int(m.group(1))], text) if numbers else text


def _has_float(text: str) -> bool:
    """Whether JSON text written from a value holds a float (decimals are placeholders there)."""
    if not any(mark in text for mark in ".eEIN"):  # a float's text has one: 2.5, 1e+300, Infinity, NaN
        return False
    found = False

    def seen(_: str) -> None:
        nonlocal found
        found = True

    json.loads(text, parse_float=seen, parse_constant=seen)
    return found


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, Decimal):
        out.append(str(value))
    elif isinstance(value, float):
        raise BadJson(f"floats cannot be written exactly (got {value!r}); read the JSON with loads_exact")
    else:
        out.append(json.dumps(value, ensure_ascii=False))


def number_text(value: Decimal | int) -> str:
    """A number's canonical text: no exponent, no trailing zeros (``26.0`` -> ``26``, ``1E+3`` -> ``1000``)."""
    if isinstance(value, bool):
        raise BadJson("a boolean is not a number")
    if isinstance(value, int):
        return str(value)
    if not value.is_finite():
        raise BadJson(f"{value} is not a JSON number")
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def to_plain(value: Any) -> Any:
    """The value in the chain's data model: decimals (and integers beyond 64 bits) as their text."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return number_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        return str(value)
    return value
