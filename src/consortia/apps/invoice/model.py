"""The fully digitalised VAT invoice (数电发票) as data: its fields, the sums that must hold, the
20-digit number and the total written in Chinese capital numerals (大写).

Pure functions shared by the contract, the REST routes, the CLI and the renderers. Money is integer
fen; quantities, unit prices and tax rates are decimal strings (or integers), never floats, and
every product is computed exactly. A check that fails raises ``InvoiceInvalid`` naming the field.

Which sums are checked (after EN 16931's BR-CO rules, adapted to the Chinese form):

- each line: ``amount`` = ``quantity`` x ``unit_price`` rounded half-up to the fen (when both are
  given) and ``tax_amount`` = ``amount`` x ``tax_rate`` rounded half-up (BR-LIN, BR-CO-17);
- ``totals.amount`` = the sum of the lines' amounts (BR-CO-10);
- ``totals.tax`` = the sum of the lines' tax amounts (BR-CO-14);
- ``totals.total`` = ``totals.amount`` + ``totals.tax`` (BR-CO-15);
- ``totals.total_in_words`` = ``totals.total`` in capital numerals, as printed.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from consortia.apps.scf.codes import is_valid_uscc
from consortia.errors import BadInput

INVOICE_TYPES = {"special": "增值税专用发票", "ordinary": "普通发票"}
TAX_RATES = ("0", "1", "3", "5", "6", "9", "13")  # percent: the VAT rates and levy rates in force
NUMBER_RE = re.compile(r"[0-9]{20}")
DATE_RE = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,8})?")
# Tax bureau region codes (the 3rd and 4th digits): the provinces' GB/T 2260 codes.
REGIONS = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
                     "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"})
MAX_FEN = 10**15
MAX_LINES = 500
EXACT = Context(prec=80)  # every operation names it: exact whatever a thread's default context is
FEN = Decimal("0.01")
TOP_FIELDS = {"number", "issue_date", "type", "seller", "buyer", "lines", "totals", "remark", "drawer", "original",
              "reason"}
LINE_FIELDS = {"item", "specification", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax_amount"}
TOTAL_FIELDS = {"amount", "tax", "total", "total_in_words"}
PARTY_FIELDS = {"name", "uscc", "address", "bank_account"}


class InvoiceInvalid(BadInput):
    """An invoice that is malformed or whose sums do not add up; ``field`` names the first bad field."""

    code = "BAD_INVOICE"

    def __init__(self, field: str, message: str, code: str = "BAD_INVOICE") -> None:
        super().__init__(f"{field}: {message}", code=code, field=field)
        self.field = field


# -- capital numerals ---------------------------------------------------------------------

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
GROUP_UNITS = ("", "万", "亿", "万亿")


def compute_capital_numerals(fen: int) -> str:
    """The amount written as on a cheque or an invoice: 1234567 fen -> 壹万贰仟叁佰肆拾伍圆陆角柒分.
    A negative amount (a red-letter invoice) is prefixed 负; whole yuan end in 整."""
    if type(fen) is not int or abs(fen) >= 10**18:
        raise ValueError(f"expected an integer number of fen below 10^18, got {fen!r}")
    if fen == 0:
        return "零圆整"
    sign, fen = ("负" if fen < 0 else ""), abs(fen)
    yuan, jiao, cents = fen // 100, fen // 10 % 10, fen % 10
    text = _yuan_words(yuan) + "圆" if yuan else ""
    if jiao == 0 and cents == 0:
        return sign + text + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if cents:
        text += DIGITS[cents] + "分"
    return sign + text


def _yuan_words(yuan: int) -> str:
    groups: list[int] = []
    while yuan:
        groups.append(yuan % 10_000)
        yuan //= 10_000
    text, pending_zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or group < 1000):
            text += "零"
        text += _group_words(group) + GROUP_UNITS[index]
        pending_zero = False
    return text


def _group_words(group: int) -> str:
    text, zero = "", False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[digit] + SMALL_UNITS[position]
    return text


# -- exact decimals -----------------------------------------------------------------------

def parse_decimal(value: object, field: str, *, negative: bool = True) -> Decimal:
    """A decimal string ("12.5", "-3") or an integer, exactly; floats are refused."""
    if type(value) is int:
        text = str(value)
    elif type(value) is str:
        text = value
    else:
        raise InvoiceInvalid(field, f"expected a decimal string or an integer (never a float), got {type(value).__name__}")
    if not DECIMAL_RE.fullmatch(text) or (text.startswith("-") and not negative):
        raise InvoiceInvalid(field, f"expected a {'' if negative else 'non-negative '}decimal with at most 15 digits "
                                    f"before and 8 after the point, got {text!r:.40}")
    return Decimal(text)


def round_fen(yuan: Decimal) -> int:
    """Yuan to whole fen, half away from zero (the tax system's rounding)."""
    return int(EXACT.multiply(yuan.quantize(FEN, rounding=ROUND_HALF_UP, context=EXACT), Decimal(100)))


def compute_line_amount(quantity: Decimal, unit_price: Decimal) -> int:
    return round_fen(EXACT.multiply(quantity, unit_price))


def compute_line_tax(amount: int, tax_rate: str) -> int:
    tax = EXACT.divide(EXACT.multiply(Decimal(amount), Decimal(tax_rate)), Decimal(100))
    return int(tax.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT))


