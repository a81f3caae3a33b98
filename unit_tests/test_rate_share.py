"""A guest on the merchant's account (issue 17): the budget slows down when Stripe refuses the
account's or an endpoint's limit and comes back with time; the client feeds it every answer and
logs when the sync gives way; what a sync costs, by kind of request."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import requests
from airbyte_cdk.models import Level, Type
from airbyte_cdk.sources.message import InMemoryMessageRepository
from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit
from helpers import FakeStripe, Sleeps, config, stripe_error

from source_stripe_conduit.config import parse_config
from source_stripe_conduit.messages import StreamMessages, Tally, sync_summary, sync_summary_text
from source_stripe_conduit.transport import budget as budget_module
from source_stripe_conduit.transport.budget import (
    CHILD_LIST,
    EVENT_PAGE,
    LIST_PAGE,
    RETRIEVE,
    StripeAPIBudget,
    request_kind,
)
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.counters import StreamCounters
from source_stripe_conduit.transport.pacing import HOLD_SECONDS

PATH = "/v1/customers"
BASE = "https://api.stripe.com"
GIVE_WAY = ("Stripe refused requests for the account's rate (global-rate): slowing the sync "
            "from 50.0 to 25.0 requests/s for at least 20 s")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _prepared(path: str, account: str | None = None) -> requests.PreparedRequest:
    request = requests.Request("GET", BASE + path).prepare()
    if account:
        request.headers["Stripe-Account"] = account
    return request


def _answer(path: str, status: int = 200, reason: str | None = None,
            account: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if reason:
        response.headers["Stripe-Rate-Limited-Reason"] = reason
    response.request = _prepared(path, account)
    response.elapsed = timedelta(seconds=0.2)
    return response


def _taken_in_a_second(budget: StripeAPIBudget, clock: FakeClock, *paths: str) -> int:
    """Calls the budget lets through in the next second to ``paths`` (each endpoint until it
    is refused), after a second without any."""
    clock.now += 1.0
    taken = 0
    for path in paths or (PATH,):
        for _ in range(200):
            try:
                budget.acquire_call(_prepared(path), block=False)
            except CallRateLimitHit:
                break
            taken += 1
    return taken


FIVE = tuple(f"/v1/{name}" for name in ("charges", "coupons", "invoices", "plans", "prices"))


# -- the budget --------------------------------------------------------------------------------------


def test_a_global_rate_refusal_lowers_the_budgets_rate_and_time_brings_it_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    clock = FakeClock()
    budget = StripeAPIBudget(50, 12.5, clock=clock, sleep=clock.sleep)
    assert _taken_in_a_second(budget, clock, "/v1/charges") == 12  # the endpoint's 12.5/s
    assert _taken_in_a_second(budget, clock, *FIVE) == 50
    (notice,) = budget.answered(_answer(PATH, 429, "global-rate"))
    assert notice.describe() == GIVE_WAY
    assert budget.rate() == 25.0
    assert _taken_in_a_second(budget, clock, *FIVE) == 25
    clock.now += HOLD_SECONDS + 20
    assert budget.rate() == 50.0
    assert _taken_in_a_second(budget, clock, *FIVE) == 50
    (back,) = budget.answered(_answer(PATH))
    assert back.describe() == "The sync is back at its budget of 50.0 requests/s, after 40.0 s below it"
    assert budget.yielded_seconds() == pytest.approx(40.0)


def test_while_held_a_blocking_call_waits_at_the_lower_rate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    clock = FakeClock()
    budget = StripeAPIBudget(20, 100, clock=clock, sleep=clock.sleep)
    budget.answered(_answer(PATH, 429, "global-concurrency"))
    start = clock.now
    for _ in range(31):
        budget.acquire_call(_prepared(PATH))
    assert clock.now - start == pytest.approx(3.0)  # 10/s, not 20/s


def test_an_endpoint_refusal_slows_that_endpoint_even_where_its_limit_is_the_accounts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    clock = FakeClock()
    budget = StripeAPIBudget(24, 24, clock=clock, sleep=clock.sleep)  # test mode: no endpoint window
    budget.answered(_answer(PATH, 429, "endpoint-rate"))
    assert budget.rate(endpoint=f"GET {PATH}") == 12.0 and budget.rate() == 24.0
    assert _taken_in_a_second(budget, clock) == 12
    assert _taken_in_a_second(budget, clock, "/v1/charges") == 24


@pytest.mark.parametrize("reason", [None, "resource-specific"])
def test_a_lock_timeout_or_resource_refusal_leaves_the_budget_alone(
        reason: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    clock = FakeClock()
    budget = StripeAPIBudget(50, 100, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        assert budget.answered(_answer(PATH, 429, reason)) == ()
    assert budget.rate() == 50.0 and budget.yielded_seconds() == 0.0
    assert _taken_in_a_second(budget, clock) == 50


def test_with_limits_per_account_the_refused_account_slows_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "HEADROOM", 1.0)
    clock = FakeClock()
    budget = StripeAPIBudget(10, 100, per_account=True, clock=clock, sleep=clock.sleep)
    (notice,) = budget.answered(_answer(PATH, 429, "global-rate", account="acct_1Busy"))
    assert "account acct_1Busy's rate" in notice.describe()
    assert budget.rate("acct_1Busy") == 5.0 and budget.rate("acct_2Calm") == 10.0


# -- the client feeds it every answer -----------------------------------------------------------------


def _client(**overrides: Any) -> StripeClient:
    settings = {"requests_per_second": 50, "endpoint_requests_per_second": 1000, **overrides}
    return StripeClient(parse_config(config(**settings)), logging.getLogger("airbyte"))


def _is_customers(request: Any) -> bool:
    return request.path == PATH


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]


def test_global_rate_429s_slow_the_client_and_say_so_once(
        fake: FakeStripe, sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="airbyte")
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests", code="rate_limit"),
              headers={"Stripe-Rate-Limited-Reason": "global-rate"}, times=3)
    client = _client(max_retries=4)
    client.get("customers", PATH, [("limit", 1)])
    # Three refusals in a burst (the retries' waits are not slept here): one cut.
    assert [line for line in _lines(caplog) if line.startswith("Stripe refused")] == [GIVE_WAY]
    assert client.budget.rate() == 25.0
    assert client.yielded_seconds() > 0
    assert client.totals().yielded_seconds > 0


@pytest.mark.parametrize("headers, code", [
    ({}, "lock_timeout"),
    ({"Stripe-Rate-Limited-Reason": "resource-specific"}, "rate_limit"),
])
def test_lock_timeouts_and_resource_refusals_do_not_slow_the_client(
        fake: FakeStripe, sleeps: Sleeps, caplog: pytest.LogCaptureFixture,
        headers: dict[str, str], code: str) -> None:
    caplog.set_level(logging.INFO, logger="airbyte")
    fake.fail(_is_customers, 429, stripe_error(429, "Busy", code=code), headers=headers, times=3)
    client = _client(max_retries=4)
    client.get("customers", PATH, [("limit", 1)])
    assert not [line for line in _lines(caplog) if line.startswith("Stripe refused")]
    assert client.budget.rate() == 50.0 and client.yielded_seconds() == 0.0
    assert client.counters("customers").rate_limited == 3


def test_an_endpoint_refusal_through_the_client_slows_that_endpoint(
        fake: FakeStripe, sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="airbyte")
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests"),
              headers={"Stripe-Rate-Limited-Reason": "endpoint-rate"}, times=1)
    client = _client(max_retries=4, endpoint_requests_per_second=20)
    client.get("customers", PATH, [("limit", 1)])
    assert client.budget.rate(endpoint=f"GET {PATH}") == 10.0
    assert client.budget.rate() == 50.0
    assert any(line.startswith("Stripe refused requests for the rate of GET /v1/customers "
                               "(endpoint-rate): slowing it from 20.0 to 10.0")
               for line in _lines(caplog))


# -- what a sync costs -----------------------------------------------------------------------------


@pytest.mark.parametrize("path, kind", [
    ("/v1/customers?limit=100", LIST_PAGE),
    ("/v1/checkout/sessions?created[gte]=1", LIST_PAGE),
    ("/v1/accounts", LIST_PAGE),
    ("/v1/subscription_items?limit=10", LIST_PAGE),
    ("/v1/events?types[]=customer.created", EVENT_PAGE),
    ("/v1/customers/cus_1", RETRIEVE),
    ("/v1/coupons/SUMMER25", RETRIEVE),
    ("/v1/payment_methods/pm_1", RETRIEVE),
    ("/v1/accounts/acct_1/persons/person_1", RETRIEVE),
    ("/v1/account", RETRIEVE),
    ("/v1/events/evt_1", RETRIEVE),
    ("/v1/customers/cus_1/payment_methods?limit=100", CHILD_LIST),
    ("/v1/customers/cus_1/balance_transactions", CHILD_LIST),
    ("/v1/invoices/in_1/lines", CHILD_LIST),
    ("/v1/accounts/acct_1/persons", CHILD_LIST),
    ("/v1/subscription_items?subscription=sub_1&limit=100", CHILD_LIST),
])
def test_each_request_is_classified_by_its_path(path: str, kind: str) -> None:
    assert request_kind(BASE + path) == kind


def _answered(fake: FakeStripe, prefix: str, body: dict[str, Any]) -> None:
    fake.fail(lambda r: r.path.startswith(prefix), 200, body)


def _a_sync(fake: FakeStripe) -> StripeClient:
    fake.fail(_is_customers, 429, stripe_error(429, "Too many requests"),
              headers={"Stripe-Rate-Limited-Reason": "global-rate"}, times=1)
    fake.fail(_is_customers, 429, stripe_error(429, "Lock timeout", code="lock_timeout"), times=1)
    _answered(fake, "/v1/customers/cus_1/", {"object": "list", "data": [], "has_more": False})
    _answered(fake, "/v1/customers/cus_1", {"object": "customer", "id": "cus_1"})
    _answered(fake, "/v1/subscription_items", {"object": "list", "data": [], "has_more": False})
    client = _client(max_retries=4)
    client.list_page("customers", PATH, [("limit", 10)])
    client.list_page("customers", PATH, [("limit", 10)])
    client.list_page("customers", "/v1/events", [("limit", 10)])
    client.get("customers", "/v1/customers/cus_1")
    client.list_page("payment_methods", "/v1/customers/cus_1/payment_methods", [("limit", 10)])
    client.list_page("subscription_items", "/v1/subscription_items",
                     [("subscription", "sub_1"), ("limit", 10)])
    return client


def test_counters_give_the_requests_by_kind_and_the_429s_by_reason(
        fake: FakeStripe, sleeps: Sleeps) -> None:
    client = _a_sync(fake)
    assert client.counters("customers") == StreamCounters(
        requests=4, attempts=6, rate_limited=2, list_pages=4, event_pages=1, retrieves=1,
        child_lists=0, rate_limited_by_reason={"global-rate": 1, "lock_timeout": 1})
    assert client.counters("customers").retries == 2
    assert client.counters("payment_methods").child_lists == 1
    assert client.counters("subscription_items").child_lists == 1


def test_the_totals_add_up_every_stream(fake: FakeStripe, sleeps: Sleeps) -> None:
    client = _a_sync(fake)
    totals = client.totals()
    assert (totals.attempts, totals.requests, totals.retries, totals.list_pages,
            totals.event_pages, totals.retrieves, totals.child_lists) == (8, 6, 2, 4, 1, 1, 2)
    assert totals.rate_limited_by_reason == {"global-rate": 1, "lock_timeout": 1}
    assert totals.yielded_seconds == pytest.approx(client.yielded_seconds(), abs=0.5)
    assert totals.yielded_seconds > 0
    text = sync_summary_text(totals, 12.34)
    assert text.startswith("Sync done: 8 requests (4 list pages, 1 event page, 1 retrieve, "
                           "2 child lists), 2 retries, 2 rate-limited (429: 1 global-rate, "
                           "1 lock_timeout), slowed for ")
    assert text.endswith("s to give way to the account's other traffic, 12.3 s")
    # The counters of the streams are left as they were.
    assert client.counters("customers").attempts == 6


def test_the_stream_summary_says_what_the_stream_cost_by_kind(
        fake: FakeStripe, sleeps: Sleeps) -> None:
    client = _a_sync(fake)
    repository = InMemoryMessageRepository()
    StreamMessages("customers", repository, "customer").summary(
        client.counters("customers"), Tally(records=30, pages=4), 2.0)
    (message,) = list(repository.consume_queue())
    assert message.type == Type.LOG and message.log is not None
    assert message.log.level == Level.INFO
    assert message.log.message == (
        "Stream 'customers' done: 30 records, 4 pages, 6 requests (4 list pages, 1 event page, "
        "1 retrieve), 2 retries, 2 rate-limited (429: 1 global-rate, 1 lock_timeout), 2.0 s")


def test_a_quiet_stream_summary_keeps_its_short_form() -> None:
    repository = InMemoryMessageRepository()
    StreamMessages("coupons", repository, "coupon").summary(StreamCounters(), Tally(), 0.5)
    (message,) = list(repository.consume_queue())
    assert message.log is not None and message.log.message == (
        "Stream 'coupons' done: 0 records, 0 pages, 0 requests, 0 retries, 0 rate-limited "
        "(429), 0.5 s")


def test_the_sync_summary_is_one_log_line_for_the_shell_to_emit(
        fake: FakeStripe, sleeps: Sleeps) -> None:
    client = _a_sync(fake)
    repository = InMemoryMessageRepository()
    sync_summary(repository, client.totals(), 3.0)
    (message,) = list(repository.consume_queue())
    assert message.log is not None and message.log.level == Level.INFO
    assert message.log.message.startswith("Sync done: 8 requests (4 list pages, ")
