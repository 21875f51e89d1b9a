"""Remote tickets at a centre that asks for check-in: away until the holder checks in at the kiosk.

An away ticket keeps its place (its arrival time) but no counter calls it, so nobody still at home
holds a counter idle. Checking in by scanning the tracker page's QR at the kiosk makes it callable.
Whoever checks in long after the "your turn is near" SMS joins the back of the queue instead: a
place kept all day would let a remote ticket jump everyone who came while its holder stayed away.
"""

from __future__ import annotations

import re

from queueing.errors import QueueError

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
