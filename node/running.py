"""A centre node's start and stop inside `dor serve` (DOR_ROLE=node, docs/centre-node.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

import httpx2

from config.clock import Clock
from config.db import Database
from config.settings import Settings
from node.intake import TICKET_ID_SHIFT
from node.sync import TIMEOUT_S, Link, Refused, Unavailable

log = logging.getLogger(__name__)


class NodeSetupError(Exception):
    """The node cannot serve as configured."""


@dataclass
class Running:
    link: Link
    task: asyncio.Task[None]
    client: httpx2.AsyncClient

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.client.aclose()


async def start_link(
    settings: Settings, database: Database, clock: Clock, *, transport: httpx2.AsyncBaseTransport | None
) -> Running:
    """Pulls the organisation (a new node cannot serve before it has it), numbers the node's tickets
    from its centre's range, and starts the link's rounds."""
    token = settings.node_token.get_secret_value() if settings.node_token else ""
    client = httpx2.AsyncClient(
        base_url=settings.central_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT_S,
        transport=transport,
    )
    link = Link(
        database=database,
        centre_code=settings.node_centre,
        client=client,
        interval_s=settings.node_sync_s,
        credentials_ttl=timedelta(seconds=settings.node_credentials_ttl_s),
        clock=clock,
    )
    try:
        await link.pull_organisation()
    except (httpx2.HTTPError, Unavailable, Refused) as exc:
        if not await link.holds_centre():
            await client.aclose()
            raise NodeSetupError(f"a new centre node needs the central for its organisation: {exc}") from None
        log.warning("the central cannot be reached (%s): serving from the organisation held", exc)
    database.ticket_id_base = link.centre_id << TICKET_ID_SHIFT
    log.info("centre node of %s: its link to %s is up", settings.node_centre, settings.central_url)
    return Running(link, asyncio.create_task(link.run(), name="node link"), client)
