"""Configuration: the spec users fill in, and its validation into an immutable ``Config``.

Every invalid value becomes a ``ConfigError`` that names the field and what is wrong; the source
turns it into an Airbyte ``config_error`` (a failed ``check``, or a TRACE error on ``discover`` and
``read``). Conduit's field names are accepted too, so a Conduit configuration moves over as is.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pendulum

from source_stripe_conduit.resources import BY_OBJECT, BY_STREAM

DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_STRIPE_VERSION = "2024-06-20"  # the version the stream schemas are generated from
DEFAULT_BATCH_SIZE = 100
DEFAULT_LAG_SECONDS = 60
DEFAULT_MAX_RETRIES = 4
DEFAULT_TIMEOUT_SECONDS = 60.0
# Stripe's documented limits: per account 100 requests/s live and 25/s in test mode, and by
# default 25/s on any one endpoint. Accounts can have them raised, so they are settings.
LIVE_REQUESTS_PER_SECOND = 100.0
TEST_REQUESTS_PER_SECOND = 25.0
ENDPOINT_REQUESTS_PER_SECOND = 25.0

_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]+$")
_VERSION_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z_]+)?$")
_ACCOUNT_PATTERN = re.compile(r"^acct_[A-Za-z0-9]+$")

# Conduit's configuration keys and ours.
ALIASES: Mapping[str, str] = {
    "secretKey": "secret_key",
    "batchSize": "batch_size",
    "resourceName": "resource_names",
}

SPEC: Mapping[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Stripe (Conduit design) Source Spec",
    "type": "object",
    "required": ["secret_key"],
    "additionalProperties": True,
    "properties": {
        "secret_key": {
            "type": "string",
            "title": "Secret or restricted key",
            "description": "A Stripe secret key (sk_test_…, sk_live_…) or a restricted key "
            "(rk_test_…, rk_live_…) with read access to the streams you sync.",
            "airbyte_secret": True,
            "order": 0,
        },
        "account_id": {
            "type": "string",
            "title": "Connected account",
            "description": "Read a Connect account's data (sent as the Stripe-Account header).",
            "pattern": "^acct_[A-Za-z0-9]+$",
            "order": 1,
        },
        "start_date": {
            "type": "string",
            "title": "Start date",
            "description": "The snapshot skips objects created before this date (UTC, "
            "YYYY-MM-DD or RFC 3339). Leave empty to read everything.",
            "examples": ["2023-01-01", "2023-01-01T00:00:00Z"],
            "order": 2,
        },
        "snapshot": {
            "type": "boolean",
            "title": "Snapshot",
            "description": "Read every existing object before following changes. When off, "
            "an incremental stream only follows changes from the first sync on.",
            "default": True,
            "order": 3,
        },
        "resource_names": {
            "type": "array",
            "items": {"type": "string"},
            "title": "Streams to offer",
            "description": "Limit discover to these streams (stream names, or Conduit's "
            "resource names such as customer or checkout.session). Empty: all streams.",
            "order": 4,
        },
        "batch_size": {
            "type": "integer",
            "title": "Page size",
            "description": "Objects per request (Stripe's limit, 1 to 100).",
            "minimum": 1,
            "maximum": 100,
            "default": DEFAULT_BATCH_SIZE,
            "order": 5,
        },
        "lag_seconds": {
            "type": "integer",
            "title": "Event lag (seconds)",
            "description": "How far behind now change capture stops. Stripe's event list is "
            "eventually consistent: an event can appear seconds after it happened.",
            "minimum": 0,
            "maximum": 3600,
            "default": DEFAULT_LAG_SECONDS,
            "order": 6,
        },
        "requests_per_second": {
            "type": "number",
            "title": "Account rate limit",
            "description": "Requests per second for the whole sync. Default: Stripe's, 100 "
            "for live keys and 25 for test keys.",
            "exclusiveMinimum": 0,
            "order": 7,
        },
        "endpoint_requests_per_second": {
            "type": "number",
            "title": "Per-endpoint rate limit",
            "description": "Requests per second to any one endpoint (Stripe's default: 25).",
            "exclusiveMinimum": 0,
            "default": ENDPOINT_REQUESTS_PER_SECOND,
            "order": 8,
        },
        "max_retries": {
            "type": "integer",
            "title": "Retries",
            "description": "Retries of a request after a 429, a 5xx or a dropped connection.",
            "minimum": 0,
            "maximum": 10,
            "default": DEFAULT_MAX_RETRIES,
            "order": 9,
        },
        "request_timeout_seconds": {
            "type": "number",
            "title": "Request timeout (seconds)",
            "exclusiveMinimum": 0,
            "maximum": 600,
            "default": DEFAULT_TIMEOUT_SECONDS,
            "order": 10,
        },
        "stripe_version": {
            "type": "string",
            "title": "Stripe API version",
            "description": "Sent as Stripe-Version. The stream schemas describe 2024-06-20.",
            "default": DEFAULT_STRIPE_VERSION,
            "order": 11,
        },
        "hydrate": {
            "type": "string",
            "title": "Complete change records",
            "description": "Stripe renders an event's object in the API version of the event's "
            "time, never expanded. auto: fetch the object when the event's api_version differs "
            "from stripe_version, so change records look like snapshot records; always: fetch "
            "for every change; never: use the event's object as it is.",
            "enum": ["auto", "always", "never"],
            "default": "auto",
            "order": 13,
        },
        "api_base": {
            "type": "string",
            "title": "API base URL",
            "description": "Stripe's API, or a local emulator (plain http only to a loopback "
            "host, so a key never crosses a network in clear).",
            "default": DEFAULT_API_BASE,
            "order": 14,
        },
    },
}


class ConfigError(ValueError):
    """An invalid configuration value; the message names the field."""

    def __init__(self, field: str, problem: str, message: str | None = None) -> None:
        super().__init__(message or f"Config field '{field}': {problem}")
        self.field = field


@dataclass(frozen=True)
class Config:
    secret_key: str
    account_id: str | None = None
    start_date: int | None = None
    snapshot: bool = True
    streams: tuple[str, ...] = ()
    batch_size: int = DEFAULT_BATCH_SIZE
    lag_seconds: int = DEFAULT_LAG_SECONDS
    requests_per_second: float = TEST_REQUESTS_PER_SECOND
    endpoint_requests_per_second: float = ENDPOINT_REQUESTS_PER_SECOND
    max_retries: int = DEFAULT_MAX_RETRIES
    request_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    stripe_version: str = DEFAULT_STRIPE_VERSION
    api_base: str = DEFAULT_API_BASE
    hydrate: str = "auto"

    @property
    def livemode(self) -> bool:
        return "_live_" in self.secret_key

    def __repr__(self) -> str:
        # The key must never reach a log line, even through a repr in a traceback.
        return f"Config(account_id={self.account_id!r}, streams={self.streams!r}, livemode={self.livemode})"


def normalize(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Conduit's keys renamed to ours; ours win where both are given."""
    config = dict(raw)
    for alias, name in ALIASES.items():
        if alias in config:
            value = config.pop(alias)
            config.setdefault(name, value)
    return config


