"""QR codes carrying a package's GS1 Digital Link URI (SVG or PNG, made locally by ``segno``)."""

from __future__ import annotations

import io

from consortia.errors import BadInput

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def make_qr(uri: str, fmt: str = "svg", scale: int = 6) -> bytes:
    """A QR code of ``uri`` (error correction M, quiet zone of 4 modules)."""
    import segno

    if fmt not in FORMATS:
        raise BadInput(f"format: expected svg or png, got {fmt!r:.20}", code="BAD_FORMAT")
    if not 1 <= scale <= 40:
        raise BadInput("scale: 1 to 40 pixels per module", code="BAD_ARGS")
    code = segno.make_qr(uri, error="m")
    out = io.BytesIO()
    if fmt == "svg":
        code.save(out, kind="svg", scale=scale, border=4, title=uri, xmldecl=False)
    else:
        code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
