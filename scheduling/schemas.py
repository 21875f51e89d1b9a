"""The public shapes of counter balancing and centre recommendations."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from config.schemas import Strict
from organisation.schemas import Text


class RecommendationsQuery(Strict):
    service: str = Field(min_length=1, max_length=16)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class RecommendationOut(BaseModel):
    centre: str
    name: Text
    distance_km: float | None = Field(description="null when no location was given")
    estimated_wait_s: int
    open: bool = Field(
        description="open now, taking tickets for the service, and a counter serving it is open (not paused):"
        " one can be served there now"
    )
    taking_tickets: bool = Field(
        description="open now and taking tickets for the service, whether or not a counter serving it is open"
    )


class QueuePressureOut(BaseModel):
    service: str
    waiting: int
    # Seconds to empty the queue with the ready counters calling it as their own; null: none does.
    drain_s: int | None


class BalanceMoveIn(Strict):
    counter: int = Field(gt=0, lt=1000)  # as in the counters' paths; a larger one overflows the column
    service: str = Field(min_length=1, max_length=16)
    role: Literal["boosted", "backup"]  # boost a backup queue, or lower a boosted one back


class BalanceMoveOut(BaseModel):
    counter: int
    service: str
    role: Literal["boosted", "backup"]
    drain_s: int | None


class BalanceOut(BaseModel):
    """A centre's queue pressure and the balancer's moves now (applied by itself when `auto`)."""

    centre: str
    auto: bool
    queues: list[QueuePressureOut]
    moves: list[BalanceMoveOut]


class AutoBalanceIn(Strict):
    auto: bool


class CounterPlanQuery(Strict):
    weeks: int = Field(default=4, ge=1, le=52)  # the history the demand is read from


class ServiceWorkOut(BaseModel):
    service: str
    # The service's work in counters kept busy while open: tickets x mean service time / open time.
    counters_busy: float


class PlannedCounterOut(BaseModel):
    """A counter's planned queues, in the body `PUT …/counters/{counter}/services` takes, and now."""

    counter: int
    services: dict[str, float]
    backups: dict[str, float]
    now: dict[str, dict[str, float]] = Field(description='its queues now: {"services": …, "backups": …}')


class CounterPlanOut(BaseModel):
    """Each counter's own queue and backup, planned from the demand of the last weeks
    (docs/scheduling.md, "Skill chains"); a recommendation, applied counter by counter."""

    centre: str
    weeks: int
    tickets: int  # the tickets the demand was read from
    demand: list[ServiceWorkOut]
    counters: list[PlannedCounterOut]