# The CDK checks a config against the spec before the source sees it, with messages that do not
# name the field ("101 is greater than the maximum of 100"). ``prepare`` runs first (as the
# source's ``configure``): a valid config comes out with its values typed (Conduit writes
# "10" and "true"), an invalid one without the bad value and with our message, which
# ``parse_config`` raises again.
CONFIG_ERROR_KEY = "_config_error"


def prepare(raw: Mapping[str, Any]) -> dict[str, Any]:
    config = normalize(raw)
    try:
        parsed = parse_config(config)
    except ConfigError as error:
        if error.field == "secret_key":
            config["secret_key"] = ""
        else:
            config.pop(error.field, None)
        config[CONFIG_ERROR_KEY] = {"field": error.field, "message": str(error)}
        return config
    typed: dict[str, Any] = {
        "snapshot": parsed.snapshot, "batch_size": parsed.batch_size,
        "lag_seconds": parsed.lag_seconds, "max_retries": parsed.max_retries,
        "request_timeout_seconds": parsed.request_timeout_seconds,
        "requests_per_second": parsed.requests_per_second,
        "endpoint_requests_per_second": parsed.endpoint_requests_per_second,
        "resource_names": list(parsed.streams),
    }
    config.update({k: v for k, v in typed.items() if k in config})
    return config


def parse_config(raw: Mapping[str, Any]) -> Config:
    carried = raw.get(CONFIG_ERROR_KEY)
    if isinstance(carried, Mapping):
        raise ConfigError(str(carried.get("field")), "", message=str(carried.get("message")))
    values = normalize(raw)
    key = values.get("secret_key")
    if not isinstance(key, str) or not key.strip():
        raise ConfigError("secret_key", "is required: a Stripe secret or restricted key")
    key = key.strip()
    if not _KEY_PATTERN.match(key):
        raise ConfigError(
            "secret_key",
            "is not a Stripe secret key: expected sk_test_…, sk_live_…, rk_test_… or rk_live_…"
            " (publishable keys pk_… cannot read data)",
        )
    livemode = "_live_" in key
    default_rate = LIVE_REQUESTS_PER_SECOND if livemode else TEST_REQUESTS_PER_SECOND
    return Config(
        secret_key=key,
        account_id=_account(values.get("account_id")),
        start_date=_start_date(values.get("start_date")),
        snapshot=_boolean("snapshot", values.get("snapshot"), True),
        streams=_streams(values.get("resource_names")),
        batch_size=_integer("batch_size", values.get("batch_size"), DEFAULT_BATCH_SIZE, 1, 100),
        lag_seconds=_integer("lag_seconds", values.get("lag_seconds"), DEFAULT_LAG_SECONDS, 0,
                             3600),
        requests_per_second=_rate("requests_per_second", values.get("requests_per_second"),
                                  default_rate),
        endpoint_requests_per_second=_rate(
            "endpoint_requests_per_second", values.get("endpoint_requests_per_second"),
            ENDPOINT_REQUESTS_PER_SECOND),
        max_retries=_integer("max_retries", values.get("max_retries"), DEFAULT_MAX_RETRIES, 0,
                             10),
        request_timeout_seconds=_number("request_timeout_seconds",
                                        values.get("request_timeout_seconds"),
                                        DEFAULT_TIMEOUT_SECONDS, 600),
        stripe_version=_version(values.get("stripe_version")),
        api_base=_api_base(values.get("api_base")),
        hydrate=_choice("hydrate", values.get("hydrate"), ("auto", "always", "never"), "auto"),
    )


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _boolean(field: str, value: Any, default: bool) -> bool:
    if _absent(value):
        return default
    if isinstance(value, bool):
        return value
    # Conduit passes every setting as a string.
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(field, f"must be true or false, got {value!r}")


