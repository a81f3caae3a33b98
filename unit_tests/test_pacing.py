"""Giving way (issue 17): the pure controller of the sync's rates, as a function of Stripe's
answers and of the time, without threads or sleeps."""

from __future__ import annotations

import random

import pytest

from source_stripe_conduit.transport import pacing
from source_stripe_conduit.transport.pacing import (
    ACCOUNT,
    BURST_SECONDS,
    CUT_FACTOR,
    HOLD_SECONDS,
    RECOVERY_SHARE_PER_SECOND,
    Pacing,
    Recovered,
    Slowed,
    floor_of,
    scope_of,
)

BUDGET, ENDPOINT_BUDGET = 50.0, 12.5
CUSTOMERS, CHARGES = "GET /v1/customers", "GET /v1/charges"
THE_ACCOUNT = ("", ACCOUNT)


def _fresh() -> Pacing:
    return Pacing(BUDGET, ENDPOINT_BUDGET)


def _refuse(state: Pacing, reason: str | None, now: float, endpoint: str = CUSTOMERS,
            account: str = "", sent: float | None = None) -> tuple[Pacing, tuple[object, ...]]:
    return state.answered(account, endpoint, reason, now, sent)


def test_the_constants_are_the_documented_ones() -> None:
    assert (CUT_FACTOR, BURST_SECONDS, HOLD_SECONDS) == (0.5, 1.0, 20.0)
    assert RECOVERY_SHARE_PER_SECOND * 2 == pytest.approx(0.05)  # 5 % of the budget per 2 s
    assert (pacing.FLOOR_RATE, pacing.FLOOR_SHARE) == (1.0, 0.05)


@pytest.mark.parametrize("reason, scope", [
    ("global-rate", "account"), ("global-concurrency", "account"),
    ("endpoint-rate", "endpoint"), ("endpoint-concurrency", "endpoint"),
    ("resource-specific", None), (None, None), ("", None), ("something-new", None),
])
def test_what_each_limiter_limits(reason: str | None, scope: str | None) -> None:
    assert scope_of(reason) == scope


# -- what a refusal cuts ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["global-rate", "global-concurrency"])
def test_a_global_refusal_halves_the_accounts_rate(reason: str) -> None:
    state, notices = _refuse(_fresh(), reason, 100.0)
    assert state.rate(THE_ACCOUNT, 100.0) == BUDGET * CUT_FACTOR
    # An endpoint's own rate is untouched: the account's narrower rate holds it anyway.
    assert state.rate(("", CUSTOMERS), 100.0) == ENDPOINT_BUDGET
    assert notices == (Slowed(THE_ACCOUNT, reason, BUDGET, 25.0, HOLD_SECONDS),)


def test_the_log_line_of_a_cut_says_why_from_what_to_what_and_how_long() -> None:
    _, (slowed,) = _refuse(_fresh(), "global-rate", 0.0)
    assert isinstance(slowed, Slowed)
    assert slowed.describe() == (
        "Stripe refused requests for the account's rate (global-rate): slowing the sync from "
        "50.0 to 25.0 requests/s for at least 20 s")
    _, (slowed,) = _refuse(_fresh(), "endpoint-concurrency", 0.0)
    assert isinstance(slowed, Slowed)
    assert slowed.describe() == (
        "Stripe refused requests for the concurrency of GET /v1/customers "
        "(endpoint-concurrency): slowing it from 12.5 to 6.2 requests/s for at least 20 s")
    _, (slowed,) = _refuse(_fresh(), "global-concurrency", 0.0, account="acct_1Own")
    assert isinstance(slowed, Slowed)
    assert slowed.describe().startswith(
        "Stripe refused requests for account acct_1Own's concurrency (global-concurrency): "
        "slowing its requests from 50.0 to 25.0")


@pytest.mark.parametrize("reason", ["endpoint-rate", "endpoint-concurrency"])
def test_an_endpoint_refusal_slows_that_endpoint_only(reason: str) -> None:
    state, notices = _refuse(_fresh(), reason, 100.0, endpoint=CUSTOMERS)
    assert state.rate(("", CUSTOMERS), 100.0) == ENDPOINT_BUDGET * CUT_FACTOR
    assert state.rate(("", CHARGES), 100.0) == ENDPOINT_BUDGET
    assert state.rate(THE_ACCOUNT, 100.0) == BUDGET
    assert [type(n) for n in notices] == [Slowed]


