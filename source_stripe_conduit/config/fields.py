"""The table of settings: one row per field, from which the spec and the parsing both come."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from source_stripe_conduit.config.model import (
    DEFAULT_API_BASE,
    DEFAULT_BATCH_SIZE,
    DEFAULT_LAG_SECONDS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_STRIPE_VERSION,
    DEFAULT_TIMEOUT_SECONDS,
    ENDPOINT_REQUESTS_PER_SECOND,
    LIVE_RATE_SHARE,
    LIVE_REQUESTS_PER_SECOND,
    TEST_RATE_SHARE,
    TEST_REQUESTS_PER_SECOND,
    Field,
)

# The rows in the order parse_config reads them (the key first: the first bad field is the one
# reported); the spec lists them by ``order``.
FIELDS: tuple[Field, ...] = (
    Field("secret_key", "string", "key", "Secret or restricted key", 0, secret=True,
          description="A Stripe secret key (sk_test_…, sk_live_…) or a restricted key "
          "(rk_test_…, rk_live_…) with read access to the streams you sync.",
          missing="is required: a Stripe secret or restricted key"),
    Field("account_id", "string", "account", "Connected account", 1,
          description="Read a Connect account's data (sent as the Stripe-Account header). "
          "With account_ids or connected_accounts it is read too, and a state saved while it "
          "was the only account stays its position.",
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
    # Read before the rates it scales. No spec default for any of the three: Airbyte's form
    # would write it into the config, and a rate given is used as given.
    Field("rate_share", "number", "number", "Share of the account's rate limits", 7,
          exclusive_minimum=0, maximum=1, mode_default=(TEST_RATE_SHARE, LIVE_RATE_SHARE),
          description="The share of Stripe's rate limits (the account's and each endpoint's) "
          "the sync may use. The limits are the account's: the merchant's own requests, live "
          "charges among them, need the rest. Default: 0.5 with a live key, 1 with a test "
          "key. The sync also slows down for a while whenever Stripe refuses requests for "
          "those limits."),
    Field("requests_per_second", "number", "number", "Account rate limit", 8,
          exclusive_minimum=0, hidden_maximum=100_000, scaled_by="rate_share",
          mode_default=(TEST_REQUESTS_PER_SECOND, LIVE_REQUESTS_PER_SECOND),
          description="Requests per second for the whole sync. Default: rate_share of "
          "Stripe's limit (100 for live keys, 25 for test keys). Given, it is used as is, or "
          "times rate_share if that is given too."),
    Field("endpoint_requests_per_second", "number", "number", "Per-endpoint rate limit", 9,
          exclusive_minimum=0, hidden_maximum=100_000, scaled_by="rate_share",
          mode_default=(ENDPOINT_REQUESTS_PER_SECOND, ENDPOINT_REQUESTS_PER_SECOND),
          description="Requests per second to any one endpoint. Default: rate_share of "
          "Stripe's limit (25). Given, it is used as is, or times rate_share if that is given "
          "too."),
    Field("max_retries", "integer", "integer", "Retries", 10, minimum=0, maximum=10,
          default=DEFAULT_MAX_RETRIES,
          description="Retries of a request after a 429, a 5xx or a dropped connection."),
    Field("request_timeout_seconds", "number", "number", "Request timeout (seconds)", 11,
          exclusive_minimum=0, maximum=600, default=DEFAULT_TIMEOUT_SECONDS),
    Field("stripe_version", "string", "version", "Stripe API version", 12,
          default=DEFAULT_STRIPE_VERSION,
          description="account: read in each account's own API version (Stripe renders an "
          "event's object in it, so a change needs no request, and newer fields come "
          "through). A version such as 2024-06-20 or 2025-03-31.basil pins every request to "
          "it (changes rendered in another version are fetched again, see hydrate). The "
          "stream schemas describe every release from 2024-06-20 to 2026-10-28.endive."),
    Field("api_base", "string", "api_base", "API base URL", 14, default=DEFAULT_API_BASE,
          description="Stripe's API, or a local emulator (plain http only to a loopback "
          "host, so a key never crosses a network in clear)."),
    Field("hydrate", "string", "choice", "Complete change records", 13,
          choices=("auto", "always", "never"), default="auto",
          description="Stripe renders an event's object in the API version of the event's "
          "time, never expanded. auto: fetch the object when the event was rendered in "
          "another version than the stream reads (the account upgraded since, or a pinned "
          "stripe_version), so change records look like snapshot records; "
          "always: fetch for every change; never: use the event's object as it is."),
    Field("account_ids", "array", "accounts", "Connected accounts", 15, items="string",
          description="Read these connected accounts of a Connect platform in one connection "
          "(besides the platform's own data, see include_platform). Records carry account_id "
          "and are keyed by [account_id, id]. Instead of connected_accounts.",
          examples=("acct_1Example",)),
    Field("connected_accounts", "string", "choice", "All connected accounts", 16, choices=("all",),
          description="all: every connected account of the platform, listed from /v1/accounts "
          "at the start of each sync (new accounts join, removed ones stop). Instead of "
          "account_ids."),
    Field("include_platform", "boolean", "boolean", "Include the platform's own data", 17,
          default=True,
          description="With account_ids or connected_accounts: also read the platform "
          "account's own data (records with a null account_id)."),
    Field("account_shard", "string", "shard", "Account shard", 18, pattern=r"^\d+/\d+$",
          examples=("0/4",),
          description="i/n: read only the connected accounts whose id hashes to shard i of n "
          "(0 to n-1), to split a large platform over n connections. The platform's own data "
          "is read by shard 0."),
    Field("account_rate_limits", "string", "choice", "Rate limit of connected accounts", 19,
          choices=("shared", "per_account"), default="shared",
          description="shared: every account read shares the rate limits above (Stripe does "
          "not document whether reads of a connected account count against the platform); "
          "per_account: each connected account gets them in full."),
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
