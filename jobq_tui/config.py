"""The TOML configuration file: operators, database, worker and dashboard settings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import platformdirs

from .errors import JobqError


class ConfigFileError(JobqError):
    """The configuration file is missing, unreadable or has an invalid key."""


@dataclass(frozen=True)
class Config:
    """Settings read from jobq.toml; None means "not set, use the default"."""

    path: Path | None = None
    operators: tuple[str, ...] | None = None
    database: str | None = None
    refresh_interval: float | None = None
    drain_timeout: float | None = None
    lease: float | None = None
    heartbeat: float | None = None
    concurrency: int | None = None
    queues: tuple[str, ...] | None = None
    retention_days: float | None = None


# Each key and the value it takes, as error messages name it.
_NUMBER = "a positive number"
_KEYS: dict[str, str] = {
    "operators": "a list of user names",
    "database": "a path or database URL string",
    "refresh_interval": _NUMBER,
    "drain_timeout": "a number of seconds, 0 or more",
    "lease": _NUMBER,
    "heartbeat": _NUMBER,
    "concurrency": "a whole number from 1 to 256",
    "queues": "a list of queue names",
    "retention_days": "a positive number of days",
}


def default_config_path() -> Path:
    """Return jobq.toml in the user's config directory."""
    return Path(platformdirs.user_config_dir("jobq")) / "jobq.toml"


def load_config(path: str | Path | None = None) -> Config:
    """Read `path`, or the default file if it exists; raise ConfigFileError.

    An explicit path must exist. Every error names the key and the file.
    """
    if path is None:
        candidate = default_config_path()
        if not candidate.exists():
            return Config()
        path = candidate
    path = Path(path).expanduser()
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigFileError(
            f"config file {str(path)!r} not found: create it or drop --config"
        ) from None
    except OSError as exc:
        raise ConfigFileError(
            f"cannot read config file {str(path)!r}: {exc.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(
            f"config file {str(path)!r} is not valid TOML: {exc}"
        ) from None
    return _parse(data, path)


def _parse(data: dict[str, Any], path: Path) -> Config:
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigFileError(
            f"unknown key {unknown[0]!r} in {path}: valid keys are "
            f"{', '.join(sorted(_KEYS))}"
        )
    values: dict[str, Any] = {"path": path}
    for key, value in data.items():
        values[key] = _check(key, value, path)

    config = Config(**values)
    lease = config.lease if config.lease is not None else 30.0
    heartbeat = (
        config.heartbeat if config.heartbeat is not None else min(5.0, lease / 3)
    )
    if heartbeat * 3 > lease:
        raise ConfigFileError(
            f"key 'heartbeat' in {path} is {heartbeat:g}s, not well inside the "
            f"{lease:g}s lease: make the lease at least 3 heartbeats long"
        )
    return config


def _check(key: str, value: Any, path: Path) -> Any:
    def invalid() -> ConfigFileError:
        return ConfigFileError(
            f"key {key!r} in {path} must be {_KEYS[key]}, not {value!r}"
        )

    if key in ("operators", "queues"):
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            raise invalid()
        if key == "queues" and not value:
            raise invalid()
        return tuple(value)
    if key == "database":
        if not isinstance(value, str) or not value.strip():
            raise invalid()
        return value
    if key == "concurrency":
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= 256
        ):
            raise invalid()
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid()
    if key == "drain_timeout":
        if value < 0:
            raise invalid()
    elif value <= 0:
        raise invalid()
    return float(value)


CONFIG_KEYS = tuple(field.name for field in fields(Config) if field.name != "path")
