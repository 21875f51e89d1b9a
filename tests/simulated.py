"""Simulation runs on the real engine, with the database kept open to read what it wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from config.db import Database
from queueing.policy import PolicyConfig
from scheduling.simulation.database_engine import DatabaseEngine
from scheduling.simulation.run import Outcome, Simulation
from scheduling.simulation.scenario import Scenario
from server.simulate_cli import throwaway_database


@contextmanager
def on_database(scenario: Scenario, *, seed: int) -> Iterator[tuple[Outcome, Database]]:
    """The scenario run through the database engine, and its database until the block ends."""
    with throwaway_database() as database:
        engine = DatabaseEngine(database, scenario=scenario, policy=PolicyConfig())
        yield Simulation(scenario, engine=engine, seed=seed).run(), database