@pytest.mark.parametrize("reason", [None, "resource-specific", "unknown-limiter"])
def test_a_lock_timeout_or_a_resource_refusal_changes_no_rate(reason: str | None) -> None:
    start = _fresh()
    state, notices = start, ()
    for n in range(10):
        state, notices = _refuse(state, reason, 100.0 + n * 3)
        assert notices == ()
    assert state == start
    assert state.rate(THE_ACCOUNT, 200.0) == BUDGET
    assert state.rate(("", CUSTOMERS), 200.0) == ENDPOINT_BUDGET
    assert state.yielded_seconds(200.0) == 0.0


def test_a_burst_of_refusals_is_one_cut() -> None:
    state, notices = _refuse(_fresh(), "global-rate", 100.0)
    # The other requests in flight come back refused within the second: no further cut.
    for n in range(1, 20):
        state, more = _refuse(state, "global-rate", 100.0 + n * 0.045)
        assert more == ()
    assert state.rate(THE_ACCOUNT, 101.0) == 25.0
    assert len(notices) == 1


def test_a_late_refusal_of_a_request_sent_before_the_cut_is_part_of_it() -> None:
    state, _ = _refuse(_fresh(), "global-rate", 100.0)
    # A slow list page sent just before the cut, answered 1.8 s later.
    state, notices = _refuse(state, "global-rate", 101.5, sent=99.7)
    assert notices == () and state.rate(THE_ACCOUNT, 101.5) == 25.0
    # Sent after the cut and still refused: the account is still too busy.
    state, notices = _refuse(state, "global-rate", 102.0, sent=101.2)
    assert state.rate(THE_ACCOUNT, 102.0) == 12.5
    assert notices == (Slowed(THE_ACCOUNT, "global-rate", 25.0, 12.5, HOLD_SECONDS),)


def test_refusals_after_the_burst_cut_again_down_to_the_floor() -> None:
    state = _fresh()
    rates = []
    for n in range(10):
        state, _ = _refuse(state, "global-rate", 100.0 + n * 2)
        rates.append(state.rate(THE_ACCOUNT, 100.0 + n * 2))
    assert floor_of(BUDGET) == 2.5  # 5 % of 50, above 1 request/s
    assert rates == [25.0, 12.5, 6.25, 3.125, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]


def test_at_the_floor_a_refusal_logs_nothing_and_holds_on() -> None:
    state = _fresh()
    for n in range(5):
        state, _ = _refuse(state, "global-rate", 100.0 + n * 2)
    state, notices = _refuse(state, "global-rate", 120.0)  # the last cut was at 108
    assert notices == ()
    assert state.rate(THE_ACCOUNT, 120.0 + HOLD_SECONDS - 0.1) == 2.5


@pytest.mark.parametrize("budget, floor", [(50.0, 2.5), (12.5, 1.0), (100.0, 5.0), (0.5, 0.5),
                                           (1.0, 1.0)])
def test_the_floor_is_one_request_a_second_or_a_twentieth_never_above_the_budget(
        budget: float, floor: float) -> None:
    assert floor_of(budget) == floor
    state = Pacing(budget, budget)
    for n in range(12):
        state, _ = _refuse(state, "global-rate", n * 2.0)
    assert state.rate(THE_ACCOUNT, 24.0) == floor


def test_a_budget_at_its_floor_is_not_cut() -> None:
    state, notices = _refuse(Pacing(0.5, 0.5), "global-rate", 0.0)
    assert notices == () and state.cuts == {}


# -- holding, then coming back ----------------------------------------------------------------------


def test_the_rate_is_held_then_comes_back_slowly_to_the_budget() -> None:
    state, _ = _refuse(_fresh(), "global-rate", 100.0)
    assert state.rate(THE_ACCOUNT, 100.0 + HOLD_SECONDS - 0.01) == 25.0
    assert state.rate(THE_ACCOUNT, 100.0 + HOLD_SECONDS) == 25.0
    # A twentieth of the budget every two seconds.
    assert state.rate(THE_ACCOUNT, 100.0 + HOLD_SECONDS + 2) == pytest.approx(27.5)
    assert state.rate(THE_ACCOUNT, 100.0 + HOLD_SECONDS + 10) == pytest.approx(37.5)
    assert state.rate(THE_ACCOUNT, 100.0 + HOLD_SECONDS + 20) == BUDGET
    assert state.rate(THE_ACCOUNT, 10_000.0) == BUDGET


def test_a_refusal_in_the_burst_holds_longer_but_a_success_does_not() -> None:
    state, _ = _refuse(_fresh(), "global-rate", 100.0)
    state, _ = _refuse(state, "global-rate", 100.8)
    assert state.rate(THE_ACCOUNT, 100.0 + HOLD_SECONDS + 0.5) == 25.0
    state, _ = _refuse(state, None, 110.0)
    assert state.rate(THE_ACCOUNT, 100.8 + HOLD_SECONDS + 2) == pytest.approx(27.5)


