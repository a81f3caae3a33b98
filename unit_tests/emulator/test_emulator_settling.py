"""Changes Stripe makes without saying much: balance transactions that settle on their own
(no event at all), and lines or items that leave their invoice or subscription (one event of
the parent, whose previous_attributes show the old items but not the old lines)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from stripe_emulator import EmulatorClient
from stripe_emulator.control import ControlError

from .support import Api

DAY = 86400
BASIL = "2025-03-31.basil"


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def every_event(api: Api) -> list[str]:
    return api.all_ids("/v1/events")


def every_item(api: Api, path: str, **kwargs: Any) -> list[dict[str, Any]]:
    """A whole list, paged with starting_after."""
    query: dict[str, Any] = {"limit": 100}
    found: list[dict[str, Any]] = []
    while True:
        page = api.ok(path, query, **kwargs)
        found += page["data"]
        if not page["has_more"]:
            return found
        query["starting_after"] = found[-1]["id"]


def weekday(timestamp: int) -> int:
    """0 for Monday (1970-01-01 was a Thursday)."""
    return (timestamp // DAY + 3) % 7


def business_days_between(start: int, end: int) -> int:
    """Weekdays after the day of ``start`` up to and including the day of ``end``."""
    return sum(1 for day in range(start // DAY + 1, end // DAY + 1) if (day + 3) % 7 < 5)


# Balance transactions


def recent_transactions(control: EmulatorClient, count: int = 400,
                        seed: int = 201) -> list[dict[str, Any]]:
    # Ten days of history: the newest charges have not settled yet.
    control.seed({"balance_transactions": count}, seed=seed, years=10 / 365)
    found: list[dict[str, Any]] = control.ground_truth("balance_transactions")
    return found


def test_a_pending_transaction_becomes_available_once_the_clock_passes_available_on(
        api: Api, control: EmulatorClient) -> None:
    transactions = recent_transactions(control)
    now = control.clock()
    pending = [t for t in transactions if t["status"] == "pending"]
    assert pending, Counter(t["status"] for t in transactions)
    assert all(t["available_on"] > now for t in pending)
    target = min(pending, key=lambda t: t["available_on"])
    later = [t["id"] for t in pending if t["available_on"] > target["available_on"]]
    events = every_event(api)
    path = f"/v1/balance_transactions/{target['id']}"
    assert api.ok(path)["status"] == "pending"

    # Just before its available_on nothing changes; at it, it is available.
    control.set_clock(target["available_on"] - 1)
    assert api.ok(path)["status"] == "pending"
    control.set_clock(target["available_on"])
    settled = api.ok(path)
    assert settled == {**target, "status": "available"}
    # The list and the ground truth show it as of the clock too, and only the ones due.
    listed = every_item(api, "/v1/balance_transactions")
    truth = control.ground_truth("balance_transactions")
    assert listed == truth and len(truth) == len(transactions)
    assert by_id(truth)[target["id"]] == settled
    assert {by_id(truth)[i]["status"] for i in later} == {"pending"}
    # Stripe sends no event for it: the events are those there were.
    assert every_event(api) == events

    # Past every available_on, all have settled, still without an event.
    control.advance_clock(8 * DAY)
    truth = by_id(control.ground_truth("balance_transactions"))
    assert {item["status"] for item in truth.values()} == {"available"}
    for item in pending:
        assert truth[item["id"]] == {**item, "status": "available"}
    assert by_id(every_item(api, "/v1/balance_transactions")) == truth
    assert every_event(api) == events


def test_settling_keeps_the_list_order_and_the_cursors(api: Api,
                                                      control: EmulatorClient) -> None:
    transactions = recent_transactions(control, count=60, seed=202)
    pending = {t["id"] for t in transactions if t["status"] == "pending"}
    assert pending
    first = api.ok("/v1/balance_transactions", {"limit": 7})["data"]
    control.advance_clock(10 * DAY)
    # A cursor taken before still pages on, in the same order (created did not change).
    rest = every_item(api, "/v1/balance_transactions")[7:]
    after = api.ok("/v1/balance_transactions",
                   {"limit": 100, "starting_after": first[-1]["id"]})["data"]
    assert after == rest
    assert [t["id"] for t in first + rest] == [t["id"] for t in transactions]
    now = by_id(every_item(api, "/v1/balance_transactions"))
    for item in transactions:
        expected = {**item, "status": "available"} if item["id"] in pending else item
        assert now[item["id"]] == expected


def test_charges_settle_in_two_to_five_business_days_and_debits_at_once(
        control: EmulatorClient) -> None:
    transactions = recent_transactions(control, count=600, seed=203)
    charges = [t for t in transactions if t["type"] == "charge"]
    debits = [t for t in transactions if t["type"] != "charge"]
    assert len(charges) > 300 and debits
    waits = Counter(business_days_between(t["created"], t["available_on"]) for t in charges)
    assert set(waits) <= {2, 3, 4, 5}
    assert waits[2] > 0.55 * len(charges), waits
    for charge in charges:
        # A day's start (UTC), on a weekday, 1 to 7 calendar days after it was made.
        assert charge["available_on"] % DAY == 0
        assert weekday(charge["available_on"]) < 5
        assert DAY < charge["available_on"] - charge["created"] <= 7 * DAY
        assert charge["amount"] > 0
    for debit in debits:
        assert debit["amount"] < 0
        assert debit["available_on"] == debit["created"]
        assert debit["status"] == "available"
    # As of the clock: every charge of the last day is pending, none older than a week is.
    now = control.clock()
    for charge in charges:
        assert charge["status"] == ("available" if charge["available_on"] <= now
                                    else "pending")
    assert [t for t in charges if t["created"] > now - DAY]
    assert all(t["status"] == "pending" for t in charges if t["created"] > now - DAY)
    assert all(t["status"] == "available" for t in charges if t["created"] < now - 7 * DAY)


def test_settlement_dates_follow_the_seed(control: EmulatorClient) -> None:
    control.set_clock(1_800_000_000)
    first = recent_transactions(control, count=50, seed=204)
    control.reset()
    control.set_clock(1_800_000_000)
    second = recent_transactions(control, count=50, seed=204)
    assert [(t["id"], t["available_on"]) for t in first] == \
        [(t["id"], t["available_on"]) for t in second]


def test_old_transactions_have_settled_and_new_ones_wait(control: EmulatorClient) -> None:
    control.seed({"balance_transactions": 300}, seed=205, years=3)
    now = control.clock()
    for item in control.ground_truth("balance_transactions"):
        assert item["status"] == ("available" if item["available_on"] <= now else "pending")
    made = control.mutate([{"op": "create", "stream": "balance_transactions"}] * 12, seed=7)
    assert made["events"] == []  # Stripe has no event for a balance transaction
    truth = by_id(control.ground_truth("balance_transactions"))
    new = [truth[op["id"]] for op in made["ops"]]
    assert {item["type"] == "charge" for item in new} == {True, False}
    for item in new:
        if item["type"] == "charge":
            assert item["status"] == "pending" and item["available_on"] > now
        else:
            assert item["status"] == "available"
            assert item["available_on"] == item["created"]


def test_a_connected_account_settles_on_the_same_clock(api: Api,
                                                       control: EmulatorClient) -> None:
    control.configure(profiles={"acct_1EmulatorPlatfrm": "full"})
    (account,) = control.create_accounts(accounts=[{"counts": {"balance_transactions": 80}}],
                                         seed=206, years=10 / 365)
    truth = control.ground_truth("balance_transactions", account=account)
    pending = [t for t in truth if t["status"] == "pending"]
    assert pending
    control.advance_clock(8 * DAY)
    page = api.ok("/v1/balance_transactions", {"limit": 100},
                  headers={"Stripe-Account": account})["data"]
    assert {t["status"] for t in page} == {"available"}


# Subscription items


def seeded_billing(control: EmulatorClient, seed: int = 210) -> None:
    control.configure(many_children_share=0)
    control.seed({"customers": 5, "prices": 5, "subscriptions": 30, "invoices": 60},
                 seed=seed, years=0.05)


def parent_with(control: EmulatorClient, stream: str, child_stream: str, field: str,
                least: int, **wanted: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    children: dict[str, list[dict[str, Any]]] = {}
    for child in control.ground_truth(child_stream):
        children.setdefault(child[field], []).append(child)
    for parent in control.ground_truth(stream):
        if len(children.get(parent["id"], ())) >= least and all(
                parent.get(key) in values for key, values in wanted.items()):
            return parent, children[parent["id"]]
    raise AssertionError(f"no {stream} with {least} {child_stream} and {wanted}")


LIVE = ("active", "trialing", "past_due")


def test_removing_an_item_sends_the_items_before(api: Api, control: EmulatorClient) -> None:
    seeded_billing(control)
    sub, items = parent_with(control, "subscriptions", "subscription_items", "subscription", 3,
                             status=LIVE)
    made = control.delete("subscription_items", items[1]["id"])
    assert made["ops"] == [{"op": "delete", "stream": "subscription_items",
                            "id": items[1]["id"]}]
    (event,) = made["events"]
    assert event["type"] == "customer.subscription.updated"
    assert event["request"]["id"] is not None
    # "If an array attribute has any updated elements, this object contains the entire
    # array": the embedded list as it was, the removed item in it.
    assert event["data"]["previous_attributes"] == {"items": sub["items"]}
    assert items[1]["id"] in [item["id"] for item in sub["items"]["data"]]
    now = event["data"]["object"]
    assert [item["id"] for item in now["items"]["data"]] == \
        [item["id"] for item in sub["items"]["data"] if item["id"] != items[1]["id"]]
    assert api.ok(f"/v1/subscriptions/{sub['id']}") == now
    assert api.error(f"/v1/subscription_items/{items[1]['id']}", status=404)["code"] == \
        "resource_missing"
    assert items[1]["id"] not in api.all_ids("/v1/subscription_items",
                                             {"subscription": sub["id"]})


def test_removing_two_items_at_once_sends_one_event(api: Api, control: EmulatorClient) -> None:
    seeded_billing(control, seed=211)
    sub, items = parent_with(control, "subscriptions", "subscription_items", "subscription", 3,
                             status=LIVE)
    gone = [items[0]["id"], items[2]["id"]]
    made = control.remove_children("subscriptions", sub["id"], children=gone)
    assert made["ops"] == [{"op": "remove_children", "stream": "subscriptions",
                            "id": sub["id"], "removed": gone,
                            "event": "customer.subscription.updated"}]
    (event,) = made["events"]
    assert event["data"]["previous_attributes"] == {"items": sub["items"]}
    assert set(gone) <= {item["id"] for item in sub["items"]["data"]}
    left = [item["id"] for item in event["data"]["object"]["items"]["data"]]
    assert not set(gone) & set(left) and len(left) == len(items) - 2
    truth = {item["id"] for item in control.ground_truth("subscription_items")}
    assert not set(gone) & truth


def test_an_item_beyond_the_embedded_page_leaves_the_page_as_it_was(
        api: Api, control: EmulatorClient) -> None:
    control.configure(many_children_share=1)
    control.seed({"customers": 3, "prices": 3, "subscriptions": 3}, seed=216, years=0.05)
    sub, items = parent_with(control, "subscriptions", "subscription_items", "subscription",
                             12)
    listed = api.all_ids("/v1/subscription_items", {"subscription": sub["id"]})
    oldest = listed[-1]
    assert oldest not in [item["id"] for item in sub["items"]["data"]]
    (event,) = control.delete("subscription_items", oldest)["events"]
    assert event["type"] == "customer.subscription.updated"
    # Nothing embedded changed (still more than 10 items): no items in previous_attributes.
    assert event["data"]["previous_attributes"] == {}
    assert event["data"]["object"]["items"] == sub["items"]
    assert oldest not in api.all_ids("/v1/subscription_items", {"subscription": sub["id"]})


def test_removed_items_in_basil_still_show_the_items_before(api: Api,
                                                            control: EmulatorClient) -> None:
    control.configure(api_version=BASIL)
    seeded_billing(control, seed=212)
    sub, items = parent_with(control, "subscriptions", "subscription_items", "subscription", 2,
                             status=LIVE)
    (event,) = control.delete("subscription_items", items[0]["id"])["events"]
    assert event["api_version"] == BASIL
    before = event["data"]["previous_attributes"]["items"]["data"]
    assert [item["id"] for item in before] == [item["id"] for item in sub["items"]["data"]]
    assert all("current_period_end" in item for item in before)


# Invoice lines


def test_removing_lines_of_a_draft_sends_invoice_updated_without_the_old_lines(
        api: Api, control: EmulatorClient) -> None:
    seeded_billing(control, seed=213)
    draft = control.create("invoices", {"status": "draft"})["ops"][0]["id"]
    lines = api.ok(f"/v1/invoices/{draft}/lines", {"limit": 100})["data"]
    while len(lines) < 3:
        control.create("invoice_line_items", {"invoice": draft})
        lines = api.ok(f"/v1/invoices/{draft}/lines", {"limit": 100})["data"]
    invoice = api.ok(f"/v1/invoices/{draft}")
    assert invoice["total"] == sum(line["amount"] for line in lines)
    gone = [lines[0]["id"], lines[-1]["id"]]
    made = control.remove_children("invoices", draft, children=gone)
    (event,) = made["events"]
    assert event["type"] == "invoice.updated"
    assert made["ops"][0]["removed"] == gone
    previous = event["data"]["previous_attributes"]
    # Stripe documents no previous_attributes.lines for invoices: the old totals are there,
    # the old lines are not, so a reader cannot tell which lines went.
    assert "lines" not in previous
    assert previous["total"] == invoice["total"]
    assert previous["amount_due"] == invoice["amount_due"]
    now = event["data"]["object"]
    kept = [line for line in lines if line["id"] not in gone]
    assert now["lines"]["data"] == kept
    assert now["total"] == now["amount_due"] == sum(line["amount"] for line in kept)
    assert api.ok(f"/v1/invoices/{draft}") == now
    assert api.ok(f"/v1/invoices/{draft}/lines", {"limit": 100})["data"] == kept
    assert not set(gone) & {line["id"] for line in control.ground_truth("invoice_line_items")}

    # One line alone (the control API's delete) is the same change.
    (single,) = control.delete("invoice_line_items", kept[0]["id"])["events"]
    assert single["type"] == "invoice.updated"
    assert "lines" not in single["data"]["previous_attributes"]
    assert [line["id"] for line in single["data"]["object"]["lines"]["data"]] == \
        [line["id"] for line in kept[1:]]


def test_lines_leave_only_a_draft(api: Api, control: EmulatorClient) -> None:
    seeded_billing(control, seed=214)
    invoice, lines = parent_with(control, "invoices", "invoice_line_items", "invoice", 1,
                                 status=("paid", "open", "void", "uncollectible"))
    events = every_event(api)
    with pytest.raises(ControlError, match="only remove line items from a draft invoice"):
        control.remove_children("invoices", invoice["id"], children=[lines[0]["id"]])
    with pytest.raises(ControlError, match="only remove line items from a draft invoice"):
        control.delete("invoice_line_items", lines[0]["id"])
    assert every_event(api) == events
    assert api.ok(f"/v1/invoices/{invoice['id']}") == invoice


def test_removing_children_is_checked(control: EmulatorClient) -> None:
    seeded_billing(control, seed=215)
    sub, items = parent_with(control, "subscriptions", "subscription_items", "subscription", 2)
    others = [item for item in control.ground_truth("subscription_items")
              if item["subscription"] != sub["id"]]
    with pytest.raises(ControlError, match="No such subscription_item"):
        control.remove_children("subscriptions", sub["id"], children=[others[0]["id"]])
    with pytest.raises(ControlError, match="No such subscription_item"):
        control.remove_children("subscriptions", sub["id"],
                                children=[items[0]["id"], items[0]["id"]])
    with pytest.raises(ControlError, match="fewer than"):
        control.remove_children("subscriptions", sub["id"], count=len(items) + 1)
    with pytest.raises(ControlError, match="Give children"):
        control.remove_children("subscriptions", sub["id"])
    customer = control.ground_truth("customers")[0]["id"]
    with pytest.raises(ControlError, match="an invoice or a subscription"):
        control.remove_children("customers", customer, count=1)
    made = control.remove_children("subscriptions", sub["id"], count=1)
    assert len(made["ops"][0]["removed"]) == 1 and len(made["events"]) == 1


# Random changes that remove children


def random_removals(control: EmulatorClient) -> dict[str, Any]:
    control.configure(many_children_share=0.2, remove_children_share=0.5)
    control.seed({"customers": 20, "prices": 10, "subscriptions": 150, "invoices": 300},
                 seed=220, years=0.05)
    # Enough drafts with several lines for the invoices' share.
    control.mutate([{"op": "create", "stream": "invoices", "changes": {"status": "draft"}}
                    for _ in range(40)], seed=221)
    return control.mutate_random(400, seed=222, streams=["invoices", "subscriptions"])


def test_half_of_the_random_updates_remove_one_or_two_children(
        control: EmulatorClient) -> None:
    control.configure(many_children_share=0.2)
    control.seed({"customers": 20, "prices": 10, "subscriptions": 150, "invoices": 300},
                 seed=220, years=0.05)
    control.mutate([{"op": "create", "stream": "invoices", "changes": {"status": "draft"}}
                    for _ in range(40)], seed=221)
    before_items = Counter(i["subscription"] for i in control.ground_truth("subscription_items"))
    before_lines = Counter(i["invoice"] for i in control.ground_truth("invoice_line_items"))
    control.reset()
    made = random_removals(control)
    ops = made["ops"]
    updates = [op for op in ops if op["op"] != "create"]
    removals = [op for op in ops if op["op"] == "remove_children"]
    # About half of the updates (and deletions): 0.5 of the 65% that are not creations.
    assert 0.35 * len(updates) < len(removals) < 0.65 * len(updates), Counter(
        op["op"] for op in ops)
    assert {op["stream"] for op in removals} == {"invoices", "subscriptions"}
    assert {len(op["removed"]) for op in removals} == {1, 2}
    assert {op["event"] for op in removals} == {"invoice.updated",
                                                "customer.subscription.updated"}
    after_items = Counter(i["subscription"] for i in control.ground_truth("subscription_items"))
    after_lines = Counter(i["invoice"] for i in control.ground_truth("invoice_line_items"))
    removed = Counter(op["id"] for op in removals for _ in op["removed"])
    deleted = {op["id"] for op in ops if op["op"] == "delete"}
    changed = {op["id"] for op in ops if op["op"] == "update"}
    drafts = {i["id"] for i in control.ground_truth("invoices") if i["status"] == "draft"}
    gone: set[str] = set()
    for op in removals:
        gone.update(op["removed"])
        if op["id"] in deleted:
            continue  # deleted since, with its lines
        before, after = (before_lines, after_lines) if op["stream"] == "invoices" \
            else (before_items, after_items)
        if op["id"] in before:
            assert after[op["id"]] == before[op["id"]] - removed[op["id"]]
        assert after[op["id"]] >= 1  # a parent keeps at least one
        if op["stream"] == "invoices":
            # Lines leave drafts only (one may have been finalized since).
            assert op["id"] in drafts or op["id"] in changed
    children = control.ground_truth("invoice_line_items") + \
        control.ground_truth("subscription_items")
    assert not gone & {child["id"] for child in children}
    # The same seeds on the same data make the same changes.
    control.reset()
    assert random_removals(control)["ops"] == ops


def test_without_the_share_random_changes_remove_no_lines(control: EmulatorClient) -> None:
    control.seed({"customers": 10, "prices": 5, "invoices": 100, "subscriptions": 50},
                 seed=222, years=0.05)
    for _ in range(20):
        control.create("invoices", {"status": "draft"})
    lines = control.ground_truth("invoice_line_items")
    made = control.mutate_random(300, seed=223,
                                 streams=["invoices", "invoice_line_items", "subscriptions"])
    assert not [op for op in made["ops"] if op["op"] == "remove_children"]
    assert "delete" in {op["op"] for op in made["ops"]}
    # A line's removal cannot be followed through events: random changes never make one
    # unless asked to. Lines leave only with their deleted invoice.
    invoices = {invoice["id"] for invoice in control.ground_truth("invoices")}
    now = {line["id"] for line in control.ground_truth("invoice_line_items")}
    assert {line["id"] for line in lines if line["invoice"] in invoices} <= now


def test_the_share_is_a_setting(control: EmulatorClient) -> None:
    assert control.config()["remove_children_share"] == 0.0
    with pytest.raises(ControlError, match="remove_children_share is a probability"):
        control.configure(remove_children_share=1.5)
    control.configure(remove_children_share=0.25)
    assert control.config()["remove_children_share"] == 0.25
