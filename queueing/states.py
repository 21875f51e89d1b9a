"""The ticket's state machine: one enum and one transition table."""

from __future__ import annotations

from enum import StrEnum

from config.errors import Refused
from config.i18n import N_


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class Move(StrEnum):
    """What can happen to a ticket."""

    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    TRANSFER = "transfer"


S = TicketStatus
# (from, move) -> to. Anything absent is illegal.
TRANSITIONS: dict[tuple[TicketStatus, Move], TicketStatus] = {
    (S.WAITING, Move.CALL): S.CALLED,
    (S.CALLED, Move.RECALL): S.CALLED,
    (S.CALLED, Move.START): S.SERVING,
    (S.SERVING, Move.FINISH): S.DONE,
    (S.CALLED, Move.NO_SHOW): S.NO_SHOW,
    (S.WAITING, Move.CANCEL): S.CANCELLED,
    (S.CALLED, Move.CANCEL): S.CANCELLED,
    # A transfer sends the ticket back to waiting, in another service's queue.
    (S.CALLED, Move.TRANSFER): S.WAITING,
    (S.SERVING, Move.TRANSFER): S.WAITING,
}
ACTIVE = frozenset({S.CALLED, S.SERVING})
FINAL = frozenset({S.DONE, S.NO_SHOW, S.CANCELLED})


class InvalidTransition(Refused):
    """A move the state machine does not allow from the ticket's status."""

    code = "invalid_transition"

    def __init__(self, status: TicketStatus, move: Move) -> None:
        super().__init__(
            N_("a %(status)s ticket cannot %(move)s"), status=status.value, move=move.value.replace("_", "-")
        )
        self.status = status
        self.move = move


def next_status(status: TicketStatus, move: Move) -> TicketStatus:
    """The status after `move`, or InvalidTransition."""
    try:
        return TRANSITIONS[(status, move)]
    except KeyError:
        raise InvalidTransition(status, move) from None