# -- the invoice ----------------------------------------------------------------------------

def is_valid_number(number: object) -> bool:
    return type(number) is str and NUMBER_RE.fullmatch(number) is not None and number[2:4] in REGIONS


def check_number(number: object, issue_date: str, field: str = "number") -> str:
    """20 digits: year (2), tax bureau region (2), issuing channel (1), sequence (15)."""
    if not is_valid_number(number):
        raise InvoiceInvalid(field, f"expected 20 digits (year, region code, channel, sequence), got {number!r:.40}",
                             code="BAD_NUMBER")
    assert isinstance(number, str)
    if number[:2] != issue_date[2:4]:
        raise InvoiceInvalid(field, f"the number starts with the year {number[:2]}, the invoice is dated {issue_date}",
                             code="BAD_NUMBER")
    return number


def _text(value: object, field: str, limit: int, *, required: bool = True) -> str:
    if type(value) is not str or len(value) > limit or (required and not value.strip()):
        raise InvoiceInvalid(field, f"expected {'a non-empty' if required else 'a'} string of at most {limit} characters")
    return value


def _fen(value: object, field: str) -> int:
    if type(value) is not int or abs(value) > MAX_FEN:
        raise InvoiceInvalid(field, f"expected an integer number of fen (at most {MAX_FEN} in size), got {value!r:.40}")
    return value


def _only(record: object, allowed: set[str], field: str, required: set[str]) -> dict[str, Any]:
    if type(record) is not dict:
        raise InvoiceInvalid(field, f"expected an object, got {type(record).__name__}")
    extra = sorted(set(record) - allowed)
    if extra:
        raise InvoiceInvalid(f"{field}.{extra[0]}" if field else extra[0], "unknown field")
    missing = sorted(required - set(record))
    if missing:
        raise InvoiceInvalid(f"{field}.{missing[0]}" if field else missing[0], "missing")
    return record


def check_party(party: object, field: str) -> dict[str, Any]:
    record = _only(party, PARTY_FIELDS, field, {"name", "uscc"})
    _text(record["name"], f"{field}.name", 200)
    if not is_valid_uscc(record["uscc"]):
        raise InvoiceInvalid(f"{field}.uscc", f"{record['uscc']!r:.40} is not a valid unified social credit code",
                             code="BAD_USCC")
    for key in ("address", "bank_account"):
        if key in record:
            _text(record[key], f"{field}.{key}", 200, required=False)
    return record


def check_line(line: object, field: str) -> tuple[int, int]:
    """Check one line's own sums; returns its (amount, tax_amount)."""
    record = _only(line, LINE_FIELDS, field, {"item", "amount", "tax_rate", "tax_amount"})
    _text(record["item"], f"{field}.item", 200)
    for key in ("specification", "unit"):
        if key in record:
            _text(record[key], f"{field}.{key}", 100, required=False)
    amount = _fen(record["amount"], f"{field}.amount")
    if ("quantity" in record) != ("unit_price" in record):
        raise InvoiceInvalid(f"{field}.{'unit_price' if 'quantity' in record else 'quantity'}",
                             "quantity and unit_price go together")
    if "quantity" in record:
        quantity = parse_decimal(record["quantity"], f"{field}.quantity")
        price = parse_decimal(record["unit_price"], f"{field}.unit_price", negative=False)
        expected = compute_line_amount(quantity, price)
        if amount != expected:
            raise InvoiceInvalid(f"{field}.amount", f"quantity x unit_price is {expected} fen, the line says {amount}",
                                 code="BAD_TOTALS")
    rate = record["tax_rate"]
    if rate not in TAX_RATES:
        raise InvoiceInvalid(f"{field}.tax_rate", f"expected one of {', '.join(TAX_RATES)} (percent), got {rate!r:.20}")
    tax = _fen(record["tax_amount"], f"{field}.tax_amount")
    expected_tax = compute_line_tax(amount, rate)
    if tax != expected_tax:
        raise InvoiceInvalid(f"{field}.tax_amount", f"amount x {rate} % is {expected_tax} fen, the line says {tax}",
                             code="BAD_TOTALS")
    return amount, tax


