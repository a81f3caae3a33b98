"""API versions: answers rendered in the request's Stripe-Version or the account's default,
basil's and clover's documented differences, events in the version of their time, accounts
upgraded through the control API, and the ground truth in a version."""

from __future__ import annotations

from typing import Any

import pytest

from stripe_emulator import EmulatorClient
from stripe_emulator.control import ControlError

from .support import Api

PLATFORM = "acct_1EmulatorPlatfrm"
CANONICAL = "2024-06-20"
BASIL = "2025-03-31.basil"
CLOVER = "2025-09-30.clover"
INVOICE_GONE = {"application_fee_amount", "charge", "discount", "paid", "paid_out_of_band",
                "payment_intent", "quote", "subscription", "subscription_details", "tax",
                "total_tax_amounts", "transfer_data"}
INVOICE_NEW = {"amount_overpaid", "confirmation_secret", "parent", "total_taxes"}
LINE_GONE = {"amount_excluding_tax", "invoice_item", "plan", "price", "proration",
             "proration_details", "tax_amounts", "tax_rates", "type",
             "unit_amount_excluding_tax"}
LINE_NEW = {"parent", "pricing", "taxes"}
TAX = {"amount": 190, "inclusive": False, "tax_rate": "txr_1Vat", "taxability_reason": None,
       "taxable_amount": 1000}


