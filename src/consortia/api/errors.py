"""One JSON error shape for every route: ``{"error": {"code", "message", "details"?}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from consortia.api.responses import OrjsonResponse
from consortia.errors import ConsortiaError

log = logging.getLogger(__name__)

HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable, upper snake case"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def install(app: FastAPI) -> None:
    @app.exception_handler(ConsortiaError)
    async def _consortia(_: Request, exc: ConsortiaError) -> OrjsonResponse:
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        return OrjsonResponse(error_body(exc.code, exc.message, exc.details or None), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> OrjsonResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return OrjsonResponse(error_body("BAD_INPUT", message), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return OrjsonResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _fault(_: Request, exc: Exception) -> OrjsonResponse:
        log.exception("unhandled error")
        return OrjsonResponse(error_body("INTERNAL", f"internal error ({type(exc).__name__})"), status_code=500)
