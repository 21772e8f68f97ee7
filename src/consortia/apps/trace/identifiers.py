"""GS1 identifiers: check digits, EPC URNs and GS1 Digital Link URIs, one canonical key for each.

Every identifier an event names is reduced to one *key* used by the indexes and the trace graph:
the path of its constrained canonical GS1 Digital Link URI (``01/09506000134352/21/A1``) for GS1
keys, or ``u:<uri>`` for anything else (a private URN, a non-GS1 URL). EPC URNs (``urn:epc:id``,
``urn:epc:class``, ``urn:epc:idpat``) and Digital Link URIs on any domain map to the same key, so
``urn:epc:id:sgtin:0614141.107346.2017`` and ``https://id.gs1.org/01/10614141073464/21/2017`` are
one package. Check digits are computed for URNs (which carry none) and verified for Digital Links.

Pure functions, no floats, no I/O: the ``trace`` contract uses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

from consortia.errors import BadInput

DL_HOST = "https://id.gs1.org"

# Primary keys whose value ends in a GS1 check digit, with its length.
CHECKED_LENGTH = {"01": 14, "00": 18, "414": 13, "417": 13, "8018": 18, "253": 13, "255": 13}
# Qualifiers that may follow a primary key in a Digital Link path, in their fixed order.
QUALIFIERS = {"01": ("22", "10", "21", "235"), "414": ("254", "7040"), "8006": ("22", "10", "21"),
              "8010": ("8011",), "417": ("7040",)}
PRIMARY = ("01", "00", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018", "253", "255", "401",
           "402", "8013")
# Rule 18 of the event hash: keep the finest level of identification only.
FINEST = {("01", "21"), ("01", "10"), ("01", "235"), ("414", "254"), ("8006", "21"), ("8006", "10"),
          ("8010", "8011")}
DIGITS = re.compile(r"[0-9]+")


class BadIdentifier(BadInput):
    code = "BAD_IDENTIFIER"


def compute_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of ``body`` (all digits, the check digit excluded)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


@lru_cache(maxsize=4096)
def is_valid_check_digit(number: str) -> bool:
    """Whether the last digit of ``number`` is its GS1 check digit (memoised: pure; one GTIN or
    company's GLNs recur in many identifiers)."""
    return len(number) >= 2 and number.isascii() and number.isdigit() and compute_check_digit(number[:-1]) == number[-1]


def normalise_gtin(gtin: str) -> str:
    """A GTIN-8/12/13/14 as 14 digits, check digit verified; ``BadIdentifier`` otherwise."""
    if not (isinstance(gtin, str) and gtin.isascii() and gtin.isdigit() and len(gtin) in (8, 12, 13, 14)):
        raise BadIdentifier(f"GTIN: expected 8, 12, 13 or 14 digits, got {gtin!r:.40}")
    if not is_valid_check_digit(gtin):
        raise BadIdentifier(f"GTIN {gtin}: check digit should be {compute_check_digit(gtin[:-1])}")
    return gtin.zfill(14)


def check_key(ai: str, value: str) -> str:
    """Verify the value of a GS1 key (length, digits, check digit) and return it normalised."""
    if ai == "01":
        return normalise_gtin(value)
    if ai in CHECKED_LENGTH:
        length = CHECKED_LENGTH[ai]
        name = {"00": "SSCC", "414": "GLN", "417": "party GLN", "8018": "GSRN", "253": "GDTI", "255": "GCN"}[ai]
        head = value[:length]
        if not (head.isascii() and head.isdigit() and len(head) == length):
            raise BadIdentifier(f"{name}: expected {length} digits, got {value!r:.40}")
        if ai in ("00", "414", "417", "8018") and len(value) != length:
            raise BadIdentifier(f"{name}: expected {length} digits, got {value!r:.40}")
        if not is_valid_check_digit(head):
            raise BadIdentifier(f"{name} {head}: check digit should be {compute_check_digit(head[:-1])}")
        return value
    if not value or len(value) > 90:
        raise BadIdentifier(f"AI ({ai}): expected 1 to 90 characters, got {value!r:.40}")
    return value


@dataclass(frozen=True, slots=True)
class Gs1Id:
    """A parsed GS1 identifier: the primary key and its qualifiers, values normalised."""

    ai: str
    value: str
    qualifiers: tuple[tuple[str, str], ...] = ()

    def get(self, ai: str) -> str | None:
        return next((v for a, v in self.qualifiers if a == ai), None)

    @property
    def path(self) -> str:
        """The full Digital Link path, every qualifier kept: ``01/<gtin>/10/<lot>/21/<serial>``."""
        parts = [self.ai, _dl_escape(self.value)]
        for ai, value in self.qualifiers:
            parts += [ai, _dl_escape(value)]
        return "/".join(parts)

    @property
    def key(self) -> str:
        """The constrained canonical key (rule 18 of the event hash): finest level only."""
        for ai, value in self.qualifiers:
            if (self.ai, ai) in FINEST and ai != "10":
                return f"{self.ai}/{_dl_escape(self.value)}/{ai}/{_dl_escape(value)}"
        lot = self.get("10")
        if lot is not None and (self.ai, "10") in FINEST:
            return f"{self.ai}/{_dl_escape(self.value)}/10/{_dl_escape(lot)}"
        extension = self.get("8011") or self.get("254")
        if extension is not None:
            ai = "8011" if self.ai == "8010" else "254"
            return f"{self.ai}/{_dl_escape(self.value)}/{ai}/{_dl_escape(extension)}"
        return f"{self.ai}/{_dl_escape(self.value)}"

    @property
    def uri(self) -> str:
        """The canonical GS1 Digital Link URI (``https://id.gs1.org/...``) of :attr:`path`."""
        return f"{DL_HOST}/{self.path}"

    @property
    def lot_key(self) -> str | None:
        """For a trade item with a lot, the key of its lot (``01/<gtin>/10/<lot>``)."""
        lot = self.get("10")
        if self.ai == "01" and lot is not None:
            return f"01/{self.value}/10/{_dl_escape(lot)}"
        return None


_DL_SAFE = re.compile(r"[A-Za-z0-9\-._~!$'()*+,;=:@]*")  # what ``quote`` leaves as it is, with the safe set below


def _dl_escape(value: str) -> str:
    if _DL_SAFE.fullmatch(value) is not None:  # most values (digits, plain lots): nothing to escape
        return value
    return quote(value, safe="-._~!$'()*+,;=:@")


DIGITAL_LINK = re.compile(r"https?://[^/?#]+(/[^?#]*)(?:\?[^#]*)?(?:#.*)?")


def parse_digital_link(uri: str) -> Gs1Id | None:
    """Parse a GS1 Digital Link URI on any domain (``https://example.com/01/.../21/...``).

    Returns None when the URI is not a Digital Link; raises ``BadIdentifier`` when it is one
    with a wrong check digit or an out-of-order qualifier."""
    match = DIGITAL_LINK.fullmatch(uri)
    if match is None:
        return None
    segments = match.group(1).strip("/").split("/")
    start = next((i for i, s in enumerate(segments) if s in PRIMARY and i + 1 < len(segments)), None)
    if start is None:
        return None
    rest = segments[start:]
    if len(rest) % 2:
        return None
    pairs = [(rest[i], unquote(rest[i + 1])) for i in range(0, len(rest), 2)]
    ai, value = pairs[0]
    allowed = QUALIFIERS.get(ai, ())
    order = [allowed.index(q) if q in allowed else -1 for q, _ in pairs[1:]]
    if -1 in order or order != sorted(order):
        raise BadIdentifier(f"{uri}: qualifiers {[q for q, _ in pairs[1:]]} are not valid after ({ai}) in this order")
    return Gs1Id(ai, check_key(ai, value), tuple(pairs[1:]))


def _split_urn(urn: str, scheme: str, parts: int) -> list[str]:
    body = urn[len(scheme):]
    fields = body.split(".")
    if len(fields) != parts:
        raise BadIdentifier(f"{urn}: expected {parts} dot-separated fields after {scheme}")
    return fields


def _digits(text: str, what: str, urn: str) -> str:
    if not DIGITS.fullmatch(text):
        raise BadIdentifier(f"{urn}: {what} must be digits")
    return text


def parse_epc_urn(urn: str) -> Gs1Id | None:
    """Convert a pure-identity EPC URN (TDS 2.0) or an EPC class / pattern URN to a ``Gs1Id``.

    Returns None for URN schemes that have no GS1 Digital Link equivalent."""
    if urn.startswith("urn:epc:id:sgtin:"):
        cp, item, serial = _split_urn(urn, "urn:epc:id:sgtin:", 3)
        return Gs1Id("01", _gtin(cp, item, urn), (("21", unquote(serial)),))
    if urn.startswith("urn:epc:class:lgtin:"):
        cp, item, lot = _split_urn(urn, "urn:epc:class:lgtin:", 3)
        return Gs1Id("01", _gtin(cp, item, urn), (("10", unquote(lot)),))
    if urn.startswith("urn:epc:idpat:sgtin:"):
        cp, item, star = _split_urn(urn, "urn:epc:idpat:sgtin:", 3)
        if star != "*":
            raise BadIdentifier(f"{urn}: only a whole-GTIN pattern (ending in .*) is supported")
        return Gs1Id("01", _gtin(cp, item, urn))
    if urn.startswith("urn:epc:id:sscc:"):
        cp, ref = _split_urn(urn, "urn:epc:id:sscc:", 2)
        body = _digits(ref[:1] + cp + ref[1:], "company prefix and serial reference", urn)
        if len(body) != 17:
            raise BadIdentifier(f"{urn}: company prefix and serial reference must make 17 digits")
        return Gs1Id("00", body + compute_check_digit(body))
    if urn.startswith(("urn:epc:id:sgln:", "urn:epc:id:pgln:")):
        scheme = urn[:16]
        fields = urn[16:].split(".")
        if len(fields) not in (2, 3) or (scheme.endswith("sgln:") and len(fields) != 3):
            raise BadIdentifier(f"{urn}: expected company prefix, location reference and extension")
        body = _digits(fields[0] + fields[1], "company prefix and location reference", urn)
        if len(body) != 12:
            raise BadIdentifier(f"{urn}: company prefix and location reference must make 12 digits")
        gln = body + compute_check_digit(body)
        if scheme.endswith("pgln:"):
            return Gs1Id("417", gln)
        extension = unquote(fields[2])
        return Gs1Id("414", gln, () if extension == "0" else (("254", extension),))
    if urn.startswith("urn:epc:id:grai:"):
        cp, asset, serial = _split_urn(urn, "urn:epc:id:grai:", 3)
        body = "0" + _digits(cp + asset, "company prefix and asset type", urn)
        if len(body) != 13:
            raise BadIdentifier(f"{urn}: company prefix and asset type must make 12 digits")
        return Gs1Id("8003", body + compute_check_digit(body) + unquote(serial))
    if urn.startswith("urn:epc:id:giai:"):
        cp, asset = _split_urn(urn, "urn:epc:id:giai:", 2)
        return Gs1Id("8004", _digits(cp, "company prefix", urn) + unquote(asset))
    if urn.startswith("urn:epc:id:gsrn:"):
        cp, ref = _split_urn(urn, "urn:epc:id:gsrn:", 2)
        body = _digits(cp + ref, "company prefix and service reference", urn)
        if len(body) != 17:
            raise BadIdentifier(f"{urn}: company prefix and service reference must make 17 digits")
        return Gs1Id("8018", body + compute_check_digit(body))
    if urn.startswith(("urn:epc:id:gdti:", "urn:epc:id:sgcn:")):
        ai = "253" if "gdti" in urn[:16] else "255"
        cp, doc, serial = _split_urn(urn, urn[:16], 3)
        body = _digits(cp + doc, "company prefix and document type", urn)
        if len(body) != 12:
            raise BadIdentifier(f"{urn}: company prefix and document type must make 12 digits")
        return Gs1Id(ai, body + compute_check_digit(body) + unquote(serial))
    if urn.startswith("urn:epc:id:cpi:"):
        cp, ref, serial = _split_urn(urn, "urn:epc:id:cpi:", 3)
        return Gs1Id("8010", cp + unquote(ref), (("8011", serial),))
    return None


def _gtin(cp: str, item: str, urn: str) -> str:
    """GTIN-14 from an EPC company prefix and item reference (whose first digit is the indicator)."""
    body = _digits(item[:1] + cp + item[1:], "company prefix and item reference", urn)
    if len(body) != 13:
        raise BadIdentifier(f"{urn}: company prefix and item reference must make 13 digits")
    return body + compute_check_digit(body)


@lru_cache(maxsize=1 << 16)
def parse_gs1(identifier: str) -> Gs1Id | None:
    """An EPC URN or a Digital Link URI as a ``Gs1Id``; None for any other URI (memoised: pure)."""
    if identifier.startswith("urn:epc:"):
        return parse_epc_urn(identifier)
    if identifier.startswith(("https://", "http://")):
        return parse_digital_link(identifier)
    return None


@lru_cache(maxsize=1 << 16)
def key_of(identifier: str) -> str:
    """The index key of any identifier an event may name (see the module docstring)."""
    parsed = parse_gs1(identifier)
    return parsed.key if parsed is not None else "u:" + identifier


@lru_cache(maxsize=1 << 16)
def canonical_uri(identifier: str) -> str:
    """The constrained canonical Digital Link of a GS1 identifier (rule 17/18), else unchanged."""
    parsed = parse_gs1(identifier)
    return f"{DL_HOST}/{parsed.key}" if parsed is not None else identifier


def digital_link(gtin: str, lot: str | None = None, serial: str | None = None, base: str = DL_HOST) -> str:
    """Build a package's Digital Link URI, ``<base>/01/<gtin>[/10/<lot>][/21/<serial>]``."""
    path = f"01/{normalise_gtin(gtin)}"
    if lot is not None:
        path += f"/10/{_dl_escape(lot)}"
    if serial is not None:
        path += f"/21/{_dl_escape(serial)}"
    return f"{base.rstrip('/')}/{path}"


def describe_key(key: str) -> dict[str, str]:
    """Split a key back into named parts, for display (``{"gtin": ..., "serial": ...}``)."""
    if key.startswith("u:"):
        return {"uri": key[2:]}
    names = {"01": "gtin", "00": "sscc", "414": "gln", "417": "pgln", "10": "lot", "21": "serial", "254": "extension",
             "8003": "grai", "8004": "giai", "8018": "gsrn", "253": "gdti", "255": "gcn", "8010": "cpi", "8011": "cpi_serial",
             "235": "tpx", "8006": "itip", "8017": "gsrnp", "401": "ginc", "402": "gsin", "8013": "gmn"}
    parts = key.split("/")
    return {names.get(parts[i], parts[i]): unquote(parts[i + 1]) for i in range(0, len(parts) - 1, 2)}
