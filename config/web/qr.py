"""QR codes as SVG answers: a ticket's tracker, an appointment's page, a centre's remote-ticket page."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from starlette.responses import Response


def qr_svg_response(url: str) -> Response:
    """An SVG QR code of `url`; it never changes, so clients may keep it a day."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})
