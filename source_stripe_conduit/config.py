"""Configuration: the spec users fill in, and its validation into an immutable ``Config``.

Both come from one table, ``FIELDS``: a frozen row per setting holds its spec property (title,
description, bounds, choices, default, order) and names its parser, so a bound is written once.
Every invalid value becomes a ``ConfigError`` that names the field and what is wrong; the source
turns it into an Airbyte ``config_error`` (a failed ``check``, or a TRACE error on ``discover`` and
``read``). Conduit's field names are accepted too, so a Conduit configuration moves over as is.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
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

# Conduit's configuration keys and ours.
ALIASES: Mapping[str, str] = {"secretKey": "secret_key", "batchSize": "batch_size",
                              "resourceName": "resource_names"}


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


@dataclass(frozen=True)
class Field:
    """One setting: its property in the spec, and its parser (``kind``), which keeps the same bounds,
    choices, pattern and default. Left out or blank: ``default``, else the key mode's, else Config's."""

    name: str
    type: str  # the spec's JSON type
    kind: str  # the parser, a key of _PARSERS
    title: str
    order: int
    description: str | None = None
    default: Any = None  # None: the spec offers no default
    minimum: int | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    hidden_maximum: float | None = None  # a maximum the parser keeps and the spec does not show
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    examples: tuple[str, ...] = ()
    items: str | None = None  # the JSON type of an array's items
    secret: bool = False
    missing: str | None = None  # a required field's problem when it is left out
    mode_default: tuple[Any, Any] | None = None  # (test, live): the default follows the key
    attribute: str | None = None  # the Config field, where not ``name``

    @property
    def target(self) -> str:
        return self.attribute or self.name

    @property
    def high(self) -> float | None:
        return self.maximum if self.maximum is not None else self.hidden_maximum

    def schema(self) -> dict[str, Any]:
        """The field's property in the spec."""
        schema: dict[str, Any] = {"type": self.type}
        if self.items is not None:
            schema["items"] = {"type": self.items}
        schema["title"] = self.title
        optional = (
            ("description", self.description), ("airbyte_secret", self.secret or None),
            ("pattern", self.pattern), ("examples", list(self.examples) or None),
            ("minimum", self.minimum), ("exclusiveMinimum", self.exclusive_minimum),
            ("maximum", self.maximum), ("enum", list(self.choices) or None), ("default", self.default),
        )
        schema.update((key, value) for key, value in optional if value is not None)
        schema["order"] = self.order
        return schema


