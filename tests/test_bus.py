"""One contract for every bus backend: memory:// and a real Redis."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from eventlog.bus import Bus, bus_from_url

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["memory://", REDIS_URL])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    backend = bus_from_url(request.param)
    yield backend
    await backend.close()


async def _next(messages: AsyncIterator[dict], timeout: float = 5.0) -> dict:  # type: ignore[type-arg]
    return await asyncio.wait_for(anext(messages), timeout)


async def test_a_subscriber_receives_what_is_published_after_it_subscribed(bus: Bus) -> None:
    async with bus.subscribe("centre:T-1") as messages:
        await asyncio.sleep(0.05)  # Redis confirms subscriptions asynchronously
        await bus.publish("centre:T-1", {"seq": 1, "type": "called", "number": "A-001"})
        assert await _next(messages) == {"seq": 1, "type": "called", "number": "A-001"}


async def test_messages_arrive_in_publication_order(bus: Bus) -> None:
    async with bus.subscribe("centre:T-2") as messages:
        await asyncio.sleep(0.05)
        for seq in range(1, 21):
            await bus.publish("centre:T-2", {"seq": seq})
        assert [(await _next(messages))["seq"] for _ in range(20)] == list(range(1, 21))


async def test_channels_are_separate(bus: Bus) -> None:
    async with bus.subscribe("centre:T-3") as mine:
        await asyncio.sleep(0.05)
        await bus.publish("centre:T-4", {"seq": 1, "for": "someone else"})
        await bus.publish("centre:T-3", {"seq": 7})
        assert (await _next(mine))["seq"] == 7


async def test_every_subscriber_gets_each_message(bus: Bus) -> None:
    async with bus.subscribe("centre:T-5") as first, bus.subscribe("centre:T-5") as second:
        await asyncio.sleep(0.05)
        await bus.publish("centre:T-5", {"seq": 3, "text": "الرقم A-003"})
        assert (await _next(first))["text"] == (await _next(second))["text"] == "الرقم A-003"


async def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported bus URL"):
        bus_from_url("kafka://broker:9092")


async def test_a_subscription_that_ends_after_the_bus_closed_ends_quietly(bus: Bus) -> None:
    async with bus.subscribe("centre:T-6"):
        await bus.close()  # a server stopping closes its bus while its feeds are still leaving
