"""Transport, issue 16: rate windows bounded by endpoints (not by accounts or object ids), and
errors and retry logs that say which stream, account and answer they are about."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import requests
from airbyte_cdk.logger import AirbyteLogFormatter
from airbyte_cdk.models import FailureType, StreamDescriptor
from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from helpers import SECRET, FakeStripe, Sleeps, config, stripe_error

from source_stripe_conduit.config import parse_config
from source_stripe_conduit.resources import RESOURCES
from source_stripe_conduit.transport import budget as budget_module
from source_stripe_conduit.transport import errors as errors_module
from source_stripe_conduit.transport.budget import StripeAPIBudget, endpoint_of
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

PATH = "/v1/customers"
ACCOUNT = "acct_1HardenXy"
CUSTOM_IDS = ["SUMMER25", "gold-monthly", "my_product", "lowercaseonly", "UPPERCASE", "25OFF",
              "a-b_C-9", "x", "coupon_2024-Q3"]


def _client(**overrides: Any) -> StripeClient:
    return StripeClient(parse_config(config(**overrides)), logging.getLogger("airbyte"))


def _is_customers(request: Any) -> bool:
    return request.path == PATH


class FakeClock:
    """Time that passes only when the budget sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds


def _prepared(path: str, account: str | None = None) -> requests.PreparedRequest:
    request = requests.Request("GET", f"https://api.stripe.com{path}").prepare()
    if account:
        request.headers["Stripe-Account"] = account
    return request


def _take(budget: StripeAPIBudget, path: str, account: str | None = None) -> bool:
    try:
        budget.acquire_call(_prepared(path, account), block=False)
    except CallRateLimitHit:
        return False
    return True


# -- (7) endpoints: every retrieve folded, whatever its id looks like -----------------------------


@pytest.mark.parametrize("object_id", CUSTOM_IDS)
@pytest.mark.parametrize("template, endpoint", [
    ("/v1/coupons/{}", "/v1/coupons/{id}"),
    ("/v1/plans/{}", "/v1/plans/{id}"),
    ("/v1/products/{}", "/v1/products/{id}"),
    ("/v1/customers/{}/payment_methods", "/v1/customers/{id}/payment_methods"),
    ("/v1/customers/{}/balance_transactions", "/v1/customers/{id}/balance_transactions"),
    ("/v1/accounts/{}/persons", "/v1/accounts/{id}/persons"),
    ("/v1/accounts/acct_1Xy/persons/{}", "/v1/accounts/{id}/persons/{id}"),
    ("/v1/issuing/cards/{}", "/v1/issuing/cards/{id}"),
    ("/v1/billing_portal/configurations/{}", "/v1/billing_portal/configurations/{id}"),
    ("/v1/invoices/{}/lines", "/v1/invoices/{id}/lines"),
    ("/v1/checkout/sessions/{}", "/v1/checkout/sessions/{id}"),
    ("/v1/reporting/report_runs/{}", "/v1/reporting/report_runs/{id}"),
    ("/v1/test_helpers/issuing/cards/{}", "/v1/test_helpers/issuing/cards/{id}"),
])
def test_every_retrieve_is_folded_to_its_endpoint_whatever_the_id(
        template: str, endpoint: str, object_id: str) -> None:
    assert endpoint_of("https://api.stripe.com" + template.format(object_id)) == endpoint


@pytest.mark.parametrize("url, endpoint", [
    ("https://api.stripe.com/v1/subscription_items?subscription=sub_1Xy", "/v1/subscription_items"),
    ("https://api.stripe.com/v1/account", "/v1/account"),
    ("https://api.stripe.com/v1/events?types[]=customer.created", "/v1/events"),
    ("https://api.stripe.com/v1/customers/search?query=x", "/v1/customers/search"),
    ("https://api.stripe.com/v1/invoices/upcoming/lines", "/v1/invoices/upcoming/lines"),
    ("https://api.stripe.com/v1/customers/", "/v1/customers"),
])
def test_lists_searches_and_singletons_keep_their_path(url: str, endpoint: str) -> None:
    assert endpoint_of(url) == endpoint


@pytest.mark.parametrize("resource", RESOURCES, ids=[r.stream for r in RESOURCES])
def test_every_resource_path_folds_to_its_own_template(resource: Any) -> None:
    for template in filter(None, (resource.path, resource.retrieve,
                                  None if resource.retrieve else resource.path + "/{id}")):
        template = template.split("?")[0]
        expected = "/".join("{id}" if part.startswith("{") else part
                            for part in template.split("/"))
        for object_id in CUSTOM_IDS:
            url = "https://api.stripe.com" + "/".join(
                object_id if part.startswith("{") else part for part in template.split("/"))
            assert endpoint_of(url) == expected, url


