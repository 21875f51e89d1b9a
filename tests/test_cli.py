"""The `dor` command as an operator runs it."""

import os
import subprocess
import sys
from pathlib import Path

DOR = [sys.executable, "-m", "server.cli"]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DOR_")}
    environment.update({"DOR_DATABASE_URL": f"sqlite:///{tmp_path / 'dor.sqlite3'}", **env})
    return subprocess.run(
        [*DOR, *args], env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_bad_setting_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    result = _run(["serve"], tmp_path, DOR_DEV="1", DOR_PORT="http")
    assert result.returncode == 2
    assert "DOR_PORT" in result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = _run(["serve"], tmp_path, DOR_DEV="1")
    assert result.returncode == 1
    assert "run `dor migrate`" in result.stderr


def test_migrate_then_seed_twice(tmp_path: Path) -> None:
    assert _run(["migrate"], tmp_path, DOR_DEV="1").returncode == 0
    first = _run(["seed", "--demo"], tmp_path, DOR_DEV="1")
    second = _run(["seed", "--demo"], tmp_path, DOR_DEV="1")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "demo data loaded" in second.stdout


def test_a_history_of_no_weeks_is_refused_naming_the_option(tmp_path: Path) -> None:
    result = _run(["seed", "--demo", "--history", "0"], tmp_path, DOR_DEV="1")
    assert result.returncode == 2
    assert "--history: give a number of weeks from 1 to 52, not '0'" in result.stderr


def test_seed_before_migrate_says_what_to_do(tmp_path: Path) -> None:
    result = _run(["seed", "--demo"], tmp_path, DOR_DEV="1")
    assert result.returncode == 1
    assert "run `dor migrate`" in result.stderr


def test_welcome_names_the_home_page_and_demo_credentials() -> None:
    from starlette.routing import Route

    from config.settings import Settings
    from server.cli import welcome

    async def page() -> None: ...

    text = welcome(Settings(demo=True, port=8123), [Route("/kiosk/{centre}", page)])
    assert "http://127.0.0.1:8123/" in text
    assert "http://127.0.0.1:8123/kiosk/DAM-01" in text
    assert "/supervisor" not in text  # not served yet, so not advertised
    assert "password: demo" in text
    long_title = welcome(Settings(demo=True, port=8123), [Route("/book", page)])
    assert "Book an appointment  http://127.0.0.1:8123/book" in long_title  # titles never run into links


def test_seed_opens_the_demo_draw_once(tmp_path: Path) -> None:
    assert _run(["migrate"], tmp_path, DOR_DEV="1").returncode == 0
    first = _run(["seed", "--demo", "--draw"], tmp_path, DOR_DEV="1")
    assert first.returncode == 0, first.stderr
    assert "demo draw: DEMO-PASSPORTS for passports at DAM-01" in first.stdout
    second = _run(["seed", "--demo", "--draw"], tmp_path, DOR_DEV="1")
    assert "DEMO-PASSPORTS exists already (announced)" in second.stdout