# The rows in the order parse_config reads them (the key first: the first bad field is the one
# reported); the spec lists them by ``order``.
FIELDS: tuple[Field, ...] = (
    Field("secret_key", "string", "key", "Secret or restricted key", 0, secret=True,
          description="A Stripe secret key (sk_test_…, sk_live_…) or a restricted key "
          "(rk_test_…, rk_live_…) with read access to the streams you sync.",
          missing="is required: a Stripe secret or restricted key"),
    Field("account_id", "string", "account", "Connected account", 1,
          description="Read a Connect account's data (sent as the Stripe-Account header).",
          pattern="^acct_[A-Za-z0-9]+$"),
    Field("start_date", "string", "date", "Start date", 2,
          description="The snapshot skips objects created before this date (UTC, "
          "YYYY-MM-DD or RFC 3339). Leave empty to read everything.",
          examples=("2023-01-01", "2023-01-01T00:00:00Z")),
    Field("snapshot", "boolean", "boolean", "Snapshot", 3, default=True,
          description="Read every existing object before following changes. When off, "
          "an incremental stream only follows changes from the first sync on."),
    Field("resource_names", "array", "streams", "Streams to offer", 4, items="string",
          attribute="streams",
          description="Limit discover to these streams (stream names, or Conduit's "
          "resource names such as customer or checkout.session). Empty: all streams."),
    Field("batch_size", "integer", "integer", "Page size", 5, minimum=1, maximum=100,
          default=DEFAULT_BATCH_SIZE, description="Objects per request (Stripe's limit, 1 to 100)."),
    Field("lag_seconds", "integer", "integer", "Event lag (seconds)", 6, minimum=0, maximum=3600,
          default=DEFAULT_LAG_SECONDS,
          description="How far behind now change capture stops. Stripe's event list is "
          "eventually consistent: an event can appear seconds after it happened."),
    Field("requests_per_second", "number", "number", "Account rate limit", 7,
          exclusive_minimum=0, hidden_maximum=100_000,
          mode_default=(TEST_REQUESTS_PER_SECOND, LIVE_REQUESTS_PER_SECOND),
          description="Requests per second for the whole sync. Default: Stripe's, 100 "
          "for live keys and 25 for test keys."),
    Field("endpoint_requests_per_second", "number", "number", "Per-endpoint rate limit", 8,
          exclusive_minimum=0, hidden_maximum=100_000, default=ENDPOINT_REQUESTS_PER_SECOND,
          description="Requests per second to any one endpoint (Stripe's default: 25)."),
    Field("max_retries", "integer", "integer", "Retries", 9, minimum=0, maximum=10,
          default=DEFAULT_MAX_RETRIES,
          description="Retries of a request after a 429, a 5xx or a dropped connection."),
    Field("request_timeout_seconds", "number", "number", "Request timeout (seconds)", 10,
          exclusive_minimum=0, maximum=600, default=DEFAULT_TIMEOUT_SECONDS),
    Field("stripe_version", "string", "version", "Stripe API version", 11,
          default=DEFAULT_STRIPE_VERSION,
          description="Sent as Stripe-Version. The stream schemas describe 2024-06-20."),
    Field("api_base", "string", "api_base", "API base URL", 14, default=DEFAULT_API_BASE,
          description="Stripe's API, or a local emulator (plain http only to a loopback "
          "host, so a key never crosses a network in clear)."),
    Field("hydrate", "string", "choice", "Complete change records", 13,
          choices=("auto", "always", "never"), default="auto",
          description="Stripe renders an event's object in the API version of the event's "
          "time, never expanded. auto: fetch the object when the event's api_version differs "
          "from stripe_version, so change records look like snapshot records; always: fetch "
          "for every change; never: use the event's object as it is."),
)
BY_NAME: Mapping[str, Field] = {field.name: field for field in FIELDS}

SPEC: Mapping[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Stripe (Conduit design) Source Spec",
    "type": "object",
    "required": [field.name for field in FIELDS if field.missing],
    "additionalProperties": True,
    "properties": {field.name: field.schema() for field in sorted(FIELDS, key=lambda f: f.order)},
}


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
    # Given fields the spec does not type as strings go back parsed; strings stay as written.
    for field in FIELDS:
        if field.type != "string" and field.name in config:
            value = getattr(parsed, field.target)
            config[field.name] = list(value) if isinstance(value, tuple) else value
    return config


