"""How many SMS segments a text costs: GSM-7 when every character has a septet, UCS-2 otherwise.

GSM 03.38: one segment carries 160 septets (153 when concatenated, the rest holds the UDH); the
extension characters (^ { } \\ [ ~ ] | €) take two septets. UCS-2: 70 UTF-16 units, 67 concatenated.
Arabic is always UCS-2, so an Arabic message has 70 characters before it costs double.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class Cost:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


# (single-segment capacity, capacity per segment of a concatenated message)
CAPACITY = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}


def cost(text: str) -> Cost:
    """The encoding a text needs and how many segments it takes."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        encoding = Encoding.GSM7
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    else:
        encoding = Encoding.UCS2
        units = len(text.encode("utf-16-be")) // 2
    single, multi = CAPACITY[encoding]
    segments = 1 if units <= single else math.ceil(units / multi)
    return Cost(encoding, units, segments)
