"""EPCIS timestamps (xsd:dateTimeStamp) to epoch milliseconds and back, in integers only."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from consortia.errors import BadInput

TIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})")
OFFSET_RE = re.compile(r"[+-](\d{2}):(\d{2})")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class BadTime(BadInput):
    code = "BAD_TIME"


def parse_time_ms(text: str, field: str = "eventTime") -> int:
    """Epoch milliseconds of an ISO 8601 timestamp with an offset; sub-millisecond digits are
    rounded half up (the event hash rule), so ``.1235`` is ``.124``."""
    if type(text) is str:
        found = _cached_ms(text)
        if found is not None:
            return found
    return _parse_ms(text, field)  # raises, naming ``field``


@lru_cache(maxsize=1 << 14)
def _cached_ms(text: str) -> int | None:
    """``parse_time_ms`` of a good timestamp, None for a bad one (memoised: pure; the events of
    one lot or shipment share a handful of times)."""
    try:
        return _parse_ms(text, "")
    except BadTime:
        return None


def _parse_ms(text: str, field: str) -> int:
    match = TIME_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise BadTime(f"{field}: expected a timestamp like 2026-03-04T11:00:30.000+08:00, got {text!r:.60}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=dt.UTC)
    except ValueError as exc:
        raise BadTime(f"{field}: {text!r}: {exc}") from None
    fraction = (fraction or "").ljust(4, "0")
    millis = int(fraction[:3]) + (1 if fraction[3] >= "5" else 0)
    delta = moment - EPOCH
    total = (delta.days * 86_400 + delta.seconds) * 1000 + millis
    if offset != "Z":
        sign = -1 if offset[0] == "+" else 1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 14 or minutes > 59:
            raise BadTime(f"{field}: offset {offset} is out of range")
        total += sign * (hours * 60 + minutes) * 60_000
    return total


def check_offset(text: str, field: str = "eventTimeZoneOffset") -> str:
    match = OFFSET_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) > 14 or int(match.group(2)) > 59:
        raise BadTime(f"{field}: expected an offset like +08:00, got {text!r:.40}")
    return text


def offset_minutes(text: str) -> int:
    check_offset(text)
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 60 + int(text[4:6]))


def format_utc(ms: int) -> str:
    """``2026-03-04T03:00:30.000Z``: UTC, millisecond precision (the event hash form)."""
    moment = EPOCH + dt.timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def format_local(ms: int, offset: str = "+00:00") -> str:
    """``2026-03-04 11:00`` in the event's own time zone, for people."""
    moment = EPOCH + dt.timedelta(milliseconds=ms + offset_minutes(offset) * 60_000)
    return moment.strftime("%Y-%m-%d %H:%M")


def format_iso(ms: int, offset: str = "Z") -> str:
    """``2026-03-04T11:00:30.000+08:00``: an xsd:dateTimeStamp in the given offset."""
    minutes = 0 if offset in ("Z", "+00:00") else offset_minutes(offset)
    moment = EPOCH + dt.timedelta(milliseconds=ms + minutes * 60_000)
    suffix = "Z" if offset == "Z" else offset
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}{suffix}"
