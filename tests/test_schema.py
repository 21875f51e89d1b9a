"""Migrations: applied by `dor migrate`, matching the models, and required before serving."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel
from starlette.testclient import TestClient

import server.tables  # noqa: F401
from config.db import Database
from config.settings import Settings
from server import schema
from server.app import create_app


def test_migrations_produce_exactly_the_models(empty_database: Database) -> None:
    with empty_database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_migrated_database_is_at_head(empty_database: Database) -> None:
    assert schema.current_revision(empty_database) == schema.head_revision(empty_database)
    schema.ensure_current(empty_database)


def test_server_refuses_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    app = create_app(Settings(dev=True), database=database)
    with (
        pytest.raises(schema.SchemaOutdated, match="never been migrated: run `dor migrate`"),
        TestClient(app),
    ):
        pass


def test_server_refuses_an_outdated_database(empty_database: Database) -> None:
    with empty_database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'old0'")
    with pytest.raises(schema.SchemaOutdated, match=r"is at old0.*run `dor migrate`"):
        schema.ensure_current(empty_database)


def test_demo_mode_migrates_by_itself(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    app = create_app(Settings(demo=True), database=database)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
    assert schema.current_revision(database) == schema.head_revision(database)


def test_sqlite_runs_in_wal_with_full_sync(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