# -- (7) windows: custom ids share the endpoint's, and its limit holds -------------------------------


def test_retrieves_of_custom_ids_share_one_endpoint_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    budget = StripeAPIBudget(requests_per_second=100, endpoint_requests_per_second=10)
    taken = [_take(budget, f"/v1/coupons/{object_id}-{n}") for n in range(3)
             for object_id in ("SUMMER25", "gold-monthly", "my_product", "lowercase", "X9")]
    assert taken == [True] * 10 + [False] * 5


def test_thirty_custom_id_retrieves_at_ten_a_second_take_two_seconds_and_more() -> None:
    clock = FakeClock()
    budget = StripeAPIBudget(requests_per_second=100, endpoint_requests_per_second=10,
                             clock=clock, sleep=clock.sleep)
    for n in range(30):
        budget.acquire_call(_prepared(f"/v1/coupons/{CUSTOM_IDS[n % len(CUSTOM_IDS)]}{n}"))
    assert clock.slept >= 2.0
    assert budget.window_keys() == {("", "GET /v1/coupons/{id}"), ("", "")}


def test_the_endpoint_limit_counts_only_when_narrower_than_the_accounts() -> None:
    budget = StripeAPIBudget(requests_per_second=25, endpoint_requests_per_second=25)
    _take(budget, "/v1/coupons/SUMMER25")
    assert budget.window_keys() == {("", "")}


