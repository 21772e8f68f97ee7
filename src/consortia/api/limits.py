"""Request bodies bounded while they stream, per route, before any route (or signature) reads them.

An ASGI middleware: a ``Content-Length`` past the route's limit is answered ``413`` at once; a
body sent without one (chunked) is counted as it arrives and refused the moment it passes the
limit. Every body being buffered also counts against one budget for the whole node, so that many
uploads at once cannot grow it without bound (``503 BUSY`` past it). A client that drops the
connection mid-body gets one log line, not a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consortia.api.errors import error_body
from consortia.apps.evidence.files import max_file_bytes
from consortia.errors import ConsortiaError, TooLarge, Unavailable

log = logging.getLogger(__name__)

KIB, MIB = 1024, 1024 * 1024
DEFAULT_LIMIT = 64 * KIB  # any route not below, any method: a signed GET hashes its (empty) body
BODY_BUDGET = 384 * MIB  # bytes of request bodies the node holds at once, over every request

# (method, path or path prefix ending in "/", limit in bytes or a function giving it, refusal code)
ROUTES: tuple[tuple[str, str, int | Callable[[], int], str], ...] = (
    ("POST", "/transactions", 2 * MIB, "TOO_LARGE"),  # api/app.py MAX_SINGLE_BODY
    ("POST", "/transactions/batch", 64 * MIB, "TOO_LARGE"),  # MAX_BATCH_BODY
    ("POST", "/query/", 2 * MIB, "TOO_LARGE"),
    ("POST", "/epcis/capture", 128 * MIB, "TOO_LARGE"),  # api/epcis.py MAX_CAPTURE_BODY
    ("PUT", "/evidence/files/", max_file_bytes, "FILE_TOO_LARGE"),
    ("POST", "/evidence/verify", 4 * MIB, "TOO_LARGE"),
    ("POST", "/evidence/timestamp", 64 * KIB, "TOO_LARGE"),
    ("POST", "/realname/clear", 64 * KIB, "TOO_LARGE"),
    ("POST", "/console/api/sign-tx", 256 * KIB, "TOO_LARGE"),
    ("POST", "/console/api/sign-read", 256 * KIB, "TOO_LARGE"),
    ("POST", "/console/api/sign-capture", 64 * MIB, "TOO_LARGE"),  # api/console.py MAX_CAPTURE_DOCUMENT
)


def limit_for(method: str, path: str) -> tuple[int, str]:
    """The body limit of a route and the code that refuses it."""
    for m, route, limit, code in ROUTES:
        if m == method and (path == route or (route.endswith("/") and path.startswith(route))):
            return (limit() if callable(limit) else limit), code
    return DEFAULT_LIMIT, "TOO_LARGE"


async def answer(send: Send, exc: ConsortiaError) -> None:
    body = orjson.dumps(error_body(exc.code, exc.message, exc.details or None))
    await send({"type": "http.response.start", "status": exc.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    def __init__(self, app: ASGIApp, budget: int = BODY_BUDGET) -> None:
        self.app = app
        self.budget = budget
        self.held = 0  # bytes of bodies received by requests still running (one event loop: no lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        limit, code = limit_for(method, path)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await answer(send, TooLarge(f"request body is {int(declared)} bytes; the limit of {method} {path} is "
                                        f"{limit} bytes", code=code, limit=limit))
            return
        received, held, complete = 0, 0, False
        refusal: ConsortiaError | None = None
        started = gone = False

        async def limited() -> Message:
            nonlocal received, held, complete, refusal, gone
            message = await receive()
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                received += size
                if received > limit:
                    refusal = TooLarge(f"request body exceeds the limit of {method} {path}: {limit} bytes",
                                       code=code, limit=limit)
                    raise refusal
                if self.held + size > self.budget:
                    refusal = Unavailable("the node is receiving too many request bodies at once; retry shortly",
                                          code="BUSY")
                    raise refusal
                self.held += size
                held += size
                complete = not message.get("more_body", False)
            elif message["type"] == "http.disconnect" and not complete and not gone:
                gone = True
                client = scope.get("client") or ("?", 0)
                log.warning("client %s:%s disconnected mid-body: %s %s after %d of %s bytes", client[0], client[1],
                            method, path, received, declared.decode() or "?")
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refusal is not None or gone:
                return  # the route's own answer to the refusal (or to nobody): ours goes instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if refusal is None and not gone:
                raise
        finally:
            self.held -= held
        if refusal is not None and not started:
            await answer(send, refusal)
