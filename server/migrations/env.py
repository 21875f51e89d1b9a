"""Alembic's entry point: migrations run on the engine server.schema hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import server.tables  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
