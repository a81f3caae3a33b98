"""Lists behave like Stripe's: order, cursors both ways, limits, filters and hidden defaults."""

from __future__ import annotations

import operator
from typing import Any

from stripe_emulator import EmulatorClient

from .support import Api


def created_and_order(api: Api, path: str, params: dict[str, Any] | None = None,
                      ) -> list[tuple[int, str]]:
    items = api.ok(path, {"limit": 100, **(params or {})})["data"]
    return [(item["created"], item["id"]) for item in items]


def test_list_shape_and_newest_first(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 30}, seed=1)
    page = api.ok("/v1/customers", {"limit": 100})
    assert set(page) == {"object", "data", "has_more", "url"}
    assert page["object"] == "list" and page["url"] == "/v1/customers"
    assert page["has_more"] is False
    created = [item["created"] for item in page["data"]]
    assert created == sorted(created, reverse=True)
    assert all(item["object"] == "customer" and item["id"].startswith("cus_")
               and len(item["id"]) == 18 for item in page["data"])


def test_ties_on_created_are_newest_inserted_first(api: Api, control: EmulatorClient) -> None:
    control.set_clock(1_800_000_000.2)
    made = [control.create("customers")["ops"][0]["id"] for _ in range(3)]
    assert api.ids("/v1/customers") == made[::-1]


def test_default_limit_is_10(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 15}, seed=2)
    page = api.ok("/v1/customers")
    assert len(page["data"]) == 10 and page["has_more"] is True


def test_starting_after_pages_through_everything_once(api: Api,
                                                      control: EmulatorClient) -> None:
    control.seed({"customers": 250}, seed=3)
    everything = [item_id for _, item_id in created_and_order(api, "/v1/customers")]
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        page = api.ok("/v1/customers", params)
        ids += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        params["starting_after"] = ids[-1]
    assert len(ids) == 250 == len(set(ids))
    assert ids[:100] == everything


def test_ending_before_returns_the_objects_just_newer_newest_first(
        api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 40}, seed=4)
    ordered = api.all_ids("/v1/customers")
    cursor = ordered[20]
    page = api.ok("/v1/customers", {"ending_before": cursor, "limit": 5})
    assert [item["id"] for item in page["data"]] == ordered[15:20]
    assert page["has_more"] is True
    top = api.ok("/v1/customers", {"ending_before": ordered[3], "limit": 5})
    assert [item["id"] for item in top["data"]] == ordered[0:3]
    assert top["has_more"] is False


def test_limit_bounds(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 120}, seed=5)
    assert len(api.ids("/v1/customers", {"limit": 100})) == 100
    assert len(api.ids("/v1/customers", {"limit": 1})) == 1
    for bad in (0, 101, "ten"):
        error = api.error("/v1/customers", {"limit": bad})
        assert error["type"] == "invalid_request_error" and error["param"] == "limit"


def test_both_cursors_at_once_are_refused(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 3}, seed=6)
    first = api.ids("/v1/customers")[0]
    error = api.error("/v1/customers", {"starting_after": first, "ending_before": first})
    assert error["message"] == ("You may only specify one of these parameters: "
                                "ending_before, starting_after.")


def test_unknown_cursor_is_resource_missing(api: Api, control: EmulatorClient) -> None:
    for param in ("starting_after", "ending_before"):
        error = api.error("/v1/customers", {param: "cus_x"})
        assert error == {**error, "code": "resource_missing", "param": param,
                         "message": "No such customer: 'cus_x'",
                         "type": "invalid_request_error"}


def test_created_filters(api: Api, control: EmulatorClient) -> None:
    control.seed({"charges": 60}, seed=7)
    items = created_and_order(api, "/v1/charges")
    pivot = items[30][0]
    cases = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
    for op, compare in cases.items():
        got = created_and_order(api, "/v1/charges", {f"created[{op}]": pivot})
        assert got == [item for item in items if compare(item[0], pivot)], op
    assert created_and_order(api, "/v1/charges", {"created": pivot}) == [
        item for item in items if item[0] == pivot]
    ranged = created_and_order(api, "/v1/charges",
                               {"created[gte]": items[40][0], "created[lt]": pivot})
    assert ranged == [item for item in items if items[40][0] <= item[0] < pivot]


def test_created_filter_where_the_path_does_not_take_it(api: Api,
                                                        control: EmulatorClient) -> None:
    error = api.error("/v1/payment_links", {"created[gte]": 1})
    assert error["message"] == "Received unknown parameter: created[gte]"
    assert error["code"] == "parameter_unknown"
    assert api.error("/v1/customers", {"colour": "red"})["param"] == "colour"


def test_subscriptions_hide_canceled_unless_status_all(api: Api,
                                                       control: EmulatorClient) -> None:
    control.seed({"customers": 5, "subscriptions": 60}, seed=8)
    everything = api.ok("/v1/subscriptions", {"status": "all", "limit": 100})["data"]
    statuses = {item["status"] for item in everything}
    assert "canceled" in statuses and len(everything) == 60
    default = api.ok("/v1/subscriptions", {"limit": 100})["data"]
    assert default and all(item["status"] != "canceled" for item in default)
    canceled = api.ok("/v1/subscriptions", {"status": "canceled", "limit": 100})["data"]
    assert len(default) + len(canceled) == 60
    assert api.error("/v1/subscriptions", {"status": "weird"})["param"] == "status"


def test_deleted_objects_leave_their_list(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 5}, seed=9)
    victim = api.ids("/v1/customers")[2]
    control.delete("customers", victim)
    assert victim not in api.all_ids("/v1/customers")
    gone = api.ok(f"/v1/customers/{victim}")
    assert gone == {"id": victim, "object": "customer", "deleted": True}