def test_a_window_says_how_long_until_it_has_room(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    clock = FakeClock()
    budget = StripeAPIBudget(requests_per_second=2, endpoint_requests_per_second=100,
                             clock=clock, sleep=clock.sleep)
    assert _take(budget, PATH) and _take(budget, PATH)
    with pytest.raises(CallRateLimitHit) as raised:
        budget.acquire_call(_prepared(PATH), block=False)
    assert raised.value.time_to_wait.total_seconds() == pytest.approx(1.0)
    clock.now += 0.5
    with pytest.raises(CallRateLimitHit) as raised:
        budget.acquire_call(_prepared(PATH), block=False)
    assert raised.value.time_to_wait.total_seconds() == pytest.approx(0.5)
    clock.now += 0.5
    assert _take(budget, PATH)


# -- (7) many accounts: windows and threads bounded -----------------------------------------------


def test_per_account_windows_start_no_thread_per_account() -> None:
    before = threading.active_count()
    budget = StripeAPIBudget(requests_per_second=100, endpoint_requests_per_second=25,
                             per_account=True)
    for n in range(40):
        for path in (PATH, "/v1/customers/cus_1/payment_methods", "/v1/coupons/SUMMER25"):
            budget.acquire_call(_prepared(path, f"acct_{n:04d}Many"))
    assert threading.active_count() - before <= 2


@pytest.mark.parametrize("accounts", [5, 200])
def test_per_account_windows_are_dropped_once_idle(accounts: int) -> None:
    clock = FakeClock()
    budget = StripeAPIBudget(requests_per_second=100, endpoint_requests_per_second=25,
                             per_account=True, clock=clock, sleep=clock.sleep)
    most = 0
    for n in range(accounts):
        for path in (PATH, "/v1/customers/cus_1/payment_methods", "/v1/coupons/SUMMER25"):
            budget.acquire_call(_prepared(path, f"acct_{n:04d}Many"))
        most = max(most, len(budget.window_keys()))
        clock.now += 1.5  # an account's read takes a while
    # One account's three endpoints and its own window, plus the previous account's, at most.
    assert most <= 8


def test_reading_many_connected_accounts_starts_no_thread_per_account(
        fake: FakeStripe) -> None:
    client = _client(connected_accounts="all", account_rate_limits="per_account",
                     requests_per_second=100, endpoint_requests_per_second=25)
    # The fake lists; a retrieve of a coupon is answered here.
    fake.fail(lambda r: r.path.startswith("/v1/coupons/"), 200, {"object": "coupon"})
    for n in range(3):
        fake.connect(f"acct_{n:04d}Warm")
        client.for_account(f"acct_{n:04d}Warm").get("customers", PATH, [("limit", 1)])
    before = threading.active_count()
    for n in range(30):
        account = f"acct_{n:04d}Many"
        fake.connect(account)
        client.for_account(account).get("customers", PATH, [("limit", 1)])
        client.for_account(account).get("coupons", f"/v1/coupons/SUMMER{n}")
    assert threading.active_count() - before <= 1


# -- (9) errors once retries run out ------------------------------------------------------------


def test_exhausted_5xx_names_stream_account_status_message_and_request_id(
        fake: FakeStripe, sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="airbyte")
    fake.connect(ACCOUNT)
    fake.fail(_is_customers, 503, stripe_error(503, "Stripe is briefly down", type_="api_error"),
              headers={"Request-Id": "req_Last503"})
    client = _client(max_retries=2).for_account(ACCOUNT)
    with pytest.raises(errors_module.StripeUnavailable) as raised:
        client.get("customers", PATH, [("limit", 1)])
    error = raised.value
    assert isinstance(error, errors_module.StripeRequestFailed)
    assert not isinstance(error, StripeError)
    assert error.transient
    assert (error.stream, error.account, error.status, error.stripe_message,
            error.request_id) == ("customers", ACCOUNT, 503, "Stripe is briefly down",
                                  "req_Last503")
    assert error.attempts == 3
    assert error.failure_type == FailureType.transient_error
    message = error.message or ""
    for part in ("'customers'", ACCOUNT, "503", "Stripe is briefly down", "req_Last503"):
        assert part in message
    assert message == (f"Stream 'customers' (account {ACCOUNT}): GET {PATH} gave up after 3 "
                       f"attempts; last attempt: answered 503 (Request-Id req_Last503): "
                       f"Stripe is briefly down")
    # The CDK's own lines about it, which say less and call it a rate limit, are not written.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for generic in ("Rate limit exceeded", "Max retry limit reached", "Retries exhausted"):
        assert generic not in logged


def test_exhausted_429_names_the_limiter(fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests", code="rate_limit"),
              headers={"Request-Id": "req_Last429", "Stripe-Rate-Limited-Reason": "global-rate"})
    with pytest.raises(errors_module.StripeUnavailable) as raised:
        _client(max_retries=1).get("customers", PATH, [("limit", 1)])
    error = raised.value
    assert (error.stream, error.account, error.status, error.request_id) == (
        "customers", None, 429, "req_Last429")
    assert error.rate_limited_reason == "global-rate"
    message = error.message or ""
    assert "API rate limit exceeded" not in message
    for part in ("'customers'", "own account", "429", "global-rate", "Too many requests",
                 "req_Last429"):
        assert part in message


@pytest.mark.parametrize("exc", [requests.ReadTimeout, requests.ConnectionError])
def test_exhausted_connection_errors_name_their_kind(fake: FakeStripe, sleeps: Sleeps,
                                                     exc: type[BaseException]) -> None:
    fake.connect(ACCOUNT)
    fake.fail(_is_customers, 0, exc=exc)
    with pytest.raises(errors_module.StripeUnavailable) as raised:
        _client(max_retries=2).for_account(ACCOUNT).get("customers", PATH, [("limit", 1)])
    error = raised.value
    assert (error.stream, error.account, error.status, error.request_id) == (
        "customers", ACCOUNT, None, None)
    assert error.connection_error == exc.__name__
    assert error.failure_type == FailureType.transient_error
    message = error.message or ""
    for part in ("'customers'", ACCOUNT, exc.__name__):
        assert part in message


def test_exhausted_errors_name_no_stream_called_stripe(fake: FakeStripe, sleeps: Sleeps,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests"))
    with pytest.raises(AirbyteTracedException) as raised:
        _client(max_retries=1).get("customers", PATH, [("limit", 1)])
    trace = raised.value.as_airbyte_message().trace
    assert trace is not None and trace.error is not None
    assert trace.error.stream_descriptor is None  # the CDK's stream fills it in
    named = raised.value.as_airbyte_message(StreamDescriptor(name="customers")).trace
    assert named is not None and named.error is not None
    assert named.error.stream_descriptor == StreamDescriptor(name="customers")
    # The CDK prints a stream status naming its HttpClient on each 429 it is told about.
    assert '"stripe"' not in capsys.readouterr().out


def test_a_final_4xx_is_still_a_stripe_error_and_not_transient(fake: FakeStripe) -> None:
    fake.fail(_is_customers, 404, stripe_error(404, "No such thing", code="resource_missing"))
    with pytest.raises(StripeError) as raised:
        _client().get("customers", PATH, [("limit", 1)])
    assert isinstance(raised.value, errors_module.StripeRequestFailed)
    assert not raised.value.transient


# -- (9) retry logs ------------------------------------------------------------------------------


def _retry_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Stream '")]


def test_a_5xx_retry_log_says_what_was_retried(fake: FakeStripe, sleeps: Sleeps,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="airbyte")
    fake.connect(ACCOUNT)
    fake.fail(_is_customers, 503, stripe_error(503, "down", type_="api_error"),
              headers={"Request-Id": "req_Retry503"}, times=2)
    _client(max_retries=4).for_account(ACCOUNT).get("customers", PATH, [("limit", 1)])
    assert _retry_lines(caplog) == [
        f"Stream 'customers' (account {ACCOUNT}): GET {PATH} answered 503 "
        f"(Request-Id req_Retry503), retry {n} of 4 in {sleeps[n - 1]:.1f} s" for n in (1, 2)]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Rate limit exceeded" not in text and "UserDefinedBackoffException" not in text


def test_a_429_retry_log_says_which_limiter(fake: FakeStripe, sleeps: Sleeps,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="airbyte")
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests"),
              headers={"Request-Id": "req_Retry429",
                       "Stripe-Rate-Limited-Reason": "endpoint-concurrency"}, times=1)
    _client(max_retries=4).get("customers", PATH, [("limit", 1)])
    assert _retry_lines(caplog) == [
        f"Stream 'customers' (the key's own account): GET {PATH} rate-limited "
        f"(429, Stripe-Rate-Limited-Reason: endpoint-concurrency) (Request-Id req_Retry429), "
        f"retry 1 of 4 in {sleeps[0]:.1f} s"]


def test_a_429_without_a_limiter_is_logged_as_an_answer(fake: FakeStripe, sleeps: Sleeps,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="airbyte")
    fake.fail(_is_customers, 429, stripe_error(429, "Lock timeout", code="lock_timeout"),
              headers={"Request-Id": "req_Lock"}, times=1)
    _client(max_retries=4).get("customers", PATH, [("limit", 1)])
    (line,) = _retry_lines(caplog)
    assert "answered 429 (code lock_timeout)" in line and "rate-limited" not in line


def test_a_connection_retry_log_names_the_failure(fake: FakeStripe, sleeps: Sleeps,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="airbyte")
    fake.fail(_is_customers, 0, exc=requests.ReadTimeout, times=1)
    _client(max_retries=3).get("customers", PATH, [("limit", 1)])
    assert _retry_lines(caplog) == [
        f"Stream 'customers' (the key's own account): GET {PATH} connection failed "
        f"(ReadTimeout), retry 1 of 3 in {sleeps[0]:.1f} s"]


def test_the_secret_key_reaches_no_log_line_and_no_error(fake: FakeStripe, sleeps: Sleeps,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.connect(ACCOUNT)
    client = _client(max_retries=1)
    errors: list[BaseException] = []
    for status, exc in ((503, None), (429, None), (0, requests.ConnectTimeout), (401, None)):
        fake.failures.clear()
        fake.fail(_is_customers, status, stripe_error(status, "failed"), exc=exc)
        for view in (client, client.for_account(ACCOUNT)):
            with pytest.raises(AirbyteTracedException) as raised:
                view.get("customers", PATH, [("limit", 1)])
            errors.append(raised.value)
    formatter = AirbyteLogFormatter()
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in formatter.format(record)
    for error in errors:
        assert isinstance(error, AirbyteTracedException)
        assert SECRET not in str(error) and SECRET not in (error.internal_message or "")
        assert SECRET not in repr(error.as_airbyte_message())


# -- (9) the rate limiter's name -----------------------------------------------------------------


def _response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize("status, headers, reason", [
    (429, {"Stripe-Rate-Limited-Reason": "global-rate"}, "global-rate"),
    (429, {"Stripe-Rate-Limited-Reason": "global-concurrency"}, "global-concurrency"),
    (429, {"Stripe-Rate-Limited-Reason": "endpoint-rate"}, "endpoint-rate"),
    (429, {"Stripe-Rate-Limited-Reason": "endpoint-concurrency"}, "endpoint-concurrency"),
    (429, {"stripe-rate-limited-reason": "resource-specific"}, "resource-specific"),
    (429, {}, None),  # lock_timeout: no rate limiter
    (200, {"Stripe-Rate-Limited-Reason": "global-rate"}, None),
])
def test_rate_limited_reason(status: int, headers: dict[str, str], reason: str | None) -> None:
    assert errors_module.RATE_LIMITED_REASON_HEADER == "Stripe-Rate-Limited-Reason"
    assert errors_module.rate_limited_reason(_response(status, headers)) == reason
