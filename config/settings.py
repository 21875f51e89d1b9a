"""Dor's settings: one object read from DOR_* environment variables and an optional TOML file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "DOR_"
CONFIG_FILE_VARIABLE = "DOR_CONFIG"
DEFAULT_DATABASE_URL = "sqlite:///var/dor.sqlite3"
MIN_SECRET_KEY_LENGTH = 32


class SettingsError(Exception):
    """Settings could not be read; the message names the variable at fault."""


class Settings(BaseSettings):
    """Everything a Dor process needs to know about its surroundings."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    bus_url: str = "memory://"
    sms_url: str = "console://"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    timezone: str = "Asia/Damascus"
    secret_key: SecretStr | None = None
    demo: bool = False
    dev: bool = False
    public_url: str = ""
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    log_level: str = "INFO"
    # Reports count the walk-ins called within this wait (the supervisor's target).
    wait_target_s: int = Field(default=1200, gt=0)
    # /metrics asks for this bearer token when it is set (open otherwise, like /healthz).
    metrics_token: SecretStr | None = None
    # Check-in at the kiosk: how early and how late an appointment may arrive, and what happens later
    # than that: a normal walk-in ticket, or a refusal.
    checkin_early_s: int = Field(default=3600, ge=0)
    checkin_late_s: int = Field(default=900, ge=0)
    late_checkin: Literal["walk_in", "refuse"] = "walk_in"
    # A remote ticket (at a centre that asks for check-in) keeps its place when its holder checks in
    # within this long of the "your turn is near" SMS; later, it joins the back of the queue.
    remote_check_in_grace_s: int = Field(default=1800, ge=0)
    # Screens' feeds read the event log when the bus rings and at least this often (seconds); more
    # often while the bus is down.
    feed_poll_s: float = Field(default=5.0, gt=0)
    feed_poll_when_bus_down_s: float = Field(default=1.0, gt=0)
    # No call to the bus (Redis) waits longer than this (seconds); a bus slower than this is down.
    bus_timeout_s: float = Field(default=0.5, gt=0)
    # Committed events waiting to be rung on the bus, at most; more are dropped (screens read the log).
    bus_queue_size: int = Field(default=1000, ge=1)
    # Where Dor keeps files it makes (the announcement audio cache).
    data_dir: str = "var"
    # The announcements kept in that cache (up to about 0.5 MB each), the oldest removed first: the
    # screens of a centre all ask for a call within seconds of it, so the last few hundred are plenty.
    announcement_cache_files: int = Field(default=500, ge=1)
    # Treat every centre as open: for demonstrations at any hour and for training, never production.
    always_open: bool = False
    # Routing policy (docs/queueing.md): head start of each priority class, and the ageing limit.
    priority_head_start_s: dict[str, float] = Field(
        default_factory=lambda: {"elderly": 900.0, "disabled": 900.0, "pregnant": 900.0}
    )
    max_wait_s: float = Field(default=5400.0, gt=0)
    # Staff sessions end after this long idle, and this long after sign-in whatever happens.
    session_idle_s: int = Field(default=1800, ge=60)
    session_absolute_s: int = Field(default=12 * 3600, ge=300)
    # Sign-in throttling: failures allowed per username and per client address in the window. An
    # address past its failures is not refused (the staff behind one NAT share it); from there, an
    # account is checked only while it has fewer failures than the last setting.
    login_failures_per_user: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_window_s: int = Field(default=900, ge=60)
    login_failures_per_user_from_throttled_address: int = Field(default=1, ge=1)
    # Run the periodic jobs (the SMS outbox drain) in this process. Every job is safe in several
    # processes; turn it off for a process that should only serve requests.
    jobs: bool = True
    # One Dor (`central`, also the central of centre nodes), or a centre's own server (`node`): it
    # serves its centre's halls and pushes their log to the central (docs/centre-node.md).
    role: Literal["central", "node"] = "central"
    node_centre: str = ""  # a node: its centre's code
    central_url: str = ""  # a node: the central's address, e.g. https://dor.gov.sy
    node_token: SecretStr | None = None  # a node: its device token, registered at the central
    node_sync_s: float = Field(default=2.0, gt=0, le=10)  # a node: how often it pushes and calls
    # A node: how long its staff may sign in with the passwords it holds after the central last
    # answered it about the organisation (so that an account disabled there ends here too).
    node_credentials_ttl_s: float = Field(default=7 * 24 * 3600.0, ge=3600)
    # Counter balancing (docs/scheduling.md): how often the balancer looks, when a queue asks for a
    # helper (seconds of work per counter calling it) and when a boosted queue lets its helper go.
    balance_interval_s: float = Field(default=60.0, ge=30, le=600)
    balance_boost_above_s: float = Field(default=600.0, gt=0)
    balance_release_below_s: float = Field(default=120.0, ge=0)
    # SMS (docs/operations.md): the sender name, the outbox drain and its retries, queue notifications.
    sms_sender: str = Field(default="Dor", min_length=1, max_length=11)
    sms_drain_interval_s: float = Field(default=3.0, gt=0)
    sms_max_attempts: int = Field(default=8, ge=1)
    sms_retry_base_s: float = Field(default=10.0, gt=0)
    sms_retry_cap_s: float = Field(default=3600.0, gt=0)
    # A ticket with a phone gets one "your turn is near" SMS when this many people or fewer are ahead,
    # or when its estimated wait is this short (time enough to come from home).
    sms_notify_ahead: int = Field(default=3, ge=0)
    sms_notify_lead_s: float = Field(default=1200.0, ge=0)
    # One-time codes: validity, wrong tries before a code burns, and caps on sends.
    otp_ttl_s: int = Field(default=600, ge=60, le=600)
    otp_max_wrong: int = Field(default=5, ge=1, le=5)
    otp_per_phone_hour: int = Field(default=3, ge=1)
    otp_per_phone_day: int = Field(default=10, ge=1)
    otp_per_address_hour: int = Field(default=20, ge=1)

    # Booking (docs/scheduling.md): slot length, how far ahead and how soon, the walk-in reserve,
    # limits per phone, the no-show block, and how long personal data is kept.
    booking_slot_minutes: int = Field(default=30, ge=5, le=240)
    booking_horizon_days: int = Field(default=30, ge=1, le=365)
    booking_min_notice_minutes: int = Field(default=120, ge=0)
    booking_walk_in_share: float = Field(default=0.5, ge=0, lt=1)
    # "demand": each slot's places also give way to the walk-ins its weekday brought in the last
    # weeks, keeping the counters at most DOR_BOOKING_TARGET_LOAD busy; "flat": the share above only.
    booking_places: Literal["flat", "demand"] = "demand"
    booking_target_load: float = Field(default=0.9, gt=0, le=1)
    booking_max_per_phone: int = Field(default=3, ge=1)
    booking_no_show_limit: int = Field(default=3, ge=1)
    booking_no_show_window_days: int = Field(default=90, ge=1)
    booking_block_days: int = Field(default=30, ge=0)
    retention_days: int = Field(default=90, ge=1)
    # Broker detection (booking/brokers.py, docs/operations.md): distinct national IDs behind one phone,
    # browser or network address before it is flagged, "booked within seconds of the release", and
    # no-shows across several IDs behind one of them.
    broker_phone_identities: int = Field(default=3, ge=2)
    broker_device_identities: int = Field(default=4, ge=2)
    broker_address_identities: int = Field(default=6, ge=2)
    broker_release_s: float = Field(default=10.0, ge=0, le=3600)
    broker_no_shows: int = Field(default=3, ge=2)
    # Recommendations rank centres by travel time plus wait: seconds to travel one km (180 = 20 km/h,
    # city traffic).
    travel_s_per_km: float = Field(default=180.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("priority_head_start_s")
    @classmethod
    def _known_classes(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - {"elderly", "disabled", "pregnant"}
        if unknown:
            raise ValueError(f"unknown priority classes {sorted(unknown)}; use elderly, disabled, pregnant")
        if any(v < 0 for v in value.values()):
            raise ValueError("head starts must be >= 0 seconds")
        return value

    @field_validator("bus_url")
    @classmethod
    def _supported_bus(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://")):
            raise ValueError("must start with memory:// or redis://")
        return value

    @field_validator("sms_url")
    @classmethod
    def _supported_sms(cls, value: str) -> str:
        if not value.startswith(("console://", "kannel://", "http://", "https://")):
            raise ValueError("must start with console://, kannel://, http:// or https://")
        parts = urlsplit(value)
        try:
            complete = bool(parts.hostname and parts.port and parts.username and parts.password)
        except ValueError:  # a port that is not a number
            complete = False
        if parts.scheme == "kannel" and not complete:
            raise ValueError(
                "kannel:// needs the sendsms user, password, host and port: kannel://user:pass@host:13013"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @model_validator(mode="after")
    def _node_knows_its_central(self) -> Settings:
        if self.role == "node":
            missing = [
                name
                for name, value in (
                    ("node_centre", self.node_centre),
                    ("central_url", self.central_url),
                    ("node_token", self.node_token.get_secret_value() if self.node_token else ""),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"a centre node needs {', '.join(missing)} (docs/centre-node.md)")
        return self

    @model_validator(mode="after")
    def _secret_outside_demo(self) -> Settings:
        if self.demo or self.dev:
            return self
        secret = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(secret) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"secret_key: required outside demo/dev mode, at least {MIN_SECRET_KEY_LENGTH} characters"
            )
        return self

    @property
    def secret(self) -> bytes:
        """The key for signatures and keyed hashes; a fixed one in demo/dev mode only."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        return b"dor-demo-secret-not-for-production"

    @property
    def base_url(self) -> str:
        """The address citizens' links point to (tracking URLs, QR codes, SMS)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then the environment, then the TOML file DOR_CONFIG names.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = os.environ.get(CONFIG_FILE_VARIABLE)
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Reads settings from the environment and the TOML file it names; raises SettingsError."""
    toml_file = os.environ.get(CONFIG_FILE_VARIABLE)
    if toml_file and not Path(toml_file).is_file():
        raise SettingsError(f"{CONFIG_FILE_VARIABLE}: no such file {toml_file!r}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except ValueError as exc:  # a TOML file that does not parse
        raise SettingsError(f"{CONFIG_FILE_VARIABLE}: {exc}") from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        field = ".".join(str(part) for part in error["loc"])
        if not field:  # a model-level check: its message starts with the field's name
            field, _, message = message.partition(": ")
        lines.append(f"{ENV_PREFIX}{field.upper()}: {message}")
    return "; ".join(lines)
