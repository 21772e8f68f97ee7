"""The REST API through the SDK, against a real node process."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import orjson
import pytest

from consortia.client import Client, ProofError, verify_transaction
from consortia.errors import BadInput, ConsortiaError, Forbidden, NotFound, Revert
from consortia.identity.read_auth import HEADER


@pytest.fixture(scope="module")
def admin(live_node) -> Client:  # type: ignore[no-untyped-def]
    with Client.from_home(live_node.home, "hongqiao-auto/admin", live_node.url) as c:
        yield c


@pytest.fixture(scope="module")
def http(live_node) -> httpx.Client:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=live_node.url, timeout=30) as c:
        yield c


def kv_value(client: Client, key: str) -> Any:
    return client.query("kv", "get", {"key": key})


def test_chain_info_names_orgs_suite_and_height(admin: Client, suite_name: str) -> None:
    info = admin.chain()
    assert info["suite"] == suite_name
    assert (info["hash"], info["signature"], info["encryption"]) == {
        "ed25519-sha256": ("sha-256", "ed25519", "xchacha20-poly1305"), "sm2-sm3": ("sm3", "sm2", "sm4-gcm")}[suite_name]
    assert {o["id"] for o in info["organisations"]} == {"hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator"}
    assert info["height"] >= 0 and len(info["latest_hash"]) == 64
    assert admin.health()["status"] == "ok"


def test_single_submit_waits_for_commit_and_proof_verifies(admin: Client) -> None:
    view = admin.send("kv", "put", {"key": "api/single", "value": {"amount_fen": 12_345}})
    assert view["committed"] and view["receipt"]["status"] == "ok"
    assert kv_value(admin, "api/single") == {"amount_fen": 12_345}
    tx = admin.transaction(view["tx_id"])  # verifies locally
    assert tx["height"] == view["height"]
    block = admin.block(view["height"])
    assert verify_transaction(admin.suite, tx, trusted_block_hash=block["hash"]).height == view["height"]


def test_tampered_proofs_are_caught(admin: Client) -> None:
    view = admin.send("kv", "put", {"key": "api/proof", "value": 1})
    tx = admin.transaction(view["tx_id"])
    forged_receipt = {**tx, "receipt": {**tx["receipt"], "result": "forged"}}
    with pytest.raises(ProofError, match="receipts_root"):
        verify_transaction(admin.suite, forged_receipt)
    forged_args = {**tx, "tx": {**tx["tx"], "args": {"key": "api/proof", "value": 2}}}
    with pytest.raises(ProofError, match="hash to its id"):
        verify_transaction(admin.suite, forged_args)
    forged_header = {**tx, "header": {**tx["header"], "time_ms": 1}}
    with pytest.raises(ProofError, match="block hash"):
        verify_transaction(admin.suite, forged_header)


def test_batch_commits_all_and_a_bad_member_refuses_the_whole_batch(admin: Client) -> None:
    txs = [admin.build("kv", "put", {"key": f"api/batch/{i}", "value": i}) for i in range(50)]
    results = admin.submit(txs)
    assert [r["receipt"]["status"] for r in results] == ["ok"] * 50
    good = admin.build("kv", "put", {"key": "api/batch/never", "value": 1})
    bad = admin.build("kv", "put", {"key": "api/batch/never2", "value": 1})
    bad_wire = bad.to_wire()
    bad_wire["sig"] = "00" * 64
    with pytest.raises(BadInput) as err:
        admin._request("POST", "/transactions/batch", body={"txs": [good.to_wire(), bad_wire]})
    assert err.value.code == "BAD_SIGNATURE" and err.value.details["index"] == 1
    assert kv_value(admin, "api/batch/never") is None


def test_wait_false_returns_ids_then_commit_is_observable(admin: Client) -> None:
    tx = admin.build("kv", "put", {"key": "api/nowait", "value": True})
    [view] = admin.submit(tx, wait=False)
    assert view == {"tx_id": tx.id.hex(), "committed": False}
    assert admin.wait_for(tx.id.hex())["receipt"]["status"] == "ok"


def test_replay_and_revert_and_unknowns(admin: Client) -> None:
    tx = admin.build("kv", "put", {"key": "api/replay", "value": 1})
    admin.submit(tx)
    with pytest.raises(BadInput) as err:
        admin.submit(tx)
    assert err.value.code == "TX_DUPLICATE"
    with pytest.raises(Revert) as rev:
        admin.call("kv", "delete", {"key": "api/absent"})
    assert rev.value.code == "NO_SUCH_KEY"
    for contract, method, code in [("nope", "put", "UNKNOWN_CONTRACT"), ("kv", "get", "UNKNOWN_METHOD")]:
        with pytest.raises(BadInput) as err:
            admin.send(contract, method, {})
        assert err.value.code == code
    with pytest.raises(ConsortiaError) as local:  # refused by the SDK before it leaves the machine
        admin.send("kv", "_secret", {})
    assert local.value.code == "BAD_TX"


@pytest.mark.parametrize("body, code", [
    (b"", "BAD_INPUT"),
    (b"not json", "BAD_ENCODING"),
    (b"[]", "BAD_TX"),
    (b'{"tx": {}, "sig": "00"}', "BAD_TX"),
    (b'{"tx": {"a": 1.5}, "sig": "00"}', "BAD_ENCODING"),
    (b'{"tx": {}, "sig": "zz"}', "BAD_SIGNATURE"),
    (b'{"tx": {}, "sig": "00", "extra": 1}', "BAD_TX"),
])
def test_malformed_submissions_get_clear_codes(http: httpx.Client, body: bytes, code: str) -> None:
    r = http.post("/transactions", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


def test_wrong_types_in_a_signed_tx(admin: Client, http: httpx.Client) -> None:
    tx = admin.build("kv", "put", {"key": "api/types", "value": 1}).to_wire()
    for field, value in [("nonce", -1), ("nonce", "1"), ("args", []), ("contract", "Bad Name"),
                         ("not_after_ms", "soon"), ("chain", 5)]:
        wire = {"tx": {**tx["tx"], field: value}, "sig": tx["sig"]}
        r = http.post("/transactions", content=orjson.dumps(wire))
        assert r.status_code == 400 and r.json()["error"]["code"] == "BAD_TX", (field, r.text)
    wire = {"tx": {**tx["tx"], "chain": "other-chain"}, "sig": tx["sig"]}
    assert http.post("/transactions", content=orjson.dumps(wire)).json()["error"]["code"] == "WRONG_CHAIN"
    wire = {"tx": {**tx["tx"], "args": {"key": 7, "value": 1}}, "sig": tx["sig"]}
    assert http.post("/transactions", content=orjson.dumps(wire)).json()["error"]["code"] == "BAD_SIGNATURE"
    bad_args = admin.build("kv", "put", {"key": 7, "value": 1}).to_wire()
    r = http.post("/transactions", content=orjson.dumps(bad_args))
    assert r.json()["error"]["code"] == "BAD_ARGS" and "expected str" in r.json()["error"]["message"]


def test_oversize_bodies_are_refused(http: httpx.Client) -> None:
    r = http.post("/transactions", content=b"{" + b" " * (3 * 1024 * 1024) + b"}")
    assert r.status_code == 413 and r.json()["error"]["code"] == "TOO_LARGE"


def test_blocks_by_height_hash_and_listing(admin: Client) -> None:
    view = admin.send("kv", "put", {"key": "api/block", "value": 1})
    by_height = admin.block(view["height"])
    assert admin.block(by_height["hash"])["header"] == by_height["header"]
    newest = admin.blocks(limit=3)
    assert newest[0]["height"] >= view["height"] and len(newest) <= 3
    assert [b["height"] for b in newest] == sorted((b["height"] for b in newest), reverse=True)
    with pytest.raises(NotFound) as err:
        admin.block(10**9)
    assert err.value.code == "BLOCK_NOT_FOUND"
    with pytest.raises(NotFound):
        admin.transaction("ab" * 32)
    with pytest.raises(BadInput):
        admin.transaction("not-hex")


def test_query_errors(admin: Client) -> None:
    with pytest.raises(BadInput) as err:
        admin.query("kv", "get", {"key": 1})
    assert err.value.code == "BAD_ARGS"
    with pytest.raises(NotFound) as nf:
        admin.query("kv", "put", {"key": "a", "value": 1})
    assert nf.value.code == "UNKNOWN_METHOD"


def test_signed_reads(admin: Client, http: httpx.Client) -> None:
    admin.send("kv", "put", {"key": "api/signed", "value": "v"})
    assert admin.query("kv", "get", {"key": "api/signed"}, signed=True) == "v"
    for header in ["garbage", "a.b.c", "AAAA.1.00"]:
        r = http.post("/query/kv/get", content=b'{"key": "api/signed"}', headers={HEADER: header})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] in {"BAD_AUTH", "AUTH_EXPIRED"}


def test_metrics_expose_blocks_and_transactions(http: httpx.Client) -> None:
    text = http.get("/metrics").text
    for name in ("consortia_block_height", "consortia_transactions_committed_total",
                 "consortia_submissions_rejected_total", "consortia_commit_latency_seconds_bucket"):
        assert name in text


def test_event_stream_filters_and_resumes_without_gaps(admin: Client, live_node) -> None:  # type: ignore[no-untyped-def]
    start = admin.chain()["height"] + 1
    keys = [f"api/events/{i}" for i in range(6)]
    for k in keys[:3]:
        admin.send("kv", "put", {"key": k, "value": 1})
    admin.send("kv", "delete", {"key": keys[0]})

    def read(count: int, headers: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        params = {"from_height": start, "contract": "kv", "name": "Put"}
        with httpx.stream("GET", live_node.url + "/events", params=params, headers=headers, timeout=20) as r:
            event_id, data = "", None
            for line in r.iter_lines():
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data = orjson.loads(line[5:])
                elif not line and data is not None:
                    out.append((event_id, data))
                    data = None
                    if len(out) == count:
                        return out
        return out

    first = read(2, {})
    assert [d["data"]["key"] for _, d in first] == keys[:2]
    for k in keys[3:]:
        admin.send("kv", "put", {"key": k, "value": 1})
    rest = read(4, {"last-event-id": first[-1][0]})
    assert [d["data"]["key"] for _, d in rest] == [keys[2], *keys[3:]]
    assert all(d["name"] == "Put" for _, d in first + rest)


def test_sdk_event_iterator_sees_new_events(admin: Client, live_node) -> None:  # type: ignore[no-untyped-def]
    seen: list[dict[str, Any]] = []
    start = admin.chain()["height"] + 1
    listener = Client(live_node.url)

    def consume() -> None:
        for event in listener.events(contract="kv", name="Put", from_height=start, max_reconnects=0):
            seen.append(event)
            if len(seen) == 3:
                return

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    for i in range(3):
        admin.send("kv", "put", {"key": f"api/sdk-events/{i}", "value": i})
    thread.join(20)
    listener.close()
    assert [e["data"]["key"] for e in seen] == [f"api/sdk-events/{i}" for i in range(3)]


def test_every_route_answers_errors_in_one_shape(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    bad_requests = {
        ("/transactions", "post"): dict(content=b"{"),
        ("/transactions/batch", "post"): dict(content=b'{"txs": 5}'),
        ("/transactions/{tx_id}", "get"): dict(path="/transactions/zz"),
        ("/blocks", "get"): dict(params={"limit": "many"}),
        ("/blocks/{ref}", "get"): dict(path="/blocks/none"),
        ("/query/{contract}/{method}", "post"): dict(path="/query/kv/get", content=b"[1]"),
        ("/events", "get"): dict(params={"from_height": "-1"}),
        ("/attestations/{height}", "get"): dict(path="/attestations/abc"),
        ("/audit", "get"): dict(params={"format": "xml"}),
        ("/alerts", "get"): dict(params={"rule": "nonsense"}),
        ("/alerts/stream", "get"): dict(params={"after": "-1"}),
        ("/realname/clear", "post"): dict(content=b"{"),
        ("/realname/clear", "get"): dict(params={"identity": "x"}),
        ("/members/import", "post"): dict(content=b"{"),
        **{("/evidence/certificates/{algorithm}/{digest}", "get"): dict(path="/evidence/certificates/md5/ab"),
           ("/evidence/verify/{algorithm}/{digest}", "get"): dict(path="/evidence/verify/sha-256/XYZ"),
           ("/evidence/verify", "post"): dict(content=b"{"),
           ("/evidence/timestamp", "post"): dict(content=b"not DER"),
           ("/evidence/files/{algorithm}/{digest}", "put"): dict(path="/evidence/files/md5/ab", content=b"x"),
           ("/evidence/files/{algorithm}/{digest}", "get"): dict(path="/evidence/files/sha-256/XYZ")},  # evidence
        **{("/epcis/capture", "post"): dict(content=b"{"), ("/epcis/capture", "get"): dict(params={"perPage": "0"}),
           ("/epcis/capture/{capture_id}", "get"): dict(path="/epcis/capture/nope"),
           ("/epcis/events", "get"): dict(params={"perPage": "0"}),
           ("/epcis/events/{event_id}", "get"): dict(path="/epcis/events/" + "x" * 600),
           ("/01/{path}", "get"): dict(path="/01/123"), ("/qr/01/{path}", "get"): dict(path="/qr/01/123")},  # trace
        **{("/invoice/invoices/{number}", "get"): dict(path="/invoice/invoices/123"),
           ("/invoice/verify/{number}", "get"): dict(path="/invoice/verify/123"),
           ("/invoice/check", "post"): dict(content=b"{")},  # invoice
        **{("/waybills", "get"): dict(params={"status": "lost"}),
           **{(f"/waybills/{{number}}{tail}", "get"): dict(path=f"/waybills/no%20such{tail}")
              for tail in ("", "/epcis", "/receivable", "/note")}},  # waybill
        **{("/charity/needs/{need_id}", "get"): dict(path="/charity/needs/nope", params={"format": "json"}),
           ("/charity/donations/{donation_id}", "get"): dict(path="/charity/donations/nope",
                                                             params={"format": "json"})},  # charity
    }
    healthy_only = {("/chain", "get"), ("/health", "get"), ("/contracts", "get"), ("/metrics", "get")}
    routes = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    assert routes == set(bad_requests) | healthy_only, "a new route needs a bad-input case here"
    for (path, method), req in bad_requests.items():
        r = http.request(method.upper(), req.get("path", path), content=req.get("content"), params=req.get("params"))
        assert r.status_code in (400, 404, 413), (path, r.status_code, r.text)
        body = r.json()
        assert set(body) == {"error"} and isinstance(body["error"]["code"], str) and body["error"]["message"], body
    for path in ("/nowhere", "/blocks/1/extra"):
        assert http.get(path).json()["error"]["code"] == "NOT_FOUND"
    assert http.delete("/chain").json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_client_fails_over_to_a_reachable_node(live_node) -> None:  # type: ignore[no-untyped-def]
    with Client.from_home(live_node.home, "pudong-bank/admin", ["http://127.0.0.1:1", live_node.url]) as c:
        assert c.send("kv", "put", {"key": "api/failover", "value": 1})["receipt"]["status"] == "ok"
    with Client("http://127.0.0.1:1") as dead, pytest.raises(ConsortiaError) as err:
        dead.chain()
    assert err.value.code == "NODE_UNREACHABLE"


def test_client_moves_on_from_a_node_that_cannot_order(live_node) -> None:  # type: ignore[no-untyped-def]
    """A node whose ordering service is down answers 503; the transaction goes to the next node.
    With no other node the 503 reaches the caller as it was."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Unordered(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            self.rfile.read(int(self.headers["content-length"]))
            body = orjson.dumps({"error": {"code": "ORDERER_UNAVAILABLE", "message": "no stream leader"}})
            self.send_response(503)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unordered)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sick = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Client.from_home(live_node.home, "pudong-bank/admin", [sick, live_node.url]) as c:
            view = c.send("kv", "put", {"key": "api/after-503", "value": 1})
            assert view["receipt"]["status"] == "ok" and c.url == live_node.url
        with Client.from_home(live_node.home, "pudong-bank/admin", sick) as alone, pytest.raises(ConsortiaError) as err:
            alone.send("kv", "put", {"key": "api/never", "value": 1})
        assert err.value.code == "ORDERER_UNAVAILABLE"
    finally:
        server.shutdown()
        server.server_close()


