"""The messages Dor sends, in Arabic and English, each written to fit one segment where it can.

Arabic texts are UCS-2 (70 characters a segment), English ones GSM-7 (160). A rendered message
longer than MAX_SEGMENTS is refused, not sent: a parameter that long is a bug or an attack.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass

from sms_gateway.segments import Cost, cost

MAX_SEGMENTS = 3
LANGUAGES = ("ar", "en")
# Typographic characters that would turn a whole English message into UCS-2 (70, not 160, characters
# a segment), replaced by their GSM-7 look-alikes. Arabic messages are UCS-2 anyway.
GSM7_SUBSTITUTES = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."})
log = logging.getLogger(__name__)

TEMPLATES: dict[str, dict[str, str]] = {
    "otp": {
        "ar": "رمز التحقق من دور: {code}\nصالح {minutes} دقائق. لا تعطه لأحد.",
        "en": "Dor verification code: {code}\nValid for {minutes} minutes. Never share it.",
    },
    "booking_confirmed": {
        "ar": "موعدك {date} {time}\n{centre}\nالرمز {code}",
        "en": "Appointment booked: {centre}, {date} at {time}. Code: {code}",
    },
    "reminder": {
        "ar": "تذكير: موعدك غداً {time} في {centre}، الرمز {code}. للإلغاء: {link}",
        "en": "Reminder: your appointment is tomorrow at {time}, {centre}. Code {code}. Cancel: {link}",
    },
    # Every message about a ticket ends with its tracker's address, on a line of its own so that
    # phones make it a link: the place in line, live, and the QR to scan at the kiosk.
    "turn_near": {
        "ar": "اقترب دورك {number}: أمامك {ahead}. توجه إلى {centre} الآن.\n{link}",
        "en": "Your turn is near ({number}): {ahead} ahead of you. Please come to {centre} now.\n{link}",
    },
    # A remote ticket not checked in yet (docs/queueing.md): its place is kept until the kiosk scan.
    "turn_near_check_in": {
        # Without the centre's name the Arabic fits two segments with the link: the tracker says it.
        "ar": "اقترب دورك {number}: أمامك {ahead}. تعال الآن وامسح رمز رقمك عند جهاز المركز.\n{link}",
        "en": "Your turn is near ({number}): {ahead} ahead. "
        "Come now and scan your QR at the centre's kiosk.\n{link}",
    },
    "called": {
        "ar": "الرقم {number}: تفضل إلى الشباك {counter}.\n{link}",
        "en": "Number {number}: please go to counter {counter}.\n{link}",
    },
    # A lost tracker link, sent again to the phone that took the ticket (POST .../tickets/find).
    "tracker_link": {
        "ar": "رابط متابعة دورك {number} في {centre}:\n{link}",
        "en": "Follow your ticket {number} at {centre}:\n{link}",
    },
    # A centre closed for a day (a power cut, a system down): its appointments that day are cancelled.
    "closure": {
        "ar": "{centre} مغلق يوم {date}: أُلغي موعدك {code}. احجز: {link}",
        "en": "{centre} closed on {date}; appointment {code} cancelled. Rebook: {link}",
    },
    # Once a ticket taken with a phone is served: the tracker then asks how it went (one answer).
    "feedback": {
        "ar": "شكراً لزيارتك {centre}. كيف كانت خدمتك {number}؟ قيّمها هنا:\n{link}",
        "en": "Thank you for visiting {centre}. How was your service ({number})? Rate it here:\n{link}",
    },
    # A draw's results (booking/draws.py): a place won, a place on the waiting list, a freed place
    # offered to the next on it. The link is the application's status page.
    "draw_won": {
        "ar": "فزت بالقرعة {date} {time}\n{centre}\nالرمز {code}",
        "en": "You won a place in the draw: {centre}, {date} at {time}. Code: {code}",
    },
    "draw_waiting": {
        "ar": "القرعة {draw}: لم تربح هذه المرة. رقمك على قائمة الانتظار {position}.\n{link}",
        "en": "Draw {draw}: you are number {position} on the waiting list. We will text you if a"
        " place frees up.\n{link}",
    },
    "draw_offer": {
        "ar": "تحرر لك مكان في {centre}. اقبله قبل {deadline}:\n{link}",
        "en": "A place is free for you at {centre}. Accept it by {deadline}:\n{link}",
    },
    "cancelled": {
        "ar": "أُلغي موعدك {code} في {centre} يوم {date}.",
        "en": "Your appointment {code} at {centre} on {date} is cancelled.",
    },
}


class TemplateError(ValueError):
    """A message that cannot be rendered: unknown template or language, a missing parameter, or too
    long."""


@dataclass(frozen=True)
class Rendered:
    body: str
    cost: Cost


def placeholders(template: str) -> set[str]:
    """The parameter names a template text uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(template: str, language: str, params: Mapping[str, object]) -> Rendered:
    """The text of a message and its cost; TemplateError if it cannot or must not be sent."""
    texts = TEMPLATES.get(template)
    if texts is None:
        raise TemplateError(f"unknown SMS template {template!r}")
    text = texts.get(language)
    if text is None:
        raise TemplateError(f"SMS template {template!r} has no language {language!r}")
    missing = placeholders(text) - set(params)
    if missing:
        raise TemplateError(f"SMS template {template!r} lacks {sorted(missing)}")
    body = text.format_map({name: str(params[name]) for name in placeholders(text)})
    if language != "ar":
        body = body.translate(GSM7_SUBSTITUTES)
    price = cost(body)
    if price.segments > MAX_SEGMENTS:
        log.warning(
            "refused SMS %s/%s: %d segments (%d %s units), over %d",
            template,
            language,
            price.segments,
            price.units,
            price.encoding,
            MAX_SEGMENTS,
        )
        raise TemplateError(f"SMS {template!r} would take {price.segments} segments (at most {MAX_SEGMENTS})")
    return Rendered(body, price)
