"""The console's demo signer is off unless the node was started locally, and answers loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request

from consortia.api import console
from consortia.errors import Forbidden


def request_from(host: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/console/api/identities",
                    "headers": [(b"host", b"127.0.0.1:8700")],
                    "client": (host, 40000), "query_string": b""})


def test_signer_is_off_without_the_consortium_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(console.SIGNER_ENV, raising=False)
    with pytest.raises(Forbidden) as refused:
        console.require_signer(request_from("127.0.0.1"))
    assert refused.value.code == "SIGNER_DISABLED"
    monkeypatch.setenv(console.SIGNER_ENV, str(tmp_path))  # no genesis.json there
    assert console.signer_home() is None


def test_signer_answers_loopback_clients_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "genesis.json").write_text("{}")
    monkeypatch.setenv(console.SIGNER_ENV, str(tmp_path))
    assert console.require_signer(request_from("127.0.0.1")) == tmp_path
    assert console.require_signer(request_from("::1")) == tmp_path
    for outsider in ("10.0.0.7", "192.168.1.20", "2001:db8::1"):
        with pytest.raises(Forbidden):
            console.require_signer(request_from(outsider))


def request_with(headers: dict[str, str], host: str = "127.0.0.1", method: str = "POST") -> Request:
    return Request({"type": "http", "method": method, "path": "/console/api/sign-tx", "scheme": "http",
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                    "client": (host, 40000), "query_string": b"", "server": ("127.0.0.1", 8700)})


GOOD = {"Host": "127.0.0.1:8700", "Origin": "http://127.0.0.1:8700", "Content-Type": "application/json"}


@pytest.mark.parametrize("changed", [
    {"Host": "evil.example"},  # DNS rebinding: the page's own name, resolving to 127.0.0.1
    {"Host": "evil.example:8700"},
    {"Host": "127.0.0.1.evil.example:8700"},
    {"Origin": "http://evil.example"},
    {"Origin": "http://127.0.0.1:9999"},
    {"Origin": "null"},
    {"Content-Type": "text/plain"},
    {"Content-Type": "application/x-www-form-urlencoded"},
    {"Content-Type": ""},
    {"Forwarded": "for=127.0.0.1"},
    {"X-Forwarded-For": "127.0.0.1"},
    {"X-Real-IP": "127.0.0.1"},
])
def test_signer_refuses_foreign_hosts_origins_content_types_and_proxies(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, changed: dict[str, str]) -> None:
    (tmp_path / "genesis.json").write_text("{}")
    monkeypatch.setenv(console.SIGNER_ENV, str(tmp_path))
    assert console.require_signer(request_with(GOOD)) == tmp_path
    with pytest.raises(Forbidden) as refused:
        console.require_signer(request_with({**GOOD, **changed}))
    assert refused.value.code in ("SIGNER_DISABLED", "SIGNER_REFUSED")


def test_signer_accepts_loopback_names_and_a_same_origin_browser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "genesis.json").write_text("{}")
    monkeypatch.setenv(console.SIGNER_ENV, str(tmp_path))
    for host in ("localhost:8700", "127.0.0.1", "[::1]:8700", "127.0.0.2:8700"):
        headers = {"Host": host, "Origin": f"http://{host}", "Content-Type": "application/json; charset=utf-8"}
        assert console.require_signer(request_with(headers)) == tmp_path
    no_origin = {"Host": "127.0.0.1:8700", "Content-Type": "application/json"}  # curl, the SDK
    assert console.require_signer(request_with(no_origin)) == tmp_path
    listing = request_with({"Host": "localhost:8700"}, method="GET")
    assert console.require_signer(listing) == tmp_path
    with pytest.raises(Forbidden):
        console.require_signer(request_with({"Host": "evil.example:8700"}, method="GET"))
