"""Invoice lines and subscription items as real accounts have them: mostly a few, sometimes
more than Stripe embeds, so that embedded lists say ``has_more`` and child lists must be paged."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from stripe_emulator import EmulatorClient
from stripe_emulator.control import ControlError

from .support import Api

EMBEDDED = 10


def children_per_parent(control: EmulatorClient, stream: str, field: str) -> Counter[str]:
    return Counter(child[field] for child in control.ground_truth(stream))


def every_child(api: Api, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """A parent's whole child list, paged with starting_after at ``limit`` a page."""
    query: dict[str, Any] = {"limit": limit, **params}
    found: list[dict[str, Any]] = []
    while True:
        page = api.ok(path, query)
        assert len(page["data"]) <= limit
        found += page["data"]
        if not page["has_more"]:
            return found
        query["starting_after"] = found[-1]["id"]


def test_most_parents_have_few_children_and_a_share_has_many(control: EmulatorClient) -> None:
    control.seed({"customers": 50, "prices": 20, "invoices": 2000, "subscriptions": 2000},
                 seed=101)
    for stream, child_stream, field, most in (
            ("invoices", "invoice_line_items", "invoice", 40),
            ("subscriptions", "subscription_items", "subscription", 25)):
        parents = [p["id"] for p in control.ground_truth(stream)]
        per_parent = children_per_parent(control, child_stream, field)
        counts = [per_parent[parent] for parent in parents]
        assert len(counts) == 2000 and min(counts) >= 1 and max(counts) <= most
        many = [n for n in counts if n > EMBEDDED]
        # 5% of 2,000 is 100, with a standard deviation of about 10.
        assert 60 <= len(many) <= 140, (stream, len(many))
        assert max(many) > most - 5, (stream, max(many))
        few = [n for n in counts if n <= EMBEDDED]
        assert sum(1 for n in few if n <= 3) >= 0.8 * len(few), (stream, Counter(few))


def test_the_share_of_parents_with_many_children_is_a_setting(control: EmulatorClient) -> None:
    control.configure(many_children_share=0)
    control.seed({"invoices": 200, "subscriptions": 200}, seed=102)
    assert max(children_per_parent(control, "invoice_line_items", "invoice").values()) <= 10
    assert max(children_per_parent(control, "subscription_items",
                                   "subscription").values()) <= 10
    control.reset()
    control.configure(many_children_share=1)
    control.seed({"invoices": 30, "subscriptions": 30}, seed=103)
    lines = children_per_parent(control, "invoice_line_items", "invoice")
    items = children_per_parent(control, "subscription_items", "subscription")
    assert len(lines) == len(items) == 30
    assert min(lines.values()) > 10 and min(items.values()) > 10
    # Invoices made by a change (not seeded) get their lines the same way.
    made = control.create("invoices")["events"][0]["data"]["object"]["lines"]
    assert len(made["data"]) == 10 and made["has_more"] is True


@pytest.mark.parametrize("value", [1.5, -0.1, "many", True, None])
def test_the_share_is_validated(control: EmulatorClient, value: Any) -> None:
    with pytest.raises(ControlError, match="many_children_share is a probability .* from 0 "
                                           "to 1"):
        control.configure(many_children_share=value)
    assert control.config()["many_children_share"] == 0.05


def check_embedded(api: Api, parent: dict[str, Any], field: str, path: str,
                   params: dict[str, Any], total: int) -> None:
    embedded = parent[field]
    listed = every_child(api, path, params, limit=7)
    assert len(listed) == total
    assert len({child["id"] for child in listed}) == total
    assert len(embedded["data"]) == min(total, EMBEDDED)
    assert embedded["has_more"] is (total > EMBEDDED)
    # The embedded page is the child list's first page, field by field.
    assert embedded["data"] == listed[:EMBEDDED]
    assert embedded["data"] == api.ok(path, {**params, "limit": EMBEDDED})["data"]


