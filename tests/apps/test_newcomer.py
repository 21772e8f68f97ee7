"""What a newcomer meets: ids that paste back as prefixes, one clock for every time shown, the
shopper's verdict, and CBV codes as words (the console's table equal to Python's)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.apps.trace.page import render_journey
from consortia.apps.trace.words import BIZ_STEPS, DISPOSITIONS, STAGES, disposition_words, step_words
from consortia.errors import BadInput, NotFound
from consortia.types.clock import format_date, format_time, get_zone, is_zone_name, zone_label
from tests.apps.scf_harness import BANK, CORE, REG, T1, T2, Scf
from tests.unit.helpers import Consortium

WORDS_JS = Path(__file__).resolve().parents[2] / "src" / "consortia" / "console" / "static" / "words.js"
# 2027-04-01 21:17 UTC is 2027-04-02 05:17 in Shanghai: the day a UTC reader would get wrong.
LATE_EVENING_UTC = 1806614220000


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("newcomer") / "c", orgs=7, suite_name=suite_name)


@pytest.fixture
def scf(consortium: Consortium, tmp_path: Path) -> Iterator[Scf]:
    harness = Scf(consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()


def test_a_unique_prefix_of_an_id_finds_it_and_an_ambiguous_one_is_refused(scf: Scf) -> None:
    voucher = scf.voucher(100_000_00)
    # Verify: the 12 characters the CLI used to print, and any unique prefix, find the voucher
    assert scf.query(T1, "voucher", {"voucher_id": voucher[:12]})["id"] == voucher
    assert scf.query(REG, "lineage", {"voucher_id": voucher[:6]})["root"] == voucher
    assert scf.query(T1, "resolve", {"kind": "voucher", "prefix": voucher[:8]}) == {"kind": "voucher", "id": voucher}
    # Verify: a prefix that fits nothing is not found; one too short to mean anything is refused
    missing = "ffff" if not voucher.startswith("ffff") else "0000"
    with pytest.raises(NotFound) as nothing:
        scf.query(T1, "voucher", {"voucher_id": missing + "zz"})
    assert nothing.value.code == "VOUCHER_NOT_FOUND"
    with pytest.raises(BadInput) as short:
        scf.query(T1, "voucher", {"voucher_id": voucher[:3]})
    assert short.value.code == "AMBIGUOUS_ID" and "at least 4" in short.value.message
    with pytest.raises(BadInput) as kind:
        scf.query(T1, "resolve", {"kind": "party", "prefix": "abcd"})
    assert kind.value.code == "BAD_ARGS"
    # Verify: resolving still leaves the sight rules to the record's own query
    line = scf.query(CORE, "resolve", {"kind": "credit_line", "prefix": scf.credit_line()[:10]})["id"]
    assert len(line) == 32


class _Rows:
    """A state with a few keys, as the SDK's Context reads one."""

    def __init__(self, keys: list[str]) -> None:
        from consortia.types import codec

        self.rows = {k: codec.encode({"id": k}) for k in keys}

    def get(self, key: str) -> bytes | None:
        return self.rows.get(key)

    def range(self, start: str, end: str, limit: int) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in sorted(self.rows.items()) if start <= k < end][:limit]


def test_two_ids_sharing_a_prefix_are_refused_as_ambiguous() -> None:
    from consortia.contracts.kv import KeyValue
    from consortia.contracts.sdk import Context
    from tests.unit.helpers import SUITE

    state = _Rows([f"kv/v/{i}" for i in ("6a54b6730075aa", "6a54b6731111bb", "9c1e00000000cc")])
    ctx = Context(state, KeyValue(), None, b"\x01" * 32, 1, 1000, SUITE.hash, False)  # type: ignore[arg-type]
    assert ctx.resolve_id("v/", "6a54b67300", "voucher", "VOUCHER_NOT_FOUND") == "6a54b6730075aa"
    assert ctx.resolve_id("v/", "9c1e", "voucher", "VOUCHER_NOT_FOUND") == "9c1e00000000cc"
    assert ctx.resolve_id("v/", "9c1e00000000cc", "voucher", "VOUCHER_NOT_FOUND") == "9c1e00000000cc"
    with pytest.raises(BadInput) as ambiguous:
        ctx.resolve_id("v/", "6a54b673", "voucher", "VOUCHER_NOT_FOUND")
    assert ambiguous.value.code == "AMBIGUOUS_ID" and "more than one voucher" in ambiguous.value.message
    with pytest.raises(NotFound):
        ctx.resolve_id("v/", "7777", "voucher", "VOUCHER_NOT_FOUND")


def test_methods_take_full_ids_only_the_cli_resolves_prefixes_first(scf: Scf) -> None:
    voucher = scf.voucher(50_000_00, accept=False)
    scf.refused(T1, "accept", {"voucher_id": voucher[:12]}, "VOUCHER_NOT_FOUND")
    assert scf.ok(T1, "accept", {"voucher_id": voucher})["status"] == "active"
    scf.transfer(T1, voucher, [(T2, 1_000_00)])
    assert scf.query(BANK, "resolve", {"kind": "voucher", "prefix": voucher[:5]})["id"] == voucher


def test_the_chain_clock_formats_times_one_way() -> None:
    assert format_time(LATE_EVENING_UTC) == "2027-04-02 05:17"
    assert format_date(LATE_EVENING_UTC) == "2027-04-02"
    assert format_time(LATE_EVENING_UTC, "UTC", seconds=True) == "2027-04-01 21:17:00"
    assert zone_label(LATE_EVENING_UTC) == "UTC+08:00" and format_time(None) == "-"
    assert format_date(LATE_EVENING_UTC, "America/New_York") == "2027-04-01"
    assert str(get_zone("Not/AZone")) == "CST"  # unknown here: China Standard Time, never a crash
    assert is_zone_name("Asia/Shanghai") and is_zone_name("UTC") and is_zone_name("America/Argentina/Buenos_Aires")
    assert not is_zone_name("Shanghai") and not is_zone_name("../etc/passwd") and not is_zone_name(8)


