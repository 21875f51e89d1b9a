"""Remote tickets at a centre that asks for check-in: away until the holder checks in at the kiosk.

An away ticket keeps its place (its arrival time) but no counter calls it, so nobody still at home
holds a counter idle. Checking in by scanning the tracker page's QR at the kiosk makes it callable.
Whoever checks in long after the "your turn is near" SMS joins the back of the queue instead: a
place kept all day would let a remote ticket jump everyone who came while its holder stayed away.
Without the QR at hand (a flat phone, a screenshot lost), the holder types the ticket's number and
the last four digits of the phone it was taken with: the number alone is on the hall's screen.
"""

from __future__ import annotations

import re
import secrets

from identity.phones import to_ascii_digits
from queueing.errors import QueueError

# A ticket's number as typed: its queue's letter, an optional dash, its digits ("a12" is A-012).
TYPED_NUMBER = re.compile(r"^([A-Z])-?([0-9]{1,4})$")
# The tracker page's address, as a scanner types the QR: its last part is the ticket's token.
TRACKER_LINK = re.compile(r"/t/([A-Za-z0-9_-]{16,64})/?$")


class CannotCheckIn(QueueError):
    """A ticket that cannot be checked in; `code` is `already_checked_in` or `ticket_not_waiting`."""

    def __init__(self, code: str, message: str, /, **params: object) -> None:
        super().__init__(message, **params)
        self.code = code


def scanned_token(scanned: str) -> str | None:
    """The ticket token in a scanned tracker link, or None when the text is something else."""
    match = TRACKER_LINK.search(scanned.strip())
    return match.group(1) if match else None


def typed_number(typed: str) -> str | None:
    """The ticket number as numbering.py writes it (A-012), from what was typed in either digits;
    None when it is not one."""
    match = TYPED_NUMBER.match(to_ascii_digits(typed).upper().replace(" ", ""))
    return f"{match.group(1)}-{int(match.group(2)):03d}" if match else None


def phone_ends_with(phone: str | None, last4: str) -> bool:
    """Whether the phone a ticket was taken with ends with these four digits (either script)."""
    return phone is not None and secrets.compare_digest(phone[-4:], to_ascii_digits(last4))