def test_embedded_lines_are_the_first_ten_of_the_paged_list(
        api: Api, control: EmulatorClient) -> None:
    control.configure(many_children_share=0.3)
    control.seed({"customers": 10, "prices": 10, "invoices": 60}, seed=104)
    per_invoice = children_per_parent(control, "invoice_line_items", "invoice")
    invoices = control.ground_truth("invoices")
    assert any(n > EMBEDDED for n in per_invoice.values())
    assert any(n <= EMBEDDED for n in per_invoice.values())
    for invoice in invoices:
        assert api.ok(f"/v1/invoices/{invoice['id']}") == invoice
        check_embedded(api, invoice, "lines", f"/v1/invoices/{invoice['id']}/lines", {},
                       per_invoice[invoice["id"]])
    # ending_before walks the same list back from its oldest line.
    big = next(i for i in invoices if per_invoice[i["id"]] > 2 * EMBEDDED)
    path = f"/v1/invoices/{big['id']}/lines"
    forward = [line["id"] for line in every_child(api, path, {}, limit=100)]
    backward: list[str] = []
    cursor = forward[-1]
    while True:
        page = api.ok(path, {"limit": 6, "ending_before": cursor})
        backward = [line["id"] for line in page["data"]] + backward
        if not page["has_more"]:
            break
        cursor = page["data"][0]["id"]
    assert backward + [forward[-1]] == forward


def test_embedded_items_are_the_first_ten_of_the_paged_list(
        api: Api, control: EmulatorClient) -> None:
    control.configure(many_children_share=0.3)
    control.seed({"customers": 10, "prices": 10, "subscriptions": 60}, seed=105)
    per_sub = children_per_parent(control, "subscription_items", "subscription")
    subs = control.ground_truth("subscriptions")
    assert any(n > EMBEDDED for n in per_sub.values())
    for sub in subs:
        check_embedded(api, sub, "items", "/v1/subscription_items", {"subscription": sub["id"]},
                       per_sub[sub["id"]])


def test_a_changed_line_or_item_is_announced_by_its_parent(
        api: Api, control: EmulatorClient) -> None:
    control.configure(many_children_share=1)
    control.seed({"customers": 2, "prices": 3, "invoices": 1, "subscriptions": 1}, seed=106)
    invoice = control.ground_truth("invoices")[0]
    lines = every_child(api, f"/v1/invoices/{invoice['id']}/lines", {}, limit=100)
    # A line within the embedded page: invoice.updated shows it changed.
    shown = lines[3]
    made = control.update("invoice_line_items", shown["id"], {"description": "Seats x 12"})
    assert [e["type"] for e in made["events"]] == ["invoice.updated"]
    event = made["events"][0]
    embedded = event["data"]["object"]["lines"]
    assert embedded["has_more"] is True and len(embedded["data"]) == EMBEDDED
    changed = next(line for line in embedded["data"] if line["id"] == shown["id"])
    assert changed["description"] == "Seats x 12"
    assert changed == api.ok(f"/v1/invoices/{invoice['id']}/lines",
                             {"limit": EMBEDDED})["data"][3]
    # Stripe documents no previous_attributes.lines on invoice.updated: the old lines are not
    # there, and nothing else of the invoice changed.
    assert event["data"]["previous_attributes"] == {}
    assert api.ok(f"/v1/invoices/{invoice['id']}")["lines"] == embedded
    # A line beyond it still sends invoice.updated, with an embedded page unchanged: only
    # the line list shows the change.
    hidden = lines[-1]
    made = control.update("invoice_line_items", hidden["id"], {"metadata": {"seat": "40"}})
    assert [e["type"] for e in made["events"]] == ["invoice.updated"]
    assert made["events"][0]["data"]["object"]["lines"] == embedded
    listed = every_child(api, f"/v1/invoices/{invoice['id']}/lines", {}, limit=100)
    assert listed[-1]["metadata"] == {**hidden["metadata"], "seat": "40"}

    sub = control.ground_truth("subscriptions")[0]
    items = every_child(api, "/v1/subscription_items", {"subscription": sub["id"]}, limit=100)
    made = control.update("subscription_items", items[0]["id"], {"quantity": 7})
    assert [e["type"] for e in made["events"]] == ["customer.subscription.updated"]
    event = made["events"][0]
    assert event["data"]["object"]["items"]["data"][0]["quantity"] == 7
    assert event["data"]["previous_attributes"]["items"]["data"][0]["quantity"] == \
        items[0]["quantity"]
    removed = control.delete("subscription_items", items[1]["id"])
    assert [e["type"] for e in removed["events"]] == ["customer.subscription.updated"]
    after = removed["events"][0]["data"]["object"]["items"]["data"]
    assert items[1]["id"] not in [item["id"] for item in after]
    assert len(after) == EMBEDDED
    left = every_child(api, "/v1/subscription_items", {"subscription": sub["id"]}, limit=100)
    assert len(left) == len(items) - 1