def test_customer_payment_methods_and_detach(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 2, "payment_methods": 12}, seed=10)
    customers = api.ids("/v1/customers")
    lists = {c: api.ids(f"/v1/customers/{c}/payment_methods", {"limit": 100})
             for c in customers}
    assert sum(len(v) for v in lists.values()) == 12
    owner = next(c for c, pms in lists.items() if pms)
    pm = lists[owner][0]
    control.delete("payment_methods", pm)
    assert pm not in api.ids(f"/v1/customers/{owner}/payment_methods", {"limit": 100})
    assert api.ok(f"/v1/payment_methods/{pm}")["customer"] is None
    assert api.ids("/v1/payment_methods") == []  # without customer: Treasury only
    assert set(api.ids("/v1/payment_methods", {"customer": owner, "limit": 100})) == set(
        lists[owner]) - {pm}
    error = api.error("/v1/customers/cus_nope/payment_methods", status=404)
    assert error["code"] == "resource_missing"


def test_report_types_come_whole_without_pagination(api: Api,
                                                    control: EmulatorClient) -> None:
    control.seed({"report_types": 25}, seed=11)
    page = api.ok("/v1/reporting/report_types")
    assert len(page["data"]) == 25 and page["has_more"] is False
    assert api.error("/v1/reporting/report_types", {"limit": 5})["param"] == "limit"


def test_expand_customer_on_lists_and_retrieve(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 3, "charges": 5, "invoices": 3, "subscriptions": 3,
                  "payment_intents": 3}, seed=12)
    for path in ("/v1/charges", "/v1/invoices", "/v1/subscriptions", "/v1/payment_intents"):
        plain = api.ok(path, {"status": "all"} if path == "/v1/subscriptions" else None)
        expanded = api.ok(path, {"expand[]": "data.customer",
                                 **({"status": "all"} if path == "/v1/subscriptions" else {})})
        for before, after in zip(plain["data"], expanded["data"], strict=True):
            assert isinstance(before["customer"], str)
            assert after["customer"]["id"] == before["customer"]
            assert after["customer"]["object"] == "customer"
    charge = api.ids("/v1/charges")[0]
    one = api.ok(f"/v1/charges/{charge}", {"expand[]": "customer"})
    assert one["customer"]["object"] == "customer"
    assert api.error("/v1/charges", {"expand[]": "customer"})["param"] == "expand"
    assert api.error("/v1/charges", {"expand[]": "data.nonsense"})["param"] == "expand"


def test_nested_lists_are_embedded_with_at_most_ten_items(api: Api,
                                                          control: EmulatorClient) -> None:
    control.seed({"customers": 1, "invoices": 1}, seed=13)
    invoice = api.ids("/v1/invoices")[0]
    control.seed({"invoice_line_items": 12}, seed=14)
    lines = api.ok(f"/v1/invoices/{invoice}")["lines"]
    assert lines["object"] == "list" and lines["url"] == f"/v1/invoices/{invoice}/lines"
    assert len(lines["data"]) == 10 and lines["has_more"] is True
    every = api.all_ids(f"/v1/invoices/{invoice}/lines")
    assert every[:10] == [line["id"] for line in lines["data"]]
    assert all(line["invoice"] == invoice for line in lines["data"])

    control.seed({"subscriptions": 1}, seed=15)
    sub = api.ok("/v1/subscriptions", {"status": "all"})["data"][0]
    items = sub["items"]
    assert items["url"] == f"/v1/subscription_items?subscription={sub['id']}"
    assert [i["id"] for i in items["data"]] == api.ids("/v1/subscription_items",
                                                        {"subscription": sub["id"]})
    assert api.error("/v1/subscription_items")["param"] == "subscription"


def test_refund_shows_in_its_charge_totals_not_as_an_embedded_list(
        api: Api, control: EmulatorClient) -> None:
    control.seed({"charges": 20}, seed=16)
    charge = next(c for c in api.ok("/v1/charges", {"limit": 100})["data"]
                  if c["status"] == "succeeded" and c["captured"])
    result = control.update("charges", charge["id"], event="charge.refunded")
    types = [event["type"] for event in result["events"]]
    assert types == ["charge.refunded", "refund.created"]
    after = api.ok(f"/v1/charges/{charge['id']}")
    assert after["refunded"] is True and after["amount_refunded"] == charge["amount"]
    refund = result["events"][1]["data"]["object"]
    # Since 2022-11-15 a charge does not embed its refunds unless expanded.
    assert "refunds" not in after
    assert refund["id"] in api.ids("/v1/refunds")


def test_retrieve_every_served_kind_and_unknown_ids(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 2, "charges": 2, "products": 2, "coupons": 2}, seed=17)
    for path in ("/v1/customers", "/v1/charges", "/v1/products", "/v1/coupons"):
        item = api.ok(path)["data"][0]
        assert api.ok(f"{path}/{item['id']}") == item
    error = api.error("/v1/charges/ch_nope", status=404)
    assert error["code"] == "resource_missing" and error["message"] == "No such charge: 'ch_nope'"


def test_malformed_numbers_are_refused(api: Api, control: EmulatorClient) -> None:
    error = api.error("/v1/customers", {"created[gte]": "yesterday"})
    assert error["message"] == "Invalid integer: yesterday"
    assert error["param"] == "created[gte]"
    assert api.error("/v1/customers", {"created[since]": 1})["code"] == "parameter_unknown"