def test_a_refusal_while_coming_back_cuts_from_where_the_rate_is() -> None:
    state, _ = _refuse(_fresh(), "global-rate", 0.0)
    state, notices = _refuse(state, "global-rate", HOLD_SECONDS + 10)  # at 37.5
    assert state.rate(THE_ACCOUNT, HOLD_SECONDS + 10) == pytest.approx(18.75)
    assert notices == (Slowed(THE_ACCOUNT, "global-rate", pytest.approx(37.5),
                              pytest.approx(18.75), HOLD_SECONDS),)


def test_back_at_the_budget_is_told_once_with_the_time_below_it() -> None:
    state, _ = _refuse(_fresh(), "global-rate", 100.0)
    state, notices = _refuse(state, None, 100.0 + HOLD_SECONDS + 19)
    assert notices == ()
    state, notices = _refuse(state, None, 100.0 + HOLD_SECONDS + 25)
    assert notices == (Recovered(THE_ACCOUNT, BUDGET, HOLD_SECONDS + 20),)
    assert notices[0].describe() == (
        "The sync is back at its budget of 50.0 requests/s, after 40.0 s below it")
    state, notices = _refuse(state, None, 500.0)
    assert notices == () and state.cuts == {}


def test_an_endpoint_comes_back_on_its_own() -> None:
    state, _ = _refuse(_fresh(), "endpoint-rate", 0.0, endpoint=CUSTOMERS)
    state, notices = _refuse(state, None, 100.0, endpoint=CHARGES)
    assert notices == (Recovered(("", CUSTOMERS), ENDPOINT_BUDGET, 40.0),)
    assert notices[0].describe() == (
        "GET /v1/customers is back at its budget of 12.5 requests/s, after 40.0 s below it")


def test_an_endpoint_is_cut_from_the_rate_its_account_allows() -> None:
    state, _ = _refuse(Pacing(20.0, 25.0), "endpoint-rate", 0.0)  # test mode: 20/s, 25/s
    assert state.rate(("", CUSTOMERS), 0.0) == 10.0


# -- never above the budget -------------------------------------------------------------------------


def test_no_sequence_of_answers_lifts_a_rate_above_its_budget() -> None:
    rng = random.Random(17)
    reasons = [None, None, None, "global-rate", "global-concurrency", "endpoint-rate",
               "endpoint-concurrency", "resource-specific"]
    state, now = _fresh(), 0.0
    for _ in range(5_000):
        now += rng.expovariate(2.0)
        endpoint = rng.choice([CUSTOMERS, CHARGES])
        state, _ = _refuse(state, rng.choice(reasons), now, endpoint=endpoint,
                           sent=now - rng.uniform(0, 2))
        for probe in (now, now + 7.3, now + 1e6):
            assert floor_of(BUDGET) <= state.rate(THE_ACCOUNT, probe) <= BUDGET
            for key in (("", CUSTOMERS), ("", CHARGES)):
                assert 0 < state.rate(key, probe) <= ENDPOINT_BUDGET
    assert state.rate(THE_ACCOUNT, now + 1e6) == BUDGET


# -- accounts, and the time given way ---------------------------------------------------------------


def test_with_limits_per_account_one_accounts_refusal_slows_that_account_only() -> None:
    state, _ = _refuse(_fresh(), "global-rate", 0.0, account="acct_1A")
    assert state.rate(("acct_1A", ACCOUNT), 0.0) == 25.0
    assert state.rate(("acct_2B", ACCOUNT), 0.0) == BUDGET
    assert state.rate(THE_ACCOUNT, 0.0) == BUDGET


def test_the_seconds_below_the_budget_are_kept() -> None:
    state, _ = _refuse(_fresh(), "global-rate", 100.0)
    assert state.yielded_seconds(110.0) == pytest.approx(10.0)
    # An endpoint cut while the account's is on: one spell, not two.
    state, _ = _refuse(state, "endpoint-rate", 130.0)
    assert state.yielded_seconds(135.0) == pytest.approx(35.0)
    # The account is back at 140, the endpoint at 130 + 20 + 20: told later, counted exactly.
    state, _ = _refuse(state, None, 1000.0)
    assert state.cuts == {} and state.yielded_seconds(1000.0) == pytest.approx(70.0)
    state, _ = _refuse(state, "global-rate", 2000.0)
    assert state.yielded_seconds(2005.0) == pytest.approx(75.0)
    assert state.yielded_seconds(9000.0) == pytest.approx(110.0)