def check_totals(totals: object, lines: list[tuple[int, int]]) -> dict[str, Any]:
    record = _only(totals, TOTAL_FIELDS, "totals", TOTAL_FIELDS)
    amount, tax, total = (_fen(record[k], f"totals.{k}") for k in ("amount", "tax", "total"))
    expected = sum(a for a, _ in lines)
    if amount != expected:
        raise InvoiceInvalid("totals.amount", f"the lines add up to {expected} fen, the total says {amount}",
                             code="BAD_TOTALS")
    expected = sum(t for _, t in lines)
    if tax != expected:
        raise InvoiceInvalid("totals.tax", f"the lines' tax adds up to {expected} fen, the total says {tax}",
                             code="BAD_TOTALS")
    if total != amount + tax:
        raise InvoiceInvalid("totals.total", f"amount + tax is {amount + tax} fen, the total says {total}",
                             code="BAD_TOTALS")
    words = compute_capital_numerals(total)
    if record["total_in_words"] != words:
        raise InvoiceInvalid("totals.total_in_words", f"{total} fen is written {words}, the invoice says "
                                                      f"{record['total_in_words']!r:.60}", code="BAD_TOTALS")
    return record


def check_invoice(content: object) -> dict[str, Any]:
    """Check an invoice's fields and sums; return it unchanged. A red-letter invoice names the
    ``original`` number and a ``reason`` and has a negative total; any other a positive one."""
    record = _only(content, TOP_FIELDS, "", {"number", "issue_date", "type", "seller", "buyer", "lines", "totals"})
    date = record["issue_date"]
    if type(date) is not str or not DATE_RE.fullmatch(date):
        raise InvoiceInvalid("issue_date", f"expected a date like 2026-12-03, got {date!r:.20}")
    check_number(record["number"], date)
    if record["type"] not in INVOICE_TYPES:
        raise InvoiceInvalid("type", f"expected one of {', '.join(INVOICE_TYPES)}, got {record['type']!r:.20}")
    check_party(record["seller"], "seller")
    check_party(record["buyer"], "buyer")
    if record["seller"]["uscc"] == record["buyer"]["uscc"]:
        raise InvoiceInvalid("buyer.uscc", "the buyer and the seller are the same taxpayer")
    lines = record["lines"]
    if type(lines) is not list or not 1 <= len(lines) <= MAX_LINES:
        raise InvoiceInvalid("lines", f"expected 1 to {MAX_LINES} lines")
    sums = [check_line(line, f"lines[{i}]") for i, line in enumerate(lines)]
    totals = check_totals(record["totals"], sums)
    for key, limit in (("remark", 500), ("drawer", 50)):
        if key in record:
            _text(record[key], key, limit, required=False)
    red = "original" in record
    if red:
        if not is_valid_number(record["original"]):
            raise InvoiceInvalid("original", "expected the 20-digit number of the invoice reversed", code="BAD_NUMBER")
        _text(record.get("reason"), "reason", 200)
        if totals["total"] >= 0:
            raise InvoiceInvalid("totals.total", "a red-letter invoice reverses an amount: its total is negative")
    else:
        if "reason" in record:
            raise InvoiceInvalid("reason", "only a red-letter invoice (with an original) gives a reason")
        if totals["total"] <= 0:
            raise InvoiceInvalid("totals.total", "an invoice's total is positive (reverse one with a red-letter invoice)")
    return record


def is_red_letter(content: dict[str, Any]) -> bool:
    return "original" in content


def complete_invoice(content: dict[str, Any]) -> dict[str, Any]:
    """Fill what an importer may leave out and can be computed: each line's amount and tax amount,
    the totals and the total in words. What is given is kept (and checked later)."""
    lines: list[Any] = []
    given_lines = content.get("lines")
    for line in given_lines if isinstance(given_lines, list) else []:
        line = dict(line) if isinstance(line, dict) else line
        if isinstance(line, dict):
            if "amount" not in line and "quantity" in line and "unit_price" in line:
                line["amount"] = compute_line_amount(parse_decimal(line["quantity"], "quantity"),
                                                     parse_decimal(line["unit_price"], "unit_price"))
            if "tax_amount" not in line and type(line.get("amount")) is int and line.get("tax_rate") in TAX_RATES:
                line["tax_amount"] = compute_line_tax(line["amount"], line["tax_rate"])
        lines.append(line)
    out = {**content, "lines": lines} if type(content.get("lines")) is list else dict(content)
    given = content.get("totals", {})
    if type(given) is dict and all(isinstance(x, dict) and type(x.get("amount")) is int
                                   and type(x.get("tax_amount")) is int for x in lines):
        totals = dict(given)
        totals.setdefault("amount", sum(x["amount"] for x in lines))
        totals.setdefault("tax", sum(x["tax_amount"] for x in lines))
        if type(totals["amount"]) is int and type(totals["tax"]) is int:
            totals.setdefault("total", totals["amount"] + totals["tax"])
        if type(totals.get("total")) is int:
            totals.setdefault("total_in_words", compute_capital_numerals(totals["total"]))
        out["totals"] = totals
    return out


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals and no grouping (as the invoice prints them): -1234 -> -12.34."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"