def in_version(api: Api, path: str, version: str | None, params: Any = None,
               account: str | None = None) -> dict[str, Any]:
    headers = {}
    if version is not None:
        headers["Stripe-Version"] = version
    if account is not None:
        headers["Stripe-Account"] = account
    response = api.get(path, params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["Stripe-Version"] == (version or response.headers[
        "Stripe-Version"])
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture
def billing(control: EmulatorClient) -> dict[str, str]:
    """A subscription and a paid invoice it generated, with a tax, a payment intent and a
    charge: every field basil moves or removes has a value."""
    control.seed({"customers": 3, "products": 2, "prices": 3, "subscriptions": 2}, seed=5,
                 years=0.05)
    subscription = control.ground_truth("subscriptions")[0]["id"]
    made = control.create("invoices", {
        "subscription": subscription, "subscription_details": {"metadata": {"plan": "pro"}},
        "total_tax_amounts": [TAX], "payment_intent": "pi_1Paid", "charge": "ch_1Paid",
        "status": "open", "paid": False})
    invoice = made["ops"][0]["id"]
    control.update("invoices", invoice, {"status": "paid"})
    return {"invoice": invoice, "subscription": subscription}


def test_an_invoice_has_exactly_the_documented_differences(
        api: Api, billing: dict[str, str]) -> None:
    invoice_id = billing["invoice"]
    path = f"/v1/invoices/{invoice_id}"
    old, basil, clover = (in_version(api, path, v) for v in (CANONICAL, BASIL, CLOVER))
    assert set(old) - set(basil) == INVOICE_GONE
    assert set(basil) - set(old) == INVOICE_NEW
    assert set(clover) == set(basil)
    for field in set(old) & set(basil) - {"lines"}:
        assert basil[field] == old[field] == clover[field], field
    assert basil["parent"] == {
        "type": "subscription_details", "quote_details": None,
        "subscription_details": {"subscription": billing["subscription"],
                                 "metadata": {"plan": "pro"},
                                 "subscription_proration_date": None}}
    assert basil["total_taxes"] == [{
        "amount": 190, "tax_behavior": "exclusive", "tax_rate_details": {"tax_rate": "txr_1Vat"},
        "taxability_reason": "not_available", "taxable_amount": 1000,
        "type": "tax_rate_details"}]
    assert basil["amount_overpaid"] == 0 and "payments" not in basil
    # The same in lists as in retrieves, in every version.
    for version, shown in ((CANONICAL, old), (BASIL, basil), (CLOVER, clover)):
        listed = in_version(api, "/v1/invoices", version, {"limit": 100})["data"]
        assert [item for item in listed if item["id"] == invoice_id] == [shown]


def test_embedded_and_child_lines_follow_the_request_version(
        api: Api, billing: dict[str, str]) -> None:
    invoice_id = billing["invoice"]
    for version in (CANONICAL, BASIL, CLOVER):
        embedded = in_version(api, f"/v1/invoices/{invoice_id}", version)["lines"]
        child = in_version(api, f"/v1/invoices/{invoice_id}/lines", version, {"limit": 100})
        assert embedded["data"] == child["data"][:10] and embedded["data"]
    old = in_version(api, f"/v1/invoices/{invoice_id}/lines", CANONICAL)["data"][0]
    new = in_version(api, f"/v1/invoices/{invoice_id}/lines", BASIL)["data"][0]
    assert set(old) - set(new) == LINE_GONE and set(new) - set(old) == LINE_NEW
    assert new["pricing"] == {"type": "price_details",
                              "price_details": {"price": old["price"]["id"],
                                                "product": old["price"]["product"]},
                              "unit_amount_decimal": old["price"]["unit_amount_decimal"]}
    assert new["parent"] == {"type": "invoice_item_details", "subscription_item_details": None,
                             "invoice_item_details": {
                                 "invoice_item": old["invoice_item"], "proration": False,
                                 "proration_details": old["proration_details"],
                                 "subscription": old["subscription"]}}


def test_a_subscription_period_moves_to_its_items(api: Api, billing: dict[str, str]) -> None:
    sub_id = billing["subscription"]
    old = in_version(api, f"/v1/subscriptions/{sub_id}", CANONICAL)
    new = in_version(api, f"/v1/subscriptions/{sub_id}", BASIL)
    assert set(old) - set(new) == {"current_period_start", "current_period_end", "discount"}
    assert set(new) <= set(old)
    period = {"current_period_start": old["current_period_start"],
              "current_period_end": old["current_period_end"]}
    items = in_version(api, "/v1/subscription_items", BASIL,
                       {"subscription": sub_id, "limit": 100})["data"]
    assert items and items[:10] == new["items"]["data"]
    for item in items:
        assert {key: item[key] for key in period} == period
        assert "aggregate_usage" not in item["price"]["recurring"]
    old_items = in_version(api, "/v1/subscription_items", CANONICAL, {"subscription": sub_id})
    assert all("current_period_end" not in item for item in old_items["data"])
    alone = in_version(api, f"/v1/subscription_items/{items[0]['id']}", BASIL)
    assert alone == items[0]


def test_a_rendering_follows_every_change(api: Api, control: EmulatorClient,
                                          billing: dict[str, str]) -> None:
    sub_id, invoice = billing["subscription"], billing["invoice"]
    item = in_version(api, "/v1/subscription_items", BASIL, {"subscription": sub_id})["data"][0]
    end = item["current_period_end"] + 86400
    control.update("subscriptions", sub_id, {"current_period_end": end})
    # The item's own bytes did not change, its subscription's did: so does its rendering.
    assert in_version(api, f"/v1/subscription_items/{item['id']}", BASIL)[
        "current_period_end"] == end
    assert in_version(api, f"/v1/invoices/{invoice}", BASIL)["description"] != "changed"
    control.update("invoices", invoice, {"description": "changed"})
    assert in_version(api, f"/v1/invoices/{invoice}", BASIL)["description"] == "changed"
    assert in_version(api, f"/v1/invoices/{invoice}", CLOVER)["description"] == "changed"


def test_charges_and_payment_intents_lose_their_invoice(api: Api,
                                                        control: EmulatorClient) -> None:
    control.seed({"customers": 2, "charges": 3, "payment_intents": 3}, seed=1, years=0.05)
    for path in ("/v1/charges", "/v1/payment_intents"):
        old = in_version(api, path, CANONICAL)["data"]
        new = in_version(api, path, BASIL)["data"]
        assert all("invoice" in item for item in old)
        assert [{**item, "invoice": None} for item in new] == [
            {**item, "invoice": None} for item in old]
        assert all("invoice" not in item for item in new)


def test_clover_discounts_and_promotion_codes_name_their_coupon(
        api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 1, "coupons": 1, "promotion_codes": 1}, seed=2, years=0.05)
    coupon = control.ground_truth("coupons")[0]
    customer = control.ground_truth("customers")[0]["id"]
    discount = {"id": "di_1Disc", "object": "discount", "coupon": coupon, "customer": customer,
                "start": 1700000000, "end": None, "subscription": None}
    control.update("customers", customer, {"discount": discount})
    basil = in_version(api, f"/v1/customers/{customer}", BASIL)
    clover = in_version(api, f"/v1/customers/{customer}", CLOVER)
    assert basil["discount"]["coupon"] == coupon
    assert "coupon" not in clover["discount"]
    assert clover["discount"]["source"] == {"type": "coupon", "coupon": coupon["id"]}
    assert {**clover, "discount": None} == {**basil, "discount": None}
    code = in_version(api, "/v1/promotion_codes", CLOVER)["data"][0]
    assert "coupon" not in code and code["promotion"]["type"] == "coupon"
    assert isinstance(code["promotion"]["coupon"], str)
    assert isinstance(in_version(api, "/v1/promotion_codes", BASIL)["data"][0]["coupon"], dict)
    # "[...] not automatically expanded on Discount objects, including within event
    # notifications".
    control.set_api_version(PLATFORM, CLOVER)
    event = control.update("customers", customer, {"name": "Renamed"})["events"][0]
    assert event["data"]["object"]["discount"]["source"] == {"type": "coupon",
                                                             "coupon": coupon["id"]}
    assert event["data"]["previous_attributes"] == {"name": basil["name"]}


