"""Streams following changes share the account's event pages: what a sync costs in reads."""

from __future__ import annotations

from typing import Any

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from helpers import (
    DAY,
    NOW,
    FakeStripe,
    SeenRequest,
    config,
    record_data,
    run_read,
    state_of,
    stream_states,
)

from source_stripe_conduit.iterator.event_pages import EventPages
from source_stripe_conduit.resources import BY_STREAM, RESOURCES
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

INCREMENTAL = SyncMode.incremental
FOLLOWING = [r for r in RESOURCES if r.events and not r.append_only and not r.parent]
OBJECTS = {"customers": "/v1/customers", "products": "/v1/products", "coupons": "/v1/coupons"}


def _catalog(streams: list[str]) -> Any:
    builder = CatalogBuilder()
    for stream in streams:
        builder.with_stream(stream, INCREMENTAL)
    return builder.build()


def _states(output: Any, streams: list[str]) -> list[Any]:
    return [message for stream in streams
            for message in state_of(stream, stream_states(output, stream)[-1])]


def _seed(fake: FakeStripe) -> None:
    """Objects and the events of their creation, days before the first sync."""
    for stream, path in OBJECTS.items():
        obj = stream[:-1]
        for n in range(3):
            made = fake.add(path, {"id": f"{stream[:3]}_{n}Shared", "object": obj,
                                   "created": NOW - 10 * DAY + n})
            fake.add_event(f"{obj}.created", made, NOW - 10 * DAY + n)


def _idle_requests(fake: FakeStripe, streams: list[str], warm_up: int = 1) -> list[str]:
    """The requests of an incremental sync of ``streams`` with nothing new, after ``warm_up``
    syncs an hour apart."""
    state = None
    for hour in range(warm_up + 1):
        fake.now = NOW + hour * 3600
        if hour == warm_up:
            fake.requests.clear()
        output = run_read(config(lag_seconds=0), _catalog(streams), state=state)
        assert not output.errors
        state = _states(output, streams)
    assert record_data(output) == []
    return [f"{r.path}?{dict(r.params)}" for r in fake.requests]


def test_an_idle_incremental_sync_of_every_stream_costs_at_most_three_requests(
        fake: FakeStripe) -> None:
    _seed(fake)
    asked = _idle_requests(fake, [r.stream for r in FOLLOWING])
    assert len(asked) <= 3, asked
    assert sum(1 for a in asked if a.startswith("/v1/events?")) == 1


def test_changes_of_many_streams_are_read_from_one_sequence_of_event_pages(
        fake: FakeStripe) -> None:
    _seed(fake)
    streams = ["customers", "products", "coupons"]
    first = run_read(config(lag_seconds=0, batch_size=10), _catalog(streams))
    fake.now = NOW + 3600
    changes = 0
    for n in range(45):
        stream = streams[n % 3]
        obj = {"id": f"{stream[:3]}_{n % 3}Shared", "object": stream[:-1],
               "created": NOW - 10 * DAY, "version": n}
        fake.add_event(f"{stream[:-1]}.updated", obj, NOW + 10 + n)
        changes += 1
    fake.requests.clear()
    second = run_read(config(lag_seconds=0, batch_size=10), _catalog(streams),
                      state=_states(first, streams))
    assert not second.errors
    got = {(r["id"], r["version"]) for r in record_data(second)}
    assert len(got) == changes
    event_pages = [r for r in fake.requests if r.path == "/v1/events"]
    # 45 events in pages of 10: five pages, each fetched once for the three streams.
    assert len(event_pages) <= 5 + 1, [dict(r.params) for r in event_pages]


def test_a_sync_ends_with_what_it_cost_the_account_by_kind(fake: FakeStripe) -> None:
    _seed(fake)
    output = run_read(config(lag_seconds=0), _catalog(["customers", "products"]))
    [summary] = [m.log.message for m in output.logs
                 if m.log is not None and m.log.message.startswith("Sync done:")]
    assert "list page" in summary and "event page" in summary, summary


def test_a_parent_and_its_child_stream_sharing_a_page_do_not_see_each_others_records(
        fake: FakeStripe) -> None:
    line = {"id": "il_1Shared", "object": "line_item", "invoice": "in_1Shared",
            "amount": 100}
    invoice = fake.add("/v1/invoices", {
        "id": "in_1Shared", "object": "invoice", "created": NOW - 5000,
        "lines": {"object": "list", "data": [line], "has_more": False,
                  "url": "/v1/invoices/in_1Shared/lines"}})
    fake.add_child("invoice_line_items", "in_1Shared", dict(line))
    fake.add_event("invoice.created", invoice, NOW - 4000)
    streams = ["invoices", "invoice_line_items"]
    first = run_read(config(lag_seconds=0), _catalog(streams))
    fake.now = NOW + 600
    fake.add_event("invoice.updated", invoice, NOW + 10)
    second = run_read(config(lag_seconds=0), _catalog(streams), state=_states(first, streams))
    [changed] = [r for r in record_data(second) if r["object"] == "invoice"]
    assert changed["lines"]["data"] == [line]
    [child] = [r for r in record_data(second) if r["object"] == "line_item"]
    assert child["id"] == "il_1Shared" and child["updated"] == NOW + 10


