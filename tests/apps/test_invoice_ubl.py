"""UBL 2.1 export validated against the official OASIS UBL 2.1 schemas (a copy ships in
tests/vectors/ubl-2.1/, unchanged): invoices as Invoice, red-letter invoices as CreditNote."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from consortia.apps.invoice.ubl import compute_ubl
from tests.apps.invoice_harness import make_invoice, number, red_lines

UBL = Path(__file__).resolve().parents[1] / "vectors" / "ubl-2.1"
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}


@cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(UBL / "xsd" / "maindoc" / f"UBL-{name}-2.1.xsd")))


def validate(name: str, document: bytes) -> etree._Element:
    root = etree.fromstring(document)
    checker = schema(name)
    assert checker.validate(root), "\n".join(str(e) for e in checker.error_log)
    return root


@pytest.mark.parametrize(("name", "example"), [("Invoice", "UBL-Invoice-2.1-Example.xml"),
                                               ("Invoice", "UBL-Invoice-2.1-Example-Trivial.xml"),
                                               ("CreditNote", "UBL-CreditNote-2.1-Example.xml")])
def test_the_official_examples_validate(name: str, example: str) -> None:
    validate(name, (UBL / "xml" / example).read_bytes())


def test_an_invoice_exports_as_a_valid_ubl_invoice() -> None:
    content = make_invoice(1)
    root = validate("Invoice", compute_ubl(content))
    assert root.findtext("cbc:ID", namespaces=NS) == content["number"]
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == "urn:cen.eu:en16931:2017"
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "117449.40"
    assert root.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=NS) == "13469.40"
    supplier = root.find("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", NS)
    assert supplier is not None and supplier.text == content["seller"]["uscc"]
    lines = root.findall("cac:InvoiceLine", NS)
    assert [line.findtext("cbc:InvoicedQuantity", namespaces=NS) for line in lines] == ["120", "1"]
    assert [line.findtext("cbc:LineExtensionAmount", namespaces=NS) for line in lines] == ["102780.00", "1200.00"]
    rates = [s.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS) for s in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)]
    assert rates == ["9", "13"]


def test_a_red_letter_invoice_exports_as_a_valid_credit_note() -> None:
    red = make_invoice(2, lines=[*red_lines(300_00), {"item": "*货物*退货", "quantity": "-2", "unit_price": "50",
                                                      "tax_rate": "0"}], original=number(1))
    root = validate("CreditNote", compute_ubl(red))
    assert root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=NS) == number(1)
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "439.00"
    quantities = [line.findtext("cbc:CreditedQuantity", namespaces=NS) for line in root.findall("cac:CreditNoteLine", NS)]
    assert quantities == ["1", "2"]
    categories = [s.findtext("cac:TaxCategory/cbc:ID", namespaces=NS) for s in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)]
    assert categories == ["Z", "S"]


def test_the_pdf_embeds_its_cjk_font_and_says_what_to_install_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from consortia.apps.invoice import render
    from consortia.errors import Unavailable

    content = make_invoice(1)
    pdf = render.render_pdf(content, "http://127.0.0.1:8700/invoice/verify/x")
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf
    monkeypatch.setattr(render, "FONT_CANDIDATES", ("/nonexistent/font.ttc",))
    monkeypatch.delenv("CONSORTIA_CJK_FONT", raising=False)
    with pytest.raises(Unavailable) as missing:
        render.render_pdf(content, "http://x")
    assert missing.value.code == "NO_CJK_FONT" and "fonts-wqy-microhei" in missing.value.message
    html = render.render_invoice(make_invoice(2, lines=red_lines(100_00), original=number(1)), "http://x", "valid")
    assert "被红冲蓝字数电发票号码：" + number(1) in html and "负壹佰壹拾叁圆整" in html
