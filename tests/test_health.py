"""GET /healthz answers for the database."""

from starlette.testclient import TestClient

from config.db import Database


def test_healthz_is_ok_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_is_503_when_the_database_is_gone(client: TestClient, database: Database) -> None:
    client.app.state.database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")  # type: ignore[attr-defined]
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_nothing_is_read_at_import_time() -> None:
    import subprocess
    import sys

    code = "import server.app, server.cli, organisation.web.catalogue, config.settings"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"DOR_PORT": "not-a-port", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
