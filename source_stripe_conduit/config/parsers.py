"""Each kind of value a field holds, parsed and checked against its row's bounds."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import pendulum

from source_stripe_conduit.config.model import (
    _KEY_PATTERN,
    _VERSION_PATTERN,
    ACCOUNT_VERSION,
    ConfigError,
    Field,
)
from source_stripe_conduit.resources import BY_OBJECT, BY_STREAM


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


ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]+$")


def _account(field: Field, value: Any) -> str:
    if not isinstance(value, str) or not ACCOUNT_ID.match(value.strip()):
        raise ConfigError(field.name, f"must be a Stripe account id like acct_123, got {value!r}")
    return value.strip()


def _accounts(field: Field, value: Any) -> tuple[str, ...]:
    ids = [value] if isinstance(value, str) else value
    if not isinstance(ids, (list, tuple)):
        raise ConfigError(field.name, f"must be a list of Stripe account ids, got {value!r}")
    accounts: list[str] = []
    for item in ids:
        if not isinstance(item, str) or not ACCOUNT_ID.match(item.strip()):
            raise ConfigError(field.name,
                              f"must hold Stripe account ids like acct_123, got {item!r}")
        if item.strip() not in accounts:
            accounts.append(item.strip())
    return tuple(accounts)


def _shard(field: Field, value: Any) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(field.name, f"must be i/n, like 0/4, got {value!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index >= count:
        raise ConfigError(field.name, f"must be i/n with n at least 1 and i from 0 to n-1, "
                                      f"got {value!r}")
    return index, count


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
    if isinstance(value, str) and value.strip() == ACCOUNT_VERSION:
        return ACCOUNT_VERSION
    if not isinstance(value, str) or not _VERSION_PATTERN.match(value.strip()):
        raise ConfigError(field.name, f"must be {ACCOUNT_VERSION!r} (the account's own) or a "
                                      f"Stripe API version like 2024-06-20, got {value!r}")
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
    "api_base": _api_base, "accounts": _accounts, "shard": _shard,
}
