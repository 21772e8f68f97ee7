"""Options and output shared by every command; errors become exit codes in one place."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from consortia.errors import (
    BadInput,
    Conflict,
    ConsortiaError,
    Forbidden,
    NotFound,
    Revert,
    TxRejected,
    Unavailable,
)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_HOME = ".consortia"
DEFAULT_URL = "http://127.0.0.1:8700"

# ``--crypto`` names a suite by its family; genesis records the full suite name.
CRYPTO_CHOICES: dict[str, str] = {"ed25519": "ed25519-sha256", "sm": "sm2-sm3"}

# Exit codes: 1 fault, 2 usage (click), 3 bad input, 4 not found, 5 forbidden, 6 conflict/revert, 7 unavailable.
EXIT_CODES: list[tuple[type[ConsortiaError], int]] = [
    (Revert, 6), (Conflict, 6), (TxRejected, 3), (BadInput, 3), (NotFound, 4), (Forbidden, 5), (Unavailable, 7),
]


def exit_code_for(error: ConsortiaError) -> int:
    for family, code in EXIT_CODES:
        if isinstance(error, family):
            return code
    return 1


def example(text: str) -> str:
    """An epilog that click prints verbatim: every command's help ends with an example."""
    lines = "\n".join(f"  {line}" for line in text.strip().splitlines())
    return f"\b\nExample:\n{lines}"


def home_option(fn: F) -> F:
    return click.option("--dir", "home", type=click.Path(path_type=Path), default=lambda: os.environ.get(
        "CONSORTIA_HOME", DEFAULT_HOME), show_default=DEFAULT_HOME,
        help="Consortium directory (env CONSORTIA_HOME).")(fn)


def url_option(fn: F) -> F:
    return click.option("--url", default=lambda: os.environ.get("CONSORTIA_URL", DEFAULT_URL),
                        show_default=DEFAULT_URL, help="Node API URL(s), comma separated (env CONSORTIA_URL).")(fn)


def identity_option(fn: F) -> F:
    return click.option("--as", "identity", default=lambda: os.environ.get("CONSORTIA_IDENTITY"),
                        help="Member identity <org>/<name> to sign with (env CONSORTIA_IDENTITY); "
                             "default: the first organisation's admin.")(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(fn)


def parse_json_arg(text: str | None, what: str) -> Any:
    if text is None or text == "":
        return {}
    from consortia.types import codec

    try:
        return codec.decode(text)
    except ConsortiaError as exc:
        raise BadInput(f"{what}: {exc.message}", code="BAD_ARGS") from None


def emit(value: Any, as_json: bool, human: Callable[[Any], None] | None = None) -> None:
    if as_json or human is None:
        click.echo(json.dumps(value, indent=2, ensure_ascii=False))
    else:
        human(value)


def handle_errors(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConsortiaError as exc:
            click.echo(f"error {exc.code}: {exc.message}", err=True)
            sys.exit(exit_code_for(exc))
    return wrapper  # type: ignore[return-value]


def app_command(group: click.Group, name: str, sample: str) -> Callable[[F], F]:
    """An app subcommand with the shared options (--dir, --url, --as, --json), error handling
    and an example at the end of its help."""
    def wrap(fn: F) -> F:
        fn = handle_errors(fn)
        for option in (json_option, identity_option, url_option, home_option):
            fn = option(fn)
        return group.command(name, epilog=example(sample))(fn)  # type: ignore[return-value]
    return wrap


def time_zone(client: Any = None) -> str:
    """The zone the CLI shows times in: ``CONSORTIA_TZ``, else the chain's config ``time_zone``
    (asked of the node once per client), else ``Asia/Shanghai``: the same clock as the console
    and the consumer page."""
    from consortia.types.clock import DEFAULT_TIME_ZONE

    chosen = os.environ.get("CONSORTIA_TZ")
    if chosen:
        return chosen
    if client is None:
        return DEFAULT_TIME_ZONE
    zone = getattr(client, "_display_zone", None)
    if zone is None:
        try:
            zone = (client.chain().get("config") or {}).get("time_zone") or DEFAULT_TIME_ZONE
        except ConsortiaError:
            zone = DEFAULT_TIME_ZONE
        client._display_zone = zone
    return str(zone)
