"""Money across currencies, exactly: amounts in each currency's minor units (ISO 4217
exponents), exchange rates as decimal strings stated on the operation, never floats."""

from __future__ import annotations

import datetime as dt
import re

# ISO 4217 minor-unit exponents of the currencies trade finance on the chain accepts.
EXPONENTS = {"AED": 2, "AUD": 2, "BHD": 3, "CAD": 2, "CHF": 2, "CNY": 2, "EUR": 2, "GBP": 2, "HKD": 2, "JPY": 0,
             "KRW": 0, "KWD": 3, "MYR": 2, "NZD": 2, "RUB": 2, "SGD": 2, "THB": 2, "USD": 2, "VND": 0}
RATE_RE = re.compile(r"(0|[1-9][0-9]{0,5})(\.[0-9]{1,8})?")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DAY_MS = 24 * 3600 * 1000
EPOCH = dt.date(1970, 1, 1)


def is_currency(code: object) -> bool:
    return type(code) is str and code in EXPONENTS


def parse_rate(text: object) -> tuple[int, int] | None:
    """``"7.1025"`` -> ``(71025, 4)``: the rate as an integer over ``10**places``; None unless a
    positive decimal of at most six integer and eight fraction digits."""
    if type(text) is not str or RATE_RE.fullmatch(text) is None:
        return None
    whole, _, fraction = text.partition(".")
    value = int(whole + fraction)
    return (value, len(fraction)) if value > 0 else None


def convert_up(amount: int, from_currency: str, to_currency: str, rate: tuple[int, int]) -> int:
    """``amount`` minor units of ``from_currency`` in minor units of ``to_currency``, rounded up,
    where ``rate`` is how many units of ``from_currency`` one unit of ``to_currency`` buys
    (so a quota counted in ``to_currency`` is never under-counted)."""
    value, places = rate
    numerator = amount * 10 ** EXPONENTS[to_currency] * 10**places
    denominator = value * 10 ** EXPONENTS[from_currency]
    return int(-(-numerator // denominator))


def parse_date(text: object) -> str | None:
    """An ISO calendar date ``YYYY-MM-DD`` (returned as given) or None."""
    if type(text) is not str or DATE_RE.fullmatch(text) is None:
        return None
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return None
    return text


def block_date(time_ms: int) -> str:
    """The UTC calendar date of a block time (deterministic: integer days since the epoch)."""
    return (EPOCH + dt.timedelta(days=time_ms // DAY_MS)).isoformat()


def format_minor(amount: int, currency: str) -> str:
    """``12000000, "USD"`` -> ``"120,000.00 USD"`` (for people; the chain keeps integers)."""
    exponent = EXPONENTS[currency]
    whole, part = divmod(amount, 10**exponent) if exponent else (amount, 0)
    return f"{whole:,}" + (f".{part:0{exponent}d}" if exponent else "") + f" {currency}"


def parse_major(text: str, currency: str) -> int:
    """``"120,000.50", "USD"`` -> ``12000050`` minor units; ValueError for more decimals than the
    currency has or anything that is not a plain decimal."""
    if currency not in EXPONENTS:
        raise ValueError(f"unknown currency {currency!r}; known: {', '.join(sorted(EXPONENTS))}")
    exponent = EXPONENTS[currency]
    cleaned = text.replace(",", "").strip()
    match = re.fullmatch(r"([0-9]{1,15})(?:\.([0-9]+))?", cleaned)
    if match is None or len(match.group(2) or "") > exponent:
        raise ValueError(f"{text!r}: expected an amount with at most {exponent} decimals in {currency}")
    whole, fraction = str(match.group(1)), str(match.group(2) or "")
    return int(whole + fraction.ljust(exponent, "0"))