def test_a_request_without_a_version_gets_the_accounts_default(
        api: Api, control: EmulatorClient, billing: dict[str, str]) -> None:
    response = api.get(f"/v1/invoices/{billing['invoice']}")
    assert response.headers["Stripe-Version"] == CANONICAL and "paid" in response.json()
    control.configure(api_version=BASIL)
    response = api.get(f"/v1/invoices/{billing['invoice']}")
    assert response.headers["Stripe-Version"] == BASIL and "parent" in response.json()
    assert "paid" in in_version(api, f"/v1/invoices/{billing['invoice']}", CANONICAL)
    # Monthly versions render as their release; versions before 2024-06-20 as 2024-06-20.
    assert "parent" in in_version(api, f"/v1/invoices/{billing['invoice']}", "2025-08-27.basil")
    assert "paid" in in_version(api, f"/v1/invoices/{billing['invoice']}", "2025-02-24.acacia")
    assert "paid" in in_version(api, f"/v1/invoices/{billing['invoice']}", "2023-10-16")
    assert "parent" in in_version(api, f"/v1/invoices/{billing['invoice']}", "2026-03-25.dahlia")


@pytest.mark.parametrize("version", ["2025-03-31", "2025-03-31.clover", "2024-06-20.acacia",
                                     "2024-13-01", "latest", "2025-3-31.basil"])
def test_an_unknown_version_is_refused(api: Api, version: str) -> None:
    response = api.get("/v1/customers", headers={"Stripe-Version": version})
    assert response.status_code == 400
    assert response.json()["error"] == {"message": f"Invalid Stripe API version: {version}",
                                        "type": "invalid_request_error"}
    assert response.headers["Stripe-Version"] == CANONICAL


def test_events_keep_the_version_of_their_time(api: Api, control: EmulatorClient,
                                               billing: dict[str, str]) -> None:
    invoice = billing["invoice"]
    before = control.update("invoices", invoice, {"description": "first"})["events"][0]
    assert control.set_api_version(PLATFORM, BASIL) == BASIL
    after = control.update("invoices", invoice, {"description": "second"})["events"][0]
    assert before["api_version"] == CANONICAL and after["api_version"] == BASIL
    assert "paid" in before["data"]["object"] and "parent" not in before["data"]["object"]
    assert "parent" in after["data"]["object"] and "paid" not in after["data"]["object"]
    assert after["data"]["previous_attributes"] == {"description": "first"}
    # Whatever version reads them, and however the account's default changes later.
    control.set_api_version(PLATFORM, CLOVER)
    for version in (CANONICAL, CLOVER, None):
        listed = {e["id"]: e for e in in_version(api, "/v1/events", version,
                                                 {"limit": 100})["data"]}
        assert listed[before["id"]] == before and listed[after["id"]] == after
        assert in_version(api, f"/v1/events/{before['id']}", version) == before


