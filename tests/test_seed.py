"""Demo data: readable TOML, loaded idempotently, with the credentials the contract names."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import func, select

from config.db import Database
from config.secrets import hash_token, verify_password
from organisation.models import Centre, Counter, CounterService, Device, Service, Staff
from organisation.seed import DEMO_DIR, SeedError, seed_demo

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
TABLES = [Centre, Service, Counter, CounterService, Staff, Device]


def _counts(database: Database) -> dict[str, int]:
    with database.read() as session:
        return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def test_demo_has_centres_services_and_counters_with_overlapping_skills(database: Database) -> None:
    counts = _counts(database)
    assert counts["Centre"] >= 3
    assert 6 <= counts["Service"] <= 10
    with database.read() as session:
        for centre in session.exec(select(Centre)).all():
            counters = session.exec(select(Counter).where(Counter.centre_id == centre.id)).all()
            assert 4 <= len(counters) <= 8, centre.code
            skills = [
                {
                    cs.service_id
                    for cs in session.exec(select(CounterService).where(CounterService.counter_id == c.id))
                }
                for c in counters
            ]
            assert any(a & b for i, a in enumerate(skills) for b in skills[i + 1 :]), centre.code


def test_every_service_lists_its_documents_and_mean_time(database: Database) -> None:
    with database.read() as session:
        for service in session.exec(select(Service)).all():
            assert service.required_documents, service.code
            assert all(doc["ar"] and doc["en"] for doc in service.required_documents)
            assert service.mean_service_s > 0


def test_seeding_twice_changes_nothing(database: Database) -> None:
    before = _counts(database)
    with database.write() as session:
        seed_demo(session, now=NOW)
    assert _counts(database) == before


def test_demo_credentials_of_the_contract_exist(database: Database) -> None:
    with database.read() as session:
        staff = {s.username: s for s in session.exec(select(Staff)).all()}
        assert {"admin", "supervisor1", "agent1"} <= set(staff)
        assert verify_password(staff["agent1"].password_hash, "demo")
        assert not verify_password(staff["agent1"].password_hash, "Demo")
        kiosk = session.exec(select(Device).where(Device.token_hash == hash_token("demo-kiosk-DAM-01"))).one()
        assert kiosk.kind == "kiosk"


def test_a_malformed_file_is_named_with_its_entry(empty_database: Database, tmp_path: Path) -> None:
    for name in ("services.toml", "staff.toml"):
        (tmp_path / name).write_text((DEMO_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = (DEMO_DIR / "centres.toml").read_text(encoding="utf-8")
    (tmp_path / "centres.toml").write_text(text.replace("lat = 33.4958", "lat = 333.4958"), encoding="utf-8")
    with (
        pytest.raises(SeedError, match=r"centres.toml: \[\[centre\]\] #2 location.lat"),
        empty_database.write() as session,
    ):
        seed_demo(session, directory=tmp_path, now=NOW)


def test_the_files_hours_are_checked_as_the_hours_screen_checks_them(
    empty_database: Database, tmp_path: Path
) -> None:
    for name in ("services.toml", "staff.toml"):
        (tmp_path / name).write_text((DEMO_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = (DEMO_DIR / "centres.toml").read_text(encoding="utf-8")
    overlapping = 'sun = [["08:00", "12:00"], ["11:00", "14:00"]]'
    (tmp_path / "centres.toml").write_text(
        text.replace('sun = [["08:00", "14:00"]]', overlapping, 1), encoding="utf-8"
    )
    with (
        pytest.raises(SeedError, match=r"centres.toml: \[\[centre\]\] #2 hours.sun: .*must not overlap"),
        empty_database.write() as session,
    ):
        seed_demo(session, directory=tmp_path, now=NOW)
