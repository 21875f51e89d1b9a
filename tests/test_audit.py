"""The tamper-evident event log: every event is chained to the one before; `dor audit verify` names the
first entry that is not what was written, whatever was done to it; heads exported to a file catch a
log cut short even when its counter was rewritten too."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from eventlog.chain import GENESIS, Entry, Head, chain, first_break
from eventlog.models import Event
from server import schema
from server.cli import main
from supervision.audit import verify
from tests.conftest import VirtualClock, sign_in, take_ticket

COUNTER = "/api/v1/centres/DAM-01/counters/1"


def busy_morning(client: TestClient, agent: TestClient) -> None:
    """Tickets issued, called, served, one transferred: a few dozen events at DAM-01."""
    for _ in range(4):
        take_ticket(client)
    assert agent.post(f"{COUNTER}/open").status_code == 200
    for _ in range(3):
        assert agent.post(f"{COUNTER}/next").status_code == 200
        assert agent.post(f"{COUNTER}/start").status_code == 200
        assert agent.post(f"{COUNTER}/finish").status_code == 200
    assert agent.post(f"{COUNTER}/next").status_code == 200
    assert agent.post(f"{COUNTER}/transfer", json={"service": "FS"}).status_code == 200


def dor_audit(monkeypatch: pytest.MonkeyPatch, database: Database, *args: str) -> int:
    monkeypatch.setenv("DOR_DATABASE_URL", database.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DOR_DEV", "1")
    return main(["audit", *args])


def test_every_event_is_chained_and_the_chain_holds(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    busy_morning(client, agent)
    with database.read() as session:
        verdicts = {v.centre: v for v in verify(session)}
    assert verdicts["DAM-01"].broken is None and verdicts["DAM-01"].entries >= 16
    assert all(v.broken is None for v in verdicts.values())


def test_sign_ins_accounts_and_devices_are_chained_too(
    client: TestClient,
    app: Starlette,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        client.post("/api/v1/auth/login", json={"username": "agent1", "password": "wrong"}).status_code == 401
    )
    with sign_in(app, "supervisor1") as supervisor:
        made = supervisor.post(
            "/api/v1/staff", json={"username": "agent99", "role": "agent", "centres": ["DAM-01"]}
        )
        assert made.status_code == 201, made.text
        assert supervisor.post("/api/v1/staff/agent99/password", json={}).status_code == 200
        assert supervisor.post("/api/v1/staff/agent99/disable").status_code == 200
        kiosk = supervisor.post("/api/v1/centres/DAM-01/devices", json={"kind": "kiosk", "name": "Hall B"})
        assert kiosk.status_code == 201, kiosk.text
        assert supervisor.delete(f"/api/v1/centres/DAM-01/devices/{kiosk.json()['id']}").status_code == 200
        assert supervisor.post("/api/v1/auth/logout").status_code == 200
    with database.read() as session:
        national = [
            (e.type, e.actor)
            for e in session.exec(
                select(Event).where(col(Event.centre_id).is_(None)).order_by(col(Event.seq))
            ).all()
        ]
        devices = [
            (e.type, e.data["name"])
            for e in session.exec(select(Event).where(col(Event.type).startswith("device_"))).all()
        ]
    assert national == [
        ("sign_in_failed", "anonymous"),
        ("signed_in", "staff:supervisor1"),
        ("staff_created", "staff:supervisor1"),
        ("password_reset", "staff:supervisor1"),
        ("staff_disabled", "staff:supervisor1"),
        ("signed_out", "staff:supervisor1"),
    ]
    assert devices == [("device_registered", "Hall B"), ("device_revoked", "Hall B")]
    assert dor_audit(monkeypatch, database, "verify") == 0
    assert "national: 6 entries, chain intact" in capsys.readouterr().out
    with database.engine.begin() as connection:  # someone hides the failed sign-in
        connection.execute(text("DELETE FROM event WHERE centre_id IS NULL AND seq = 1"))
    assert dor_audit(monkeypatch, database, "verify") == 1
    assert "national: BROKEN at entry 1: entry 1 is missing" in capsys.readouterr().out


# --- what the chain catches (pure: a log in memory) ----------------------------------------------


def a_log(count: int, rng: random.Random) -> list[Entry]:
    start = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    plain = [
        Entry(
            centre_id=1,
            seq=seq,
            type=rng.choice(["issued", "called", "started", "finished", "no_show", "transferred"]),
            ticket_id=rng.randint(1, 500),
            counter_id=rng.choice([None, 1, 2, 3]),
            actor=rng.choice(["staff:agent1", "device:1", "citizen", "scheduler"]),
            at=start + timedelta(seconds=seq * 37.25),
            data={"number": f"A-{seq:03d}", "reason": rng.choice(["", "مراجعة"])},
            hash=None,
        )
        for seq in range(1, count + 1)
    ]
    return [replace(entry, hash=digest) for entry, digest in chain(plain)]


def tamper(log: list[Entry], rng: random.Random) -> tuple[list[Entry], int, str]:
    """One random edit, deletion, reordering or truncation; the seq of the first entry it spoils."""
    k = rng.randrange(len(log))
    seq = log[k].seq
    kind = rng.choice(["edit", "delete", "reorder", "truncate", "rehash"])
    changed = list(log)
    if kind == "edit":
        entry = log[k]
        field = rng.choice(["type", "actor", "at", "data", "ticket_id", "counter_id"])
        edits = {
            "type": replace(entry, type="cancelled" if entry.type != "cancelled" else "called"),
            "actor": replace(entry, actor=entry.actor + "x"),
            "at": replace(entry, at=entry.at + timedelta(microseconds=1)),
            "data": replace(entry, data={**entry.data, "out_of_order": True}),
            "ticket_id": replace(entry, ticket_id=(entry.ticket_id or 0) + 1),
            "counter_id": replace(entry, counter_id=None if entry.counter_id else 9),
        }
        changed[k] = edits[field]
    elif kind == "delete":
        del changed[k]
    elif kind == "reorder":  # two rows swap their places in the log (their seq numbers)
        j = rng.randrange(len(log))
        while log[j].data == log[k].data:
            j = rng.randrange(len(log))
        first, second = sorted((k, j))
        changed[first] = replace(log[second], seq=log[first].seq)
        changed[second] = replace(log[first], seq=log[second].seq)
        seq = log[first].seq
    elif kind == "truncate":
        changed = changed[:k]
    else:  # the stored hash itself, one digit of it
        stored = log[k].hash or GENESIS
        flipped = "0" if stored[-1] != "0" else "1"
        changed[k] = replace(log[k], hash=stored[:-1] + flipped)
    return changed, seq, kind


def test_a_thousand_tamperings_are_each_found_at_the_right_entry() -> None:
    rng = random.Random(20261129)
    log = a_log(80, rng)
    assert first_break(log, counted=len(log)) is None
    kinds: dict[str, int] = {}
    for _ in range(1000):
        changed, seq, kind = tamper(log, rng)
        broken = first_break(changed, counted=len(log))
        assert broken is not None, kind
        assert broken.seq == seq, (kind, broken)
        kinds[kind] = kinds.get(kind, 0) + 1
    assert set(kinds) == {"edit", "delete", "reorder", "truncate", "rehash"}


def test_a_rewritten_tail_is_caught_by_an_exported_head() -> None:
    rng = random.Random(7)
    log = a_log(30, rng)
    head = Head(20, log[19].hash or "")
    # Entry 12 edited, and every hash after it recomputed, and the counter too: only the head knows.
    forged = [replace(e, hash=None) for e in log]
    forged[11] = replace(forged[11], actor="staff:someone-else")
    rechained = [replace(entry, hash=digest) for entry, digest in chain(forged)]
    assert first_break(rechained, counted=30) is None
    broken = first_break(rechained, counted=30, heads=[head])
    assert broken is not None and broken.seq == 20
    assert first_break(log[:15], counted=15, heads=[head]) is not None  # cut before the head


# --- the command line ------------------------------------------------------------------------------


def test_verify_names_the_first_bad_entry(
    client: TestClient,
    agent: TestClient,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    busy_morning(client, agent)
    assert dor_audit(monkeypatch, database, "verify") == 0
    assert "DAM-01: " in capsys.readouterr().out
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE event SET actor = 'staff:supervisor1' WHERE seq = 5"))
    assert dor_audit(monkeypatch, database, "verify") == 1
    out = capsys.readouterr().out
    assert "DAM-01: BROKEN at entry 5: entry 5 was changed" in out


def test_a_cut_tail_is_found_and_the_heads_file_catches_a_rewritten_counter(
    client: TestClient,
    agent: TestClient,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    busy_morning(client, agent)
    heads = tmp_path / "heads.txt"
    assert dor_audit(monkeypatch, database, "export-heads", "--to", str(heads)) == 0
    line = heads.read_text().split()
    assert line[1] == "DAM-01" and len(line[3]) == 64
    last = int(line[2])
    with database.engine.begin() as connection:
        connection.execute(text(f"DELETE FROM event WHERE seq > {last - 3} AND centre_id = 1"))
    capsys.readouterr()
    assert dor_audit(monkeypatch, database, "verify") == 1
    assert f"entries {last - 2} to {last} are missing" in capsys.readouterr().out
    with database.engine.begin() as connection:  # the counter rewritten to match
        connection.execute(text(f"UPDATE serial SET last = {last - 3} WHERE name = 'events:1'"))
    assert dor_audit(monkeypatch, database, "verify") == 0
    capsys.readouterr()
    assert dor_audit(monkeypatch, database, "verify", "--heads", str(heads)) == 1
    assert f"entry {last}, an exported head, is missing" in capsys.readouterr().out


def test_verify_on_a_log_with_nothing_in_it_says_so(
    empty_database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dor_audit(monkeypatch, empty_database, "verify") == 0
    assert "no audit entries yet" in capsys.readouterr().out


def test_a_bad_heads_file_is_named(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    heads = tmp_path / "heads.txt"
    heads.write_text("2026-11-29 DAM-01 12\n")
    assert dor_audit(monkeypatch, database, "verify", "--heads", str(heads)) == 2
    assert "heads.txt:1: not a head line" in capsys.readouterr().err


def test_the_migration_chains_the_events_written_before_it(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    busy_morning(client, agent)
    config = schema.alembic_config(database)
    command.downgrade(config, "0012")
    command.upgrade(config, "head")
    with database.read() as session:
        assert all(v.broken is None for v in verify(session))


# --- the exceptions report ------------------------------------------------------------------------

REPORT = "/api/v1/centres/DAM-01/reports/exceptions"


def test_the_exceptions_report_lists_each_agents_departures_from_the_order(
    client: TestClient, agent: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    for _ in range(4):
        take_ticket(client)
    assert agent.post(f"{COUNTER}/open").status_code == 200
    called = agent.post(f"{COUNTER}/call", json={"number": "A-003", "reason": "elderly, forgot the kiosk"})
    assert called.status_code == 200
    assert agent.post(f"{COUNTER}/transfer", json={"service": "FS"}).status_code == 200
    assert agent.post(f"{COUNTER}/next").status_code == 200  # A-001: in order, not an exception
    clock.advance(30)
    assert agent.post(f"{COUNTER}/recall").status_code == 200
    clock.advance(40)
    assert agent.post(f"{COUNTER}/no-show").status_code == 200
    with sign_in(app, "supervisor1") as supervisor:
        stop = supervisor.post("/api/v1/centres/DAM-01/services/NC/intake", json={"open": False})
        assert stop.status_code == 200
        report = supervisor.get(f"{REPORT}?from=2026-11-29&to=2026-11-29")
        assert report.status_code == 200, report.text
        rows = {row["actor"]: row for row in report.json()}
        mine = rows["staff:agent1"]
        assert (mine["out_of_order_calls"], mine["transfers"], mine["no_shows"], mine["overrides"]) == (
            1,
            1,
            1,
            0,
        )
        assert [(i["kind"], i["number"]) for i in mine["items"]] == [
            ("out_of_order_call", "A-003"),
            ("transfer", "A-003"),
            ("no_show", "A-001"),
        ]
        assert mine["items"][0]["detail"] == "elderly, forgot the kiosk"
        assert rows["staff:supervisor1"]["overrides"] == 1
        assert supervisor.get(f"{REPORT}?from=2026-11-28&to=2026-11-28").json() == []  # another day
        before = supervisor.get(f"{REPORT}?from=2026-11-30&to=2026-11-29")
        assert before.status_code == 422 and "'from'" in before.json()["error"]["message"]
        too_long = supervisor.get(f"{REPORT}?from=2025-11-01&to=2026-11-29")
        assert too_long.status_code == 422
        assert (
            supervisor.get(
                "/api/v1/centres/RIF-01/reports/exceptions?from=2026-11-29&to=2026-11-29"
            ).status_code
            == 403
        )
    assert agent.get(f"{REPORT}?from=2026-11-29&to=2026-11-29").status_code == 403