def test_previous_attributes_follow_the_events_version(api: Api, control: EmulatorClient,
                                                       billing: dict[str, str]) -> None:
    control.set_api_version(PLATFORM, BASIL)
    sub_id = billing["subscription"]
    old_end = next(s for s in control.ground_truth("subscriptions", version=CANONICAL)
                   if s["id"] == sub_id)["current_period_end"]
    event = control.update("subscriptions", sub_id,
                           {"current_period_end": old_end + 86400})["events"][0]
    assert event["api_version"] == BASIL
    previous = event["data"]["previous_attributes"]
    # basil: "previous_attributes on the customer.subscription.updated webhook now include
    # that the subscription item's billing period has changed".
    assert set(previous) == {"items"}
    assert {item["current_period_end"] for item in previous["items"]["data"]} == {old_end}
    assert {item["current_period_end"] for item in event["data"]["object"]["items"]["data"]} \
        == {old_end + 86400}


def test_a_connected_account_has_its_own_version(api: Api, control: EmulatorClient) -> None:
    control.configure(profiles={PLATFORM: "full"})
    own, other = control.create_accounts(
        accounts=[{"id": "acct_1BasilAccount0001", "api_version": BASIL,
                   "counts": {"customers": 1, "invoices": 2}},
                  {"id": "acct_1OldAccount00001", "counts": {"invoices": 1}}],
        seed=3, years=0.05)
    answer = api.get("/v1/invoices", headers={"Stripe-Account": own})
    assert answer.headers["Stripe-Version"] == BASIL
    assert all("parent" in item for item in answer.json()["data"])
    answer = api.get("/v1/invoices", headers={"Stripe-Account": other})
    assert answer.headers["Stripe-Version"] == CANONICAL
    assert api.get("/v1/invoices").headers["Stripe-Version"] == CANONICAL
    events = in_version(api, "/v1/events", None, {"limit": 100}, account=own)["data"]
    assert events and {event["api_version"] for event in events} == {BASIL}
    assert all("parent" in e["data"]["object"] for e in events if e["type"] == "invoice.created")
    # Its owner upgrades it: new answers and new events follow, old events stay.
    assert control.set_api_version(own, CLOVER) == CLOVER
    assert {a["id"]: a["api_version"] for a in control.accounts()} == {own: CLOVER,
                                                                       other: CANONICAL}
    assert api.get("/v1/customers", headers={"Stripe-Account": own}).headers[
        "Stripe-Version"] == CLOVER
    customer = control.ground_truth("customers", account=own)[0]["id"]
    made = control.update("customers", customer, {"name": "New"}, account=own)["events"][0]
    assert made["api_version"] == CLOVER
    again = in_version(api, "/v1/events", None, {"limit": 100}, account=own)["data"]
    assert {e["id"]: e["api_version"] for e in again} == {
        made["id"]: CLOVER, **{e["id"]: BASIL for e in events}}


def test_the_ground_truth_renders_in_a_version(api: Api, control: EmulatorClient,
                                               billing: dict[str, str]) -> None:
    for stream, path, params in (
            ("invoices", "/v1/invoices", {}),
            ("invoice_line_items", f"/v1/invoices/{billing['invoice']}/lines", {}),
            ("subscriptions", "/v1/subscriptions", {"status": "all"}),
            ("subscription_items", "/v1/subscription_items",
             {"subscription": billing["subscription"]})):
        for version in (CANONICAL, BASIL, CLOVER):
            truth = control.ground_truth(stream, version=version)
            listed = in_version(api, path, version, {"limit": 100, **params})["data"]
            assert all(item in truth for item in listed) and listed
    # Without a version: the account's current one.
    assert "paid" in control.ground_truth("invoices")[0]
    control.configure(api_version=CLOVER)
    assert "parent" in control.ground_truth("invoices")[0]
    with pytest.raises(ControlError, match="Invalid API version"):
        control.ground_truth("invoices", version="2025-03-31")