def parse_config(raw: Mapping[str, Any]) -> Config:
    carried = raw.get(CONFIG_ERROR_KEY)
    if isinstance(carried, Mapping):
        raise ConfigError(str(carried.get("field")), "", message=str(carried.get("message")))
    values = normalize(raw)
    parsed: dict[str, Any] = {}
    for field in FIELDS:
        value = values.get(field.name)
        if not _absent(value):
            parsed[field.target] = _PARSERS[field.kind](field, value)
        elif field.missing:
            raise ConfigError(field.name, field.missing)
        elif field.default is not None:
            parsed[field.target] = field.default
        elif field.mode_default is not None:
            parsed[field.target] = field.mode_default["_live_" in parsed["secret_key"]]
    return Config(**parsed)


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _key(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(field.name, str(field.missing))
    key = value.strip()
    if not _KEY_PATTERN.match(key):
        raise ConfigError(
            field.name,
            "is not a Stripe secret key: expected sk_test_…, sk_live_…, rk_test_… or rk_live_…"
            " (publishable keys pk_… cannot read data)",
        )
    return key


def _boolean(field: Field, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    # Conduit passes every setting as a string.
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(field.name, f"must be true or false, got {value!r}")


def _integer(field: Field, value: Any) -> int:
    low, high = field.minimum, field.high
    if isinstance(value, bool):
        raise ConfigError(field.name, f"must be an integer from {low} to {high}, got {value!r}")
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ConfigError(field.name, f"must be an integer from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(field.name, f"must be from {low} to {high}, got {value}")
    return value


def _number(field: Field, value: Any) -> float:
    low, high = field.exclusive_minimum, field.high
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number != number:
        raise ConfigError(field.name, f"must be a number, got {value!r}")
    if not low < number <= high:
        raise ConfigError(field.name, f"must be above {low:g} and at most {high:g}, got {value!r}")
    return number


def _choice(field: Field, value: Any) -> str:
    if value not in field.choices:
        raise ConfigError(field.name, f"must be one of {', '.join(field.choices)}, got {value!r}")
    return str(value)


def _account(field: Field, value: Any) -> str:
    if not isinstance(value, str) or not re.match(str(field.pattern), value.strip()):
        raise ConfigError(field.name, f"must be a Stripe account id like acct_123, got {value!r}")
    return value.strip()


def _start_date(field: Field, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(field.name, f"must be a date like 2023-01-01, got {value!r}")
    if isinstance(value, (int, float)):
        if value != value or value < 0:
            raise ConfigError(field.name, f"must be a date like 2023-01-01, got {value!r}")
        if value > pendulum.now("UTC").timestamp():
            raise ConfigError(field.name, f"is in the future: {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise ConfigError(field.name, f"must be a date like 2023-01-01, got {value!r}")
    try:
        parsed = pendulum.parse(value.strip(), tz="UTC", strict=False)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        raise ConfigError(
            field.name, f"must be a date like 2023-01-01 or 2023-01-01T00:00:00Z, got {value!r}"
        ) from None
    if not isinstance(parsed, pendulum.DateTime):
        raise ConfigError(field.name, f"must be a date or a date and time, got {value!r}")
    if parsed > pendulum.now("UTC"):
        raise ConfigError(field.name, f"is in the future: {value!r}")
    return int(parsed.timestamp())


def _streams(field: Field, value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(field.name, f"must be a list of stream names, got {value!r}")
    streams: list[str] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        resource = BY_STREAM.get(name) or BY_OBJECT.get(name)
        if name == "payment_method":
            resource = BY_STREAM["payment_methods"]
        if resource is None:
            raise ConfigError(
                field.name,
                f"unknown stream or resource {name!r}; known streams: {', '.join(sorted(BY_STREAM))}",
            )
        if resource.stream not in streams:
            streams.append(resource.stream)
    return tuple(streams)


def _version(field: Field, value: Any) -> str:
    if not isinstance(value, str) or not _VERSION_PATTERN.match(value.strip()):
        raise ConfigError(field.name, f"must be a Stripe API version like 2024-06-20, got {value!r}")
    return value.strip()


def _api_base(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(field.name, f"must be a URL, got {value!r}")
    url = urlparse(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(field.name, f"must be an http(s) URL with a host, got {value!r}")
    if url.scheme == "http" and not _is_loopback(url.hostname):
        raise ConfigError(
            field.name,
            f"plain http is allowed only to a loopback host (the key would cross the network in "
            f"clear); use https for {url.hostname}",
        )
    if url.path not in ("", "/") or url.query:
        raise ConfigError(field.name, f"must be a bare origin like https://api.stripe.com, got {value!r}")
    return f"{url.scheme}://{url.netloc}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_PARSERS: Mapping[str, Callable[[Field, Any], Any]] = {
    "key": _key, "boolean": _boolean, "integer": _integer, "number": _number, "choice": _choice,
    "account": _account, "date": _start_date, "streams": _streams, "version": _version,
    "api_base": _api_base,
}
