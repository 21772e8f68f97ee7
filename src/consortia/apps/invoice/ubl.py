"""UBL 2.1 export for foreign partners: an invoice as a UBL ``Invoice`` and a red-letter invoice as
a UBL ``CreditNote`` (amounts positive, the original in ``BillingReference``), following the
EN 16931 core (``CustomizationID urn:cen.eu:en16931:2017``).

Mapping: the number is ``ID`` (BT-1); the USCC is the party's VAT identifier (``PartyTaxScheme``,
BT-31/BT-48) and legal registration (``PartyLegalEntity/CompanyID``, BT-30/BT-47); the country is
CN. A line without quantity is one unit (``C62``) at its amount. The specification and the Chinese
unit travel as item attributes (BT-160/161). Tax is grouped by rate (category ``S``, or ``Z`` at
0 %) with the line-by-line tax of the Chinese form, so a category's tax can differ by rounding from
its taxable amount times the rate (EN 16931's BR-CO-17): the invoice's legal tax is kept.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from consortia.apps.invoice.model import INVOICE_TYPES, is_red_letter, yuan

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CUSTOMIZATION = "urn:cen.eu:en16931:2017"
CURRENCY = "CNY"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    prefix, name = tag.split(":")
    element = ET.SubElement(parent, f"{{{NS[prefix]}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _money(parent: ET.Element, tag: str, fen: int) -> None:
    _el(parent, tag, yuan(fen), currencyID=CURRENCY)


def _party(parent: ET.Element, tag: str, party: dict[str, Any]) -> None:
    outer = _el(_el(parent, tag), "cac:Party")
    _el(_el(outer, "cac:PartyName"), "cbc:Name", party["name"])
    address = _el(outer, "cac:PostalAddress")
    if party.get("address"):
        _el(address, "cbc:StreetName", party["address"])
    _el(_el(address, "cac:Country"), "cbc:IdentificationCode", "CN")
    scheme = _el(outer, "cac:PartyTaxScheme")
    _el(scheme, "cbc:CompanyID", party["uscc"])
    _el(_el(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _el(outer, "cac:PartyLegalEntity")
    _el(legal, "cbc:RegistrationName", party["name"])
    _el(legal, "cbc:CompanyID", party["uscc"])


def _category(parent: ET.Element, tag: str, rate: str) -> None:
    category = _el(parent, tag)
    _el(category, "cbc:ID", "Z" if rate == "0" else "S")
    _el(category, "cbc:Percent", rate)
    _el(_el(category, "cac:TaxScheme"), "cbc:ID", "VAT")


def _lines(root: ET.Element, lines: list[dict[str, Any]], sign: int, credit: bool) -> None:
    for index, line in enumerate(lines, start=1):
        element = _el(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        _el(element, "cbc:ID", str(index))
        amount = sign * line["amount"]
        if "quantity" in line:
            quantity, price = sign * Decimal(str(line["quantity"])), str(line["unit_price"])
        else:
            quantity, price = Decimal(1), yuan(amount)
        _el(element, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity", format(quantity, "f"), unitCode="C62")
        _money(element, "cbc:LineExtensionAmount", amount)
        item = _el(element, "cac:Item")
        _el(item, "cbc:Name", line["item"])
        _category(item, "cac:ClassifiedTaxCategory", line["tax_rate"])
        for name in ("specification", "unit"):
            if line.get(name):
                prop = _el(item, "cac:AdditionalItemProperty")
                _el(prop, "cbc:Name", name)
                _el(prop, "cbc:Value", line[name])
        _el(_el(element, "cac:Price"), "cbc:PriceAmount", price, currencyID=CURRENCY)


def compute_ubl(content: dict[str, Any]) -> bytes:
    """The invoice as UBL 2.1 XML (UTF-8, with an XML declaration)."""
    credit = is_red_letter(content)
    sign = -1 if credit else 1
    ET.register_namespace("cac", NS["cac"])
    ET.register_namespace("cbc", NS["cbc"])
    root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
    ET.register_namespace("", root_ns)
    root = ET.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}")
    _el(root, "cbc:UBLVersionID", "2.1")
    _el(root, "cbc:CustomizationID", CUSTOMIZATION)
    _el(root, "cbc:ID", content["number"])
    _el(root, "cbc:IssueDate", content["issue_date"])
    _el(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", "381" if credit else "380")
    note = f"{INVOICE_TYPES[content['type']]} / total in words: {content['totals']['total_in_words']}"
    _el(root, "cbc:Note", note)
    if content.get("remark"):
        _el(root, "cbc:Note", content["remark"])
    if credit and content.get("reason"):
        _el(root, "cbc:Note", f"reason: {content['reason']}")
    _el(root, "cbc:DocumentCurrencyCode", CURRENCY)
    if credit:
        _el(_el(_el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference"), "cbc:ID", content["original"])
    _party(root, "cac:AccountingSupplierParty", content["seller"])
    _party(root, "cac:AccountingCustomerParty", content["buyer"])
    totals = content["totals"]
    tax_total = _el(root, "cac:TaxTotal")
    _money(tax_total, "cbc:TaxAmount", sign * totals["tax"])
    by_rate: dict[str, list[int]] = {}
    for line in content["lines"]:
        sums = by_rate.setdefault(line["tax_rate"], [0, 0])
        sums[0] += sign * line["amount"]
        sums[1] += sign * line["tax_amount"]
    for rate in sorted(by_rate, key=Decimal):
        subtotal = _el(tax_total, "cac:TaxSubtotal")
        _money(subtotal, "cbc:TaxableAmount", by_rate[rate][0])
        _money(subtotal, "cbc:TaxAmount", by_rate[rate][1])
        _category(subtotal, "cac:TaxCategory", rate)
    monetary = _el(root, "cac:LegalMonetaryTotal")
    _money(monetary, "cbc:LineExtensionAmount", sign * totals["amount"])
    _money(monetary, "cbc:TaxExclusiveAmount", sign * totals["amount"])
    _money(monetary, "cbc:TaxInclusiveAmount", sign * totals["total"])
    _money(monetary, "cbc:PayableAmount", sign * totals["total"])
    _lines(root, content["lines"], sign, credit)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
