"""At a centre node: the link to the central, a task of the server's event loop (docs/centre-node.md).

Every `DOR_NODE_SYNC_S` the node asks the central for the organisation and the centre's appointments
(nothing when they are unchanged) and for its head of the centre's log, then pushes what follows, a
batch at a time, until the central has it all. The node keeps nothing about the sync but its
database: after a crash, a cut or a refusal it asks the head again, so each entry reaches the central
exactly once. While the central cannot be reached the centre goes on serving; the node says so once
in its log, and once more when the link is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2
from anyio import to_thread
from sqlmodel import Session

from config.clock import Clock
from config.db import Database
from eventlog.log import last_seq
from node.appointments import import_appointments
from node.organisation import import_organisation
from node.pulls import APPOINTMENTS, ORGANISATION, forget, held_fingerprint, held_version, last_pulled, pulled
from node.push import next_push
from organisation.models import Staff
from organisation.snapshot import organisation
from organisation.staff import disable_staff

log = logging.getLogger(__name__)
REFUSED_RETRY_S = 60.0  # a revoked credential or a refused batch: an operator must act; ask again rarely
TIMEOUT_S = 10.0


@dataclass
class Heard:
    """What the node last heard from the central (its log says when this changes)."""

    up: bool = False
    central_seq: int = 0  # the central's head, as last heard
    refused: str = ""  # why the central refused the last call, if it did


class Link:
    """Pulls the organisation and pushes the centre's log, for as long as the server runs."""

    def __init__(
        self,
        *,
        database: Database,
        centre_code: str,
        client: httpx2.AsyncClient,
        interval_s: float,
        credentials_ttl: timedelta,
        clock: Clock,
    ) -> None:
        self.database = database
        self.centre_code = centre_code
        self.client = client
        self.interval_s = interval_s
        self.credentials_ttl = credentials_ttl
        self.clock = clock
        self.centre_id = 0  # known once the organisation holds the centre (`pull_organisation`)
        self.state = Heard()

    async def run(self) -> None:
        wait = self.interval_s  # the server's start has just pulled the organisation
        while True:
            await asyncio.sleep(wait)
            try:
                await self.sync()
                wait = self.interval_s
            except (httpx2.HTTPError, Unavailable) as exc:
                if self.state.up:
                    log.warning("the central cannot be reached (%s): the centre goes on serving", exc)
                self.state.up = False
                await self.expire_credentials()
                wait = self.interval_s
            except Refused as exc:
                if self.state.refused != str(exc):
                    log.error("the central refused the node: %s", exc)
                self.state.up, self.state.refused = False, str(exc)
                wait = REFUSED_RETRY_S
            except Exception:  # a round that failed otherwise must not end the link: the next tries again
                log.exception("the link's round failed")
                self.state.up = False
                wait = REFUSED_RETRY_S

    async def sync(self) -> None:
        """The organisation, then the central's head; then pushes until the central holds the whole log."""
        await self.pull_organisation()
        await self.pull_appointments()
        mine = await to_thread.run_sync(self._read, lambda s: last_seq(s, centre_id=self.centre_id))
        central = self._answer(await self.client.get("/api/v1/node/log", params={"head": mine}))
        if not self.state.up:
            log.info("the central is reachable; it holds the centre's log up to %d", central["seq"])
        self.state.up, self.state.refused, self.state.central_seq = True, "", central["seq"]
        while True:
            head, body = await to_thread.run_sync(self._read, self._next)
            if head <= self.state.central_seq:
                return
            answer = self._answer(
                await self.client.post(
                    "/api/v1/node/log", content=body, headers={"content-type": "application/json"}
                )
            )
            self.state.central_seq = answer["seq"]
            if answer["seq"] >= head:
                return

    async def pull_organisation(self) -> None:
        """The central's organisation into the node's database, when it changed; the time of the
        answer either way, which the staff's sign-in at the node counts from."""
        known = await to_thread.run_sync(self._read, lambda s: held_version(s, name=ORGANISATION))
        query = {"known": known} if known is not None else {}
        answer = self._answer(await self.client.get("/api/v1/node/organisation", params=query))
        at = self.clock()

        def write(session: Session) -> int | None:
            if not answer["unchanged"]:
                import_organisation(session, answer)
            pulled(session, name=ORGANISATION, version=answer["version"], at=at)
            centre = organisation(session).centres.get(self.centre_code)
            return centre.id if centre else None

        found = await to_thread.run_sync(self._write, write)
        if found is None:
            raise Refused(f"the central's organisation has no centre {self.centre_code!r}")
        self.centre_id = found

    async def pull_appointments(self) -> None:
        """The centre's appointments for the coming days, when they changed at the central."""
        known = await to_thread.run_sync(self._read, lambda s: held_fingerprint(s, name=APPOINTMENTS))
        query = {"known": known} if known else {}
        answer = self._answer(await self.client.get("/api/v1/node/appointments", params=query))
        at = self.clock()

        def write(session: Session) -> None:
            if not answer["unchanged"]:
                import_appointments(session, answer["appointments"])
            pulled(session, name=APPOINTMENTS, version=answer["fingerprint"], at=at)

        await to_thread.run_sync(self._write, write)

    async def expire_credentials(self) -> None:
        """Once the central has not answered about the organisation for `credentials_ttl`, the node
        stops taking its staff's passwords: their accounts here are disabled and their sessions end,
        until the next answer brings the central's accounts back."""
        at = self.clock()

        def expire(session: Session) -> int:
            last = last_pulled(session, name=ORGANISATION)
            if last is None or at - last <= self.credentials_ttl:
                return 0
            active = [s for s in organisation(session).staff.values() if s.active]
            for staff in active:
                held = session.get(Staff, staff.id)
                if held is not None:
                    disable_staff(session, staff=held, now=at)
            forget(session, name=ORGANISATION)  # the next answer brings the accounts back
            return len(active)

        expired = await to_thread.run_sync(self._write, expire)
        if expired:
            log.error(
                "the central has not answered for over %g days: %d staff accounts no longer sign in here",
                self.credentials_ttl.total_seconds() / 86400,
                expired,
            )

    async def holds_centre(self) -> bool:
        """Whether the node's database has its centre (from an earlier pull); it then knows its id."""

        def find(session: Session) -> int | None:
            centre = organisation(session).centres.get(self.centre_code)
            return centre.id if centre else None

        found = await to_thread.run_sync(self._read, find)
        self.centre_id = found or 0
        return found is not None

    def _read(self, work: Callable[[Session], Any]) -> Any:
        with self.database.read() as session:
            return work(session)

    def _write(self, work: Callable[[Session], Any]) -> Any:
        with self.database.write() as session:
            return work(session)

    def _next(self, session: Session) -> tuple[int, bytes]:
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