def test_the_control_api_refuses_bad_versions_and_accounts(control: EmulatorClient) -> None:
    with pytest.raises(ControlError, match="Invalid API version"):
        control.set_api_version(PLATFORM, "2025-03-31.clover")
    with pytest.raises(ControlError, match="No such account"):
        control.set_api_version("acct_1Nobody", BASIL)
    with pytest.raises(ControlError, match="Invalid API version"):
        control.configure(api_version="2025-09-30")
    with pytest.raises(ControlError, match="api_versions maps"):
        control.configure(api_versions={PLATFORM: "next"})
    assert control.set_api_version(PLATFORM, "2026-09-30.endive") == "2026-09-30.endive"
    assert control.config()["api_versions"] == {PLATFORM: "2026-09-30.endive"}


def test_invoice_payments(api: Api, control: EmulatorClient, billing: dict[str, str]) -> None:
    invoice = billing["invoice"]
    expected = {
        "id": "inpay_" + invoice[3:], "object": "invoice_payment", "invoice": invoice,
        "is_default": True, "livemode": False, "status": "paid",
        "payment": {"type": "payment_intent", "payment_intent": "pi_1Paid"}}
    payment = in_version(api, f"/v1/invoice_payments/inpay_{invoice[3:]}", BASIL)
    assert {key: payment[key] for key in expected} == expected
    assert payment["amount_paid"] == payment["amount_requested"]
    assert payment["status_transitions"]["paid_at"] is not None
    listed = in_version(api, "/v1/invoice_payments", BASIL, {"invoice": invoice})
    assert listed["data"] == [payment] and listed["has_more"] is False
    expanded = in_version(api, f"/v1/invoices/{invoice}", BASIL, {"expand[]": "payments"})
    assert expanded["payments"]["data"] == [payment]
    page = in_version(api, "/v1/invoices", BASIL, {"expand[]": "data.payments", "limit": 100})
    assert all("payments" in item for item in page["data"])
    # Drafts have none yet; every other invoice has its default payment, paged like a list.
    truth = control.ground_truth("invoices")
    finalized = [i["id"] for i in truth if i["status"] != "draft"]
    ids: list[str] = []
    query: dict[str, Any] = {"limit": 2}
    while True:
        page = in_version(api, "/v1/invoice_payments", CANONICAL, query)
        ids += [item["invoice"] for item in page["data"]]
        if not page["has_more"]:
            break
        query["starting_after"] = page["data"][-1]["id"]
    assert ids == finalized
    # 2024-06-20 has no payments to expand; basil has no charge any more.
    error = api.error(f"/v1/invoices/{invoice}", {"expand[]": "payments"})
    assert error["message"] == "This property cannot be expanded (payments)."
    error = api.error(f"/v1/invoices/{invoice}", {"expand[]": "charge"},
                      headers={"Stripe-Version": BASIL})
    assert error["message"] == "This property cannot be expanded (charge)."
    assert api.error("/v1/invoice_payments/inpay_nothing", status=404)["code"] == \
        "resource_missing"


def test_expansions_render_in_the_request_version(api: Api,
                                                  billing: dict[str, str]) -> None:
    invoice = in_version(api, f"/v1/invoices/{billing['invoice']}", BASIL,
                         {"expand[]": "parent.subscription_details.subscription"})
    subscription = invoice["parent"]["subscription_details"]["subscription"]
    assert subscription == in_version(api, f"/v1/subscriptions/{billing['subscription']}",
                                      BASIL)
    assert "current_period_end" not in subscription


def test_stats_count_answers_by_version(api: Api, control: EmulatorClient) -> None:
    control.reset_stats()
    api.get("/v1/customers")
    api.get("/v1/customers", headers={"Stripe-Version": BASIL})
    api.get("/v1/customers", headers={"Stripe-Version": BASIL})
    api.get("/v1/customers", headers={"Stripe-Version": "nonsense"})
    assert control.stats()["by_version"] == {CANONICAL: 2, BASIL: 2}
