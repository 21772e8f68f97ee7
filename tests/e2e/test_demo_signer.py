"""The console's demo signer is off unless the node was started locally, and answers loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request

from consortia.api import console
from consortia.errors import Forbidden


def request_from(host: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/console/api/sign-tx", "headers": [],
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
