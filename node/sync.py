"""At a centre node: the link to the central, a task of the server's event loop (docs/centre-node.md).

Every `DOR_NODE_SYNC_S` the node asks the central for its head of the centre's log, then pushes what
follows, a batch at a time, until the central has it all. The node keeps nothing about the sync but
its database: after a crash, a cut or a refusal it asks the head again, so each entry reaches the
central exactly once. While the central cannot be reached the centre goes on serving; the node
says so once in its log, and once more when the link is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from sqlmodel import Session

from eventlog.log import last_seq
from node.push import next_push

log = logging.getLogger(__name__)
Read = Callable[[Callable[[Session], Any]], Awaitable[Any]]
REFUSED_RETRY_S = 60.0  # a revoked credential or a refused batch: an operator must act; ask again rarely
TIMEOUT_S = 10.0


@dataclass
class LinkState:
    """What the node knows of its link: shown on its own health page and in its log."""

    up: bool = False
    central_seq: int = 0  # the central's head, as last heard
    refused: str = ""  # why the central refused the last call, if it did


class Link:
    """Pushes the centre's log to the central, in order, for as long as the server runs."""

    def __init__(
        self,
        *,
        read: Read,
        centre_id: int,
        client: httpx2.AsyncClient,
        interval_s: float,
    ) -> None:
        self.read = read
        self.centre_id = centre_id
        self.client = client
        self.interval_s = interval_s
        self.state = LinkState()

    async def run(self) -> None:
        while True:
            try:
                await self.sync()
                wait = self.interval_s
            except (httpx2.HTTPError, Unavailable) as exc:
                if self.state.up:
                    log.warning("the central cannot be reached (%s): the centre goes on serving", exc)
                self.state.up = False
                wait = self.interval_s
            except Refused as exc:
                if self.state.refused != str(exc):
                    log.error("the central refused the node: %s", exc)
                self.state.up, self.state.refused = False, str(exc)
                wait = REFUSED_RETRY_S
            await asyncio.sleep(wait)

    async def sync(self) -> None:
        """Asks the central's head, then pushes until the central holds the whole log."""
        central = self._answer(await self.client.get("/api/v1/node/log"))
        if not self.state.up:
            log.info("the central is reachable; it holds the centre's log up to %d", central["seq"])
        self.state.up, self.state.refused, self.state.central_seq = True, "", central["seq"]
        while True:
            head, body = await self.read(self._next)
            if not body["events"]:
                return
            answer = self._answer(await self.client.post("/api/v1/node/log", json=body))
            self.state.central_seq = answer["seq"]
            if answer["seq"] >= head:
                return

    def _next(self, session: Session) -> tuple[int, dict[str, Any]]:
        head = last_seq(session, centre_id=self.centre_id)
        return head, next_push(session, centre_id=self.centre_id, after_seq=self.state.central_seq, head=head)

    @staticmethod
    def _answer(response: httpx2.Response) -> dict[str, Any]:
        if response.status_code == 200:
            answer: dict[str, Any] = response.json()
            return answer
        if response.status_code >= 500:
            raise Unavailable(f"the central answered {response.status_code}")
        error = response.json().get("error", {}) if "json" in response.headers.get("content-type", "") else {}
        raise Refused(
            f"{response.status_code} {error.get('code', '')}: {error.get('message', response.text[:200])}"
        )


class Refused(Exception):
    """The central answered, and not with what the node asked for."""


class Unavailable(Exception):
    """The central answered that it cannot serve now (5xx): as if it could not be reached."""
