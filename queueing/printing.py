"""The paper ticket for 80 mm thermal printers, as ESC/POS.

Plain ESC/POS text cannot shape Arabic, so the text is drawn with Pillow (libraqm shapes it) into an
image the printer prints as a raster; the QR code uses the printer's own QR command, which is sharper
and smaller than an image. The same image is served as PNG for looking at and for browser printing.
"""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

WIDTH = 576  # printable dots of an 80 mm head at 203 dpi
FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"))
# Each line is in one script, drawn with a face that has its glyphs (Noto Sans Arabic has the
# punctuation and Arabic-Indic digits; Noto Sans the Latin); DejaVu, which has both, is the fallback.
ARABIC = ("NotoSansArabic-Regular.ttf", "DejaVuSans.ttf")
ARABIC_BOLD = ("NotoSansArabic-Bold.ttf", "DejaVuSans-Bold.ttf")
LATIN = ("NotoSans-Regular.ttf", "DejaVuSans.ttf")
LATIN_BOLD = ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf")
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


class PrinterError(Exception):
    """The printer could not be reached or refused the job."""


@dataclass(frozen=True)
class PaperTicket:
    """What goes on paper: numbers and names only, nothing personal."""

    centre_ar: str
    centre_en: str
    service_ar: str
    service_en: str
    number: str
    ahead: int | None
    wait_minutes: int | None
    issued: datetime  # in the centre's time zone
    language: str  # the ticket's: the time of issue is written in it
    tracking_url: str


@dataclass(frozen=True)
class Line:
    """One line of the paper ticket, centred, in one script."""

    text: str
    faces: tuple[str, ...]
    size: int


@cache
def _font(kind: tuple[str, ...], size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for directory in FONT_DIRS:
        for name in kind:
            if (directory / name).is_file():
                return ImageFont.truetype(str(directory / name), size, layout_engine=ImageFont.Layout.RAQM)
    return ImageFont.load_default(size)


def ticket_lines(ticket: PaperTicket) -> list[Line]:
    """What the ticket says, line by line: Arabic first, each fact in English under it; the time
    of issue in the ticket's language, with Arabic-Indic digits in Arabic."""

    def arabic(text: str) -> str:
        return text.translate(_ARABIC_DIGITS)

    lines = [
        Line(ticket.centre_ar, ARABIC_BOLD, 30),
        Line(ticket.centre_en, LATIN, 22),
        Line(ticket.service_ar, ARABIC, 36),
        Line(ticket.service_en, LATIN, 26),
        Line(ticket.number, LATIN_BOLD, 120),
    ]
    if ticket.ahead is not None:
        lines.append(Line(arabic(f"عدد من قبلك: {ticket.ahead}"), ARABIC, 28))
        lines.append(Line(f"People ahead of you: {ticket.ahead}", LATIN, 24))
    if ticket.wait_minutes is not None:
        lines.append(Line(arabic(f"الانتظار المتوقع: نحو {ticket.wait_minutes} دقيقة"), ARABIC, 28))
        lines.append(Line(f"Estimated wait: about {ticket.wait_minutes} min", LATIN, 24))
    when = ticket.issued.strftime("%Y/%m/%d %H:%M")
    if ticket.language == "ar":
        lines.append(Line(arabic(f"وقت الإصدار: {when}"), ARABIC, 26))
    else:
        lines.append(Line(f"Issued: {when}", LATIN, 24))
    lines.append(Line("امسح الرمز لمتابعة دورك", ARABIC, 24))
    lines.append(Line("Scan the code to follow your turn", LATIN, 22))
    return lines


def render_image(ticket: PaperTicket) -> Image.Image:
    """The ticket's text as a 1-bit image, 576 dots wide, Arabic first."""
    lines = ticket_lines(ticket)
    heights: list[int] = []
    for line in lines:
        box = _font(line.faces, line.size).getbbox(line.text)
        heights.append(int(box[3] - box[1]) + 18)
    image = Image.new("1", (WIDTH, sum(heights) + 20), 1)
    draw = ImageDraw.Draw(image)
    y = 10
    for line, height in zip(lines, heights, strict=True):
        font = _font(line.faces, line.size)
        box = draw.textbbox((0, 0), line.text, font=font)
        draw.text((int(WIDTH - (box[2] - box[0])) // 2 - box[0], y - box[1]), line.text, font=font, fill=0)
        y += height
    return image


def render_png(ticket: PaperTicket) -> bytes:
    """The ticket as PNG (to look at, or for browser printing)."""
    out = io.BytesIO()
    render_image(ticket).convert("L").save(out, format="PNG")
    return out.getvalue()


def render_escpos(ticket: PaperTicket) -> bytes:
    """The whole print job: the text as a raster image, the tracker URL as a native QR code, a cut."""
    printer = Dummy()
    printer.hw("INIT")
    printer.image(render_image(ticket))  # already the full width of the paper
    printer.set(align="center")
    printer.qr(ticket.tracking_url, native=True, size=7)
    printer.text("\n")
    printer.cut()
    return bytes(printer.output)


def send(printer_url: str, job: bytes, *, timeout: float = 5.0) -> None:
    """Sends a job to a network printer, `tcp://host:9100` (raw ESC/POS, as most thermal printers take)."""
    parts = urlsplit(printer_url)
    if parts.scheme != "tcp" or not parts.hostname:
        raise PrinterError(f"unsupported printer address {printer_url!r}; use tcp://host:port")
    try:
        with socket.create_connection((parts.hostname, parts.port or 9100), timeout=timeout) as connection:
            connection.sendall(job)
    except OSError as exc:
        raise PrinterError(f"printer {printer_url} unreachable: {exc}") from exc
