"""Times for people: one format everywhere (ISO date, 24-hour time) in the chain's time zone.

The zone is the chain config ``time_zone`` (an IANA name, default ``Asia/Shanghai``; set in
genesis or by a governance vote), so a due date reads the same in the CLI, the console and on
the consumer page. Block times stay integer epoch milliseconds on the chain; this is display only.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Shanghai"
ZONE_RE = re.compile(r"UTC|[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){1,2}")
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")


def is_zone_name(name: object) -> bool:
    """An IANA zone name in form (``Asia/Shanghai``, ``UTC``): checked without reading tzdata,
    so every node agrees whatever its operating system ships."""
    return isinstance(name, str) and len(name) <= 64 and ZONE_RE.fullmatch(name) is not None


@lru_cache(maxsize=64)
def get_zone(name: str | None) -> dt.tzinfo:
    """The zone named ``name``; China Standard Time when it is unknown here (no tzdata)."""
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return CHINA_STANDARD_TIME


def local(ms: int, zone: str | None = None) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, get_zone(zone))


def format_time(ms: int | None, zone: str | None = None, *, seconds: bool = False) -> str:
    """``2027-04-02 09:17`` (``09:17:05`` with ``seconds``) in ``zone``; ``-`` for no time."""
    if ms is None:
        return "-"
    return local(ms, zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_date(ms: int | None, zone: str | None = None) -> str:
    """``2027-04-02``: the calendar day in ``zone``."""
    return "-" if ms is None else local(ms, zone).date().isoformat()


def zone_label(ms: int, zone: str | None = None) -> str:
    """``UTC+08:00``: the zone's offset at that moment, to say which clock a time is on."""
    offset = local(ms, zone).strftime("%z") or "+0000"
    return f"UTC{offset[:3]}:{offset[3:]}"


def day_start_ms(day: dt.date, zone: str | None = None) -> int:
    """Epoch milliseconds of midnight starting ``day`` in ``zone``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=get_zone(zone)).timestamp() * 1000)