def test_time_zone_is_chain_config_changed_only_to_a_zone_name(scf: Scf) -> None:
    from consortia.contracts.system import DEFAULT_CONFIG, check_config_value
    from consortia.errors import Revert

    assert DEFAULT_CONFIG["time_zone"] == "Asia/Shanghai"
    check_config_value("time_zone", "Europe/Berlin")
    for bad in ("Berlin", "Asia/Shanghai; drop", 8, ""):
        with pytest.raises(Revert) as refused:
            check_config_value("time_zone", bad)
        assert refused.value.code == "BAD_CONFIG"
    # Verify: a governance vote cannot set a zone that is not one
    refused = scf.chain.run(f"{CORE}/admin", "gov", "propose", {"action": "set_config", "reason": "",
                                                               "params": {"key": "time_zone", "value": "Shanghai"}})
    assert refused.code == "BAD_CONFIG"


def _journey(*, recall: bool, warm: bool, verified: bool) -> tuple[dict[str, object], dict[str, dict[str, bool]]]:
    event = "ni:///sha-256;" + "ab" * 32
    step = {"stage": "transport", "step": "transporting", "disposition": "in_transit", "type": "ObjectEvent",
            "time_ms": LATE_EVENING_UTC, "tz": "+00:00",
            "place": {"name": "Lianhe refrigerated truck 赣A·C7312", "city": "Nanchang", "key": "414/1"},
            "by": "Lianhe", "sensors": [{"type": "Temperature", "value": "7.5" if warm else "2.5", "uom": "CEL"}],
            "event": event, "height": 9, "tx": "cd" * 32}
    journey = {"gtin": "09506000134352", "lot": "L1", "serial": "1", "link": "https://id.gs1.org/01/09506000134352",
               "product": {"name": "Chilled pork loin", "brand": "Lianhe Foods",
                           "ranges": {"Temperature": {"min": "-1", "max": "4", "uom": "CEL"}}},
               "recall": {"reason": "Listeria", "lot": "L1", "time_ms": LATE_EVENING_UTC, "by": "lianhe-foods"}
               if recall else None, "steps": [step]}
    return journey, {event: {"verified": verified}}


def test_the_consumer_page_leads_with_a_verdict_then_the_product_then_the_journey() -> None:
    html = render_journey(*_journey(recall=False, warm=False, verified=True))
    verdict, product, steps, how = (html.index(m) for m in ('class="card verdict', 'class="card product"',
                                                             "Journey · 溯源旅程", "How we know"))
    assert verdict < product < steps < how
    assert 'data-verdict="kept"' in html
    assert "Not recalled · cold chain kept · every step verified on the chain" in html and "冷链完好" in html
    assert "Lianhe Foods" in html and "In transport · 运输" in html and "in transit · 运输中" in html
    assert "2027-04-02 05:17" in html and "Times in Asia/Shanghai" in html and "赣A·C7312" in html
    # Verify: the hashes are behind "how we know", not in the journey
    journey_part = html[steps:how]
    assert "cd" * 32 not in journey_part and "ab" * 32 not in journey_part
    assert html.index("cd" * 32) > how and "<details" in html[how - 40:how]
    assert "Noto Sans CJK SC" in html


def test_the_verdict_says_recalled_in_red_or_what_to_check() -> None:
    recalled = render_journey(*_journey(recall=True, warm=False, verified=True))
    assert 'data-verdict="recalled"' in recalled and "Recalled — do not eat · 已召回，请勿食用" in recalled
    assert "recalled on 2027-04-02 05:17 (UTC+08:00)" in recalled
    assert recalled.index("Recalled — do not eat") < recalled.index("Chilled pork loin</h1>")
    warm = render_journey(*_journey(recall=False, warm=True, verified=True))
    assert 'data-verdict="check"' in warm and "cold chain broken" in warm.lower() and "冷链中断" in warm
    unproven = render_journey(*_journey(recall=False, warm=False, verified=False))
    assert 'data-verdict="check"' in unproven and "1 of 1 steps not verified" in unproven
    shown_in_utc = render_journey(*_journey(recall=False, warm=False, verified=True), zone="UTC")
    assert "2027-04-01 21:17" in shown_in_utc


def test_cbv_codes_read_as_words_and_the_console_has_the_same_table() -> None:
    assert step_words("shipping") == ("Shipped", "发货")
    assert step_words("https://ref.gs1.org/cbv/BizStep-receiving") == ("Received", "收货")
    assert step_words("urn:epcglobal:cbv:bizstep:retail_selling") == ("Sold", "零售售出")
    assert disposition_words("in_transit") == ("in transit", "运输中")
    assert disposition_words("conformant") == ("passed inspection", "检验合格")
    assert step_words("urn:example:step:deboning")[0] == "Deboning"  # a private step: its own name, spaced
    text = WORDS_JS.read_text()
    for name, table in (("BIZ_STEP_WORDS", BIZ_STEPS), ("DISPOSITION_WORDS", DISPOSITIONS), ("STAGE_WORDS", STAGES)):
        body = re.search(rf"export const {name} = \{{(.*?)\n\}};", text, re.S)
        assert body, name
        rows = dict(re.findall(r'^\s+(\w+): (\[.*?\]),$', body.group(1), re.M))
        assert {k: tuple(json.loads(v)) for k, v in rows.items()} == table, name
