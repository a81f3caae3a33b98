"""Child streams: read through their parent's list, and kept current either by their own events
(persons) or by their parent's (invoice lines, subscription items, customer balance
transactions), whose every event lists that parent's children again."""

from __future__ import annotations

from typing import Any

import pytest
from airbyte_cdk.models import SyncMode
from helpers import NOW, FakeStripe, catalog, config, record_data, run_read, stream_states

from source_stripe_conduit.iterator.cdc import event_type_params, read_events_page
from source_stripe_conduit.iterator.children import complete_embedded
from source_stripe_conduit.iterator.position import Position, Range
from source_stripe_conduit.iterator.snapshot import read_range_page
from source_stripe_conduit.records import ADDED_FIELDS, iso
from source_stripe_conduit.resources import BY_STREAM, RESOURCES, Resource
from source_stripe_conduit.source import schema_of
from source_stripe_conduit.transport.client import StripeClient

LINES = BY_STREAM["invoice_line_items"]
ITEMS = BY_STREAM["subscription_items"]
BALANCE = BY_STREAM["customer_balance_transactions"]
PERSONS = BY_STREAM["persons"]
UPPER = NOW - 60
FOLLOWING_PARENTS = [r for r in RESOURCES if r.parent_events]


def _invoice(invoice_id: str, created: int = NOW - 5000, lines: list[dict[str, Any]] | None = None,
             has_more: bool = False) -> dict[str, Any]:
    return {"id": invoice_id, "object": "invoice", "created": created, "status": "draft",
            "lines": {"object": "list", "data": lines or [], "has_more": has_more,
                      "url": f"/v1/invoices/{invoice_id}/lines"}}


def _line(line_id: str, invoice_id: str, amount: int = 100) -> dict[str, Any]:
    return {"id": line_id, "object": "line_item", "invoice": invoice_id, "amount": amount}


def _with_lines(fake: FakeStripe, invoice_id: str, count: int,
                created: int = NOW - 5000) -> dict[str, Any]:
    lines = [_line(f"il_{invoice_id}_{n:03d}", invoice_id) for n in range(count)]
    # The invoice embeds the first page of its lines, in the list's order (newest first here).
    first_page = lines[::-1][:10]
    invoice = fake.add("/v1/invoices", _invoice(invoice_id, created, first_page, count > 10))
    for line in lines:
        fake.add_child("invoice_line_items", invoice_id, line)
    return invoice


def _page(client: StripeClient, resource: Resource, batch_size: int = 10,
          **kwargs: Any) -> Any:
    # Unless a test says otherwise, the stream reads in another version than its events were
    # rendered in: children are listed, not taken from the event's parent.
    kwargs.setdefault("version", "2023-10-16")
    return read_events_page(client, resource, Position.cdc(NOW - 1000), start="created_at",
                            upper=UPPER, batch_size=batch_size, **kwargs)


def _strip(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ADDED_FIELDS}


# -- the table ----------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", FOLLOWING_PARENTS, ids=lambda r: r.stream)
def test_a_stream_kept_current_by_its_parent_listens_to_the_parents_events(
        resource: Resource) -> None:
    assert resource.parent is not None
    assert resource.events == resource.listed.events
    assert resource.event_object == resource.listed.object
    assert sorted(v for _, v in event_type_params(resource)) == sorted(resource.listed.events)


def test_persons_have_their_own_events() -> None:
    assert not PERSONS.parent_events
    assert PERSONS.event_object == "person"
    assert PERSONS.event_types == ("person.created", "person.deleted", "person.updated")


def test_subscription_items_take_the_parent_in_a_query_parameter() -> None:
    assert ITEMS.children_request("sub_1") == ("/v1/subscription_items",
                                               [("subscription", "sub_1")])
    assert LINES.children_request("in_1") == ("/v1/invoices/in_1/lines", [])


def test_issue_19_children_are_listed_under_or_by_their_parent() -> None:
    assert BY_STREAM["value_list_items"].children_request("rsl_1") == (
        "/v1/radar/value_list_items", [("value_list", "rsl_1")])
    assert BY_STREAM["transfer_reversals"].children_request("tr_1") == (
        "/v1/transfers/tr_1/reversals", [])
    assert BY_STREAM["application_fee_refunds"].children_request("fee_1") == (
        "/v1/application_fees/fee_1/refunds", [])
    assert BY_STREAM["credit_note_line_items"].children_request("cn_1") == (
        "/v1/credit_notes/cn_1/lines", [])
    assert BY_STREAM["checkout_session_line_items"].children_request("cs_1") == (
        "/v1/checkout/sessions/cs_1/line_items", [])
    assert not BY_STREAM["value_list_items"].incremental


