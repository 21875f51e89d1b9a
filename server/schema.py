"""The database schema's version: applying Alembic migrations and refusing an outdated database."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from config.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


class SchemaOutdated(Exception):
    """The database is not at the code's schema version."""


def alembic_config(database: Database) -> Config:
    """An Alembic configuration bound to this database (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = database.engine
    return config


def head_revision(database: Database) -> str | None:
    """The newest migration the code knows."""
    return ScriptDirectory.from_config(alembic_config(database)).get_current_head()


def current_revision(database: Database) -> str | None:
    """The migration the database is at, None when it has never been migrated."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database) -> None:
    """Applies every pending migration."""
    before = current_revision(database)
    command.upgrade(alembic_config(database), "head")
    after = current_revision(database)
    if before != after:
        log.info("database migrated from %s to %s", before or "empty", after)


def ensure_current(database: Database) -> None:
    """Raises SchemaOutdated, saying to run `dor migrate`, unless the database is at head."""
    current, head = current_revision(database), head_revision(database)
    if current == head:
        return
    state = "has never been migrated" if current is None else f"is at {current}, the code needs {head}"
    raise SchemaOutdated(f"the database {state}: run `dor migrate`")
