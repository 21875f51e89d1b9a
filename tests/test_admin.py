"""Administration: devices (token shown once, only a hash kept, revocable) and staff accounts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.secrets import hash_token
from organisation.models import Device
from tests.conftest import sign_in

TICKET = {"service": "CR", "channel": "kiosk"}


def test_a_supervisor_registers_a_kiosk_and_sees_its_token_once(
    app: Starlette, client: TestClient, database: Database
) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        created = supervisor.post(
            "/api/v1/centres/DAM-01/devices", json={"kind": "kiosk", "name": "Hall kiosk 2"}
        )
        assert created.status_code == 201
        token = created.json()["token"]
        listed = supervisor.get("/api/v1/centres/DAM-01/devices").json()
        assert all("token" not in d for d in listed)
    with database.read() as session:
        stored = session.exec(select(Device).where(Device.name == "Hall kiosk 2")).one()
    assert stored.token_hash == hash_token(token)
    assert token not in stored.token_hash
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/centres/DAM-01/tickets", json=TICKET, headers=bearer).status_code == 201


def test_a_revoked_token_stops_issuing_at_once(app: Starlette, client: TestClient) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        device = supervisor.post("/api/v1/centres/DAM-01/devices", json={"kind": "kiosk", "name": "K"}).json()
        bearer = {"Authorization": f"Bearer {device['token']}"}
        assert client.post("/api/v1/centres/DAM-01/tickets", json=TICKET, headers=bearer).status_code == 201
        revoked = supervisor.delete(f"/api/v1/centres/DAM-01/devices/{device['id']}")
        assert revoked.json()["revoked_at"] is not None
    assert client.post("/api/v1/centres/DAM-01/tickets", json=TICKET, headers=bearer).status_code == 401


def test_a_device_of_another_centre_cannot_be_revoked_through_this_one(app: Starlette) -> None:
    with sign_in(app, "admin") as admin:
        other = admin.post("/api/v1/centres/RIF-01/devices", json={"kind": "display", "name": "D"}).json()
        assert admin.delete(f"/api/v1/centres/DAM-01/devices/{other['id']}").status_code == 404


def test_an_admin_creates_an_agent_who_can_sign_in(app: Starlette) -> None:
    with sign_in(app, "admin") as admin:
        created = admin.post(
            "/api/v1/staff", json={"username": "hiba", "role": "agent", "centres": ["DAM-02"]}
        )
        assert created.status_code == 201
        password = created.json()["password"]
        assert len(password) >= 12
    with TestClient(app) as fresh:
        login = fresh.post("/api/v1/auth/login", json={"username": "hiba", "password": password})
        assert login.json()["centres"] == ["DAM-02"]


def test_a_supervisor_creates_agents_of_their_centres_only(app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        ok = supervisor.post(
            "/api/v1/staff", json={"username": "omar", "role": "agent", "centres": ["DAM-01"]}
        )
        assert ok.status_code == 201
        elsewhere = supervisor.post(
            "/api/v1/staff", json={"username": "ali", "role": "agent", "centres": ["RIF-01"]}
        )
        assert elsewhere.status_code == 403
        boss = supervisor.post("/api/v1/staff", json={"username": "sami", "role": "admin"})
        assert boss.status_code == 403


def test_a_duplicate_username_is_refused(app: Starlette) -> None:
    with sign_in(app, "admin") as admin:
        response = admin.post(
            "/api/v1/staff", json={"username": "agent1", "role": "agent", "centres": ["DAM-01"]}
        )
        assert response.status_code == 409


def test_an_unknown_centre_is_named(app: Starlette) -> None:
    with sign_in(app, "admin") as admin:
        response = admin.post("/api/v1/staff", json={"username": "x1", "role": "agent", "centres": ["NOPE"]})
        assert response.status_code == 422
        assert "NOPE" in response.json()["error"]["message"]


def test_a_password_reset_ends_the_old_sessions(app: Starlette) -> None:
    with sign_in(app, "agent1") as agent, sign_in(app, "supervisor1") as supervisor:
        reset = supervisor.post("/api/v1/staff/agent1/password", json={})
        assert reset.status_code == 200
        new_password = reset.json()["password"]
        assert agent.get("/api/v1/auth/me").status_code == 401
    with TestClient(app) as fresh:
        assert (
            fresh.post(
                "/api/v1/auth/login", json={"username": "agent1", "password": new_password}
            ).status_code
            == 200
        )


def test_a_supervisor_cannot_manage_another_supervisor(app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        assert supervisor.post("/api/v1/staff/supervisor2/disable").status_code == 404
        assert "supervisor2" not in {s["username"] for s in supervisor.get("/api/v1/staff").json()}


def _dor(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOR_")}
    env.update(DOR_DATABASE_URL=url, DOR_DEV="1")
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_command_line_administers_staff_and_devices(database: Database, tmp_path: Path) -> None:
    url = database.url.render_as_string(hide_password=False)
    added = _dor(["staff", "add", "noor", "--role", "agent", "--centre", "DAM-01"], url)
    assert added.returncode == 0, added.stderr
    assert "password (shown once):" in added.stdout
    assert _dor(["staff", "add", "noor", "--role", "agent", "--centre", "DAM-01"], url).returncode == 1
    assert "reset" not in _dor(["staff", "reset-password", "noor"], url).stderr
    assert _dor(["staff", "disable", "noor"], url).returncode == 0
    device = _dor(["device", "add", "--centre", "DAM-01", "--kind", "kiosk", "--name", "Entrance"], url)
    assert device.returncode == 0, device.stderr
    token = device.stdout.rsplit(": ", 1)[1].strip()
    with database.read() as session:
        stored = session.exec(select(Device).where(Device.token_hash == hash_token(token))).one()
    assert _dor(["device", "set-printer", str(stored.id), "tcp://10.0.4.21:9100"], url).returncode == 0
    assert _dor(["device", "set-printer", str(stored.id), "lpt1"], url).returncode == 1
    with database.read() as session:
        assert session.get(Device, stored.id).printer_url == "tcp://10.0.4.21:9100"  # type: ignore[union-attr]
    assert _dor(["device", "revoke", str(stored.id)], url).returncode == 0
    assert "revoked  Entrance" in _dor(["device", "list", "--centre", "DAM-01"], url).stdout
    unknown = _dor(["staff", "disable", "ghost"], url)
    assert (unknown.returncode, "unknown user ghost" in unknown.stderr) == (1, True)