# -- snapshot -------------------------------------------------------------------------------------


def test_snapshot_lists_every_page_of_each_parents_children(client: StripeClient,
                                                             fake: FakeStripe) -> None:
    _with_lines(fake, "in_1", 130, created=NOW - 5000)
    _with_lines(fake, "in_2", 2, created=NOW - 4000)
    page = read_range_page(client, LINES, Range(), batch_size=10, observed_at=NOW - 60)
    assert len(page.records) == 132
    assert {r["invoice"] for r in page.records} == {"in_1", "in_2"}
    calls = fake.calls("/v1/invoices/in_1/lines")
    # Newest first: the first page of 100 ends at the 31st line made.
    assert [c.get("starting_after") for c in calls] == [None, "il_in_1_030"]
    assert all(c.get("limit") == "100" for c in calls)


def test_snapshot_takes_children_a_parent_embeds_whole_and_lists_only_the_rest(
        client: StripeClient, fake: FakeStripe) -> None:
    _with_lines(fake, "in_1", 3, created=NOW - 5000)
    _with_lines(fake, "in_2", 10, created=NOW - 4000)
    _with_lines(fake, "in_3", 11, created=NOW - 3000)  # one more than it embeds
    page = read_range_page(client, LINES, Range(), batch_size=10, observed_at=NOW - 60)
    # Parents newest first, each parent's lines in its list's order.
    assert [r["id"] for r in page.records] == [
        *(f"il_in_3_{n:03d}" for n in range(10, -1, -1)),
        *(f"il_in_2_{n:03d}" for n in range(9, -1, -1)),
        "il_in_1_002", "il_in_1_001", "il_in_1_000"]
    assert {c.path for c in fake.requests} == {"/v1/invoices", "/v1/invoices/in_3/lines"}
    # The parent that has more is listed from its first line: every line from its own list.
    (call,) = fake.calls("/v1/invoices/in_3/lines")
    assert call.get("starting_after") is None


@pytest.mark.parametrize(("lines", "why"), [
    ({"object": "list", "data": [], "has_more": True}, "more than the first page"),
    ({"object": "list", "data": []}, "no has_more: cannot tell"),
    ({"object": "list", "data": [{"id": "ii_1", "object": "invoiceitem"}], "has_more": False},
     "an item of another object"),
    ("il_1", "not a list"),
    (None, "nothing embedded"),
])
def test_a_parent_embedding_less_than_certainly_all_its_children_is_listed(
        lines: Any, why: str) -> None:
    assert complete_embedded(LINES, {"id": "in_1", "lines": lines}) is None, why


def test_children_embedded_whole_are_taken_as_they_are() -> None:
    data = [_line("il_2", "in_1"), _line("il_1", "in_1")]
    parent = _invoice("in_1", lines=data)
    assert complete_embedded(LINES, parent) == data
    assert complete_embedded(BALANCE, parent) is None  # a customer embeds none of these


@pytest.mark.parametrize("resource", [r for r in RESOURCES if r.embedded], ids=lambda r: r.stream)
def test_embedded_children_have_the_schema_of_their_own_list(resource: Resource) -> None:
    # Stripe describes both with one component at the pinned version (line_item,
    # subscription_item): a record taken from the parent is the record its list would give.
    # The generated schemas inline it to different depths, so fields and their scalar types
    # are compared.
    assert resource.parent is not None and resource.embedded is not None
    parent = schema_of(resource.parent)["properties"][resource.embedded]
    embedded = parent["properties"]["data"]["items"]["properties"]
    own = {k: v for k, v in schema_of(resource.stream)["properties"].items()
           if k not in ADDED_FIELDS}
    assert set(embedded) == set(own)
    scalar = {"string", "integer", "number", "boolean", "null"}

    def types_of(field: dict[str, Any]) -> set[str]:
        kind = field.get("type")
        return {kind} if isinstance(kind, str) else set(kind or ["object"])

    for name, field in own.items():
        types = types_of(field)
        if types <= scalar:
            # Null aside: every field accepts it, but a record's id (its primary key) is never
            # null, whatever the embedded copy's schema says.
            assert types_of(embedded[name]) - {"null"} == types - {"null"}, name