def test_unauthorised_senders_are_refused(live_node) -> None:  # type: ignore[no-untyped-def]
    with Client.from_home(live_node.home, "hongqiao-auto/node", live_node.url) as node_only:
        with pytest.raises(BadInput) as err:
            node_only.send("kv", "put", {"key": "api/role", "value": 1})
    assert err.value.code == "FORBIDDEN_ROLE"
    with Client.from_home(live_node.home, "hongqiao-auto/clerk", live_node.url) as clerk:
        with pytest.raises(Revert) as rev:
            clerk.call("gov", "propose", {"action": "freeze_contract", "params": {"name": "kv"}})
    assert rev.value.code == "NOT_ADMIN"
    assert Forbidden.status == 403


def test_a_key_of_the_other_suite_is_refused(live_node, suite_name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from consortia.node.home import init_consortium

    other = "sm2-sm3" if suite_name == "ed25519-sha256" else "ed25519-sha256"
    init_consortium(tmp_path / "other", orgs=1, chain_id=live_node.genesis["chain_id"], suite_name=other)
    with Client.from_home(tmp_path / "other", "hongqiao-auto/admin", live_node.url) as outsider:
        with pytest.raises(BadInput) as err:
            outsider.send("kv", "put", {"key": "api/other-suite", "value": 1})
        assert err.value.code == "WRONG_SUITE" and other in err.value.message
        with pytest.raises(Forbidden) as denied:
            outsider.query("members", "whoami", signed=True)
        assert denied.value.code == "WRONG_SUITE"


def test_unicode_digits_are_not_numbers(http: httpx.Client, live_node) -> None:  # type: ignore[no-untyped-def]
    # Found by schemathesis: "¹".isdigit() is True but int("¹") raises.
    assert http.get("/blocks/%C2%B9").status_code == 404
    r = httpx.get(live_node.url + "/events", headers={"last-event-id": "¹:0:0".encode()}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BAD_INPUT"
    r = http.post("/query/kv/get", content=b'{"key": "a"}', headers={HEADER: "AAAA.¹.00".encode()})
    assert r.status_code == 403


def test_api_docs_are_served_without_any_cdn(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    external = [u for u in __import__("re").findall(r'(?:src|href)="([^"]+)"', page.text) if "://" in u]
    assert external == [], external
    assert http.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert http.get("/openapi.json").json()["info"]["title"] == "Consortia node API"


def test_queries_see_the_signed_caller_and_refuse_anonymous_ones(admin: Client) -> None:
    me = admin.query("members", "whoami", signed=True)
    assert me["id"] == "hongqiao-auto/admin" and me["roles"] == ["admin", "client"]
    assert me["org_record"]["kind"] == "core"
    with pytest.raises(Forbidden) as err:
        admin.query("members", "whoami")
    assert err.value.code == "UNAUTHENTICATED"
    with pytest.raises(NotFound) as nf:
        admin.query("gov", "proposal", {"proposal_id": "nope"})
    assert nf.value.code == "PROPOSAL_NOT_FOUND"
