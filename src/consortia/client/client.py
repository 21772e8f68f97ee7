"""The Python SDK over the REST API.

    from consortia.client import Client
    with Client.from_home(".consortia", "hongqiao-auto/admin") as c:
        receipt = c.call("kv", "put", {"key": "a", "value": 1})
        print(c.query("kv", "get", {"key": "a"}))
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from consortia.client.proofs import verify_transaction
from consortia.client.txbuild import build_tx
from consortia.contracts.usercode import Outline
from consortia.crypto.suite import CryptoSuite, get_suite
from consortia.errors import (
    BadInput,
    Conflict,
    ConsortiaError,
    Fault,
    Forbidden,
    NotFound,
    Revert,
    TooLarge,
    Unavailable,
)
from consortia.identity.read_auth import HEADER, sign_read
from consortia.identity.wallet import Wallet, load_wallet
from consortia.ledger.records import SignedTx
from consortia.types import codec

DEFAULT_URL = "http://127.0.0.1:8700"
_BY_STATUS: dict[int, type[ConsortiaError]] = {400: BadInput, 403: Forbidden, 404: NotFound, 409: Conflict,
                                                413: TooLarge, 503: Unavailable}


class Client:
    """Talks to one or more nodes; on a connection failure it tries the next URL."""

    def __init__(self, urls: str | Sequence[str] = DEFAULT_URL, *, wallet: Wallet | None = None,
                 suite: CryptoSuite | None = None, chain_id: str | None = None, timeout: float = 60.0) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self._current = 0
        self.wallet = wallet
        self._http = httpx.Client(timeout=timeout)
        self._suite = suite
        self._chain_id = chain_id

    @classmethod
    def from_home(cls, home: str | Path, identity: str | None = None, urls: str | Sequence[str] = DEFAULT_URL,
                  **kwargs: Any) -> Client:
        """Load the chain's suite and (optionally) a member identity from a consortium directory."""
        from consortia.execution.genesis import check_genesis

        genesis_path = Path(home) / "genesis.json"
        if not genesis_path.exists():
            raise NotFound(f"no consortium at {home} (missing genesis.json)", code="NOT_INITIALISED")
        genesis = check_genesis(codec.decode(genesis_path.read_bytes()))
        suite = get_suite(genesis["suite"])
        wallet = load_wallet(Path(home), suite, identity) if identity else None
        return cls(urls, wallet=wallet, suite=suite, chain_id=genesis["chain_id"], **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.urls[self._current]

    def _request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                 signed: bool = False) -> httpx.Response:
        content = None if body is None else orjson.dumps(body)
        last: Exception | None = None
        for attempt in range(len(self.urls)):
            base = self.urls[(self._current + attempt) % len(self.urls)]
            headers = {"content-type": "application/json"} if content is not None else {}
            request = self._http.build_request(method, base + path, content=content, params=params, headers=headers)
            if signed:  # a fresh header per attempt: the node takes each one once
                request.headers[HEADER] = sign_read(self._require_wallet(), self.suite.hash, self.chain_id, method,
                                                    signed_target(request.url), content or b"")
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                last = exc
                continue
            if response.status_code == 503 and attempt + 1 < len(self.urls):
                last = _error_from(response)  # that node cannot order now; another may
                continue
            self._current = (self._current + attempt) % len(self.urls)
            if response.status_code >= 400:
                raise _error_from(response)
            return response
        raise Unavailable(f"no node reachable at {', '.join(self.urls)}: {last}", code="NODE_UNREACHABLE")

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    # -- chain info --------------------------------------------------------------------

    def chain(self) -> dict[str, Any]:
        return self._get("/chain")  # type: ignore[no-any-return]

    def health(self) -> dict[str, Any]:
        return self._get("/health")  # type: ignore[no-any-return]

    @property
    def suite(self) -> CryptoSuite:
        if self._suite is None:
            self._suite = get_suite(self.chain()["suite"])
        return self._suite

    @property
    def chain_id(self) -> str:
        if self._chain_id is None:
            self._chain_id = self.chain()["chain_id"]
        return self._chain_id

    def block(self, ref: int | str) -> dict[str, Any]:
        return self._get(f"/blocks/{ref}")  # type: ignore[no-any-return]

    def blocks(self, limit: int = 20, before: int | None = None) -> list[dict[str, Any]]:
        return self._get("/blocks", limit=limit, before=before)["blocks"]  # type: ignore[no-any-return]

    def attestations(self, height: int) -> dict[str, Any]:
        """The organisations' signed headers for a block, and whether it is final."""
        return self._get(f"/attestations/{height}")  # type: ignore[no-any-return]

    def transaction(self, tx_id: str, *, verify: bool = True) -> dict[str, Any]:
        """A committed transaction with receipt; its proofs are checked locally unless ``verify=False``."""
        view: dict[str, Any] = self._get(f"/transactions/{tx_id}")
        if verify:
            verify_transaction(self.suite, view)
        return view

    # -- writes ------------------------------------------------------------------------

    def _require_wallet(self) -> Wallet:
        if self.wallet is None:
            raise BadInput("this client has no identity; load one with Client.from_home(home, identity)",
                           code="NO_IDENTITY")
        return self.wallet

    def build(self, contract: str, method: str, args: dict[str, Any] | None = None, **kwargs: Any) -> SignedTx:
        return build_tx(self.suite, self._require_wallet(), self.chain_id, contract, method, args, **kwargs)

    def submit(self, txs: SignedTx | Sequence[SignedTx], *, wait: bool = True, timeout: float = 30.0,
               final: bool = False) -> list[dict[str, Any]]:
        """Submit signed transactions (one request); with ``wait`` return their receipts once the
        node committed them, with ``final`` once a quorum of organisations attested the block."""
        batch = [txs] if isinstance(txs, SignedTx) else list(txs)
        params = {"wait": "true" if wait else "false", "timeout": timeout, "final": "true" if final else "false"}
        if len(batch) == 1:
            return [self._request("POST", "/transactions", body=batch[0].to_wire(), params=params).json()]
        body = {"txs": [t.to_wire() for t in batch]}
        return self._request("POST", "/transactions/batch", body=body, params=params).json()["results"]  # type: ignore[no-any-return]

    def send(self, contract: str, method: str, args: dict[str, Any] | None = None, *, wait: bool = True,
             final: bool = False) -> dict[str, Any]:
        """Build, sign and submit one transaction; returns the commit view (receipt inside)."""
        return self.submit(self.build(contract, method, args), wait=wait, final=final)[0]

    def call(self, contract: str, method: str, args: dict[str, Any] | None = None) -> Any:
        """Like ``send`` but returns the method's result, raising ``Revert`` if the receipt is not ok."""
        view = self.send(contract, method, args)
        if not view.get("committed"):
            raise Unavailable(f"transaction {view['tx_id']} not committed yet", code="NOT_COMMITTED")
        receipt = view["receipt"]
        if receipt["status"] != "ok":
            raise Revert(receipt["message"], code=receipt["code"], tx_id=view["tx_id"], status=receipt["status"])
        return receipt["result"]

    def contract_proposal(self, source: str, access: dict[str, list[str]] | None = None
                          ) -> tuple[Outline, dict[str, Any] | None, str, dict[str, Any]]:
        """What proposing ``source`` (a contract's ``contract.py`` text) would ask for: its checked
        outline, the installed record of that name (None if there is none), the action
        (``install_contract`` or ``upgrade_contract``) and its params (ADR 0014)."""
        from consortia.client.contracts import deployment

        outline, params = deployment(self.suite, source, access)
        try:
            current: dict[str, Any] | None = self.query("gov", "contract", {"name": outline.name})
        except NotFound:
            current = None
        return outline, current, "install_contract" if current is None else "upgrade_contract", params

    def propose_contract(self, source: str, access: dict[str, list[str]] | None = None,
                         reason: str = "") -> dict[str, Any]:
        """Propose installing a member's contract, or upgrading to its version if one by that name
        is installed; returns the proposal."""
        _, _, action, params = self.contract_proposal(source, access)
        return self.call("gov", "propose", {"action": action, "params": params, "reason": reason})  # type: ignore[no-any-return]

    def wait_for(self, tx_id: str, timeout: float = 30.0, poll: float = 0.05) -> dict[str, Any]:
        """Poll until ``tx_id`` is committed; returns the verified transaction view."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.transaction(tx_id)
            except NotFound:
                if time.monotonic() > deadline:
                    raise
                time.sleep(poll)

    # -- reads -------------------------------------------------------------------------

    def query(self, contract: str, method: str, args: dict[str, Any] | None = None, *, signed: bool = False) -> Any:
        """Call a query method; ``signed=True`` proves who is asking (for role-restricted reads)."""
        return self._request("POST", f"/query/{contract}/{method}", body=args or {}, signed=signed).json()["result"]

    def events(self, *, contract: str | None = None, name: str | None = None, from_height: int | None = None,
               reconnect_delay: float = 0.5, max_reconnects: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield events as they commit; reconnects with Last-Event-ID so none is missed or repeated."""
        last_id: str | None = None
        reconnects = 0
        while True:
            headers = {"last-event-id": last_id} if last_id else {}
            params = {k: v for k, v in {"contract": contract, "name": name, "from_height": from_height}.items()
                      if v is not None}
            try:
                with self._http.stream("GET", self.url + "/events", params=params, headers=headers,
                                       timeout=httpx.Timeout(10.0, read=None)) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise _error_from(response)
                    for event_id, data in _parse_sse(response.iter_lines()):
                        last_id = event_id
                        yield data
            except (httpx.TransportError, httpx.StreamError):
                pass
            reconnects += 1
            if max_reconnects is not None and reconnects > max_reconnects:
                return
            self._current = (self._current + 1) % len(self.urls)
            time.sleep(reconnect_delay)

    def fetch(self, path: str, *, params: Mapping[str, str] | None = None, signed: bool = False) -> bytes:
        """The raw body of ``GET path`` (a PDF, an XML or HTML document), signed when asked."""
        return self._request("GET", path, params=dict(params or {}), signed=signed).content

    # -- traceability: EPCIS 2.0 -------------------------------------------------------

    def post_capture(self, transactions: Sequence[SignedTx]) -> dict[str, Any]:
        """Post signed ``trace.capture`` transactions to ``/epcis/capture``; returns the capture job.
        ``consortia.apps.trace.capture.capture_epcis`` builds them from an EPCISDocument."""
        body = {"transactions": [t.to_wire() for t in transactions]}
        return self._request("POST", "/epcis/capture", body=body).json()  # type: ignore[no-any-return]

    def capture_job(self, capture_id: str) -> dict[str, Any]:
        """A capture job on this node: running, success, errors, event and transaction counts."""
        return self._get(f"/epcis/capture/{quote(capture_id, safe='')}")  # type: ignore[no-any-return]

    def epcis_events(self, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """The EPCIS simple event query (``GET /epcis/events``, signed): an EPCISQueryDocument.
        ``params`` are the standard's (``MATCH_anyEPC``, ``EQ_bizStep``, ``perPage``, ...)."""
        return self._request("GET", "/epcis/events", params=dict(params or {}), signed=True).json()  # type: ignore[no-any-return]

    def epcis_event(self, event_id: str) -> dict[str, Any]:
        """One event as JSON-LD by its hash ID (``ni:///sha-256;...?ver=CBV2.0``) or eventID,
        if this member may see its payload (signed ``GET /epcis/events/{id}``, the id URL-encoded)."""
        document = self._request("GET", f"/epcis/events/{quote(event_id, safe='')}", signed=True).json()
        return document["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]  # type: ignore[no-any-return]

    # -- logistics waybills (signed reads) -----------------------------------------------

    def waybill(self, number: str) -> dict[str, Any]:
        """One waybill with its steps (``GET /waybills/{number}``), for its parties, funders and regulators."""
        return self._request("GET", f"/waybills/{quote(number, safe='')}", signed=True).json()  # type: ignore[no-any-return]

    def waybills(self, status: str = "") -> list[dict[str, Any]]:
        """The caller's waybills, as consignor, carrier or consignee (``GET /waybills``)."""
        params = {"status": status} if status else None
        return self._request("GET", "/waybills", params=params, signed=True).json()["waybills"]  # type: ignore[no-any-return]

    def waybill_epcis(self, number: str) -> dict[str, Any]:
        """The waybill's steps as an EPCISDocument (numbers as JSON numbers)."""
        return self._request("GET", f"/waybills/{quote(number, safe='')}/epcis", signed=True).json()  # type: ignore[no-any-return]

    def waybill_receivable(self, number: str) -> dict[str, Any]:
        """The receivable a closed waybill carries: what its first carrier registers with ``scf``."""
        return self._request("GET", f"/waybills/{quote(number, safe='')}/receivable", signed=True).json()  # type: ignore[no-any-return]


def signed_target(url: httpx.URL | str) -> str:
    """The path and query as they go on the wire (percent-encoded): what a signed read covers."""
    return httpx.URL(url).raw_path.decode("ascii")


def _parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    event_id, data = "", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event_id, orjson.loads("\n".join(data))
            event_id, data = "", list[str]()
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def _error_from(response: httpx.Response) -> ConsortiaError:
    try:
        body = response.json()["error"]
        code, message, details = body["code"], body["message"], body.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "HTTP_ERROR", f"HTTP {response.status_code}: {response.text[:200]}", {}
    family = _BY_STATUS.get(response.status_code, Fault)
    error = family(message, code=code, **details)
    error.status = response.status_code
    return error
