"""Issue 19, through a real node process: signed reads cover the whole request and are used once,
bodies are bounded while they stream, data files are private, a dropped upload logs one line."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consortia.cli.bench import free_port
from consortia.client import Client
from consortia.identity.read_auth import FUTURE_SKEW_MS, HEADER, WINDOW_MS, sign_read
from consortia.identity.wallet import Wallet
from tests.conftest import RunningNode

REGULATOR = "sh-regulator/admin"


@pytest.fixture(scope="module")
def http(live_node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_node.url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def regulator(live_node: RunningNode) -> Iterator[Client]:
    with Client.from_home(live_node.home, REGULATOR, live_node.url) as c:
        yield c


def header(c: Client, method: str, target: str, body: bytes = b"", **kwargs: Any) -> dict[str, str]:
    wallet: Wallet = c._require_wallet()
    return {HEADER: sign_read(wallet, c.suite.hash, c.chain_id, method, target, body, **kwargs)}


def code_of(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


# -- 1. signed reads ---------------------------------------------------------------------------

def test_a_signed_read_covers_the_query_string(regulator: Client, http: httpx.Client) -> None:
    signed = header(regulator, "GET", "/audit?limit=1")
    r = http.get("/audit?limit=2", headers=signed)
    assert r.status_code == 403 and code_of(r) == "BAD_AUTH", r.text
    r = http.get("/audit?limit=1", headers=header(regulator, "GET", "/audit?limit=1"))
    assert r.status_code == 200 and r.json()["count"] <= 1
    r = http.get("/audit", params={"limit": "1", "format": "csv"},
                 headers=header(regulator, "GET", "/audit?limit=1&format=csv"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    # the SDK signs what it sends, parameters included
    assert regulator._request("GET", "/audit", params={"limit": 3}, signed=True).json()["count"] <= 3


def test_a_signed_read_header_is_used_once(regulator: Client, http: httpx.Client) -> None:
    signed = header(regulator, "GET", "/alerts")
    assert http.get("/alerts", headers=signed).status_code == 200
    again = http.get("/alerts", headers=signed)
    assert again.status_code == 403 and code_of(again) == "AUTH_REPLAY", again.text


def test_stale_and_future_dated_headers_are_refused(regulator: Client, http: httpx.Client) -> None:
    now = int(time.time() * 1000)
    for when in (now + FUTURE_SKEW_MS + 30_000, now - WINDOW_MS - 30_000, now - 4 * 60_000):
        r = http.get("/alerts", headers=header(regulator, "GET", "/alerts", now_ms=when))
        assert r.status_code == 403 and code_of(r) == "AUTH_EXPIRED", (when - now, r.text)
    assert WINDOW_MS <= 60_000 and FUTURE_SKEW_MS <= 10_000
    r = http.get("/alerts", headers=header(regulator, "GET", "/alerts", now_ms=now - 5_000))
    assert r.status_code == 200, r.text


def test_the_old_three_part_header_is_refused(regulator: Client, http: httpx.Client) -> None:
    sender, time_ms, _, sig = header(regulator, "GET", "/alerts")[HEADER].split(".")
    r = http.get("/alerts", headers={HEADER: f"{sender}.{time_ms}.{sig}"})
    assert r.status_code == 403 and code_of(r) == "BAD_AUTH"


# -- 4. bodies bounded while streaming -----------------------------------------------------------

def chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


@pytest.mark.parametrize(("method", "path", "content_type"), [
    ("POST", "/evidence/verify", "application/json"),
    ("POST", "/evidence/timestamp", "application/timestamp-query"),
    ("POST", "/query/kv/get", "application/json"),
    ("POST", "/transactions", "application/json"),
    ("POST", "/realname/clear", "application/json"),
])
def test_chunked_bodies_past_the_route_limit_get_413(http: httpx.Client, method: str, path: str,
                                                     content_type: str) -> None:
    r = http.request(method, path, content=chunks(8 * 1024 * 1024), headers={"content-type": content_type})
    assert r.status_code == 413, r.text
    assert code_of(r) == "TOO_LARGE" and "limit" in r.json()["error"]["message"]


def test_the_limit_comes_before_the_signature_check(regulator: Client, http: httpx.Client) -> None:
    signed = header(regulator, "POST", "/query/kv/get", b"x")  # signs other bytes: would be BAD_AUTH
    r = http.post("/query/kv/get", content=chunks(8 * 1024 * 1024), headers={**signed, "content-type": "application/json"})
    assert r.status_code == 413 and code_of(r) == "TOO_LARGE"
    port = httpx.URL(str(http.base_url)).port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:  # a length it will never send
        s.sendall(f"POST /query/kv/get HTTP/1.1\r\nHost: 127.0.0.1\r\n{HEADER}: {signed[HEADER]}\r\n"
                  f"Content-Length: {1 << 40}\r\n\r\n{{}}".encode())
        answer = b""
        while piece := s.recv(65536):
            answer += piece
        answer = answer.decode()
    assert answer.startswith("HTTP/1.1 413") and '"TOO_LARGE"' in answer, answer


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def chunked_upload(port: int, path: str, total: int) -> None:
    """Send ``total`` bytes chunked, as fast as the node takes them; stop when it hangs up."""
    piece = b" " * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for _ in range(total // len(piece)):
                s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            s.sendall(b"0\r\n\r\n")
            s.recv(65536)
        except OSError:
            pass  # the node answered 413 and closed: what we want


def test_concurrent_large_chunked_uploads_keep_the_node_small(live_node: RunningNode, suite_name: str) -> None:
    if suite_name != "ed25519-sha256":
        pytest.skip("the body limit does not depend on the suite")
    pid = live_node.process.pid
    before, peak, done = rss_kib(pid), 0, threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(pid))
            time.sleep(0.02)
    watcher = threading.Thread(target=watch)
    watcher.start()
    paths = ["/evidence/verify", "/evidence/timestamp", "/query/kv/get", "/evidence/verify",
             "/realname/clear", "/transactions"]
    uploads = [threading.Thread(target=chunked_upload, args=(live_node.port, p, 48 * 1024 * 1024)) for p in paths]
    for t in uploads:
        t.start()
    for t in uploads:
        t.join()
    done.set()
    watcher.join()
    grew_mib = (peak - before) / 1024
    assert grew_mib < 64, f"node grew {grew_mib:.0f} MiB for {len(paths)} uploads of 48 MiB"
    assert httpx.get(live_node.url + "/health").status_code == 200


# -- 5. private data files ------------------------------------------------------------------------

def test_data_directory_and_databases_are_private(live_node: RunningNode) -> None:
    data = live_node.home / "node"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    names = [p for p in data.iterdir() if p.name.split(".db")[0] in ("chain", "realname", "audit", "alerts")]
    assert {p.name for p in names} >= {"chain.db", "realname.db", "audit.db", "alerts.db"}
    for path in names:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


# -- 6. a client dropping mid-body ----------------------------------------------------------------

def test_a_client_dropping_mid_body_logs_one_line(live_node: RunningNode) -> None:
    log = live_node.home / "node.log"
    start = log.stat().st_size
    with socket.create_connection(("127.0.0.1", live_node.port)) as s:
        s.sendall(b"POST /evidence/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000\r\n\r\n{\"a\": ")
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while "disconnected" not in log.read_text()[start:] and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()[start:]
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if "disconnected" in line]
    assert len(lines) == 1 and "/evidence/verify" in lines[0], text[-3000:]


def test_refuses_to_start_on_a_secrets_file_readable_by_others(live_node: RunningNode, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    home = tmp_path / "copy"
    shutil.copytree(live_node.home, home, ignore=shutil.ignore_patterns("node"))
    data = home / "node"
    data.mkdir()
    (data / "realname.db").write_bytes(b"")
    os.chmod(data / "realname.db", 0o644)
    out = subprocess.run([sys.executable, "-m", "consortia.cli.main", "up", "--dir", str(home), "--port", str(free_port())],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "realname.db" in out.stderr + out.stdout and "chmod" in out.stderr + out.stdout, out.stderr


# -- 6. event streams per client -------------------------------------------------------------------

def test_one_client_cannot_hold_every_event_stream(regulator: Client, live_node: RunningNode) -> None:
    from consortia.api.events import MAX_PER_CLIENT

    with httpx.Client(base_url=live_node.url, timeout=httpx.Timeout(10.0, read=None)) as anon:
        streams = [anon.stream("GET", "/events") for _ in range(MAX_PER_CLIENT)]
        opened = [s.__enter__() for s in streams]
        try:
            assert all(r.status_code == 200 for r in opened)
            refused = anon.get("/events", timeout=10)  # a stream would time out here
            assert refused.status_code == 503 and code_of(refused) == "TOO_MANY_STREAMS"
            with anon.stream("GET", "/events", headers=header(regulator, "GET", "/events")) as member:
                assert member.status_code == 200  # a signed reader still gets one
        finally:
            for s in streams:
                s.__exit__(None, None, None)


# -- 3. the demo signer, probed as the issue did ---------------------------------------------------

def test_the_demo_signer_refuses_a_rebinding_page(live_node: RunningNode, http: httpx.Client) -> None:
    body = b'{"identity": "sh-regulator/admin", "contract": "kv", "method": "put", "args": {"key": "x", "value": 1}}'
    own = f"127.0.0.1:{live_node.port}"
    for headers in ({"Host": "evil.example", "Content-Type": "application/json"},
                    {"Host": own, "Origin": "http://evil.example", "Content-Type": "application/json"},
                    {"Host": own, "Content-Type": "text/plain"},
                    {"Host": own, "Content-Type": "application/json", "X-Forwarded-For": "127.0.0.1"}):
        r = http.post("/console/api/sign-tx", content=body, headers=headers)
        assert r.status_code == 403 and code_of(r) in ("SIGNER_DISABLED", "SIGNER_REFUSED"), (headers, r.text)
    r = http.post("/console/api/sign-tx", content=body,
                  headers={"Host": own, "Origin": f"http://{own}", "Content-Type": "application/json"})
    assert r.status_code == 200 and set(r.json()) == {"tx", "sig"}
