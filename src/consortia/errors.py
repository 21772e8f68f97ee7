"""One root exception, a few families, and stable error codes.

Every error the platform raises on purpose is a ``ConsortiaError`` with a stable
``code`` (upper snake case, never renamed once published) and an HTTP status that
the API uses unchanged. The CLI maps the same families to exit codes.
"""

from __future__ import annotations

from typing import Any


class ConsortiaError(Exception):
    """Root of every deliberate error."""

    status = 500
    code = "INTERNAL"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.details = details

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class BadInput(ConsortiaError):
    """The caller sent something malformed: wrong type, missing field, bad encoding."""

    status = 400
    code = "BAD_INPUT"


class TooLarge(BadInput):
    status = 413
    code = "TOO_LARGE"


class NotFound(ConsortiaError):
    status = 404
    code = "NOT_FOUND"


class Forbidden(ConsortiaError):
    """The caller is known but may not do this."""

    status = 403
    code = "FORBIDDEN"


class Conflict(ConsortiaError):
    """The request is well formed but clashes with what already exists."""

    status = 409
    code = "CONFLICT"


class TxRejected(ConsortiaError):
    """A transaction failed validation (signature, membership, replay, expiry...).

    Raised at submission; during block execution it becomes a receipt code instead.
    """

    status = 400
    code = "TX_REJECTED"


class Revert(ConsortiaError):
    """A contract refused the call. Recorded in the receipt; state is rolled back."""

    status = 409
    code = "REVERTED"


class Unavailable(ConsortiaError):
    status = 503
    code = "UNAVAILABLE"


class Fault(ConsortiaError):
    """Something broke on our side; never the caller's fault."""

    status = 500
    code = "INTERNAL"
