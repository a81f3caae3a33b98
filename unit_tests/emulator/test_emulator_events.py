"""Events: what each change sends, snapshots, filters, retention and eventual consistency."""

from __future__ import annotations

from typing import Any

import pytest

from stripe_emulator import EmulatorClient
from stripe_emulator.control import ControlError

from .support import Api

DAY = 86400


def events(api: Api, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every listed event, newest first."""
    query: dict[str, Any] = {"limit": 100, **(params or {})}
    found: list[dict[str, Any]] = []
    while True:
        page = api.ok("/v1/events", query)
        found += page["data"]
        if not page["has_more"]:
            return found
        query["starting_after"] = found[-1]["id"]


def test_update_event_has_previous_attributes_and_a_snapshot(
        api: Api, control: EmulatorClient) -> None:
    customer = control.create("customers", {"email": "old@example.com",
                                            "metadata": {"plan": "basic"}})
    created = customer["events"][0]
    assert created["type"] == "customer.created"
    cid = created["data"]["object"]["id"]
    first = control.update("customers", cid, {"email": "new@example.com",
                                              "metadata": {"plan": "pro", "seats": "3"}})
    second = control.update("customers", cid, {"description": "VIP"})
    update1, update2 = first["events"][0], second["events"][0]
    assert update1["type"] == update2["type"] == "customer.updated"
    assert update1["data"]["previous_attributes"] == {
        "email": "old@example.com", "metadata": {"plan": "basic", "seats": None}}
    assert update2["data"]["previous_attributes"] == {
        "description": created["data"]["object"]["description"]}
    listed = {event["id"]: event for event in events(api)}
    # Each event keeps the object as it was then, not as it is now.
    assert listed[update1["id"]]["data"]["object"]["description"] == created["data"][
        "object"]["description"] != "VIP"
    assert listed[update1["id"]]["data"]["object"]["email"] == "new@example.com"
    assert listed[created["id"]]["data"]["object"]["email"] == "old@example.com"
    assert listed[update2["id"]]["data"]["object"]["description"] == "VIP"
    event = listed[update2["id"]]
    assert set(event) == {"id", "object", "api_version", "created", "data", "livemode",
                          "pending_webhooks", "request", "type"}
    assert event["object"] == "event" and event["id"].startswith("evt_")
    assert event["livemode"] is False and event["pending_webhooks"] == 0
    assert event["request"]["id"].startswith("req_")
    assert event["request"]["idempotency_key"] is None
    assert api.ok(f"/v1/events/{event['id']}") == event


def test_creation_events_are_the_ones_stripe_sends(control: EmulatorClient) -> None:
    control.seed({"customers": 2, "charges": 5}, seed=1, years=0.01)
    expected = {"charges": "charge.", "reviews": "review.opened",
                "payment_methods": "payment_method.attached",
                "disputes": "charge.dispute.created", "subscriptions":
                "customer.subscription.created", "refunds": "refund.created"}
    for stream, prefix in expected.items():
        made = control.create(stream)
        types = [event["type"] for event in made["events"]]
        assert types and types[0].startswith(prefix), (stream, types)
    charge = control.create("charges", {"status": "pending"})["events"]
    assert [e["type"] for e in charge] == ["charge.pending"]
    assert control.create("checkout_sessions")["events"] == []


def test_state_changes_send_their_own_events(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 3}, seed=2)
    invoice = control.create("invoices", {"status": "draft"})
    iid = invoice["ops"][0]["id"]
    finalized = control.update("invoices", iid, event="invoice.finalized")["events"]
    assert [e["type"] for e in finalized] == ["invoice.finalized"]
    assert finalized[0]["data"]["previous_attributes"]["status"] == "draft"
    paid = control.update("invoices", iid, {"status": "paid"})["events"]
    assert [e["type"] for e in paid] == ["invoice.paid", "invoice.payment_succeeded"]
    charge = control.create("charges", {"status": "succeeded", "captured": False,
                                        "amount_captured": 0})["ops"][0]["id"]
    captured = control.update("charges", charge, {"captured": True})["events"]
    assert captured[0]["type"] == "charge.captured"
    sub = control.create("subscriptions", {"status": "trialing"})["ops"][0]["id"]
    paused = control.update("subscriptions", sub, event="customer.subscription.paused")
    assert paused["events"][0]["data"]["object"]["status"] == "paused"
    # Stripe sends nothing for a PaymentIntent's plain edit.
    intent = control.create("payment_intents")["ops"][0]["id"]
    assert control.update("payment_intents", intent, {"metadata": {"a": "b"}})["events"] == []


def test_deletions(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 2, "payment_methods": 4}, seed=3)
    customer = api.ids("/v1/customers")[0]
    before = api.ok(f"/v1/customers/{customer}")
    sub = control.create("subscriptions", {"customer": customer, "status": "active"})
    sub_id = sub["ops"][0]["id"]
    deleted = control.delete("customers", customer)["events"]
    assert [e["type"] for e in deleted] == ["customer.deleted", "customer.subscription.deleted"]
    assert deleted[0]["data"]["object"] == before
    canceled = deleted[1]["data"]["object"]
    assert canceled["id"] == sub_id and canceled["status"] == "canceled"
    assert sub_id in api.ids("/v1/subscriptions", {"status": "all"})
    assert sub_id not in api.ids("/v1/subscriptions")

    owner = api.ids("/v1/customers")[0]
    pm = api.ids(f"/v1/customers/{owner}/payment_methods")
    if pm:
        detached = control.delete("payment_methods", pm[0])["events"][0]
        assert detached["type"] == "payment_method.detached"
        assert detached["data"]["object"]["customer"] is None
        assert detached["data"]["previous_attributes"] == {"customer": owner}

    product = control.create("products")["ops"][0]["id"]
    gone = control.delete("products", product)["events"]
    assert [e["type"] for e in gone] == ["product.deleted"]
    assert api.error(f"/v1/products/{product}", status=404)["code"] == "resource_missing"


def test_only_draft_invoices_can_be_deleted(control: EmulatorClient) -> None:
    control.seed({"customers": 1}, seed=4)
    paid = control.create("invoices", {"status": "paid"})["ops"][0]["id"]
    with pytest.raises(ControlError, match="You can only delete draft invoices"):
        control.delete("invoices", paid)
    draft = control.create("invoices", {"status": "draft"})["ops"][0]["id"]
    assert control.delete("invoices", draft)["events"][0]["type"] == "invoice.deleted"


def test_types_filter_merges_types_newest_first(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 5, "products": 5}, seed=5)
    control.mutate_random(120, seed=6, streams=["customers", "products", "coupons"])
    every = events(api)
    wanted = {"customer.updated", "product.created", "coupon.deleted"}
    got = events(api, {"types[]": sorted(wanted)})
    assert got == [e for e in every if e["type"] in wanted]
    keys = [(e["created"]) for e in got]
    assert keys == sorted(keys, reverse=True)
    # Paging a filtered list with both cursors stays inside the filter.
    def page(**params: Any) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = api.ok("/v1/events", {"types[]": sorted(wanted),
                                                           **params})["data"]
        return data

    first = page(limit=3)
    after = page(limit=3, starting_after=first[-1]["id"])
    assert first + after == got[:6]
    before = page(limit=2, ending_before=after[0]["id"])
    assert before == first[1:]


def test_type_wildcard_spans_dots(api: Api, control: EmulatorClient) -> None:
    control.create("customers")
    control.create("subscriptions", {"status": "active"})
    control.create("products")
    types = {e["type"] for e in events(api, {"type": "customer.*"})}
    assert types == {"customer.created", "customer.subscription.created"}
    assert {e["type"] for e in events(api, {"type": "customer.created"})} == {
        "customer.created"}


def test_type_filter_errors(api: Api, control: EmulatorClient) -> None:
    both = api.error("/v1/events", {"type": "customer.created",
                                    "types[]": ["customer.updated"]})
    assert "type, types" in both["message"]
    names = [f"customer.t{i}" for i in range(21)]
    assert api.error("/v1/events", {"types[]": names})["param"] == "types"
    assert api.ok("/v1/events", {"types[]": names[:20]})["data"] == []


def test_retention_and_the_aged_out_cursor(api: Api, control: EmulatorClient) -> None:
    old = control.create("customers")["events"][0]
    control.advance_clock(20 * DAY)
    recent = control.create("customers")["events"][0]
    assert [e["id"] for e in events(api)] == [recent["id"], old["id"]]
    control.advance_clock(11 * DAY)
    assert [e["id"] for e in events(api)] == [recent["id"]]
    for param in ("starting_after", "ending_before"):
        error = api.error("/v1/events", {param: old["id"]})
        assert "is no longer available because it's aged out of our retention policy" in error[
            "message"]
        assert error["param"] == param
    assert api.error(f"/v1/events/{old['id']}", status=404)["code"] == "resource_missing"
    # Objects outlive their events.
    assert old["data"]["object"]["id"] in api.ids("/v1/customers")


def test_seeded_objects_of_the_last_30_days_have_creation_events(
        api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 300}, seed=8, years=1)
    now = control.clock()
    recent = {c["id"] for c in api.ok("/v1/customers", {"limit": 100,
                                                        "created[gte]": int(now) - 30 * DAY})[
        "data"]}
    created = {e["data"]["object"]["id"] for e in events(api, {"type": "customer.created"})}
    assert recent and created == recent


def test_events_appear_only_after_their_visibility_delay(api: Api,
                                                          control: EmulatorClient) -> None:
    early = control.create("customers")["events"][0]
    control.configure(event_max_delay=120)
    late = [control.create("customers")["events"][0] for _ in range(10)]
    listed = {e["id"] for e in events(api)}
    assert early["id"] in listed
    assert not {e["id"] for e in late} <= listed  # some are not visible yet
    control.advance_clock(121)
    everything = events(api)
    assert {e["id"] for e in late} <= {e["id"] for e in everything}
    created = [e["created"] for e in everything]
    assert created == sorted(created, reverse=True)  # at their place by created


def test_event_api_version_is_the_accounts_at_the_time(api: Api,
                                                       control: EmulatorClient) -> None:
    before = control.create("customers")["events"][0]
    control.configure(api_version="2023-10-16")
    after = control.create("customers")["events"][0]
    listed = {e["id"]: e for e in events(api, {})}
    assert listed[before["id"]]["api_version"] == "2024-06-20"
    assert listed[after["id"]]["api_version"] == "2023-10-16"
    response = api.get("/v1/events", headers={"Stripe-Version": "2024-06-20"})
    assert response.headers["Stripe-Version"] == "2024-06-20"
    assert api.get("/v1/events").headers["Stripe-Version"] == "2023-10-16"


def test_random_mutations_only_make_announced_changes(api: Api,
                                                      control: EmulatorClient) -> None:
    control.seed({"customers": 20, "subscriptions": 20, "invoices": 20, "charges": 20},
                 seed=9)
    result = control.mutate_random(200, seed=10,
                                   streams=["customers", "subscriptions", "invoices", "charges"])
    assert len(result["ops"]) == 200
    assert len(result["events"]) >= 200
    for event in result["events"]:
        if event["type"].endswith(".updated"):
            assert event["data"]["previous_attributes"], event["type"]


def test_seeding_is_reproducible(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 50, "charges": 50}, seed=42)
    first = api.all_ids("/v1/charges")
    control.reset()
    control.seed({"customers": 50, "charges": 50}, seed=42)
    assert api.all_ids("/v1/charges") == first


def test_api_mutation_routes_send_the_same_events(api: Api, control: EmulatorClient) -> None:
    made = api.post("/v1/customers", {"email": "jo@example.com", "metadata[plan]": "pro"})
    assert made.status_code == 200, made.text
    customer = made.json()
    assert customer["email"] == "jo@example.com" and customer["metadata"] == {"plan": "pro"}
    assert customer["description"] is None  # an API create sets only what it is given
    changed = api.post(f"/v1/customers/{customer['id']}", {"name": "Jo", "metadata[plan]": ""})
    assert changed.json()["name"] == "Jo" and changed.json()["metadata"] == {}
    deleted = api.delete(f"/v1/customers/{customer['id']}")
    assert deleted.json() == {"id": customer["id"], "object": "customer", "deleted": True}
    listed = events(api)
    assert [e["type"] for e in listed] == ["customer.deleted", "customer.updated",
                                           "customer.created"]
    assert listed[1]["data"]["previous_attributes"] == {"name": None,
                                                        "metadata": {"plan": "pro"}}
    assert listed[0]["request"]["id"] == deleted.headers["Request-Id"]
    for path, fields in (("/v1/products", {"name": "Mug"}),
                         ("/v1/coupons", {"percent_off": "10", "duration": "once"}),
                         ("/v1/prices", {"unit_amount": "500", "currency": "eur"})):
        response = api.post(path, fields)
        assert response.status_code == 200, response.text
        obj = response.json()
        assert api.post(f"{path}/{obj['id']}", {"metadata[k]": "v"}).status_code == 200
    assert api.post("/v1/customers", {"colour": "red"}).json()["error"]["param"] == "colour"


def test_a_signal_without_a_change_has_no_previous_attributes(control: EmulatorClient) -> None:
    control.seed({"customers": 1}, seed=20)
    sub = control.create("subscriptions", {"status": "trialing"})["ops"][0]["id"]
    events_made = control.update("subscriptions", sub,
                                 event="customer.subscription.trial_will_end")["events"]
    assert [e["type"] for e in events_made] == ["customer.subscription.trial_will_end"]
    assert "previous_attributes" not in events_made[0]["data"]
    assert control.update("customers", control.ground_truth("customers")[0]["id"],
                          {})["events"] == []


def test_upcoming_invoice_events_carry_an_invoice_without_id(
        api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 1}, seed=21)
    sub = control.create("subscriptions", {"status": "active"})["ops"][0]["id"]
    made = control.mutate([{"op": "upcoming_invoice", "subscription": sub}])["events"]
    assert [e["type"] for e in made] == ["invoice.upcoming"]
    preview = made[0]["data"]["object"]
    assert "id" not in preview and preview["object"] == "invoice"
    assert preview["subscription"] == sub and preview["status"] == "draft"
    assert made[0]["request"]["id"] is None
    assert api.ok("/v1/events", {"type": "invoice.upcoming"})["data"] == made


def test_each_account_can_have_its_own_default_version(api: Api,
                                                       control: EmulatorClient) -> None:
    control.configure(profile="full")  # a Connect platform
    control.seed({"accounts": 1}, seed=22)
    account = api.ids("/v1/accounts")[0]
    control.configure(api_versions={account: "2023-08-16"})
    connected = control.create("customers", account=account)["events"][0]
    platform = control.create("customers")["events"][0]
    assert connected["api_version"] == "2023-08-16"
    assert platform["api_version"] == "2024-06-20"
    response = api.get("/v1/customers", headers={"Stripe-Account": account})
    assert response.headers["Stripe-Version"] == "2023-08-16"
