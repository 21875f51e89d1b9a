"""Once per tick across processes: every process schedules every job, and each run first claims its
tick (the job's name and the number of its interval since the epoch) with an insert the database
keeps unique. The process that inserts runs the job; the others skip that tick. Each interval holds
one firing of every live process, so a tick is run as long as one process is alive: when the one
that ran the last ticks dies, another runs the next tick."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col

from config.db import UtcDateTime


class JobRun(SQLModel, table=True):
    """One run of a periodic job: which tick, by which process, when."""

    __tablename__ = "job_run"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    tick: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    holder: str = Field(sa_column=Column(String(96), nullable=False))
    started_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


def tick_of(now: datetime, interval_s: float) -> int:
    return int(now.timestamp() // interval_s)


def claim_tick(session: Session, *, name: str, interval_s: float, holder: str, now: datetime) -> bool:
    """True if this process is the one to run `name` for the tick `now` falls in."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(JobRun.__table__)  # type: ignore[attr-defined]
        .values(name=name, tick=tick_of(now, interval_s), holder=holder, started_at=now)
        .on_conflict_do_nothing()
        .returning(col(JobRun.tick))
    )
    return session.execute(statement).first() is not None


def forget_runs(session: Session, *, before: datetime) -> None:
    """Drops the record of runs older than `before` (it is only needed for the current ticks)."""
    session.execute(delete(JobRun).where(col(JobRun.started_at) < before))


KEEP_RUNS = timedelta(days=1)
