"""Phone numbers: parsed with the phonenumbers library, Syria by default, stored as E.164."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "SY"
# Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹) digits, as people type them.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


class InvalidPhone(ValueError):
    """Not a phone number Dor can send SMS to."""


def to_ascii_digits(text: str) -> str:
    """Replaces Arabic-Indic digits by ASCII ones."""
    return text.translate(_DIGITS)


def normalise_phone(text: str, *, region: str = DEFAULT_REGION) -> str:
    """The E.164 form of a phone number typed in any common way; InvalidPhone otherwise."""
    try:
        number = phonenumbers.parse(to_ascii_digits(text.strip()), region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"not a phone number: {text!r}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"not a valid phone number: {text!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