def test_streams_sharing_a_page_of_events_each_get_their_own_objects(
        client: StripeClient, fake: FakeStripe) -> None:
    fake.add_event("customer.created", {"id": "cus_1Own", "object": "customer"}, NOW - 10)
    shared = EventPages().of(None)
    params: list[tuple[str, str | int]] = [("limit", 10), ("created[lte]", NOW)]
    first = shared.page(client, "customers", params)
    second = shared.page(client, "invoices", params)
    assert len(fake.calls("/v1/events")) == 1
    assert first.data == second.data and first.data[0] is not second.data[0]
    first.data[0]["data"]["object"]["updated"] = NOW
    assert "updated" not in second.data[0]["data"]["object"]


def test_streams_whose_event_types_fit_stripes_filter_read_only_those_types(
        fake: FakeStripe) -> None:
    _seed(fake)
    streams = ["customers", "products"]
    first = run_read(config(lag_seconds=0, batch_size=10), _catalog(streams))
    fake.now = NOW + 3600
    for n in range(30):  # another object's changes: not in the streams' types
        fake.add_event("charge.updated", {"id": f"ch_{n}Other", "object": "charge"}, NOW + n)
    fake.add_event("customer.updated", {"id": "cus_0Shared", "object": "customer",
                                        "created": NOW - 10 * DAY, "version": 1}, NOW + 40)
    fake.requests.clear()
    second = run_read(config(lag_seconds=0, batch_size=10), _catalog(streams),
                      state=_states(first, streams))
    assert [r["id"] for r in record_data(second)] == ["cus_0Shared"]
    pages = [r for r in fake.requests if r.path == "/v1/events"]
    assert len(pages) == 1, [dict(r.params) for r in pages]
    wanted = {n for s in streams for n in BY_STREAM[s].events}
    assert set(pages[0].all("types[]")) == wanted


def test_change_capture_after_a_snapshot_reads_forward_without_walking_back(
        fake: FakeStripe) -> None:
    _seed(fake)
    fake.add_event("customer.updated", {"id": "cus_0Shared", "object": "customer"},
                   NOW - 100)
    # 25 changes made while the snapshot reads (Stripe's clock moves on after its first page):
    # change capture replays them after it.
    for n in range(25):
        fake.add_event("customer.updated", {"id": f"cus_{n % 3}Shared", "object": "customer",
                                            "version": n}, NOW + 10 + n)

    for n in range(12):
        fake.add("/v1/customers", {"id": f"cus_{n}More", "object": "customer",
                                   "created": NOW - 5 * DAY + n})

    def during_the_snapshot(request: SeenRequest) -> bool:
        if request.path == "/v1/customers" and request.get("starting_after"):
            fake.now = NOW + 100
        return False

    fake.fail(during_the_snapshot, 500)
    output = run_read(config(lag_seconds=0, batch_size=10), _catalog(["customers"]))
    assert not output.errors
    assert len([r for r in record_data(output) if r.get("version") is not None]) == 25
    walked = [r for r in fake.requests if r.path == "/v1/events" and r.get("starting_after")]
    assert walked == []
    forward = [r for r in fake.requests if r.path == "/v1/events" and r.get("ending_before")]
    assert len(forward) == 3  # 25 events in pages of 10


def test_an_answer_not_retried_is_no_retry_in_the_counts(client: StripeClient,
                                                         fake: FakeStripe) -> None:
    with pytest.raises(StripeError):
        client.get("customers", "/v1/customers/cus_Missing")
    counters = client.counters("customers")
    assert (counters.attempts, counters.requests, counters.retries) == (1, 1, 0)


def test_an_idle_incremental_sync_of_every_stream_of_the_catalog_costs_at_most_three(
        fake: FakeStripe) -> None:
    _seed(fake)
    fake.account_created = NOW - 400 * DAY
    asked = _idle_requests(fake, [r.stream for r in RESOURCES if r.incremental], warm_up=2)
    # The account, a page of events, and one list of what was created since for each
    # append-only stream that lists (balance transactions, and issue 19's forwarding requests
    # and verification reports).
    listing = [r for r in RESOURCES if r.append_only and not r.of_events]
    assert len(listing) == 3
    assert len(asked) <= 2 + len(listing), asked