"""Change capture: where CDC goes on from (cdc_start) and one page of events, oldest first."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import DAY, NOW, FakeStripe

from source_stripe_conduit.iterator.cdc import (
    RETENTION_MARGIN_SECONDS,
    RETENTION_SECONDS,
    cdc_start,
    event_type_params,
    read_events_page,
)
from source_stripe_conduit.iterator.position import CDC, Position
from source_stripe_conduit.records import iso
from source_stripe_conduit.resources import (
    BY_STREAM,
    MAX_EVENT_TYPES_PER_REQUEST,
    RESOURCES,
    Op,
    Resource,
)
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

HORIZON = NOW - RETENTION_SECONDS + RETENTION_MARGIN_SECONDS
CUSTOMERS = BY_STREAM["customers"]
UPPER = NOW - 60


# -- cdc_start --------------------------------------------------------------------------------------


def test_fresh_cursor_goes_on_from_the_cursor() -> None:
    position = Position(CDC, NOW - 40 * DAY, "evt_1", 0, (), NOW - DAY)
    assert cdc_start(position, NOW) == "cursor"


def test_aged_cursor_with_fresh_created_at_reads_from_created_at() -> None:
    position = Position(CDC, NOW - 2 * DAY, "evt_1", 0, (), NOW - 31 * DAY)
    assert cdc_start(position, NOW) == "created_at"


def test_no_cursor_and_fresh_created_at_reads_from_created_at() -> None:
    assert cdc_start(Position.cdc(NOW - DAY), NOW) == "created_at"


def test_cursor_and_created_at_both_older_than_retention_resnapshot() -> None:
    position = Position(CDC, NOW - 40 * DAY, "evt_1", 0, (), NOW - 35 * DAY)
    assert cdc_start(position, NOW) == "resnapshot"
    assert cdc_start(Position.cdc(NOW - 31 * DAY), NOW) == "resnapshot"


@pytest.mark.parametrize("offset, start", [(0, "cursor"), (-1, "created_at")])
def test_cursor_is_trusted_until_an_hour_before_retention_ends(offset: int, start: str) -> None:
    position = Position(CDC, NOW - DAY, "evt_1", 0, (), HORIZON + offset)
    assert cdc_start(position, NOW) == start


@pytest.mark.parametrize("offset, start", [(0, "created_at"), (-1, "resnapshot")])
def test_created_at_is_trusted_until_an_hour_before_retention_ends(offset: int,
                                                                   start: str) -> None:
    assert cdc_start(Position.cdc(HORIZON + offset), NOW) == start


def test_margin_is_one_hour_inside_thirty_days() -> None:
    assert (RETENTION_SECONDS, RETENTION_MARGIN_SECONDS) == (30 * DAY, 3600)


# -- event types ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", [r for r in RESOURCES if r.events], ids=lambda r: r.stream)
def test_event_types_are_exact_names_within_stripes_limit(resource: Resource) -> None:
    params = event_type_params(resource)
    assert [k for k, _ in params] == ["types[]"] * len(resource.events)
    assert sorted(v for _, v in params) == sorted(resource.events)
    assert all("*" not in v for _, v in params)
    assert len(params) <= MAX_EVENT_TYPES_PER_REQUEST


def test_more_than_twenty_event_types_read_every_event_and_keep_their_own(
        client: StripeClient, fake: FakeStripe) -> None:
    many = Resource("customers", "customer", "/v1/customers",
                    {**{f"customer.e{n}": Op.UPDATE for n in range(20)},
                     "customer.updated": Op.UPDATE})
    assert event_type_params(many) == []  # never a cut list of 20
    kept = fake.add_event("customer.updated", _customer("cus_1", 1), NOW - 300)
    other = fake.add_event("product.updated", {"id": "prod_1", "object": "product"}, NOW - 200)
    page = read_events_page(client, many, Position.cdc(NOW - 1000), start="created_at",
                            upper=NOW - 60, batch_size=10)
    assert [r["id"] for r in page.records] == ["cus_1"]
    assert page.skipped == 0  # another stream's events are not "skipped" ones
    assert page.newest == (other["id"], NOW - 200)  # the cursor passes them all the same
    assert kept["id"] != other["id"]


# -- reading a page ----------------------------------------------------------------------------------


def _customer(object_id: str, version: int, **extra: Any) -> dict[str, Any]:
    return {"id": object_id, "object": "customer", "created": NOW - 50 * DAY,
            "version": version, **extra}


def _events(fake: FakeStripe, count: int, start: int = NOW - 1000) -> list[dict[str, Any]]:
    return [fake.add_event("customer.updated", _customer(f"cus_{n % 3}", n), start + n * 10)
            for n in range(count)]


def _read(client: StripeClient, position: Position, start: str = "cursor",
          resource: Resource = CUSTOMERS, batch: int = 3, upper: int = UPPER) -> Any:
    return read_events_page(client, resource, position, start=start,  # type: ignore[arg-type]
                            upper=upper, batch_size=batch)


def test_cursor_page_asks_for_events_right_after_the_cursor(client: StripeClient,
                                                            fake: FakeStripe) -> None:
    events = _events(fake, 8)
    position = Position(CDC, NOW - DAY, events[2]["id"], 0, (), events[2]["created"])
    page = _read(client, position)
    (call,) = fake.calls("/v1/events")
    assert call.get("ending_before") == events[2]["id"]
    assert call.get("starting_after") is None
    assert call.get("created[lte]") == str(UPPER)
    assert call.get("limit") == "3"
    assert call.all("types[]") == list(CUSTOMERS.event_types)
    assert call.get("type") is None
    assert [r["version"] for r in page.records] == [3, 4, 5]  # oldest first
    assert page.newest == (events[5]["id"], events[5]["created"])
    assert page.has_more is True


def test_last_cursor_page_reports_no_more(client: StripeClient, fake: FakeStripe) -> None:
    events = _events(fake, 5)
    position = Position(CDC, NOW - DAY, events[2]["id"], 0, (), events[2]["created"])
    page = _read(client, position)
    assert [r["version"] for r in page.records] == [3, 4]
    assert page.has_more is False


def test_nothing_new_after_the_cursor_leaves_it_in_place(client: StripeClient,
                                                         fake: FakeStripe) -> None:
    events = _events(fake, 2)
    position = Position(CDC, NOW - DAY, events[1]["id"], 0, (), events[1]["created"])
    page = _read(client, position)
    assert page.records == [] and page.newest is None and page.has_more is False


def test_events_after_upper_wait_for_a_later_sync(client: StripeClient, fake: FakeStripe) -> None:
    fake.add_event("customer.updated", _customer("cus_1", 1), UPPER - 1)
    fake.add_event("customer.updated", _customer("cus_1", 2), UPPER + 1)
    page = _read(client, Position.cdc(NOW - DAY), start="created_at")
    assert [r["version"] for r in page.records] == [1]


def test_created_at_walk_keeps_only_the_oldest_page(client: StripeClient,
                                                   fake: FakeStripe) -> None:
    fake.add_event("customer.updated", _customer("cus_0", -1), NOW - 2000)  # before created_at
    _events(fake, 10, start=NOW - 1000)
    page = _read(client, Position.cdc(NOW - 1000), start="created_at")
    calls = fake.calls("/v1/events")
    assert [c.get("created[gte]") for c in calls] == [str(NOW - 1000)] * 4
    assert [c.get("starting_after") is None for c in calls] == [True, False, False, False]
    assert all(c.get("ending_before") is None for c in calls)
    # Only the oldest page is held and returned, oldest first; newer pages come later.
    assert [r["version"] for r in page.records] == [0]
    assert page.has_more is True


def test_created_at_walk_of_a_single_page_has_no_more(client: StripeClient,
                                                      fake: FakeStripe) -> None:
    _events(fake, 3)
    page = _read(client, Position.cdc(NOW - 1000), start="created_at")
    assert [r["version"] for r in page.records] == [0, 1, 2]
    assert page.has_more is False
    assert len(fake.calls("/v1/events")) == 1


def test_following_pages_from_created_at_reads_every_event_once_in_order(
        client: StripeClient, fake: FakeStripe) -> None:
    _events(fake, 11)
    position = Position.cdc(NOW - 1000)
    page = _read(client, position, start="created_at")
    versions = [r["version"] for r in page.records]
    while True:
        assert page.newest is not None
        position = position.after_events(*page.newest)
        if not page.has_more:
            break
        page = _read(client, position)
        versions += [r["version"] for r in page.records]
    assert versions == list(range(11))
    assert _read(client, position).records == []


def test_events_in_the_same_second_keep_stripes_order(client: StripeClient,
                                                      fake: FakeStripe) -> None:
    for n in range(7):
        fake.add_event("customer.updated", _customer("cus_1", n), NOW - 500)
    position = Position.cdc(NOW - 500)
    page = _read(client, position, start="created_at")
    versions = [r["version"] for r in page.records]
    while page.has_more:
        assert page.newest is not None
        position = position.after_events(*page.newest)
        page = _read(client, position)
        versions += [r["version"] for r in page.records]
    assert versions == list(range(7))


def test_other_objects_and_objects_without_id_are_skipped(client: StripeClient,
                                                          fake: FakeStripe) -> None:
    invoices = BY_STREAM["invoices"]
    fake.add_event("invoice.updated", {"id": "in_1", "object": "invoice", "created": 1}, NOW - 300)
    # invoice.upcoming describes an invoice not created yet: it has no id (Conduit crashed).
    fake.add_event("invoice.upcoming", {"object": "invoice", "created": 1}, NOW - 200)
    fake.add_event("invoice.upcoming", {"id": None, "object": "invoice"}, NOW - 190)
    paid = fake.add_event("invoice.paid", {"id": "in_1", "object": "invoice", "created": 1},
                          NOW - 150)
    page = _read(client, Position.cdc(NOW - 1000), start="created_at", resource=invoices,
                 batch=10)
    assert [r["id"] for r in page.records] == ["in_1", "in_1"]
    assert page.skipped == 2
    assert page.newest == (paid["id"], NOW - 150)


def test_an_event_about_another_object_type_is_skipped_but_passed(client: StripeClient,
                                                                  fake: FakeStripe) -> None:
    # customer.updated can carry... a customer only; but a table mistake or an event type Stripe
    # reuses must not put a foreign object in the stream.
    fake.add_event("customer.updated", {"id": "sub_1", "object": "subscription"}, NOW - 300)
    newest = fake.add_event("customer.updated", {"id": "src_1", "object": "source"}, NOW - 200)
    page = _read(client, Position.cdc(NOW - 1000), start="created_at")
    assert page.records == []
    assert page.skipped == 2
    assert page.newest == (newest["id"], NOW - 200)  # the cursor still moves past them


def test_prefix_sharing_event_types_are_never_asked_for(client: StripeClient,
                                                        fake: FakeStripe) -> None:
    fake.add_event("customer.subscription.updated",
                   {"id": "sub_1", "object": "subscription"}, NOW - 300)
    fake.add_event("customer.updated", _customer("cus_1", 1), NOW - 200)
    page = _read(client, Position.cdc(NOW - 1000), start="created_at")
    assert [r["id"] for r in page.records] == ["cus_1"]
    assert page.skipped == 0  # the fake, like Stripe, filtered the other type out
    assert "customer.subscription.updated" not in fake.calls("/v1/events")[0].all("types[]")


def test_delete_events_mark_the_record_deleted_and_updates_do_not(client: StripeClient,
                                                                  fake: FakeStripe) -> None:
    fake.add_event("customer.created", _customer("cus_1", 1), NOW - 300)
    fake.add_event("customer.updated", _customer("cus_1", 2), NOW - 200)
    fake.add_event("customer.deleted", _customer("cus_1", 3, deleted=True), NOW - 100)
    page = _read(client, Position.cdc(NOW - 1000), start="created_at")
    created, updated, deleted = page.records
    for record, at in ((created, NOW - 300), (updated, NOW - 200), (deleted, NOW - 100)):
        assert record["updated"] == at
        assert record["_ab_cdc_updated_at"] == iso(at)
    assert created["is_deleted"] is False and created["_ab_cdc_deleted_at"] is None
    assert updated["is_deleted"] is False and updated["_ab_cdc_deleted_at"] is None
    assert deleted["is_deleted"] is True and deleted["_ab_cdc_deleted_at"] == iso(NOW - 100)


def test_detaching_a_payment_method_is_a_delete(client: StripeClient, fake: FakeStripe) -> None:
    pm = {"id": "pm_1", "object": "payment_method", "customer": None}
    fake.add_event("payment_method.detached", pm, NOW - 100)
    page = _read(client, Position.cdc(NOW - 1000), start="created_at",
                 resource=BY_STREAM["payment_methods"])
    assert page.records[0]["is_deleted"] is True


def test_subscription_deleted_event_is_a_status_change_not_a_row_delete(
        client: StripeClient, fake: FakeStripe) -> None:
    sub = {"id": "sub_1", "object": "subscription", "status": "canceled"}
    fake.add_event("customer.subscription.deleted", sub, NOW - 100)
    page = _read(client, Position.cdc(NOW - 1000), start="created_at",
                 resource=BY_STREAM["subscriptions"])
    assert page.records[0]["is_deleted"] is False


def test_conduit_index_skips_records_already_emitted_from_the_page(client: StripeClient,
                                                                   fake: FakeStripe) -> None:
    events = _events(fake, 8)
    position = Position(CDC, NOW - DAY, events[2]["id"], 2, (), events[2]["created"])
    page = _read(client, position)
    assert [r["version"] for r in page.records] == [5]
    assert page.newest == (events[5]["id"], events[5]["created"])


def test_aged_out_cursor_raises_a_recognisable_error(client: StripeClient,
                                                     fake: FakeStripe) -> None:
    old = fake.add_event("customer.updated", _customer("cus_1", 1), NOW - 31 * DAY)
    position = Position(CDC, NOW - DAY, old["id"], 0, (), NOW - 2 * DAY)
    with pytest.raises(StripeError) as raised:
        _read(client, position)
    assert raised.value.aged_out
    assert not raised.value.resource_missing


def test_conduit_cursor_of_unknown_age_is_tried_before_anything_else() -> None:
    # Conduit's state has no cursor_created, and its created_at is when the pipeline started.
    position = Position(CDC, NOW - 200 * DAY, "evt_1KtXkmJit567F2YtZzGSIrsh", 1)
    assert cdc_start(position, NOW) == "cursor"


def test_created_at_walk_ending_on_an_empty_page_keeps_the_last_events_seen(
        client: StripeClient, fake: FakeStripe) -> None:
    # Stripe said has_more, then the older page came back empty (the list is eventually
    # consistent): the walk must not return nothing, or the sync asks the same again forever.
    events = _events(fake, 8)  # pages of 3: [7 6 5] [4 3 2] [1 0]
    fake.fail(lambda r: r.path == "/v1/events" and r.get("starting_after") == events[2]["id"],
              200, {"object": "list", "data": [], "has_more": False})
    page = _read(client, Position.cdc(NOW - 1000), start="created_at")
    assert [r["version"] for r in page.records] == [2, 3, 4]
    assert page.newest == (events[4]["id"], events[4]["created"])
    assert page.has_more is True  # events 5 to 7 were passed on the way
