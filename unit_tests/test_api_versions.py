"""Reading in the account's own API version: change records without a request per change."""

from __future__ import annotations

from typing import Any

from airbyte_cdk.models import SyncMode
from helpers import NOW, FakeStripe, config, record_data, run_read, state_of, stream_states

BASIL = "2025-03-31.basil"
INCREMENTAL = SyncMode.incremental


def _changes(fake: FakeStripe, version: str, count: int = 6) -> list[dict[str, Any]]:
    customers = [fake.add("/v1/customers", {"id": f"cus_{n}Ver", "object": "customer",
                                            "created": NOW - 5000 + n}) for n in range(count)]
    for n, customer in enumerate(customers):
        event = fake.add_event("customer.updated", {**customer, "name": f"v{n}"}, NOW - 500 + n)
        event["api_version"] = version
    return customers


def _read_changes(fake: FakeStripe, **settings: Any) -> Any:
    position = {"iterator_type": "cdc", "created_at": NOW - 1000, "cursor": None, "index": 0}
    return run_read(config(lag_seconds=0, **settings), ["customers"], mode=INCREMENTAL,
                    state=state_of("customers", position))


def test_changes_rendered_in_the_accounts_version_need_no_request_each(
        fake: FakeStripe) -> None:
    fake.api_version = BASIL
    _changes(fake, BASIL)
    output = _read_changes(fake)
    assert sorted(r["name"] for r in record_data(output)) == [f"v{n}" for n in range(6)]
    assert not [r for r in fake.requests if r.path.startswith("/v1/customers/")]
    assert all("Stripe-Version" not in r.headers for r in fake.requests)


def test_changes_rendered_before_the_account_was_upgraded_are_fetched_again(
        fake: FakeStripe) -> None:
    fake.api_version = BASIL
    _changes(fake, "2024-06-20", count=3)
    output = _read_changes(fake)
    assert len(record_data(output)) == 3
    assert len([r for r in fake.requests if r.path.startswith("/v1/customers/")]) == 3


def test_with_hydrate_never_older_changes_are_emitted_as_rendered(fake: FakeStripe) -> None:
    fake.api_version = BASIL
    _changes(fake, "2024-06-20", count=3)
    output = _read_changes(fake, hydrate="never")
    assert sorted(r["name"] for r in record_data(output)) == ["v0", "v1", "v2"]
    assert not [r for r in fake.requests if r.path.startswith("/v1/customers/")]


def test_a_pinned_version_fetches_every_change_rendered_in_another(fake: FakeStripe) -> None:
    fake.api_version = BASIL
    _changes(fake, BASIL, count=3)
    output = _read_changes(fake, stripe_version="2024-06-20")
    assert len(record_data(output)) == 3
    fetched = [r for r in fake.requests if r.path.startswith("/v1/customers/")]
    assert len(fetched) == 3 and all(r.headers["Stripe-Version"] == "2024-06-20"
                                     for r in fetched)


def test_an_account_upgraded_between_syncs_keeps_its_state_and_says_so_once(
        fake: FakeStripe) -> None:
    _changes(fake, "2024-06-20", count=2)
    streams = ["customers", "products"]
    first = run_read(config(lag_seconds=0), streams, mode=INCREMENTAL)
    saved = {s: stream_states(first, s)[-1] for s in streams}
    assert {s["api_version"] for s in saved.values()} == {"2024-06-20"}
    fake.api_version = BASIL
    fake.now = NOW + 600
    event = fake.add_event("customer.updated", {"id": "cus_0Ver", "object": "customer",
                                                "created": NOW - 5000, "name": "later"},
                           NOW + 10)
    event["api_version"] = BASIL
    second = run_read(config(lag_seconds=0), streams, mode=INCREMENTAL,
                      state=[m for s in streams for m in state_of(s, saved[s])])
    assert not second.errors
    assert [r["name"] for r in record_data(second)] == ["later"]
    said = [m.log.message for m in second.logs if m.log is not None
            and "API version is now" in m.log.message]
    assert len(said) == 1 and BASIL in said[0] and "2024-06-20" in said[0], said
    assert stream_states(second, "customers")[-1]["api_version"] == BASIL


def test_changes_rendered_before_an_upgrade_was_rolled_back_are_fetched_again(
        fake: FakeStripe) -> None:
    fake.api_version = "2024-06-20"  # rolled back from basil, which its events carry
    _changes(fake, BASIL, count=2)
    output = _read_changes(fake)
    assert len(record_data(output)) == 2
    assert len([r for r in fake.requests if r.path.startswith("/v1/customers/")]) == 2
