"""The ticket state machine: exactly the moves of the table are legal."""

import pytest

from queueing.states import TRANSITIONS, InvalidTransition, Move, TicketStatus, next_status

LEGAL = {
    ("waiting", "call"): "called",
    ("called", "recall"): "called",
    ("called", "start"): "serving",
    ("serving", "finish"): "done",
    ("called", "no_show"): "no_show",
    ("waiting", "cancel"): "cancelled",
    ("called", "cancel"): "cancelled",
    ("called", "transfer"): "waiting",
    ("serving", "transfer"): "waiting",
}


@pytest.mark.parametrize("status", list(TicketStatus))
@pytest.mark.parametrize("move", list(Move))
def test_only_the_moves_of_the_specification_are_legal(status: TicketStatus, move: Move) -> None:
    expected = LEGAL.get((status.value, move.value))
    if expected is None:
        with pytest.raises(InvalidTransition, match=f"a {status.value} ticket cannot"):
            next_status(status, move)
    else:
        assert next_status(status, move).value == expected


def test_finished_tickets_never_move_again() -> None:
    for status in (TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.CANCELLED):
        assert not [move for (origin, move) in TRANSITIONS if origin == status]