def test_snapshot_of_subscription_items_asks_by_query_parameter(client: StripeClient,
                                                                 fake: FakeStripe) -> None:
    fake.add("/v1/subscriptions", {"id": "sub_1", "object": "subscription", "created": NOW - 900,
                                   "status": "canceled"})
    fake.add_child("subscription_items", "sub_1",
                   {"id": "si_1", "object": "subscription_item", "subscription": "sub_1",
                    "created": NOW - 900})
    page = read_range_page(client, ITEMS, Range(), batch_size=10, observed_at=NOW - 60)
    assert [r["id"] for r in page.records] == ["si_1"]
    (call,) = fake.calls("/v1/subscription_items")
    assert call.get("subscription") == "sub_1"
    # Items of a canceled subscription are read too: the parent's list is read with status=all.
    assert fake.calls("/v1/subscriptions")[0].get("status") == "all"


def test_a_parent_deleted_before_its_children_are_listed_has_none(client: StripeClient,
                                                                    fake: FakeStripe) -> None:
    _with_lines(fake, "in_1", 12)  # more than it embeds: listed
    fake.fail(lambda r: r.path == "/v1/invoices/in_1/lines", 404,
              {"error": {"type": "invalid_request_error", "code": "resource_missing",
                         "param": "invoice", "message": "No such invoice: 'in_1'"}})
    page = read_range_page(client, LINES, Range(), batch_size=10, observed_at=NOW - 60)
    assert page.records == []


# -- change capture: the parent's events -----------------------------------------------------------


def test_a_parent_event_lists_all_the_parents_children_as_upserts(client: StripeClient,
                                                                    fake: FakeStripe) -> None:
    invoice = _with_lines(fake, "in_1", 120)
    fake.add_event("invoice.updated", invoice, NOW - 500)
    page = _page(client, LINES)
    assert len(page.records) == 120
    assert {r["updated"] for r in page.records} == {NOW - 500}
    assert {r["_ab_cdc_updated_at"] for r in page.records} == {iso(NOW - 500)}
    assert not any(r["is_deleted"] or r["_ab_cdc_deleted_at"] for r in page.records)
    assert page.skipped == 0


def test_a_created_parent_lists_its_children_too(client: StripeClient, fake: FakeStripe) -> None:
    invoice = _with_lines(fake, "in_1", 2)
    fake.add_event("invoice.created", invoice, NOW - 500)
    assert [r["id"] for r in _page(client, LINES).records] == ["il_in_1_001", "il_in_1_000"]


def test_each_parent_is_listed_once_per_page_at_its_last_event(client: StripeClient,
                                                               fake: FakeStripe) -> None:
    first = _with_lines(fake, "in_1", 2)
    second = _with_lines(fake, "in_2", 1)
    fake.add_event("invoice.updated", first, NOW - 500)
    fake.add_event("invoice.updated", second, NOW - 400)
    fake.add_event("invoice.finalized", first, NOW - 300)
    fake.add_event("invoice.paid", first, NOW - 200)
    page = _page(client, LINES)
    assert len(fake.calls("/v1/invoices/in_1/lines")) == 1
    assert len(fake.calls("/v1/invoices/in_2/lines")) == 1
    # Oldest first: in_2 at its only event, in_1 at its last one.
    assert [(r["id"], r["updated"]) for r in page.records] == [
        ("il_in_2_000", NOW - 400), ("il_in_1_001", NOW - 200), ("il_in_1_000", NOW - 200)]
    assert page.newest is not None and page.newest[1] == NOW - 200


def test_the_same_parent_in_the_next_page_is_listed_again(client: StripeClient,
                                                         fake: FakeStripe) -> None:
    invoice = _with_lines(fake, "in_1", 1)
    fake.add_event("invoice.updated", invoice, NOW - 500)
    fake.add_event("invoice.paid", invoice, NOW - 400)
    first = _page(client, LINES, batch_size=1)
    assert first.has_more and [r["updated"] for r in first.records] == [NOW - 500]
    assert first.newest is not None
    after = Position.cdc(NOW - 1000).after_events(*first.newest)
    second = read_events_page(client, LINES, after, start="cursor", upper=UPPER, batch_size=1,
                              version="2023-10-16")
    assert [r["updated"] for r in second.records] == [NOW - 400]
    assert len(fake.calls("/v1/invoices/in_1/lines")) == 2