def _integer(field: str, value: Any, default: int, low: int, high: int) -> int:
    if _absent(value):
        return default
    if isinstance(value, bool):
        raise ConfigError(field, f"must be an integer from {low} to {high}, got {value!r}")
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ConfigError(field, f"must be an integer from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(field, f"must be from {low} to {high}, got {value}")
    return value


def _number(field: str, value: Any, default: float, high: float) -> float:
    if _absent(value):
        return default
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number != number:
        raise ConfigError(field, f"must be a number, got {value!r}")
    if not 0 < number <= high:
        raise ConfigError(field, f"must be above 0 and at most {high:g}, got {value!r}")
    return number


def _rate(field: str, value: Any, default: float) -> float:
    return _number(field, value, default, 100_000)


def _choice(field: str, value: Any, choices: tuple[str, ...], default: str) -> str:
    if _absent(value):
        return default
    if value not in choices:
        raise ConfigError(field, f"must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _account(value: Any) -> str | None:
    if _absent(value):
        return None
    if not isinstance(value, str) or not _ACCOUNT_PATTERN.match(value.strip()):
        raise ConfigError("account_id", f"must be a Stripe account id like acct_123, got {value!r}")
    return value.strip()


def _start_date(value: Any) -> int | None:
    if _absent(value):
        return None
    if isinstance(value, bool):
        raise ConfigError("start_date", f"must be a date like 2023-01-01, got {value!r}")
    if isinstance(value, (int, float)):
        if value != value or value < 0:
            raise ConfigError("start_date", f"must be a date like 2023-01-01, got {value!r}")
        if value > pendulum.now("UTC").timestamp():
            raise ConfigError("start_date", f"is in the future: {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise ConfigError("start_date", f"must be a date like 2023-01-01, got {value!r}")
    try:
        parsed = pendulum.parse(value.strip(), tz="UTC", strict=False)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        raise ConfigError(
            "start_date", f"must be a date like 2023-01-01 or 2023-01-01T00:00:00Z, got {value!r}"
        ) from None
    if not isinstance(parsed, pendulum.DateTime):
        raise ConfigError("start_date", f"must be a date or a date and time, got {value!r}")
    if parsed > pendulum.now("UTC"):
        raise ConfigError("start_date", f"is in the future: {value!r}")
    return int(parsed.timestamp())


def _streams(value: Any) -> tuple[str, ...]:
    if _absent(value):
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError("resource_names", f"must be a list of stream names, got {value!r}")
    streams: list[str] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        resource = BY_STREAM.get(name) or BY_OBJECT.get(name)
        if name == "payment_method":
            resource = BY_STREAM["payment_methods"]
        if resource is None:
            raise ConfigError(
                "resource_names",
                f"unknown stream or resource {name!r}; known streams: {', '.join(sorted(BY_STREAM))}",
            )
        if resource.stream not in streams:
            streams.append(resource.stream)
    return tuple(streams)


def _version(value: Any) -> str:
    if _absent(value):
        return DEFAULT_STRIPE_VERSION
    if not isinstance(value, str) or not _VERSION_PATTERN.match(value.strip()):
        raise ConfigError("stripe_version", f"must be a Stripe API version like 2024-06-20, got {value!r}")
    return value.strip()


def _api_base(value: Any) -> str:
    if _absent(value):
        return DEFAULT_API_BASE
    if not isinstance(value, str):
        raise ConfigError("api_base", f"must be a URL, got {value!r}")
    url = urlparse(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError("api_base", f"must be an http(s) URL with a host, got {value!r}")
    if url.scheme == "http" and not _is_loopback(url.hostname):
        raise ConfigError(
            "api_base",
            f"plain http is allowed only to a loopback host (the key would cross the network in "
            f"clear); use https for {url.hostname}",
        )
    if url.path not in ("", "/") or url.query:
        raise ConfigError("api_base", f"must be a bare origin like https://api.stripe.com, got {value!r}")
    return f"{url.scheme}://{url.netloc}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
