"""What a configuration comes to (``Config``), its error, and the row type of the settings table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_STRIPE_VERSION = "2024-06-20"  # the oldest release the stream schemas describe
DEFAULT_BATCH_SIZE = 100
DEFAULT_LAG_SECONDS = 60
DEFAULT_MAX_RETRIES = 4
DEFAULT_TIMEOUT_SECONDS = 60.0
# Stripe's documented limits: per account 100 requests/s live and 25/s in test mode, and by
# default 25/s on any one endpoint. Accounts can have them raised, so they are settings.
LIVE_REQUESTS_PER_SECOND = 100.0
TEST_REQUESTS_PER_SECOND = 25.0
ENDPOINT_REQUESTS_PER_SECOND = 25.0
# The share of those limits a sync uses by default. Stripe's limits are the account's, and in
# live mode the merchant's own integration spends them too: Stripe's advice is to keep
# background jobs to a subset of the limit "to allow time-sensitive events such as live
# charges to succeed". A sandbox serves no customer: the whole limit.
LIVE_RATE_SHARE = 0.5
TEST_RATE_SHARE = 1.0

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
    rate_share: float = TEST_RATE_SHARE
    requests_per_second: float = TEST_REQUESTS_PER_SECOND
    """The account's rate the sync uses: ``rate_share`` of Stripe's limit, or as given."""
    endpoint_requests_per_second: float = ENDPOINT_REQUESTS_PER_SECOND
    """Any one endpoint's rate the sync uses, the same way."""
    max_retries: int = DEFAULT_MAX_RETRIES
    request_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    stripe_version: str = DEFAULT_STRIPE_VERSION
    api_base: str = DEFAULT_API_BASE
    hydrate: str = "auto"
    account_ids: tuple[str, ...] = ()
    connected_accounts: str | None = None
    include_platform: bool = True
    account_shard: tuple[int, int] | None = None
    account_rate_limits: str = "shared"

    @property
    def livemode(self) -> bool:
        return "_live_" in self.secret_key

    @property
    def many_accounts(self) -> bool:
        """Read a platform and its connected accounts in one connection: every record's key
        holds its account, and each stream's state one position per account."""
        return bool(self.account_ids) or self.connected_accounts == "all"

    def __repr__(self) -> str:
        # The key must never reach a log line, even through a repr in a traceback.
        return (f"Config(account_id={self.account_id!r}, account_ids={len(self.account_ids)}, "
                f"streams={self.streams!r}, livemode={self.livemode})")


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
    # A share field read before this one (rate_share): a value left out is the default times
    # the share; a value given is used as given, unless the share is given too.
    scaled_by: str | None = None

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