def test_a_parent_event_at_the_pinned_version_embedding_all_children_needs_no_request(
        client: StripeClient, fake: FakeStripe) -> None:
    whole = _with_lines(fake, "in_1", 4)
    more = _with_lines(fake, "in_2", 12)
    fake.add_event("invoice.updated", whole, NOW - 500)
    fake.add_event("invoice.updated", more, NOW - 400)
    page = _page(client, LINES, version="2024-06-20")
    assert [r["id"] for r in page.records][:4] == [f"il_in_1_{n:03d}" for n in (3, 2, 1, 0)]
    assert len(page.records) == 16
    assert {r["updated"] for r in page.records[:4]} == {NOW - 500}
    assert fake.calls("/v1/invoices/in_1/lines") == []
    assert len(fake.calls("/v1/invoices/in_2/lines")) == 1


def test_a_parent_event_of_another_api_version_lists_the_children(
        client: StripeClient, fake: FakeStripe) -> None:
    invoice = _with_lines(fake, "in_1", 2)
    event = fake.add_event("invoice.updated", invoice, NOW - 500)
    event["api_version"] = "2020-08-27"
    page = _page(client, LINES, version="2024-06-20")
    assert [r["id"] for r in page.records] == ["il_in_1_001", "il_in_1_000"]
    assert len(fake.calls("/v1/invoices/in_1/lines")) == 1


def test_a_deleted_parent_deletes_the_children_it_embeds(client: StripeClient,
                                                        fake: FakeStripe) -> None:
    lines = [_line("il_a", "in_1"), _line("il_b", "in_1")]
    fake.add_event("invoice.deleted", _invoice("in_1", lines=lines), NOW - 500)
    page = _page(client, LINES)
    assert [(r["id"], r["is_deleted"], r["_ab_cdc_deleted_at"]) for r in page.records] == [
        ("il_a", True, iso(NOW - 500)), ("il_b", True, iso(NOW - 500))]
    # Stripe no longer lists a deleted invoice's lines: nothing is asked for.
    assert fake.calls("/v1/invoices/in_1/lines") == []


def test_a_parent_changed_then_deleted_in_one_page_is_not_listed(client: StripeClient,
                                                                 fake: FakeStripe) -> None:
    invoice = _with_lines(fake, "in_1", 2)
    fake.add_event("invoice.updated", invoice, NOW - 500)
    fake.add_event("invoice.deleted", invoice, NOW - 400)
    fake.remove("/v1/invoices", "in_1")
    page = _page(client, LINES)
    assert [(r["id"], r["is_deleted"]) for r in page.records] == [
        ("il_in_1_001", True), ("il_in_1_000", True)]
    assert fake.calls("/v1/invoices/in_1/lines") == []


def test_a_deleted_parent_embedding_more_than_a_page_warns(client: StripeClient,
                                                           fake: FakeStripe) -> None:
    lines = [_line(f"il_{n}", "in_1") for n in range(10)]
    fake.add_event("invoice.deleted", _invoice("in_1", lines=lines, has_more=True), NOW - 500)
    page = _page(client, LINES)
    assert len(page.records) == 10
    assert any("first page of its lines" in m for m in page.warnings)


def test_a_deleted_parent_that_embeds_nothing_ends_no_child(client: StripeClient,
                                                           fake: FakeStripe) -> None:
    fake.add_event("customer.deleted", {"id": "cus_1", "object": "customer", "created": 1},
                   NOW - 500)
    page = _page(client, BALANCE)
    assert page.records == [] and page.skipped == 0
    assert fake.calls("/v1/customers/cus_1/balance_transactions") == []


def test_a_parent_gone_by_the_time_it_is_listed_gives_no_records(client: StripeClient,
                                                                 fake: FakeStripe) -> None:
    # Its delete event comes in a later page (or a later sync).
    fake.add_event("invoice.updated", _invoice("in_gone"), NOW - 500)
    page = _page(client, LINES)
    assert page.records == [] and page.skipped == 0
    assert len(fake.calls("/v1/invoices/in_gone/lines")) == 1


