"""Configuration: every invalid value is a ConfigError naming its field; Conduit's keys work; the
key never shows; check, discover and read turn a bad configuration into Airbyte's config error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pendulum
import pytest
from airbyte_cdk.models import Status, TraceType, Type
from airbyte_cdk.test.entrypoint_wrapper import _run_command, discover
from airbyte_cdk.test.models.scenario import ExpectedOutcome
from helpers import (
    API_BASE,
    DAY,
    NOW,
    SECRET,
    FakeStripe,
    config,
    config_error_traces,
    record_data,
    run_check,
    run_read,
)

from source_stripe_conduit.config import (
    _PARSERS,
    DEFAULT_API_BASE,
    DEFAULT_BATCH_SIZE,
    DEFAULT_STRIPE_VERSION,
    FIELDS,
    LIVE_REQUESTS_PER_SECOND,
    SPEC,
    TEST_REQUESTS_PER_SECOND,
    Config,
    ConfigError,
    Field,
    parse_config,
    prepare,
)
from source_stripe_conduit.config.model import (
    ENDPOINT_REQUESTS_PER_SECOND,
    LIVE_RATE_SHARE,
    TEST_RATE_SHARE,
)
from source_stripe_conduit.resources import BY_STREAM
from source_stripe_conduit.source import SourceStripeConduit

INVALID: list[tuple[str, Any]] = [
    ("secret_key", None),
    ("secret_key", ""),
    ("secret_key", "   "),
    ("secret_key", 12345),
    ("secret_key", "pk_test_51abcdefPublishableKey"),
    ("secret_key", "pk_live_51abcdefPublishableKey"),
    ("secret_key", "sk_prod_51abcdef"),
    ("secret_key", "not a key"),
    ("batch_size", 0),
    ("batch_size", 101),
    ("batch_size", -1),
    ("batch_size", "abc"),
    ("batch_size", 2.5),
    ("batch_size", True),
    ("lag_seconds", -1),
    ("lag_seconds", 3601),
    ("lag_seconds", "soon"),
    ("max_retries", -1),
    ("max_retries", 11),
    ("max_retries", "x"),
    ("request_timeout_seconds", 0),
    ("request_timeout_seconds", -5),
    ("request_timeout_seconds", 601),
    ("request_timeout_seconds", "fast"),
    ("request_timeout_seconds", float("nan")),
    ("requests_per_second", 0),
    ("endpoint_requests_per_second", -1),
    ("account_id", "cus_123"),
    ("account_id", "acct_"),
    ("account_id", 42),
    ("start_date", "not a date"),
    ("start_date", "2023-13-45"),
    ("start_date", True),
    ("start_date", ["2023-01-01"]),
    ("stripe_version", "latest"),
    ("stripe_version", "2024-6-20"),
    ("stripe_version", 20240620),
    ("api_base", "ftp://api.stripe.com"),
    ("api_base", "http://api.stripe.com"),
    ("api_base", "http://10.0.0.5:12111"),
    ("api_base", "http://stripe-emulator:12111"),
    ("api_base", "https://api.stripe.com/v1"),
    ("api_base", "https://api.stripe.com?x=1"),
    ("api_base", "api.stripe.com"),
    ("api_base", 443),
    ("resource_names", ["customers", "no_such_stream"]),
    ("resource_names", "orders"),
    ("resource_names", [1, 2]),
    ("resource_names", {"customers": True}),
    ("snapshot", "yes"),
    ("snapshot", 1),
]


@pytest.mark.parametrize("field, value", INVALID, ids=[f"{f}={v!r}" for f, v in INVALID])
def test_invalid_value_raises_config_error_naming_its_field(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(config(**{field: value}) if value is not None else
                     {k: v for k, v in config().items() if k != field})
    assert raised.value.field == field
    assert f"'{field}'" in str(raised.value)


def test_missing_secret_key_names_the_field() -> None:
    with pytest.raises(ConfigError, match="secret_key.*required"):
        parse_config({})


def test_publishable_key_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match="publishable keys pk_"):
        parse_config(config(secret_key="pk_test_abcdef"))


@pytest.mark.parametrize("future", [
    pendulum.now("UTC").add(days=2).to_date_string(),
    pendulum.now("UTC").add(hours=1).isoformat(),
    int(pendulum.now("UTC").add(days=2).timestamp()),  # unix seconds too
])
def test_future_start_date_is_refused(future: Any) -> None:
    with pytest.raises(ConfigError, match="start_date.*future"):
        parse_config(config(start_date=future))


@pytest.mark.parametrize("value", [-1, float("nan")])
def test_impossible_numeric_start_date_is_refused(value: Any) -> None:
    with pytest.raises(ConfigError, match="start_date"):
        parse_config(config(start_date=value))


@pytest.mark.parametrize("value, expected", [
    ("2023-01-01", 1672531200),
    ("2023-01-01T00:00:00Z", 1672531200),
    ("2023-01-01T01:00:00+01:00", 1672531200),
    (1672531200, 1672531200),
    ("", None),
    (None, None),
])
def test_start_date_is_unix_seconds(value: Any, expected: int | None) -> None:
    assert parse_config(config(start_date=value)).start_date == expected


@pytest.mark.parametrize("base", [
    "http://127.0.0.1:12111", "http://localhost:12111", "http://[::1]:8080", "http://127.0.0.2",
    "https://stripe-proxy.internal", "https://api.stripe.com/",
])
def test_api_base_allows_https_anywhere_and_http_to_loopback(base: str) -> None:
    assert parse_config(config(api_base=base)).api_base == base.rstrip("/")


def test_http_to_a_remote_host_is_refused_because_the_key_would_travel_in_clear() -> None:
    with pytest.raises(ConfigError, match="api_base.*loopback"):
        parse_config(config(api_base="http://api.stripe.com"))


def test_defaults() -> None:
    parsed = parse_config({"secret_key": SECRET})
    assert parsed == Config(secret_key=SECRET)
    assert (parsed.batch_size, parsed.stripe_version, parsed.api_base, parsed.snapshot,
            parsed.streams, parsed.account_id, parsed.start_date) == (
        DEFAULT_BATCH_SIZE, DEFAULT_STRIPE_VERSION, DEFAULT_API_BASE, True, (), None, None)


@pytest.mark.parametrize("key, rate", [
    ("sk_test_abc", TEST_REQUESTS_PER_SECOND), ("rk_test_abc", TEST_REQUESTS_PER_SECOND),
    # Live: the default share of Stripe's limit (issue 17), the merchant keeps the rest.
    ("sk_live_abc", LIVE_REQUESTS_PER_SECOND * LIVE_RATE_SHARE),
    ("rk_live_abc", LIVE_REQUESTS_PER_SECOND * LIVE_RATE_SHARE),
])
def test_default_account_rate_follows_the_key_mode(key: str, rate: float) -> None:
    # The official connector gives rk_test_ keys the live rate: not here.
    parsed = parse_config({"secret_key": key})
    assert parsed.requests_per_second == rate
    assert parsed.livemode == ("_live_" in key)


def test_conduit_keys_are_accepted() -> None:
    parsed = parse_config({"secretKey": SECRET, "batchSize": "10", "snapshot": "false",
                           "resourceName": "customer"})
    assert parsed.secret_key == SECRET
    assert parsed.batch_size == 10
    assert parsed.snapshot is False
    assert parsed.streams == ("customers",)


def test_our_keys_win_over_conduits_when_both_are_given() -> None:
    parsed = parse_config({"secret_key": SECRET, "secretKey": "sk_test_other",
                           "batch_size": 20, "batchSize": "10"})
    assert (parsed.secret_key, parsed.batch_size) == (SECRET, 20)


@pytest.mark.parametrize("name, stream", [
    ("customer", "customers"), ("checkout.session", "checkout_sessions"),
    ("issuing.card", "cards"), ("payment_method", "payment_methods"),
    ("subscription", "subscriptions"), ("invoiceitem", "invoice_items"),
    ("charges", "charges"), (" customers ", "customers"),
])
def test_conduit_resource_names_map_to_streams(name: str, stream: str) -> None:
    assert parse_config(config(resource_names=[name])).streams == (stream,)


def test_resource_names_are_deduplicated_in_order() -> None:
    parsed = parse_config(config(resource_names=["charges", "customer", "customers", ""]))
    assert parsed.streams == ("charges", "customers")


def test_unknown_resource_lists_the_known_streams() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(config(resource_names=["order"]))
    assert "'order'" in str(raised.value) and "customers" in str(raised.value)


@pytest.mark.parametrize("field, value, parsed_value", [
    ("batch_size", "1", 1), ("batch_size", 100, 100), ("batch_size", 50.0, 50),
    ("lag_seconds", "0", 0), ("max_retries", 0, 0), ("request_timeout_seconds", "2.5", 2.5),
    ("snapshot", "TRUE", True), ("snapshot", False, False),
    ("stripe_version", "2023-10-16", "2023-10-16"),
    ("stripe_version", "2024-09-30.acacia", "2024-09-30.acacia"),
    ("account_id", " acct_1Abc ", "acct_1Abc"),
])
def test_valid_values_are_normalised(field: str, value: Any, parsed_value: Any) -> None:
    assert getattr(parse_config(config(**{field: value})), field) == parsed_value


def test_secret_never_appears_in_str_or_repr_of_config() -> None:
    parsed = parse_config(config())
    assert SECRET not in str(parsed)
    assert SECRET not in repr(parsed)
    assert SECRET not in f"{parsed}"


@pytest.mark.parametrize("field, value", [f for f in INVALID if f[0] != "secret_key"])
def test_secret_never_appears_in_an_error_message(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(config(**{field: value}))
    assert SECRET not in str(raised.value)
    assert SECRET[8:] not in str(raised.value)


@pytest.mark.parametrize("bad_key", ["sk_test_has spaces in it", "pk_test_51SecretLookingValue",
                                     "sk_test_51Secret/Slash"])
def test_a_malformed_key_is_not_echoed_in_its_error(bad_key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(config(secret_key=bad_key))
    assert bad_key not in str(raised.value)
    assert bad_key[8:] not in str(raised.value)


def test_spec_marks_the_key_secret_and_matches_the_limits() -> None:
    properties = SPEC["properties"]
    assert properties["secret_key"]["airbyte_secret"] is True
    assert SPEC["required"] == ["secret_key"]
    assert (properties["batch_size"]["minimum"], properties["batch_size"]["maximum"]) == (1, 100)
    # Every spec property is a field the parser reads.
    assert set(properties) - {"resource_names"} <= set(Config.__dataclass_fields__)


# -- the table of fields: the spec and the parser from the same rows ------------------------------

# The spec as it was written out by hand before it was generated from FIELDS (and extended since
# with the connected-account fields): a change to the spec shows here as a change to this file.
FROZEN_SPEC = Path(__file__).parent / "data" / "spec.json"
INTEGERS = [f for f in FIELDS if f.kind == "integer"]
NUMBERS = [f for f in FIELDS if f.kind == "number"]


def test_the_generated_spec_is_the_frozen_one_key_for_key_and_type_for_type() -> None:
    # Compared as text, so the order of keys and 60.0 against 60 count too.
    assert json.dumps(SPEC, indent=2, ensure_ascii=False) + "\n" == FROZEN_SPEC.read_text()


def test_every_spec_property_has_a_row_and_every_row_a_property() -> None:
    names = [f.name for f in FIELDS]
    assert len(names) == len(set(names))
    assert set(names) == set(SPEC["properties"])
    assert [f.name for f in sorted(FIELDS, key=lambda f: f.order)] == list(SPEC["properties"])
    assert SPEC["required"] == [f.name for f in FIELDS if f.missing]


def test_every_config_attribute_is_read_by_exactly_one_row() -> None:
    assert sorted(f.target for f in FIELDS) == sorted(Config.__dataclass_fields__)
    assert FIELDS[0].name == "secret_key"  # read first: the key mode picks defaults


def test_every_row_has_a_parser_and_the_bounds_it_needs() -> None:
    assert {f.kind for f in FIELDS} <= set(_PARSERS)
    for f in INTEGERS:
        assert f.type == "integer" and f.minimum is not None and f.maximum is not None, f.name
    for f in NUMBERS:
        assert f.type == "number" and f.exclusive_minimum is not None and f.high is not None, f.name
    for f in FIELDS:
        assert bool(f.choices) == (f.kind == "choice"), f.name


def test_a_spec_default_is_the_config_default() -> None:
    for f in FIELDS:
        if f.default is not None:
            assert Config.__dataclass_fields__[f.target].default == f.default, f.name
            assert type(Config.__dataclass_fields__[f.target].default) is type(f.default), f.name


@pytest.mark.parametrize("field", INTEGERS, ids=[f.name for f in INTEGERS])
def test_integer_bounds_come_from_the_row(field: Field) -> None:
    low, high = field.minimum, field.maximum
    assert (SPEC["properties"][field.name]["minimum"], SPEC["properties"][field.name]["maximum"]) == (
        low, high)
    assert getattr(parse_config(config(**{field.name: low})), field.target) == low
    assert getattr(parse_config(config(**{field.name: str(high)})), field.target) == high
    for outside in (low - 1, high + 1):
        with pytest.raises(ConfigError, match=f"'{field.name}': must be from {low} to {high}, got"):
            parse_config(config(**{field.name: outside}))


@pytest.mark.parametrize("field", NUMBERS, ids=[f.name for f in NUMBERS])
def test_number_bounds_come_from_the_row(field: Field) -> None:
    low, high = field.exclusive_minimum, field.high
    assert low is not None and high is not None
    assert SPEC["properties"][field.name]["exclusiveMinimum"] == low
    assert SPEC["properties"][field.name].get("maximum") == field.maximum
    assert getattr(parse_config(config(**{field.name: high})), field.target) == high
    for outside in (low, high * 1.01):
        with pytest.raises(ConfigError, match=f"'{field.name}': must be above {low:g} and at most"):
            parse_config(config(**{field.name: outside}))


def test_choices_come_from_the_row() -> None:
    hydrate = next(f for f in FIELDS if f.name == "hydrate")
    assert SPEC["properties"]["hydrate"]["enum"] == list(hydrate.choices)
    for choice in hydrate.choices:
        assert parse_config(config(hydrate=choice)).hydrate == choice
    with pytest.raises(ConfigError, match="'hydrate': must be one of auto, always, never, got 'Auto'"):
        parse_config(config(hydrate="Auto"))


def test_left_out_fields_take_the_row_default_and_the_rate_follows_the_key() -> None:
    parsed = parse_config({"secret_key": "sk_live_abc"})
    for f in FIELDS:
        if f.default is not None:
            assert getattr(parsed, f.target) == f.default, f.name
    assert parsed.requests_per_second == LIVE_REQUESTS_PER_SECOND * LIVE_RATE_SHARE


def test_prepare_gives_every_field_as_the_connector_uses_it_and_dates_as_written() -> None:
    prepared = prepare({"secretKey": f" {SECRET}\n", "batchSize": "10", "snapshot": "false",
                        "resourceName": "customer", "request_timeout_seconds": "2.5",
                        "api_base": "https://api.stripe.com/", "start_date": "2023-01-01",
                        "account_id": " acct_1A ", "account_ids": ["acct_2B"],
                        "account_shard": " 1 / 4 "})
    assert prepared == {"secret_key": SECRET, "batch_size": 10, "snapshot": False,
                        "resource_names": ["customers"], "request_timeout_seconds": 2.5,
                        "api_base": "https://api.stripe.com", "start_date": "2023-01-01",
                        "account_id": "acct_1A", "account_ids": ["acct_2B"],
                        "account_shard": "1/4"}


def test_prepare_drops_the_bad_value_and_carries_the_message_naming_the_field() -> None:
    prepared = prepare(config(batch_size=0, hydrate="sometimes"))
    assert "batch_size" not in prepared and prepared["hydrate"] == "sometimes"
    message = "Config field 'batch_size': must be from 1 to 100, got 0"
    assert prepared["_config_error"] == {"field": "batch_size", "message": message}
    with pytest.raises(ConfigError, match=message):
        parse_config(prepared)


# -- through the entrypoint -----------------------------------------------------------------------

BAD_CONFIGS: list[tuple[dict[str, Any], str]] = [
    (config(secret_key="pk_test_abc"), "secret_key"),
    (config(batch_size=101), "batch_size"),
    (config(api_base="http://api.stripe.com"), "api_base"),
    (config(resource_names=["nope"]), "resource_names"),
]

# The CDK's entrypoint validates a config against the spec before Source.check; the source's
# configure() runs first, so check still answers with a message that names the field.
CHECK_CASES = [pytest.param(bad, field, id=field) for bad, field in BAD_CONFIGS]


@pytest.mark.parametrize("bad, field", CHECK_CASES)
def test_check_with_a_bad_config_answers_failed_naming_the_field(
        bad: dict[str, Any], field: str, tmp_path: Path, fake: FakeStripe) -> None:
    output = run_check(bad, tmp_path)
    statuses = [m.connectionStatus for m in output.connection_status_messages]
    assert len(statuses) == 1 and statuses[0] is not None
    assert statuses[0].status == Status.FAILED
    assert f"'{field}'" in (statuses[0].message or "")
    assert not output.errors
    assert fake.requests == []


@pytest.mark.parametrize("bad, field", BAD_CONFIGS, ids=[f for _, f in BAD_CONFIGS])
def test_discover_with_a_bad_config_emits_a_config_error_trace(
        bad: dict[str, Any], field: str) -> None:
    output = discover(SourceStripeConduit(), bad, expected_outcome=ExpectedOutcome.EXPECT_EXCEPTION)
    traces = config_error_traces(output)
    assert traces and f"'{field}'" in traces[0]
    assert not output.get_message_by_types([Type.CATALOG])


@pytest.mark.parametrize("bad, field", BAD_CONFIGS, ids=[f for _, f in BAD_CONFIGS])
def test_read_with_a_bad_config_emits_a_config_error_trace(
        bad: dict[str, Any], field: str, fake: FakeStripe) -> None:
    output = run_read(bad, ["customers"], failure=True)
    traces = config_error_traces(output)
    assert traces and f"'{field}'" in traces[0]
    assert all(m.trace is None or m.trace.type != TraceType.ERROR or
               m.trace.error is None or SECRET not in m.trace.error.message
               for m in output.errors)
    assert not output.records
    assert fake.requests == []


def test_check_with_a_spec_invalid_value_still_answers_failed_not_a_crash(
        tmp_path: Path, fake: FakeStripe) -> None:
    output = run_check(config(lag_seconds=-1), tmp_path)
    statuses = [m.connectionStatus for m in output.connection_status_messages]
    assert [s.status for s in statuses if s is not None] == [Status.FAILED]
    assert fake.requests == []


def test_check_accepts_a_conduit_config(tmp_path: Path, fake: FakeStripe) -> None:
    conduit = {"secretKey": SECRET, "batchSize": "10", "snapshot": "false",
               "resourceName": "customer", "api_base": API_BASE}
    output = run_check(conduit, tmp_path)
    statuses = [m.connectionStatus for m in output.connection_status_messages]
    assert [s.status for s in statuses if s is not None] == [Status.SUCCEEDED]


def test_read_accepts_a_conduit_config(fake: FakeStripe) -> None:
    fake.add("/v1/customers", {"id": "cus_1", "object": "customer", "created": NOW - DAY})
    conduit = {"secretKey": SECRET, "batchSize": "10", "snapshot": "false",
               "resourceName": "customer", "api_base": API_BASE}
    output = run_read(conduit, ["customers"])
    assert [r["id"] for r in record_data(output)] == ["cus_1"]
    assert fake.calls("/v1/customers")[-1].get("limit") == "10"


def test_discover_offers_the_configured_streams_with_conduit_names(fake: FakeStripe) -> None:
    output = discover(SourceStripeConduit(), {"secretKey": SECRET,
                                              "resourceName": "checkout.session"})
    streams = output.catalog.catalog.streams
    assert [s.name for s in streams] == ["checkout_sessions"]


def test_discover_offers_every_stream_by_default_with_incremental_where_supported(
        fake: FakeStripe) -> None:
    output = discover(SourceStripeConduit(), config())
    streams = {s.name: s for s in output.catalog.catalog.streams}
    assert set(streams) == set(BY_STREAM)
    for name, stream in streams.items():
        modes = {m.value for m in stream.supported_sync_modes}
        assert ("incremental" in modes) == BY_STREAM[name].incremental, name
        assert stream.source_defined_primary_key == [["id"]]


def test_spec_command_offers_the_spec() -> None:
    output = _run_command(SourceStripeConduit(), ["spec"])
    (message,) = output.get_message_by_types([Type.SPEC])
    assert message.spec is not None
    assert message.spec.connectionSpecification == dict(SPEC)


# -- connected accounts ------------------------------------------------------------------------

def test_account_ids_are_read_deduplicated_in_order() -> None:
    parsed = parse_config(config(account_ids=["acct_2", " acct_1", "acct_2"]))
    assert parsed.account_ids == ("acct_2", "acct_1")
    assert parsed.many_accounts and parsed.include_platform


def test_all_connected_accounts_is_many_accounts() -> None:
    assert parse_config(config(connected_accounts="all")).many_accounts
    assert not parse_config(config(account_id="acct_1")).many_accounts


@pytest.mark.parametrize(("overrides", "field", "problem"), [
    ({"account_ids": ["cus_1"]}, "account_ids", "account ids like acct_123"),
    ({"account_ids": "acct_1,acct_2"}, "account_ids", "account ids like acct_123"),
    ({"account_ids": 3}, "account_ids", "a list of Stripe account ids"),
    ({"connected_accounts": "some"}, "connected_accounts", "must be one of all"),
    ({"account_ids": ["acct_1"], "connected_accounts": "all"}, "connected_accounts",
     "cannot be combined with account_ids"),
    ({"connected_accounts": "all", "account_shard": "4/4"}, "account_shard", "i from 0 to n-1"),
    ({"connected_accounts": "all", "account_shard": "1-4"}, "account_shard", "must be i/n"),
    ({"connected_accounts": "all", "account_shard": "0/0"}, "account_shard", "n at least 1"),
    ({"account_shard": "0/2"}, "account_shard", "needs account_ids or connected_accounts"),
    ({"include_platform": False}, "include_platform", "applies only with account_ids"),
    ({"connected_accounts": "all", "account_rate_limits": "own"}, "account_rate_limits",
     "must be one of shared, per_account"),
])
def test_account_settings_that_do_not_fit_name_the_field(overrides: dict[str, Any], field: str,
                                                         problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(config(**overrides))
    assert raised.value.field == field
    assert problem in str(raised.value)


def test_a_shard_is_its_index_and_count() -> None:
    parsed = parse_config(config(connected_accounts="all", account_shard=" 2 / 8 "))
    assert parsed.account_shard == (2, 8)
    assert parse_config(config(connected_accounts="all")).account_rate_limits == "shared"


# -- rate_share: the sync's part of the account's limits (issue 17) --------------------------------

LIVE_KEY, TEST_KEY = "sk_live_51RateShareLive", "sk_test_51RateShareTest"


@pytest.mark.parametrize("key, share", [(LIVE_KEY, 0.5), ("rk_live_abc", 0.5), (TEST_KEY, 1.0),
                                        ("rk_test_abc", 1.0)])
def test_rate_share_defaults_to_half_live_and_all_in_a_sandbox(key: str, share: float) -> None:
    parsed = parse_config({"secret_key": key})
    stripes = LIVE_REQUESTS_PER_SECOND if "_live_" in key else TEST_REQUESTS_PER_SECOND
    assert (LIVE_RATE_SHARE, TEST_RATE_SHARE) == (0.5, 1.0)
    assert parsed.rate_share == share
    assert parsed.requests_per_second == share * stripes
    assert parsed.endpoint_requests_per_second == share * ENDPOINT_REQUESTS_PER_SECOND


def test_a_given_share_applies_to_stripes_limits() -> None:
    parsed = parse_config({"secret_key": LIVE_KEY, "rate_share": "0.2"})
    assert (parsed.rate_share, parsed.requests_per_second, parsed.endpoint_requests_per_second) \
        == (0.2, 20.0, 5.0)
    sandbox = parse_config({"secret_key": TEST_KEY, "rate_share": 0.5})
    assert (sandbox.requests_per_second, sandbox.endpoint_requests_per_second) == (12.5, 12.5)


def test_a_given_rate_is_used_as_given_unless_the_share_is_given_too() -> None:
    alone = parse_config({"secret_key": LIVE_KEY, "requests_per_second": 40})
    # The endpoint rate left out is still the default share of Stripe's.
    assert (alone.requests_per_second, alone.endpoint_requests_per_second) == (40.0, 12.5)
    both = parse_config({"secret_key": LIVE_KEY, "requests_per_second": 40,
                         "endpoint_requests_per_second": 10})
    assert (both.requests_per_second, both.endpoint_requests_per_second) == (40.0, 10.0)
    shared = parse_config({"secret_key": LIVE_KEY, "requests_per_second": 40,
                           "endpoint_requests_per_second": 10, "rate_share": 0.25})
    assert (shared.requests_per_second, shared.endpoint_requests_per_second) == (10.0, 2.5)
    whole = parse_config({"secret_key": LIVE_KEY, "rate_share": 1})
    assert (whole.requests_per_second, whole.endpoint_requests_per_second) == (100.0, 25.0)


@pytest.mark.parametrize("config_in", [
    {"secret_key": LIVE_KEY, "requests_per_second": 40, "rate_share": 0.5},
    {"secret_key": LIVE_KEY, "endpoint_requests_per_second": "10", "rate_share": "0.5"},
    {"secret_key": LIVE_KEY, "requests_per_second": 40},
    {"secret_key": LIVE_KEY, "rate_share": 0.3},
])
def test_a_prepared_config_parses_to_the_same_rates(config_in: dict[str, Any]) -> None:
    # prepare runs before parse_config on every command: the share applies once, not twice.
    once = parse_config(config_in)
    prepared = prepare(config_in)
    assert parse_config(prepared) == once
    assert parse_config(prepare(prepared)) == once


@pytest.mark.parametrize("value", [0, -0.5, 1.01, 2, "half", float("nan"), True])
def test_a_share_outside_zero_to_one_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"secret_key": LIVE_KEY, "rate_share": value})
    assert raised.value.field == "rate_share"
    assert str(raised.value).startswith("Config field 'rate_share': must ")


def test_the_spec_offers_no_rate_default_that_a_form_would_write_back() -> None:
    # A default in the spec is written into the config by Airbyte's form: the rate would then
    # be "given", and rate_share would no longer apply to it.
    for name in ("rate_share", "requests_per_second", "endpoint_requests_per_second"):
        assert "default" not in SPEC["properties"][name], name
    assert SPEC["properties"]["rate_share"]["exclusiveMinimum"] == 0
    assert SPEC["properties"]["rate_share"]["maximum"] == 1
