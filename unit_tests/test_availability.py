"""Real accounts: products not enabled, restricted keys, a refused connected account.

The decisions (``classify``, ``check_outcome``, ``offered``) are tested as pure functions; the
commands (check, discover, read) against the requests-mock fake answering as Stripe does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airbyte_cdk.models import AirbyteStreamStatus, FailureType, Status, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import discover
from airbyte_cdk.test.models.scenario import ExpectedOutcome
from helpers import (
    DAY,
    NOW,
    FakeStripe,
    catalog,
    config,
    error_traces,
    record_data,
    run_check,
    run_read,
    stream_states,
    stripe_error,
    warnings,
)

from source_stripe_conduit.availability import (
    Access,
    Probe,
    ProbeFailed,
    StreamAccess,
    check_outcome,
    classify,
    offered,
)
from source_stripe_conduit.resources import BY_STREAM
from source_stripe_conduit.source import SourceStripeConduit
from source_stripe_conduit.transport.errors import StripeError

ISSUING = ("Your account is not set up to use Issuing. Please visit "
           "https://dashboard.stripe.com/issuing/overview to get started.")
SIGMA_TEST = "This API surface is not enabled for testmode usage."
NOT_PLATFORM = ("Only Stripe Connect platforms can work with other accounts. If you specified a "
                "client_id parameter, make sure it's correct. If you need to setup a Stripe "
                "Connect platform, you can do so at "
                "https://dashboard.stripe.com/account/applications/settings.")
OLD_WORDING = ("The provided key 'rk_test_***abcd' does not have the required permissions for "
               "this endpoint on account 'acct_1'. Having the 'rak_charge_read' permission "
               "would allow this request to continue.")
NEW_WORDING = ("The provided key 'rk_test_***abcd' does not have the required permissions for "
               "this endpoint on account 'acct_1'. Enabling \"Prices Read\" ('plan_read') "
               "permissions on this key would allow this request to continue.")
NO_RETRY = {"Stripe-Should-Retry": "false"}


def _error(status: int, message: str, code: str | None = None) -> StripeError:
    body: dict[str, object] = {"type": "invalid_request_error", "message": message}
    if code:
        body["code"] = code
    return StripeError(stream="s", status=status, error=body, request_id=None, path="/v1/x")


# -- decisions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("message", [ISSUING, SIGMA_TEST, (
    "Unrecognized request URL (GET: /v1/treasury/financial_accounts). Please see "
    "https://stripe.com/docs or we can help at https://support.stripe.com/. (Hint: Have you "
    "onboarded to Treasury?)")])
def test_a_product_the_account_has_not_enabled_is_classified_not_enabled(message: str) -> None:
    found = classify("cards", _error(400, message))
    assert found.access is Access.NOT_ENABLED and found.reason == message


@pytest.mark.parametrize("message, permission", [(OLD_WORDING, "rak_charge_read"),
                                                 (NEW_WORDING, "plan_read")])
def test_a_missing_permission_is_denied_with_the_permission_in_either_wording(
        message: str, permission: str) -> None:
    found = classify("charges", _error(403, message))
    assert found.access is Access.DENIED and found.permission == permission


def test_a_rejected_key_or_a_refused_account_fails_everything() -> None:
    with pytest.raises(ProbeFailed, match="Invalid API Key"):
        classify("charges", _error(401, "Invalid API Key provided: sk_test_****abcd"))
    with pytest.raises(ProbeFailed, match="Only Stripe Connect platforms"):
        classify("charges", _error(403, NOT_PLATFORM, code="platform_account_required"))


def test_any_other_error_is_a_failure_not_a_missing_product() -> None:
    assert classify("charges", _error(400, "Received unknown parameter: x")).access \
        is Access.FAILED


def _probe(**accesses: Access) -> Probe:
    errors = {Access.NOT_ENABLED: _error(400, ISSUING), Access.DENIED: _error(403, OLD_WORDING),
              Access.READABLE: None}
    return Probe(tuple(StreamAccess(name, access, errors.get(access))
                       for name, access in accesses.items()))


def test_check_succeeds_and_names_what_will_be_empty_and_what_cannot_be_read() -> None:
    ok, message = check_outcome(_probe(customers=Access.READABLE, cards=Access.NOT_ENABLED,
                                       authorizations=Access.NOT_ENABLED,
                                       charges=Access.DENIED))
    assert ok
    assert "can read 1 of 4 streams" in message
    assert f"cards, authorizations (Stripe: {ISSUING})" in message
    assert "charges (rak_charge_read)" in message


def test_check_fails_when_nothing_can_be_read() -> None:
    ok, message = check_outcome(_probe(cards=Access.NOT_ENABLED, charges=Access.DENIED))
    assert not ok and "none of the 2 streams" in message


def test_discover_offers_only_readable_streams_and_without_events_only_full_refresh() -> None:
    resources = [BY_STREAM[n] for n in ("customers", "cards", "charges", "events")]
    probe = _probe(customers=Access.READABLE, cards=Access.NOT_ENABLED, charges=Access.DENIED,
                   events=Access.READABLE)
    assert [(r.stream, inc) for r, inc in offered(resources, probe)] == [
        ("customers", True), ("events", True)]
    no_events = Probe(probe.streams, StreamAccess("events", Access.DENIED, _error(403, "x")))
    assert [(r.stream, inc) for r, inc in offered(resources, no_events)] == [
        ("customers", False), ("events", True)]


# -- the commands ------------------------------------------------------------------------------

def _issuing_not_enabled(fake: FakeStripe) -> None:
    fake.fail(lambda r: r.path.startswith("/v1/issuing/"), 400, stripe_error(400, ISSUING),
              headers=NO_RETRY)


def test_check_on_an_account_without_issuing_succeeds_and_names_the_empty_streams(
        fake: FakeStripe, tmp_path: Path) -> None:
    _issuing_not_enabled(fake)
    output = run_check(config(), tmp_path)
    (status,) = [m.connectionStatus for m in output.connection_status_messages]
    assert status is not None and status.status == Status.SUCCEEDED
    for stream in ("authorizations", "cardholders", "cards", "issuing_disputes",
                   "transactions"):
        assert stream in (status.message or "")
    assert ISSUING in (status.message or "")


def test_check_with_an_account_id_on_a_non_platform_fails_with_stripes_text(
        fake: FakeStripe, tmp_path: Path) -> None:
    fake.fail(lambda r: "Stripe-Account" in r.headers, 403,
              stripe_error(403, NOT_PLATFORM, code="platform_account_required"))
    output = run_check(config(account_id="acct_1Other"), tmp_path)
    (status,) = [m.connectionStatus for m in output.connection_status_messages]
    assert status is not None and status.status == Status.FAILED
    assert NOT_PLATFORM in (status.message or "")
    assert len(fake.requests) == 1


def test_discover_leaves_out_unreadable_streams_with_one_line_each(fake: FakeStripe) -> None:
    _issuing_not_enabled(fake)
    fake.fail(lambda r: r.path == "/v1/prices", 403, stripe_error(403, NEW_WORDING))
    output = discover(SourceStripeConduit(), config())
    offered_names = {s.name for s in output.catalog.catalog.streams}
    assert "customers" in offered_names and "prices" not in offered_names
    assert not offered_names & {"cards", "authorizations", "transactions"}
    lines = [m.log.message for m in output.logs if m.log is not None]
    assert any("'prices'" in line and "plan_read" in line for line in lines)
    assert sum("'cards' is left out" in line for line in lines) == 1


def test_discover_with_a_rejected_key_is_a_config_error(fake: FakeStripe) -> None:
    fake.fail(lambda r: True, 401, stripe_error(401, "Invalid API Key provided: sk_test_****x"))
    output = discover(SourceStripeConduit(), config(),
                      expected_outcome=ExpectedOutcome.EXPECT_EXCEPTION)
    errors = [m.trace.error for m in output.errors if m.trace and m.trace.error]
    assert errors and errors[0].failure_type == FailureType.config_error
    assert "Invalid API Key" in errors[0].message


def test_read_of_a_product_not_enabled_completes_empty_with_one_warning(
        fake: FakeStripe) -> None:
    _issuing_not_enabled(fake)
    fake.add("/v1/customers", {"id": "cus_1", "object": "customer", "created": NOW - DAY})
    output = run_read(config(), catalog("cards", "customers", mode=SyncMode.incremental))
    assert [r["id"] for r in record_data(output)] == ["cus_1"]
    assert output.get_stream_statuses("cards")[-1] == AirbyteStreamStatus.COMPLETE
    assert not output.errors
    lines = [w for w in warnings(output) if "'cards'" in w]
    assert len(lines) == 1 and ISSUING in lines[0]
    # The empty snapshot is finished: the next sync follows the product's events.
    assert stream_states(output, "cards")[-1]["iterator_type"] == "cdc"


def test_a_permission_revoked_after_discover_fails_that_stream_alone_as_a_config_error(
        fake: FakeStripe) -> None:
    fake.add("/v1/customers", {"id": "cus_1", "object": "customer", "created": NOW - DAY})
    fake.fail(lambda r: r.path == "/v1/charges", 403, stripe_error(403, OLD_WORDING))
    output = run_read(config(), catalog("charges", "customers"), failure=True)
    assert [r["id"] for r in record_data(output)] == ["cus_1"]
    assert output.get_stream_statuses("customers")[-1] == AirbyteStreamStatus.COMPLETE
    errors = [m.trace.error for m in output.errors if m.trace and m.trace.error
              and m.trace.error.stream_descriptor
              and m.trace.error.stream_descriptor.name == "charges"]
    assert errors and errors[0].failure_type == FailureType.config_error
    assert "lacks the permission 'rak_charge_read'" in errors[0].message
    assert any("charges" in m for m in error_traces(output))


def test_a_forbidden_account_lookup_costs_the_read_nothing_but_its_floor(
        fake: FakeStripe) -> None:
    fake.fail(lambda r: r.path == "/v1/account", 403,
              stripe_error(403, "Having the 'rak_accounts_kyc_basic_read' permission would "
                                "allow this request to continue."))
    for i in range(7):
        fake.add("/v1/customers", {"id": f"cus_{i}", "object": "customer",
                                   "created": NOW - DAY - i})
    output = run_read(config(batch_size=2), catalog("customers"))
    assert len(record_data(output)) == 7 and not output.errors
