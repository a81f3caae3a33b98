"""The stream's concurrent shell: what holds whatever the threads do (slots, pools, the lock)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from airbyte_cdk.models import SyncMode
from helpers import DAY, NOW, FakeStripe, config, record_data, run_read, state_of

from source_stripe_conduit.governor import Governor
from source_stripe_conduit.sync import StreamSync
from source_stripe_conduit.transport.client import FAN_OUT_REQUESTS, StripeClient


def _customer(n: int, created: int) -> dict[str, Any]:
    return {"id": f"cus_{n:04d}S", "object": "customer", "created": created}


def test_every_change_capture_page_takes_a_governor_slot_and_gives_it_back(
        fake: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(10):
        fake.add_event("customer.updated", _customer(n, NOW - DAY), NOW - 3000 + n * 10)
    taken: Counter[str] = Counter()
    given: Counter[str] = Counter()
    acquire, release = Governor.acquire, Governor.release

    def counted_acquire(self: Governor, stream: str) -> None:
        taken[stream] += 1
        acquire(self, stream)

    def counted_release(self: Governor, stream: str) -> None:
        given[stream] += 1
        release(self, stream)

    monkeypatch.setattr(Governor, "acquire", counted_acquire)
    monkeypatch.setattr(Governor, "release", counted_release)
    output = run_read(config(batch_size=4, hydrate="never"), ["customers"],
                      mode=SyncMode.incremental,
                      state=state_of("customers", {"iterator_type": "cdc",
                                                   "created_at": NOW - 3600}))
    assert len(record_data(output)) == 10
    # Pages of events from created_at: the oldest two (found by paging back from the newest,
    # one page of several requests), then the next four and four after them.
    forward = [c for c in fake.calls("/v1/events") if c.get("ending_before")]
    assert len(forward) == 2
    assert taken["customers"] == given["customers"] == 1 + len(forward)


def test_fan_outs_of_many_pages_at_once_never_exceed_the_shared_pool(
        client: StripeClient) -> None:
    lock = threading.Lock()
    active = peak = 0

    def fetch(key: str) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.005)
        with lock:
            active -= 1
        return key

    results: list[dict[str, str]] = []
    before = set(threading.enumerate())
    pages = [threading.Thread(target=lambda t=t: results.append(
        client.fan_out(fetch, [f"{t}-{i}" for i in range(30)]))) for t in range(6)]
    for page in pages:
        page.start()
    for page in pages:
        page.join()
    assert sorted(len(r) for r in results) == [30] * 6
    assert 1 < peak <= FAN_OUT_REQUESTS
    client.close()  # the pool's owner ends it: none of its threads is left
    assert not [t for t in set(threading.enumerate()) - before
                if t.name.startswith("stripe-fan-out")]


def test_the_account_lookup_is_never_waited_for_under_the_streams_lock(
        fake: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    # A slow /v1/account must not stall the stream's page completions: whoever asks for the
    # account's creation date must not hold the stream's lock while it waits.
    fake.account_created = NOW - 400 * DAY
    for n in range(60):
        fake.add("/v1/customers", _customer(n, NOW - 365 * DAY + n * 5000))
    syncs: list[StreamSync] = []
    init = StreamSync.__init__

    def registered_init(self: StreamSync, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        syncs.append(self)

    held: list[bool] = []
    account_created = StripeClient.account_created

    def watched_account_created(self: StripeClient) -> int | None:
        held.append(any(s._cond._is_owned() for s in syncs))  # type: ignore[attr-defined]
        return account_created(self)

    monkeypatch.setattr(StreamSync, "__init__", registered_init)
    monkeypatch.setattr(StripeClient, "account_created", watched_account_created)
    output = run_read(config(batch_size=4), ["customers"])
    assert len(record_data(output)) == 60
    assert held, "the ranges were never cut: the test did not reach the lookup"
    assert not any(held)
