"""The named refusals of the queue engine; the API maps each `code` to an HTTP answer."""

from __future__ import annotations

from datetime import datetime

from config.errors import Refused


class QueueError(Refused):
    """A request the engine refuses in the current state."""

    code = "queue_error"


class ServiceNotOffered(QueueError):
    code = "service_not_offered"
    http_status = 422


class NotForWalkIn(QueueError):
    code = "service_not_walk_in"


class IntakeStopped(QueueError):
    code = "intake_stopped"


class IntakeUnchanged(QueueError):
    code = "intake_unchanged"


class CentreOnNode(QueueError):
    """The central does not change the queue of a centre that runs on its own node (docs/centre-node.md)."""

    code = "centre_on_node"


class CentreClosed(QueueError):
    code = "centre_closed"

    def __init__(self, message: str, /, *, next_opening: datetime | None, **params: object) -> None:
        super().__init__(message, **params)
        self.next_opening = next_opening

    def headers(self) -> dict[str, str]:
        return {"X-Next-Opening": self.next_opening.isoformat()} if self.next_opening else {}


class CounterTaken(QueueError):
    code = "counter_taken"


class CounterClosed(QueueError):
    code = "counter_closed"


class CounterPaused(QueueError):
    code = "counter_paused"


class CounterBusy(QueueError):
    code = "counter_busy"


class NoCurrentTicket(QueueError):
    code = "no_current_ticket"


class NoShowTooEarly(QueueError):
    code = "no_show_too_early"


class TicketNotWaiting(QueueError):
    code = "ticket_not_waiting"


class TicketChanged(QueueError):
    """Another request changed the ticket between this one's read and its write."""

    code = "ticket_changed"


class InvalidMove(QueueError):
    code = "invalid_move"


class AlreadyMovedBack(QueueError):
    """A ticket's holder may say "I'm running late" once: a second move would be a slow way to wait."""

    code = "already_moved_back"


class AppointmentKeepsItsTime(QueueError):
    """An appointment is ordered by its time once due: moving its arrival back would change nothing."""

    code = "appointment_keeps_its_time"


class NobodyBehind(QueueError):
    code = "nobody_behind"
