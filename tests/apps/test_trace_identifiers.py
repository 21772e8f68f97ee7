"""GS1 identifiers, the EPCIS event hash, exact JSON numbers, timestamps, QR codes, the page."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from consortia.apps.trace.document import namespaces_of
from consortia.apps.trace.eventhash import compute_event_hash, compute_prehash, is_event_hash
from consortia.apps.trace.identifiers import (
    BadIdentifier,
    canonical_uri,
    compute_check_digit,
    describe_key,
    digital_link,
    is_valid_check_digit,
    key_of,
    normalise_gtin,
    parse_digital_link,
)
from consortia.apps.trace.jsonexact import BadJson, dumps_exact, loads_exact, number_text, to_plain
from consortia.apps.trace.page import render_journey
from consortia.apps.trace.qr import make_qr
from consortia.apps.trace.times import BadTime, format_iso, format_utc, parse_time_ms
from consortia.errors import BadInput

HERE = Path(__file__).resolve().parent
EXAMPLES = Path(__file__).resolve().parents[1] / "vectors" / "epcis-2.0" / "JSON"  # vendored official examples


def test_check_digits_of_gtin_sscc_gln() -> None:
    assert compute_check_digit("950600013435") == "2" and is_valid_check_digit("9506000134352")
    assert normalise_gtin("9506000134352") == "09506000134352"  # GTIN-13 padded to 14
    assert normalise_gtin("12345670") == "00000012345670"  # GTIN-8
    for bad, expected in (("9506000134353", "should be 2"), ("95060001343", "expected 8, 12, 13 or 14 digits")):
        with pytest.raises(BadIdentifier) as err:
            normalise_gtin(bad)
        assert expected in err.value.message and err.value.code == "BAD_IDENTIFIER"
    assert key_of("https://id.gs1.org/00/106141412345678908") == "00/106141412345678908"
    with pytest.raises(BadIdentifier, match="SSCC 106141412345678909: check digit should be 8"):
        key_of("https://id.gs1.org/00/106141412345678909")
    with pytest.raises(BadIdentifier, match="GLN"):
        key_of("https://id.gs1.org/414/0614141000011")
    assert key_of("https://id.gs1.org/414/0614141000012") == "414/0614141000012"


def test_epc_urns_and_digital_links_name_the_same_thing() -> None:
    pairs = {
        "urn:epc:id:sgtin:0614141.107346.2017": "01/10614141073464/21/2017",
        "urn:epc:class:lgtin:4012345.012345.998877": "01/04012345123456/10/998877",
        "urn:epc:idpat:sgtin:4012345.012345.*": "01/04012345123456",
        "urn:epc:id:sscc:0614141.1234567890": "00/106141412345678908",
        "urn:epc:id:sgln:0614141.07346.1234": "414/0614141073467/254/1234",
        "urn:epc:id:sgln:0012345.11111.0": "414/0012345111112",
        "urn:epc:id:pgln:4000001.00012": "417/4000001000128",
        "urn:epc:id:grai:4012345.55555.987": "8003/04012345555554987",
        "urn:epc:id:giai:4000001.12345": "8004/400000112345",
        "urn:epc:id:gsrn:0614141.1234567890": "8018/061414112345678902",
    }
    for urn, key in pairs.items():
        assert key_of(urn) == key, urn
        assert key_of(f"https://id.gs1.org/{key}") == key
        assert key_of(f"https://brand.example.cn/products/{key}?linkType=all") == key  # any domain, path prefix
    # the finest level only: a lot and a serial name the serialised item
    assert key_of("https://example.com/01/09506000134352/10/ABC/21/7") == "01/09506000134352/21/7"
    parsed = parse_digital_link("https://example.com/01/9506000134352/10/AB%2FC/21/7")
    assert parsed is not None and parsed.value == "09506000134352" and parsed.lot_key == "01/09506000134352/10/AB%2FC"
    assert describe_key(parsed.key) == {"gtin": "09506000134352", "serial": "7"}
    assert canonical_uri("urn:epc:id:sgtin:0614141.107346.2017") == "https://id.gs1.org/01/10614141073464/21/2017"
    assert key_of("urn:uuid:1234") == "u:urn:uuid:1234" and key_of("https://example.com/pallet/9") == "u:https://example.com/pallet/9"
    with pytest.raises(BadIdentifier, match="not valid after"):
        parse_digital_link("https://id.gs1.org/01/09506000134352/21/7/10/ABC")
    with pytest.raises(BadIdentifier):
        key_of("urn:epc:id:sgtin:0614141.10734.2017")  # 12 digits, not 13
    assert digital_link("9506000134352", "L1", "0001", "https://trace.example.cn/") == \
        "https://trace.example.cn/01/09506000134352/10/L1/21/0001"


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the vendored EPCIS examples are missing")
def test_event_hash_matches_the_reference_implementation() -> None:
    vectors = json.loads((HERE / "trace_hash_vectors.json").read_text())["vectors"]
    assert len(vectors) >= 25
    for vector in vectors:
        document = loads_exact((EXAMPLES / vector["file"]).read_text())
        body = document["epcisBody"]
        events = body.get("eventList") or body["queryResults"]["resultsBody"]["eventList"]
        assert compute_event_hash(events[vector["index"]], namespaces_of(document.get("@context"))) == \
            vector["eventID"], vector


def test_event_hash_follows_the_written_rules() -> None:
    event = {"type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30.9995+01:00", "eventTimeZoneOffset": "+01:00",
             "epcList": ["urn:epc:id:sscc:4012345.0000000333", "urn:epc:id:sscc:4012345.0000000111"],
             "action": "OBSERVE", "bizStep": "departing", "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
             "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:X"}],
             "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": Decimal("26.0"), "uom": "CEL"}]}],
             "example:myField": " text ", "eventID": "urn:uuid:x", "recordTime": "2021-01-01T00:00:00Z"}
    prehash = compute_prehash(event, {"example": "https://ns.example.com/epcis/"})
    assert prehash == (
        "eventType=ObjectEventeventTime=2020-03-04T10:00:31.000ZeventTimeZoneOffset=+01:00"
        "epcListepc=https://id.gs1.org/00/040123450000001112epc=https://id.gs1.org/00/040123450000003338"
        "action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-departing"
        "readPointid=https://id.gs1.org/414/4012345000115/254/987"
        "bizTransactionListbizTransaction=urn:epcglobal:cbv:bt:4012345000009:Xtype=https://ref.gs1.org/cbv/BTT-po"
        "sensorElementListsensorElementsensorReporttype=https://gs1.org/voc/Temperaturevalue=26uom=CEL"
        "{https://ns.example.com/epcis/}myField=text")
    assert is_event_hash(compute_event_hash(event)) and not is_event_hash("urn:uuid:x")
    declared = {**event, "errorDeclaration": {"declarationTime": "2021-01-01T00:00:00Z"}}
    assert compute_event_hash(declared) == compute_event_hash(event)  # eventID, recordTime, errorDeclaration excluded


def test_exact_numbers_and_timestamps() -> None:
    text = '{"a":26.0,"b":[1E+3,0.180,-0.0],"c":12345678901234567890123}'
    value = loads_exact(text)
    assert dumps_exact(value) == text
    assert to_plain(value) == {"a": "26", "b": ["1000", "0.18", "0"], "c": "12345678901234567890123"}
    assert number_text(Decimal("0.50")) == "0.5" and number_text(7) == "7"
    for bad in ("NaN", "[Infinity]", "{"):
        with pytest.raises(BadJson):
            loads_exact(bad)
    assert parse_time_ms("1970-01-01T08:00:00.0005+08:00") == 1
    assert format_utc(parse_time_ms("2019-04-02T15:00:00.000+01:00")) == "2019-04-02T14:00:00.000Z"
    assert format_iso(0, "+08:00") == "1970-01-01T08:00:00.000+08:00"
    for bad in ("2019-04-02", "2019-04-02T25:00:00Z", "yesterday", "2019-04-02T10:00:00+15:00"):
        with pytest.raises(BadTime):
            parse_time_ms(bad)


def test_qr_codes_carry_the_digital_link() -> None:
    link = digital_link("9506000134352", "L1", "0001", "https://trace.example.cn")
    svg = make_qr(link, "svg").decode()
    assert svg.startswith("<svg") and f"<title>{link}</title>" in svg
    png = make_qr(link, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 200
    import segno

    assert segno.make_qr(link, error="m").matrix == segno.make_qr(link, error="m").matrix
    with pytest.raises(BadInput):
        make_qr(link, "gif")


def test_consumer_page_escapes_and_marks_recalls() -> None:
    journey = {"gtin": "09506000134352", "lot": "L1", "serial": "1", "link": "https://x/01/09506000134352",
               "product": {"name": "<b>Pork</b>", "brand": "Lianhe", "ranges": {"Temperature": {"min": "-1", "max": "4"}}},
               "recall": {"reason": "Listeria", "lot": "L1", "time_ms": 0, "by": "lianhe-foods"},
               "steps": [{"stage": "transport", "step": "transporting", "type": "ObjectEvent", "time_ms": 0,
                          "tz": "+08:00", "place": {"name": "Truck", "city": "Nanchang", "key": "414/1"},
                          "by": "Lianhe", "sensors": [{"type": "Temperature", "value": "7.5", "uom": "CEL"}],
                          "event": "ni:///sha-256;" + "ab" * 32, "height": 9, "tx": "cd" * 32}]}
    html = render_journey(journey, {"ni:///sha-256;" + "ab" * 32: {"verified": True}})
    assert "&lt;b&gt;Pork&lt;/b&gt;" in html and "<b>Pork" not in html
    assert "Recalled" in html and "Listeria" in html and "outside -1–4" in html and "✓ verified on chain" in html
    assert "1 of 1 steps verified" in html
