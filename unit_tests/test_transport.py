"""Transport: what is retried and how long it waits, what is raised and how it reads, the
headers on every request, and the two-limit rate budget."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ResponseAction
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from helpers import NOW, SECRET, FakeStripe, Sleeps, config, stripe_error

from source_stripe_conduit.config import parse_config
from source_stripe_conduit.transport import budget as budget_module
from source_stripe_conduit.transport.budget import StripeAPIBudget, endpoint_of
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import (
    BACKOFF_CAP_SECONDS,
    StripeBackoffStrategy,
    StripeError,
    StripeErrorHandler,
    StripeUnavailable,
)

PATH = "/v1/customers"


def _client(**overrides: Any) -> StripeClient:
    return StripeClient(parse_config(config(**overrides)), logging.getLogger("airbyte"))


def _get(client: StripeClient) -> Any:
    return client.get("customers", PATH, [("limit", 1)])


def _is_customers(request: Any) -> bool:
    return request.path == PATH


# -- retried ---------------------------------------------------------------------------------------------


def test_429_is_retried_after_the_retry_after_seconds(fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests", code="rate_limit"),
              headers={"Retry-After": "3"}, times=1)
    assert _get(_client())["data"] == []
    assert len(fake.calls(PATH)) == 2
    assert sleeps == [pytest.approx(3.0)]


def test_429_without_retry_after_waits_with_jittered_exponential_backoff(
        fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests"), times=2)
    _get(_client())
    assert len(sleeps) == 2
    # The CDK adds one second to the strategy's 0..1 s, then 0..2 s.
    assert 1.0 < sleeps[0] <= 2.0 and 1.0 < sleeps[1] <= 3.0


def test_500_is_retried(fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 500, stripe_error(500, "Something went wrong", type_="api_error"),
              times=1)
    _get(_client())
    assert len(fake.calls(PATH)) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("exc", [requests.ConnectionError, requests.ReadTimeout,
                                 requests.ConnectTimeout])
def test_connection_errors_are_retried(fake: FakeStripe, sleeps: Sleeps,
                                       exc: type[BaseException]) -> None:
    fake.fail(_is_customers, 0, exc=exc, times=2)
    assert _get(_client())["data"] == []
    assert len(fake.calls(PATH)) == 3


def test_should_retry_false_on_a_500_is_not_retried(fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 500, stripe_error(500, "Do not retry", type_="api_error"),
              headers={"Stripe-Should-Retry": "false"})
    with pytest.raises(StripeError) as raised:
        _get(_client())
    assert raised.value.status == 500
    assert len(fake.calls(PATH)) == 1 and sleeps == []


def test_should_retry_true_on_a_400_is_retried(fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 400, stripe_error(400, "lock_timeout", code="lock_timeout"),
              headers={"Stripe-Should-Retry": "true"}, times=1)
    _get(_client())
    assert len(fake.calls(PATH)) == 2


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_at_most_max_retries_then_a_transient_error(fake: FakeStripe, sleeps: Sleeps,
                                                   retries: int) -> None:
    fake.fail(_is_customers, 500, stripe_error(500, "down", type_="api_error"))
    with pytest.raises(AirbyteTracedException) as raised:
        _get(_client(max_retries=retries))
    assert len(fake.calls(PATH)) == retries + 1
    assert len(sleeps) == retries
    assert not isinstance(raised.value, StripeError)
    assert isinstance(raised.value, StripeUnavailable)
    assert raised.value.attempts == retries + 1 and raised.value.status == 500


def test_rate_limit_retries_are_bounded_too(fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests"),
              headers={"Retry-After": "1"})
    with pytest.raises(AirbyteTracedException) as raised:
        _get(_client(max_retries=2))
    assert len(fake.calls(PATH)) == 3
    assert raised.value.failure_type == FailureType.transient_error
    assert isinstance(raised.value, StripeUnavailable) and raised.value.status == 429


def test_retries_are_counted_per_stream(fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 429, stripe_error(429, "slow down"), times=2)
    client = _client()
    _get(client)
    counters = client.counters("customers")
    assert (counters.requests, counters.attempts, counters.retries, counters.rate_limited) == (
        1, 3, 2, 2)
    assert client.counters("charges").attempts == 0


# -- raised, never retried ----------------------------------------------------------------------------------

ERRORS = [
    (400, "invalid_request_error", "Invalid integer: abc", FailureType.system_error,
     "Stripe answered HTTP 400"),
    (401, "invalid_request_error", "Invalid API Key provided: sk_test_****leak",
     FailureType.config_error, "Stripe rejected the API key"),
    (403, "invalid_request_error", "The provided key 'rk_test_***' does not have the required "
     "permissions for this endpoint. Having the 'rak_customer_read' permission would allow "
     "this request to continue.", FailureType.config_error,
     "The API key lacks the permission 'rak_customer_read'"),
    (404, "invalid_request_error", "Unrecognized request URL (GET: /v1/customers).",
     FailureType.system_error, "Stripe answered HTTP 404"),
]


@pytest.mark.parametrize("status, type_, message, failure_type, reason", ERRORS,
                         ids=[str(e[0]) for e in ERRORS])
def test_client_errors_are_raised_at_once_with_stripes_message(
        fake: FakeStripe, sleeps: Sleeps, status: int, type_: str, message: str,
        failure_type: FailureType, reason: str) -> None:
    fake.fail(_is_customers, status, stripe_error(status, message, type_=type_),
              headers={"Request-Id": "req_Xyz789"})
    with pytest.raises(StripeError) as raised:
        _get(_client())
    error = raised.value
    assert len(fake.calls(PATH)) == 1 and sleeps == []
    assert error.status == status
    assert error.stripe_message == message
    assert error.request_id == "req_Xyz789"
    assert error.failure_type == failure_type
    assert error.message == f"Stream 'customers': {reason}: {message} (Request-Id req_Xyz789)"
    assert SECRET not in (error.message or "") and SECRET not in (error.internal_message or "")


def test_an_error_without_stripes_body_still_reads(fake: FakeStripe) -> None:
    fake.fail(_is_customers, 502, "<html>Bad gateway</html>",
              headers={"Stripe-Should-Retry": "false"})
    with pytest.raises(StripeError) as raised:
        _get(_client())
    assert "Bad gateway" in (raised.value.message or "")


def test_error_carries_code_and_param(fake: FakeStripe) -> None:
    fake.fail(_is_customers, 400, stripe_error(400, "No such customer: 'cus_1'",
                                               code="resource_missing", param="starting_after"))
    with pytest.raises(StripeError) as raised:
        _get(_client())
    assert (raised.value.code, raised.value.param) == ("resource_missing", "starting_after")
    assert raised.value.resource_missing and not raised.value.aged_out


# -- headers and settings --------------------------------------------------------------------------------


def test_every_request_carries_key_version_and_account(fake: FakeStripe, sleeps: Sleeps) -> None:
    fake.fail(_is_customers, 500, stripe_error(500, "down"), times=1)
    fake.connect("acct_1Conn3ct")
    client = _client(account_id="acct_1Conn3ct", stripe_version="2023-10-16")
    _get(client)
    client.get("charges", "/v1/charges", [("limit", 1)])
    assert len(fake.requests) == 3  # the retry included
    for request in fake.requests:
        assert request.headers["Authorization"] == f"Bearer {SECRET}"
        assert request.headers["Stripe-Version"] == "2023-10-16"
        assert request.headers["Stripe-Account"] == "acct_1Conn3ct"


def test_by_default_requests_name_no_version_and_the_answer_tells_the_accounts(
        fake: FakeStripe) -> None:
    fake.api_version = "2025-03-31.basil"
    client = _client()
    _get(client)
    (request,) = fake.requests
    assert "Stripe-Version" not in request.headers
    assert "Stripe-Account" not in request.headers
    assert client.api_version() == "2025-03-31.basil"


def test_a_pinned_version_is_sent_and_is_the_version_read(fake: FakeStripe) -> None:
    fake.api_version = "2025-03-31.basil"
    client = _client(stripe_version="2024-06-20")
    _get(client)
    assert fake.requests[0].headers["Stripe-Version"] == "2024-06-20"
    assert client.api_version() == "2024-06-20"


def test_request_timeout_is_applied(fake: FakeStripe) -> None:
    _get(_client(request_timeout_seconds=7.5))
    assert fake.requests[0].timeout == 7.5


def test_repeated_params_are_sent_repeated(fake: FakeStripe) -> None:
    _client().get("customers", "/v1/events", [("limit", 2), ("types[]", "customer.created"),
                                              ("types[]", "customer.updated")])
    assert fake.requests[0].all("types[]") == ["customer.created", "customer.updated"]


def test_server_time_follows_stripes_date_header(fake: FakeStripe) -> None:
    fake.now = NOW - 1234  # Stripe's clock, far from this machine's
    client = _client()
    assert abs(client.server_time("customers", PATH) - (NOW - 1234)) <= 1
    assert abs(client.server_time("charges", "/v1/charges") - (NOW - 1234)) <= 1
    assert len(fake.requests) == 1  # probed once per sync, not per stream


# -- the strategy and handler on their own ----------------------------------------------------------------


def _response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize("status, headers, action", [
    (200, {}, ResponseAction.SUCCESS),
    # RETRY, not RATE_LIMITED: on that the CDK prints a status of a stream named "stripe".
    (429, {}, ResponseAction.RETRY),
    (500, {}, ResponseAction.RETRY),
    (503, {}, ResponseAction.RETRY),
    (409, {}, ResponseAction.RETRY),
    (400, {}, ResponseAction.IGNORE),
    (401, {}, ResponseAction.IGNORE),
    (403, {}, ResponseAction.IGNORE),
    (404, {}, ResponseAction.IGNORE),
    (500, {"Stripe-Should-Retry": "false"}, ResponseAction.IGNORE),
    (429, {"Stripe-Should-Retry": "false"}, ResponseAction.IGNORE),
    (400, {"Stripe-Should-Retry": "true"}, ResponseAction.RETRY),
])
def test_error_handler_classifies_answers(status: int, headers: dict[str, str],
                                          action: ResponseAction) -> None:
    assert StripeErrorHandler(4).interpret_response(_response(status, headers)).response_action \
        == action


def test_error_handler_retries_exceptions() -> None:
    resolution = StripeErrorHandler(4).interpret_response(requests.ConnectionError())
    assert resolution.response_action == ResponseAction.RETRY
    assert resolution.failure_type == FailureType.transient_error


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 8])
def test_backoff_is_jittered_below_a_doubling_capped_ceiling(attempt: int) -> None:
    ceiling = min(BACKOFF_CAP_SECONDS, 2 ** (attempt - 1))
    waits = [StripeBackoffStrategy().backoff_time(None, attempt) for _ in range(200)]
    assert all(w is not None and 0.01 <= w <= ceiling for w in waits)
    assert max(w for w in waits if w is not None) > ceiling / 2  # jitter spans the range


@pytest.mark.parametrize("retry_after, wait", [("5", 4.0), ("0", 0.01), ("1.5", 0.5)])
def test_retry_after_less_the_cdks_added_second(retry_after: str, wait: float) -> None:
    response = _response(429, {"Retry-After": retry_after})
    assert StripeBackoffStrategy().backoff_time(response, 1) == pytest.approx(wait)


def test_unparseable_retry_after_falls_back_to_backoff() -> None:
    response = _response(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    wait = StripeBackoffStrategy().backoff_time(response, 1)
    assert wait is not None and 0.01 <= wait <= 1.0


# -- budget ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, endpoint", [
    ("https://api.stripe.com/v1/customers?limit=3", "/v1/customers"),
    ("https://api.stripe.com/v1/customers/cus_123/payment_methods",
     "/v1/customers/{id}/payment_methods"),
    ("https://api.stripe.com/v1/customers/cus_NffrFeUfNV2Hib/payment_methods?limit=100",
     "/v1/customers/{id}/payment_methods"),
    ("https://api.stripe.com/v1/accounts/acct_1032D82eZvKYlo2C", "/v1/accounts/{id}"),
    ("https://api.stripe.com/v1/payment_intents", "/v1/payment_intents"),
    ("https://api.stripe.com/v1/setup_intents", "/v1/setup_intents"),
    ("https://api.stripe.com/v1/balance_transactions", "/v1/balance_transactions"),
    ("https://api.stripe.com/v1/subscription_schedules", "/v1/subscription_schedules"),
    ("https://api.stripe.com/v1/billing_portal/configurations",
     "/v1/billing_portal/configurations"),
    ("https://api.stripe.com/v1/checkout/sessions/cs_test_a1B2c3", "/v1/checkout/sessions/{id}"),
])
def test_endpoint_of_folds_object_ids_only(url: str, endpoint: str) -> None:
    assert endpoint_of(url) == endpoint


def _prepared(path: str) -> requests.PreparedRequest:
    return requests.Request("GET", f"https://api.stripe.com{path}").prepare()


def _take(budget: StripeAPIBudget, path: str) -> bool:
    try:
        budget.acquire_call(_prepared(path), block=False)
    except CallRateLimitHit:
        return False
    return True


def test_budget_takes_from_the_endpoint_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    budget = StripeAPIBudget(requests_per_second=100, endpoint_requests_per_second=5)
    assert [_take(budget, PATH) for _ in range(6)] == [True] * 5 + [False]
    assert _take(budget, "/v1/charges")  # another endpoint has its own


def test_budget_takes_from_the_account_limit_across_endpoints(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    budget = StripeAPIBudget(requests_per_second=8, endpoint_requests_per_second=5)
    assert [_take(budget, PATH) for _ in range(5)] == [True] * 5
    assert [_take(budget, "/v1/charges") for _ in range(4)] == [True] * 3 + [False]


def _take_as(budget: StripeAPIBudget, path: str, account: str | None) -> bool:
    request = _prepared(path)
    if account:
        request.headers["Stripe-Account"] = account
    try:
        budget.acquire_call(request, block=False)
    except CallRateLimitHit:
        return False
    return True


def test_connected_accounts_share_the_platforms_budget_by_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    budget = StripeAPIBudget(requests_per_second=4, endpoint_requests_per_second=100)
    taken = [_take_as(budget, PATH, account) for account in (None, "acct_1", "acct_2",
                                                             "acct_3", "acct_4")]
    assert taken == [True] * 4 + [False]


def test_per_account_budgets_give_each_account_its_own_limits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    budget = StripeAPIBudget(requests_per_second=100, endpoint_requests_per_second=2,
                             per_account=True)
    assert [_take_as(budget, PATH, "acct_1") for _ in range(3)] == [True, True, False]
    assert [_take_as(budget, PATH, "acct_2") for _ in range(2)] == [True, True]
    assert [_take_as(budget, PATH, None) for _ in range(3)] == [True, True, False]


def test_customers_payment_methods_share_one_endpoint_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    budget = StripeAPIBudget(requests_per_second=100, endpoint_requests_per_second=3)
    paths = [f"/v1/customers/cus_{n}Ab/payment_methods" for n in range(4)]
    assert [_take(budget, p) for p in paths] == [True, True, True, False]


def test_budget_keeps_headroom_below_stripes_rate() -> None:
    budget = StripeAPIBudget(requests_per_second=25, endpoint_requests_per_second=25)
    taken = sum(_take(budget, PATH) for _ in range(30))
    assert taken == int(25 * budget_module.HEADROOM)


def test_fractional_rate_spreads_one_call_over_a_longer_window() -> None:
    budget = StripeAPIBudget(requests_per_second=0.5, endpoint_requests_per_second=100)
    budget.acquire_call(_prepared(PATH), block=False)
    with pytest.raises(CallRateLimitHit) as raised:
        budget.acquire_call(_prepared(PATH), block=False)
    # One call per 1 / (0.5 x headroom) seconds: about two seconds to wait, not one.
    assert timedelta(seconds=1.5) < raised.value.time_to_wait <= timedelta(
        seconds=1 / (0.5 * budget_module.HEADROOM))


def test_client_requests_go_through_the_budget(fake: FakeStripe,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client()
    taken: list[str] = []
    original = client.budget.acquire_call

    def spy(request: Any, block: bool = True, timeout: float | None = None) -> None:
        taken.append(request.url)
        original(request, block=block, timeout=timeout)

    monkeypatch.setattr(client.budget, "acquire_call", spy)
    _get(client)
    assert len(taken) == 1 and "/v1/customers" in taken[0]


# -- answer times ---------------------------------------------------------------------------------


def test_answer_times_are_kept_per_stream_and_for_the_sync(fake: FakeStripe) -> None:
    fake.delays = {PATH: 0.05}
    client = _client()
    assert client.latency() is None and client.latency("customers") is None
    _get(client)
    client.get("prices", "/v1/prices", [("limit", 1)])
    customers, prices, overall = (client.latency("customers"), client.latency("prices"),
                                  client.latency())
    assert customers is not None and prices is not None and overall is not None
    assert customers >= 0.05 > prices
    assert prices < overall < customers


def test_the_account_lookup_seeds_the_syncs_answer_time_but_no_streams(
        fake: FakeStripe) -> None:
    fake.account_created = NOW - 1000
    fake.delays = {"/v1/account": 0.05}
    client = _client()
    client.look_up_account()
    assert client.account_created() == NOW - 1000
    overall = client.latency()
    assert overall is not None and overall >= 0.05
    assert client.latency("account") is None
    _get(client)
    customers = client.latency("customers")
    assert customers is not None and customers < 0.05


def test_a_client_for_a_connected_account_sends_its_header_and_shares_the_rest(
        client: StripeClient, fake: FakeStripe) -> None:
    fake.connect("acct_9Zz")
    connected = client.for_account("acct_9Zz")
    connected.list_page("customers", "/v1/customers", [("limit", 1)])
    client.list_page("customers", "/v1/customers", [("limit", 1)])
    first, second = [r for r in fake.requests if r.path == "/v1/customers"]
    assert first.headers.get("Stripe-Account") == "acct_9Zz"
    assert "Stripe-Account" not in second.headers
    assert client.counters("customers").requests == 2  # one set of counters
    assert client.known_time() == pytest.approx(connected.known_time(), abs=1)
    assert "Stripe-Account" not in client.for_account(None)._headers
