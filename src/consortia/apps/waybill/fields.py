"""The fields of a consignment note, after the CMR note and the eCMR protocol, checked one by one.

Pure functions: each takes the raw argument and returns it cleaned (strict keys, bounded text,
integers only) or refuses with a stable code. Weights are integer grams, volumes integer cubic
centimetres, temperatures integer tenths of a degree Celsius, money integer fen: no floats.
"""

from __future__ import annotations

import re
from typing import Any

from consortia.apps.trace.identifiers import is_valid_check_digit
from consortia.contracts.sdk import refuse, require

NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,34}")  # eCMR: a document number of up to 35 characters
HEX64 = re.compile(r"[0-9a-f]{64}")
DIGEST_ALGORITHMS = ("sha-256", "sm3")
DOCUMENT_KINDS = ("invoice", "packing_list", "certificate", "customs", "temperature_log", "photo", "contract", "other")
EXCEPTION_KINDS = ("shortage", "surplus", "damage", "other")
PAYERS = ("consignor", "consignee")
MAX_AMOUNT = 10**15  # fen
MAX_CARRIERS = 10
MAX_LINES = 100
MAX_CHARGES = 20
MAX_DOCUMENTS = 50
MAX_RESERVATIONS = 10
MAX_PACKAGES = 1_000_000
MAX_WEIGHT_G = 10**11  # one hundred thousand tonnes
MAX_VOLUME_CM3 = 10**13
MIN_C10, MAX_C10 = -1000, 1000  # -100.0 °C to 100.0 °C
PLACE_KEYS = {"name", "city", "country", "gln"}
LINE_KEYS = {"marks", "packages", "packing", "description", "gross_weight_g", "volume_cm3", "sscc"}


def is_gs1_key(value: Any, length: int) -> bool:
    """An SSCC (18 digits) or GLN (13) with a valid GS1 mod-10 check digit."""
    return type(value) is str and len(value) == length and is_valid_check_digit(value)


def check_text(value: Any, what: str, limit: int, *, empty: bool = False) -> str:
    require(type(value) is str and (empty or value.strip()) and len(value) <= limit,
            refuse("BAD_ARGS", f"{what}: expected {'' if empty else 'non-empty '}text of at most {limit} characters"))
    return str(value)


def check_number(number: Any) -> str:
    require(type(number) is str and NUMBER.fullmatch(number) is not None,
            refuse("BAD_NUMBER", f"number: expected 1 to 35 letters, digits, '.', '_' or '-', got {number!r:.60}"))
    return str(number)


def check_place(place: Any, what: str) -> dict[str, Any]:
    """``{"name", "city"?, "country"?, "gln"?}``: a GLN, when given, has a valid check digit."""
    require(type(place) is dict and "name" in place and set(place) <= PLACE_KEYS,
            refuse("BAD_PLACE", f"{what}: expected {{\"name\", \"city\"?, \"country\"?, \"gln\"?}}"))
    assert isinstance(place, dict)
    clean = {"name": check_text(place["name"], f"{what}.name", 200)}
    if "city" in place:
        clean["city"] = check_text(place["city"], f"{what}.city", 100)
    if "country" in place:
        country = place["country"]
        require(type(country) is str and len(country) == 2 and country.isascii() and country.isupper(),
                refuse("BAD_PLACE", f"{what}.country: expected an ISO 3166 alpha-2 code such as CN"))
        clean["country"] = country
    if "gln" in place:
        require(is_gs1_key(place["gln"], 13),
                refuse("BAD_PLACE", f"{what}.gln: expected a 13-digit GLN with a valid check digit"))
        clean["gln"] = place["gln"]
    return clean


def check_goods(goods: Any) -> list[dict[str, Any]]:
    """The goods lines: marks, packages, packing, description, gross weight, volume, SSCC."""
    require(type(goods) is list and 0 < len(goods) <= MAX_LINES,
            refuse("BAD_GOODS", f"goods: expected 1 to {MAX_LINES} lines"))
    assert isinstance(goods, list)
    lines, ssccs = [], set()
    for i, line in enumerate(goods):
        what = f"goods[{i}]"
        require(type(line) is dict and set(line) <= LINE_KEYS and {"packages", "packing", "description",
                                                                   "gross_weight_g"} <= set(line),
                refuse("BAD_GOODS", f"{what}: expected packages, packing, description, gross_weight_g and "
                                    "optionally marks, volume_cm3, sscc"))
        require(type(line["packages"]) is int and 1 <= line["packages"] <= MAX_PACKAGES,
                refuse("BAD_GOODS", f"{what}.packages: expected an integer from 1 to {MAX_PACKAGES}"))
        require(type(line["gross_weight_g"]) is int and 1 <= line["gross_weight_g"] <= MAX_WEIGHT_G,
                refuse("BAD_GOODS", f"{what}.gross_weight_g: expected an integer number of grams"))
        clean = {"marks": check_text(line.get("marks", ""), f"{what}.marks", 200, empty=True),
                 "packages": line["packages"], "packing": check_text(line["packing"], f"{what}.packing", 50),
                 "description": check_text(line["description"], f"{what}.description", 500),
                 "gross_weight_g": line["gross_weight_g"], "volume_cm3": line.get("volume_cm3"), "sscc": None}
        if clean["volume_cm3"] is not None:
            require(type(clean["volume_cm3"]) is int and 0 <= clean["volume_cm3"] <= MAX_VOLUME_CM3,
                    refuse("BAD_GOODS", f"{what}.volume_cm3: expected an integer number of cubic centimetres"))
        if line.get("sscc") is not None:
            require(is_gs1_key(line["sscc"], 18),
                    refuse("BAD_SSCC", f"{what}.sscc: expected an 18-digit SSCC with a valid check digit"))
            require(line["sscc"] not in ssccs, refuse("BAD_SSCC", f"{what}.sscc: {line['sscc']} is on another line"))
            ssccs.add(line["sscc"])
            clean["sscc"] = line["sscc"]
        lines.append(clean)
    return lines


