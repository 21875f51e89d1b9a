"""A ticket's tracker view (what /ws/tickets/{token} sends), read for many trackers at once.

A call moves every waiting ticket of its queue: each tracker of that queue wants a new view at the
same moment. They ask a `Batched` read (display/batched.py), which works out their standings together
(queueing's `ticket_views`): one transaction, one wait model per centre and one ordering per queue for
the lot, where each reading its own would take a transaction and an ordering apiece.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from config.clock import Clock
from display.batched import Batched
from eventlog.log import last_seq
from organisation.snapshot import organisation
from queueing.service import PolicyConfig, centres_of, find_tickets, ticket_views


@dataclass(frozen=True)
class TrackerView:
    centre_code: str
    number: str  # the ticket's number today
    seq: int  # the centre's log position read before the view: the view shows at least that
    text: str  # as sent


class TrackerViews:
    """`await get(token)`: the ticket's tracker view now, or None if no ticket has the token."""

    def __init__(
        self,
        read: Callable[[Callable[[Session], Any]], Awaitable[Any]],
        *,
        policy: PolicyConfig,
        base_url: str,
        clock: Clock,
    ) -> None:
        self.policy = policy
        self.base_url = base_url
        self.clock = clock
        self.batched: Batched[str, TrackerView] = Batched(
            lambda tokens: read(lambda s: self._read(s, tokens))
        )

    async def get(self, token: str) -> TrackerView | None:
        return await self.batched.get(token)

    def _read(self, session: Session, tokens: list[str]) -> dict[str, TrackerView]:
        centres = organisation(session).centres_by_id
        seqs = {
            centre_id: last_seq(session, centre_id=centre_id)
            for centre_id in centres_of(session, tokens=tokens)
        }
        # The tickets after the positions (display/hall.py says why): the views show at least them.
        tickets = find_tickets(session, tokens=tokens)
        views = ticket_views(session, tickets, policy=self.policy, base_url=self.base_url, now=self.clock())
        found = {}
        for ticket in tickets:
            view = views[ticket.token].model_dump(mode="json", exclude={"token", "tracking_url"})
            text = json.dumps({"type": "update", **view}, ensure_ascii=False)
            centre = centres[ticket.centre_id].code
            found[ticket.token] = TrackerView(centre, ticket.number, seqs[ticket.centre_id], text)
        return found
