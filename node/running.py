"""A centre node's start and stop inside `dor serve` (DOR_ROLE=node, docs/centre-node.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import httpx2
from sqlmodel import Session

from config.db import Database
from config.settings import Settings
from node.sync import TIMEOUT_S, Link, Read
from organisation.snapshot import organisation

log = logging.getLogger(__name__)
TICKET_ID_SHIFT = 32  # a node's ticket ids start at its centre's id times 2^32


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
    settings: Settings, database: Database, read: Read, *, transport: httpx2.AsyncBaseTransport | None
) -> Running:
    """Numbers the node's tickets from its centre's range and starts pushing its log to the central."""

    def centre_id(session: Session) -> int | None:
        centre = organisation(session).centres.get(settings.node_centre)
        return centre.id if centre else None

    found = await read(centre_id)
    if found is None:
        raise NodeSetupError(
            f"this node's database holds no centre {settings.node_centre!r} (DOR_NODE_CENTRE)"
        )
    database.ticket_id_base = found << TICKET_ID_SHIFT
    token = settings.node_token.get_secret_value() if settings.node_token else ""
    client = httpx2.AsyncClient(
        base_url=settings.central_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT_S,
        transport=transport,
    )
    link = Link(read=read, centre_id=found, client=client, interval_s=settings.node_sync_s)
    log.info("centre node of %s: pushing its log to %s", settings.node_centre, settings.central_url)
    return Running(link, asyncio.create_task(link.run(), name="node link"), client)
