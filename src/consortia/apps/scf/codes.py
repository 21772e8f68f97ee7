"""Identifiers and money for supply chain finance: USCC check digits, yuan <-> fen."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# GB 32100-2015: the unified social credit code (统一社会信用代码) is 18 characters drawn
# from 31 symbols (no I, O, S, V, Z); the last is a check character over the first 17.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_RE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(code: object) -> bool:
    """True for a well-formed unified social credit code whose check character matches."""
    return (type(code) is str and USCC_RE.fullmatch(code) is not None
            and uscc_check_char(code[:17]) == code[17])


def make_uscc(first17: str) -> str:
    """Complete 17 characters with their check character (for demo data and tests)."""
    if not is_valid_uscc(first17 + "0") and not USCC_RE.fullmatch(first17 + "0"):
        raise ValueError(f"{first17!r}: 17 characters from {USCC_CHARS} in the USCC layout")
    return first17 + uscc_check_char(first17)


def yuan_to_fen(text: str) -> int:
    """Parse an amount in yuan ("1250000", "12.5", "0.01") into integer fen, exactly."""
    try:
        value = Decimal(text.replace(",", "").strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"not an amount in yuan: {text!r}") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"amounts have at most two decimals (0.01 yuan = 1 fen), got {text!r}")
    return int(value * 100)


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"
