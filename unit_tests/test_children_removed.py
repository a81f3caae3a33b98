"""Children that leave a parent that still exists arrive as deletes (issue 20)."""

from __future__ import annotations

from typing import Any

from helpers import NOW, FakeStripe

from source_stripe_conduit.iterator.cdc import read_events_page
from source_stripe_conduit.iterator.position import Position
from source_stripe_conduit.resources import BY_STREAM
from source_stripe_conduit.transport.client import StripeClient

ITEMS = BY_STREAM["subscription_items"]
UPPER = NOW - 60


def _item(item_id: str, quantity: int = 1) -> dict[str, Any]:
    return {"id": item_id, "object": "subscription_item", "subscription": "sub_1Rm",
            "quantity": quantity, "created": NOW - 9000}


def _subscription(items: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"id": "sub_1Rm", "object": "subscription", "created": NOW - 9000,
            "status": "active",
            "items": {"object": "list", "data": items, "has_more": has_more,
                      "url": "/v1/subscription_items?subscription=sub_1Rm"}}


def _updated(fake: FakeStripe, before: list[dict[str, Any]], after: list[dict[str, Any]],
             at: int, before_has_more: bool = False) -> None:
    event = fake.add_event("customer.subscription.updated", _subscription(after), at)
    event["data"]["previous_attributes"] = {
        "items": {"object": "list", "data": before, "has_more": before_has_more,
                  "url": "/v1/subscription_items?subscription=sub_1Rm"}}


def _page(client: StripeClient, **kwargs: Any) -> Any:
    return read_events_page(client, ITEMS, Position.cdc(NOW - 1000), start="created_at",
                            upper=UPPER, batch_size=10, **kwargs)


def test_an_item_removed_from_a_living_subscription_arrives_as_a_delete(
        client: StripeClient, fake: FakeStripe) -> None:
    kept, dropped = _item("si_kept"), _item("si_dropped")
    fake.add("/v1/subscriptions", _subscription([kept]))
    fake.add_child("subscription_items", "sub_1Rm", kept)
    _updated(fake, [kept, dropped], [kept], NOW - 500)
    page = _page(client)
    by_id = {r["id"]: r for r in page.records}
    assert set(by_id) == {"si_kept", "si_dropped"}
    assert by_id["si_dropped"]["is_deleted"] is True
    assert by_id["si_dropped"]["_ab_cdc_deleted_at"] is not None
    assert by_id["si_dropped"]["updated"] == NOW - 500
    assert by_id["si_kept"]["is_deleted"] is False


def test_an_item_changed_but_not_removed_is_no_delete(client: StripeClient,
                                                       fake: FakeStripe) -> None:
    old, new = _item("si_same", 1), _item("si_same", 2)
    fake.add("/v1/subscriptions", _subscription([new]))
    fake.add_child("subscription_items", "sub_1Rm", new)
    _updated(fake, [old], [new], NOW - 500)
    page = _page(client)
    assert [(r["id"], r["quantity"], r["is_deleted"]) for r in page.records] == [
        ("si_same", 2, False)]


def test_a_previous_list_cut_at_its_first_page_deletes_what_it_names_and_warns(
        client: StripeClient, fake: FakeStripe) -> None:
    kept = _item("si_kept")
    fake.add("/v1/subscriptions", _subscription([kept]))
    fake.add_child("subscription_items", "sub_1Rm", kept)
    _updated(fake, [kept, _item("si_gone")], [kept], NOW - 500, before_has_more=True)
    page = _page(client)
    assert {(r["id"], r["is_deleted"]) for r in page.records} == {
        ("si_kept", False), ("si_gone", True)}
    assert any("had before" in w and "sub_1Rm" in w for w in page.warnings), page.warnings