def test_events_without_a_parent_id_are_skipped(client: StripeClient, fake: FakeStripe) -> None:
    upcoming = _invoice("in_x", lines=[_line("il_preview", "in_x")])
    del upcoming["id"]
    fake.add_event("invoice.upcoming", upcoming, NOW - 500)
    page = _page(client, LINES)
    assert page.records == [] and page.skipped == 1
    assert page.newest is not None


def test_subscription_events_list_items_by_query_parameter(client: StripeClient,
                                                           fake: FakeStripe) -> None:
    subscription = fake.add("/v1/subscriptions", {
        "id": "sub_1", "object": "subscription", "created": NOW - 900, "status": "active"})
    fake.add_child("subscription_items", "sub_1", {
        "id": "si_1", "object": "subscription_item", "subscription": "sub_1",
        "created": NOW - 900})
    # Canceling is customer.subscription.deleted, a status change: the items are listed again.
    fake.add_event("customer.subscription.deleted", {**subscription, "status": "canceled"},
                   NOW - 500)
    page = _page(client, ITEMS)
    assert [(r["id"], r["is_deleted"], r["updated"]) for r in page.records] == [
        ("si_1", False, NOW - 500)]
    (call,) = fake.calls("/v1/subscription_items")
    assert call.get("subscription") == "sub_1" and call.get("limit") == "100"


def test_a_change_record_equals_the_snapshot_record_of_the_same_state(
        client: StripeClient, fake: FakeStripe) -> None:
    invoice = _with_lines(fake, "in_1", 3)
    fake.add_event("invoice.updated", invoice, NOW - 500)
    snapshot = read_range_page(client, LINES, Range(), batch_size=10, observed_at=NOW - 60)
    change = _page(client, LINES, hydrate="always", version="2024-06-20")
    assert [_strip(r) for r in change.records] == [_strip(r) for r in snapshot.records]
    # All three lines are embedded, at the pinned version: nothing else was asked for.
    assert {c.path for c in fake.requests} == {"/v1/invoices", "/v1/events"}
    listed = _page(client, LINES, version="2023-10-16")
    # At another version the lines are listed (never retrieved), and come out the same.
    assert [_strip(r) for r in listed.records] == [_strip(r) for r in snapshot.records]
    assert {c.path for c in fake.requests} == {"/v1/invoices", "/v1/events",
                                               "/v1/invoices/in_1/lines"}


# -- change capture: persons, with their own events ------------------------------------------------


def test_person_events_are_records_and_hydration_retrieves_under_the_account(
        client: StripeClient, fake: FakeStripe) -> None:
    person = {"id": "person_1", "object": "person", "account": "acct_1", "created": NOW - 900}
    fake.add_event("person.updated", person, NOW - 500)
    fake.add_event("person.deleted", {**person, "id": "person_2"}, NOW - 400)
    page = _page(client, PERSONS, hydrate="always", version="2024-06-20")
    assert [(r["id"], r["is_deleted"]) for r in page.records] == [
        ("person_1", False), ("person_2", True)]
    assert len(fake.calls("/v1/accounts/acct_1/persons/person_1")) == 1


# -- a whole sync ------------------------------------------------------------------------------------


def test_incremental_sync_snapshots_children_then_follows_parent_events(
        fake: FakeStripe) -> None:
    invoice = _with_lines(fake, "in_1", 2, created=NOW - 5000)
    _with_lines(fake, "in_2", 1, created=NOW - 4000)
    fake.add_event("invoice.updated", invoice, NOW - 1)
    output = run_read(config(lag_seconds=0), catalog("invoice_line_items",
                                                     mode=SyncMode.incremental))
    assert not output.errors
    records = record_data(output, "invoice_line_items")
    snapshot, changes = records[:3], records[3:]
    assert {r["id"] for r in snapshot} == {"il_in_1_000", "il_in_1_001", "il_in_2_000"}
    assert sorted((r["id"], r["updated"]) for r in changes) == [
        ("il_in_1_000", NOW - 1), ("il_in_1_001", NOW - 1)]
    assert stream_states(output, "invoice_line_items")[-1]["iterator_type"] == "cdc"