def check_amount(value: Any, what: str, *, zero: bool = False) -> int:
    require(type(value) is int and (0 if zero else 1) <= value <= MAX_AMOUNT,
            refuse("BAD_AMOUNT", f"{what}: expected an integer number of fen up to {MAX_AMOUNT}"))
    return int(value)


def check_charges(charges: Any, payer: Any) -> dict[str, Any]:
    """Carriage charges, itemised in fen, and who pays them (CMR box 'to be paid by'): the consignor,
    the consignee, or a third party named by its organisation id (checked by the contract)."""
    require(type(charges) is list and len(charges) <= MAX_CHARGES,
            refuse("BAD_CHARGES", f"charges: expected up to {MAX_CHARGES} items"))
    require(type(payer) is str and 0 < len(payer) <= 64,
            refuse("BAD_CHARGES", f"charges_payer: expected one of {PAYERS} or an organisation id, got {payer!r:.40}"))
    assert isinstance(charges, list)
    lines: list[dict[str, Any]] = []
    for i, item in enumerate(charges):
        require(type(item) is dict and set(item) == {"item", "amount"},
                refuse("BAD_CHARGES", f"charges[{i}]: expected {{\"item\", \"amount\"}}"))
        lines.append({"item": check_text(item["item"], f"charges[{i}].item", 100),
                      "amount": check_amount(item["amount"], f"charges[{i}].amount")})
    total = sum(line["amount"] for line in lines)
    require(total <= MAX_AMOUNT, refuse("BAD_CHARGES", "charges: the total is too large"))
    return {"lines": lines, "total": total, "payer": payer}


def check_document(document: Any, what: str) -> dict[str, str]:
    require(type(document) is dict and set(document) == {"kind", "digest", "algorithm"},
            refuse("BAD_DOCUMENT", f"{what}: expected {{\"kind\", \"digest\", \"algorithm\"}}"))
    assert isinstance(document, dict)
    require(document["kind"] in DOCUMENT_KINDS,
            refuse("BAD_DOCUMENT", f"{what}.kind: expected one of {DOCUMENT_KINDS}"))
    require(document["algorithm"] in DIGEST_ALGORITHMS,
            refuse("BAD_DIGEST", f"{what}.algorithm: expected one of {DIGEST_ALGORITHMS}"))
    require(type(document["digest"]) is str and HEX64.fullmatch(document["digest"]) is not None,
            refuse("BAD_DIGEST", f"{what}.digest: expected 64 lowercase hex characters"))
    return {"kind": document["kind"], "digest": document["digest"], "algorithm": document["algorithm"]}


def check_temperature(value: Any) -> dict[str, int] | None:
    """The range the goods must be kept in, in tenths of a degree Celsius (cold chain), or None."""
    if value is None:
        return None
    require(type(value) is dict and set(value) == {"min_c10", "max_c10"}
            and all(type(value[k]) is int and MIN_C10 <= value[k] <= MAX_C10 for k in ("min_c10", "max_c10"))
            and value["min_c10"] <= value["max_c10"],
            refuse("BAD_TEMPERATURE", "temperature: expected {\"min_c10\", \"max_c10\"} in tenths of a degree "
                                      f"Celsius, {MIN_C10} to {MAX_C10}, min at most max"))
    assert isinstance(value, dict)
    return {"min_c10": value["min_c10"], "max_c10": value["max_c10"]}


def check_reading(value: Any) -> int | None:
    if value is None:
        return None
    require(type(value) is int and MIN_C10 <= value <= MAX_C10,
            refuse("BAD_TEMPERATURE", f"temperature_c10: expected tenths of a degree Celsius, {MIN_C10} to {MAX_C10}"))
    return int(value)


def check_reservations(value: Any) -> list[str]:
    require(type(value) is list and len(value) <= MAX_RESERVATIONS,
            refuse("BAD_ARGS", f"reservations: expected up to {MAX_RESERVATIONS} texts"))
    assert isinstance(value, list)
    return [check_text(r, f"reservations[{i}]", 500) for i, r in enumerate(value)]


def format_c10(value: int) -> str:
    """Tenths of a degree as decimal text: ``-12`` -> ``"-1.2"``."""
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // 10}.{abs(value) % 10}"
