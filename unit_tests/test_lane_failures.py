"""One connected account's failure stays its own, and a stream's read leaves nothing running."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from helpers import (
    DAY,
    NOW,
    FakeStripe,
    SeenRequest,
    config,
    error_traces,
    record_data,
    run_read,
    state_of,
    stream_states,
    stripe_error,
)

from source_stripe_conduit import source
from source_stripe_conduit.governor import Governor

INCREMENTAL = SyncMode.incremental
ACCOUNTS = [f"acct_{n:02d}Lane" for n in range(12)]


def _seed(fake: FakeStripe) -> dict[str, set[str]]:
    truth: dict[str, set[str]] = {}
    for account_id in ACCOUNTS:
        connected = fake.connect(account_id)
        truth[account_id] = {connected.add("/v1/customers", {
            "id": f"cus_{account_id[5:7]}{n:03d}", "object": "customer",
            "created": NOW - 100 * DAY + n * 3600})["id"] for n in range(10)}
    return truth


def _by_account(output: EntrypointOutput) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for record in record_data(output):
        found.setdefault(record["account_id"], set()).add(record["id"])
    return found


class _Governors(list[Governor]):
    """Every governor a read makes, to look at what it holds once the read is over."""


@pytest.fixture
def governors(monkeypatch: pytest.MonkeyPatch) -> _Governors:
    made = _Governors()

    class Recorded(Governor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(source, "Governor", Recorded)
    return made


def _finishes(read: Callable[[], EntrypointOutput], seconds: float = 60) -> EntrypointOutput:
    """The read's output, failing the test (not hanging it) if the read never ends."""
    result: list[EntrypointOutput] = []
    runner = threading.Thread(target=lambda: result.append(read()), daemon=True)
    runner.start()
    runner.join(seconds)
    assert result, f"the read did not end within {seconds} s"
    return result[0]


def _lane_threads(before: set[threading.Thread]) -> list[str]:
    """The connector's threads started since ``before`` still alive (an emulator other tests
    run in this process has threads of its own)."""
    deadline = time.monotonic() + 5
    while True:
        alive = [t.name for t in set(threading.enumerate()) - before
                 if t.name.startswith("stripe-") and t.is_alive()]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def test_transient_failures_of_some_accounts_leave_the_others_complete_and_converge(
        fake: FakeStripe, governors: _Governors) -> None:
    truth = _seed(fake)
    before = set(threading.enumerate())
    chance = random.Random(16)

    def flaky(request: SeenRequest) -> bool:
        return request.headers.get("Stripe-Account") is not None and chance.random() < 0.15

    fake.fail(flaky, 503, stripe_error(503, "Stripe is having a moment.", type_="api_error"))
    settings = config(account_ids=ACCOUNTS, include_platform=False, batch_size=3,
                      max_retries=1)
    output = _finishes(lambda: run_read(settings, ["customers"], mode=INCREMENTAL,
                                        failure=True))
    errors = [e for e in error_traces(output) if e.startswith("Stream 'customers'")]
    assert errors, error_traces(output)
    named = {a for a in ACCOUNTS if a in errors[0]}
    assert named and len(named) < len(ACCOUNTS), errors[0]
    found = _by_account(output)
    for account_id in set(ACCOUNTS) - named:
        assert found.get(account_id) == truth[account_id], account_id
    assert all(g._in_flight == 0 for g in governors)
    assert _lane_threads(before) == []
    fake.failures.clear()
    again = _finishes(lambda: run_read(
        settings, ["customers"], mode=INCREMENTAL,
        state=state_of("customers", stream_states(output, "customers")[-1])))
    assert not again.errors
    converged = _by_account(output)
    for account_id, ids in _by_account(again).items():
        converged.setdefault(account_id, set()).update(ids)
    assert converged == truth


def test_a_failure_that_is_not_stripes_answer_still_fails_one_account_alone(
        fake: FakeStripe, governors: _Governors) -> None:
    truth = _seed(fake)
    before = set(threading.enumerate())
    broken = ACCOUNTS[3]
    fake.fail(lambda r: r.headers.get("Stripe-Account") == broken
              and r.get("starting_after") is not None, 500,
              stripe_error(500, "An unknown error occurred", type_="api_error"))
    settings = config(account_ids=ACCOUNTS, include_platform=False, batch_size=3,
                      max_retries=0)
    output = _finishes(lambda: run_read(settings, ["customers"], mode=INCREMENTAL,
                                        failure=True))
    errors = [e for e in error_traces(output) if e.startswith("Stream 'customers'")]
    assert errors and broken in errors[0] and "1 of 12 accounts" in errors[0], errors
    assert "An unknown error occurred (Request-Id req_" in errors[0], errors[0]
    found = _by_account(output)
    assert all(found.get(a) == truth[a] for a in ACCOUNTS if a != broken)
    assert all(g._in_flight == 0 for g in governors)
    assert _lane_threads(before) == []
