"""A raw configuration (ours or Conduit's) into a ``Config``, or a ``ConfigError`` naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from source_stripe_conduit.config.fields import BY_NAME, FIELDS
from source_stripe_conduit.config.model import ALIASES, Config, ConfigError
from source_stripe_conduit.config.parsers import _PARSERS, _absent


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
        parse_config(config)
    except ConfigError as error:
        if error.field == "secret_key":
            config["secret_key"] = ""
        else:
            config.pop(error.field, None)
        config[CONFIG_ERROR_KEY] = {"field": error.field, "message": str(error)}
        return config
    # Given fields go back parsed, so that every later reader of this config (the CDK's spec
    # check, its secret filter, check and read alike) sees the values the connector uses: a
    # key pasted with a newline would otherwise be filtered from logs as pasted, not as sent.
    # Dates stay as written (the spec types them as strings; the parsed value is a number).
    for field in FIELDS:
        if field.name not in config or field.kind == "date" or _absent(config[field.name]):
            continue
        # Each value as given, parsed: a rate times rate_share would be scaled once more
        # when this config is parsed again.
        value = _PARSERS[field.kind](field, config[field.name])
        if field.kind == "shard":
            value = f"{value[0]}/{value[1]}"
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
        given = not _absent(value)
        if given:
            parsed[field.target] = _PARSERS[field.kind](field, value)
        elif field.missing:
            raise ConfigError(field.name, field.missing)
        elif field.default is not None:
            parsed[field.target] = field.default
        elif field.mode_default is not None:
            parsed[field.target] = field.mode_default["_live_" in parsed["secret_key"]]
        share = field.scaled_by
        # A rate given before rate_share existed keeps meaning what the sync uses.
        if share is not None and (not given or not _absent(values.get(share))):
            parsed[field.target] *= parsed[BY_NAME[share].target]
    return _accounts_checked(Config(**parsed), values)


def _accounts_checked(config: Config, given: Mapping[str, Any]) -> Config:
    """The account settings that exclude or need one another."""
    if config.account_ids and config.connected_accounts:
        raise ConfigError("connected_accounts", "cannot be combined with account_ids: give "
                          "the accounts, or all of them, not both")
    if config.account_shard and not config.many_accounts:
        raise ConfigError("account_shard", "needs account_ids or connected_accounts: there "
                          "is only one account to read")
    for name in ("include_platform", "account_rate_limits"):
        if not config.many_accounts and not _absent(given.get(name)) \
                and getattr(config, name) != BY_NAME[name].default:
            raise ConfigError(name, "applies only with account_ids or connected_accounts")
    return config
