"""Settings: DOR_* variables and an optional TOML file; a bad value names its variable."""

from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("DOR_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_embedded_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOR_DEMO", "true")
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///var/")
    assert (settings.bus_url, settings.sms_url) == ("memory://", "console://")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.timezone == "Asia/Damascus"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOR_DEMO", "1")
    monkeypatch.setenv("DOR_PORT", "9123")
    monkeypatch.setenv("DOR_HOST", "0.0.0.0")
    settings = load_settings()
    assert (settings.host, settings.port) == ("0.0.0.0", 9123)


def test_malformed_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOR_DEMO", "1")
    monkeypatch.setenv("DOR_PORT", "eighty")
    with pytest.raises(SettingsError, match=r"^DOR_PORT: "):
        load_settings()


def test_unknown_time_zone_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOR_DEMO", "1")
    monkeypatch.setenv("DOR_TIMEZONE", "Asia/Atlantis")
    with pytest.raises(SettingsError, match="DOR_TIMEZONE: unknown time zone"):
        load_settings()


def test_secret_key_is_required_outside_demo_and_dev() -> None:
    with pytest.raises(SettingsError, match="DOR_SECRET_KEY: required outside demo/dev mode"):
        load_settings()


def test_a_long_secret_key_is_enough_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOR_SECRET_KEY", "k" * 40)
    assert load_settings().secret == b"k" * 40


def test_toml_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "dor.toml"
    config.write_text('demo = true\nport = 8100\nsms_url = "kannel://u:p@127.0.0.1:13013"\n')
    monkeypatch.setenv("DOR_CONFIG", str(config))
    monkeypatch.setenv("DOR_PORT", "8200")
    settings = load_settings()
    assert settings.sms_url == "kannel://u:p@127.0.0.1:13013"
    assert settings.port == 8200


def test_unknown_key_in_toml_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "dor.toml"
    config.write_text("demo = true\nprot = 8100\n")
    monkeypatch.setenv("DOR_CONFIG", str(config))
    with pytest.raises(SettingsError, match="DOR_PROT: Extra inputs are not permitted"):
        load_settings()


def test_missing_toml_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOR_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(SettingsError, match="DOR_CONFIG: no such file"):
        load_settings()


def test_unsupported_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOR_DEMO", "1")
    monkeypatch.setenv("DOR_DATABASE_URL", "mysql://root@localhost/dor")
    with pytest.raises(SettingsError, match="DOR_DATABASE_URL"):
        load_settings()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("smtp://mail", "must start with console://"),
        ("kannel://127.0.0.1:13013", "kannel:// needs the sendsms user"),
        ("kannel://dor:pw@127.0.0.1", "kannel:// needs the sendsms user"),
        ("kannel://dor:pw@127.0.0.1:port", "kannel:// needs the sendsms user"),
    ],
)
def test_a_bad_sms_url_names_the_variable(monkeypatch: pytest.MonkeyPatch, url: str, message: str) -> None:
    monkeypatch.setenv("DOR_DEMO", "1")
    monkeypatch.setenv("DOR_SMS_URL", url)
    with pytest.raises(SettingsError, match=f"DOR_SMS_URL: {message}"):
        load_settings()
