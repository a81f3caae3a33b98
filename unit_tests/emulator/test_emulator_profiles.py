"""Account profiles (products an account has not set up, Connect) and restricted keys' 403s."""

from __future__ import annotations

import pytest
import requests

from stripe_emulator import Emulator, EmulatorClient
from stripe_emulator.control import ControlError

from .support import LIVE_KEY, Api

PLATFORM = "acct_1EmulatorPlatfrm"
ISSUING = ("Your account is not set up to use Issuing. Please visit "
           "https://dashboard.stripe.com/issuing/overview to get started.")
IDENTITY = ("Your account is not set up to use Identity. Please have an account admin visit "
            "https://dashboard.stripe.com/identity to get started.")
SIGMA = "This API surface is not enabled for testmode usage."
NOT_A_PLATFORM = (
    "Only Stripe Connect platforms can work with other accounts. If you specified a client_id "
    "parameter, make sure it's correct. If you need to setup a Stripe Connect platform, you can "
    "do so at https://dashboard.stripe.com/account/applications/settings.")
ISSUING_PATHS = ("/v1/issuing/authorizations", "/v1/issuing/cardholders", "/v1/issuing/cards",
                 "/v1/issuing/disputes", "/v1/issuing/transactions")
UNAVAILABLE = {"authorizations": 3, "cardholders": 3, "cards": 3, "issuing_disputes": 3,
               "transactions": 3, "identity_verification_sessions": 3,
               "scheduled_query_runs": 3, "accounts": 3}
KEY = "rk_test_51Limited0000000000abc123"
MASKED = f"rk_test_{'*' * 19}abc123"


def refused(response: requests.Response, message: str) -> None:
    """Stripe's answer for a product the account has not set up."""
    assert response.status_code == 400, response.text
    assert response.headers["Stripe-Should-Retry"] == "false"
    assert response.json() == {"error": {"message": message, "type": "invalid_request_error"}}


def test_an_ordinary_account_is_not_set_up_for_issuing(api: Api, control: EmulatorClient) -> None:
    for path in ISSUING_PATHS:
        refused(api.get(path), ISSUING)
        refused(api.get(path, key=LIVE_KEY), ISSUING)
    refused(api.get("/v1/issuing/cards/ic_1Abc"), ISSUING)


def test_an_ordinary_account_is_not_set_up_for_identity(api: Api,
                                                        control: EmulatorClient) -> None:
    refused(api.get("/v1/identity/verification_sessions"), IDENTITY)
    refused(api.get("/v1/identity/verification_sessions/vs_1Abc"), IDENTITY)


def test_sigma_refuses_test_keys_and_serves_live_ones(api: Api, control: EmulatorClient) -> None:
    refused(api.get("/v1/sigma/scheduled_query_runs"), SIGMA)
    assert control.seed({"scheduled_query_runs": 2}, seed=1, livemode=True)["created"] == {
        "scheduled_query_runs": 2}
    assert len(api.ids("/v1/sigma/scheduled_query_runs", key=LIVE_KEY)) == 2
    assert len(control.ground_truth("scheduled_query_runs", livemode=True)) == 2
    assert control.ground_truth("scheduled_query_runs") == []


def test_treasury_asks_whether_the_account_onboarded(api: Api, control: EmulatorClient) -> None:
    refused(api.get("/v1/treasury/financial_accounts"),
            "Unrecognized request URL (GET: /v1/treasury/financial_accounts). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/. (Hint: Have "
            "you onboarded to Treasury?)")
    control.configure(profile="full")
    # Onboarded: financial accounts are listed; a Treasury list the emulator does not serve is
    # an unknown URL as usual.
    assert api.ok("/v1/treasury/financial_accounts")["data"] == []
    assert api.error("/v1/treasury/outbound_payments", status=404)["message"].startswith(
        "Unrecognized request URL (GET: /v1/treasury/outbound_payments). Please see")


def test_the_full_profile_serves_every_product(api: Api, control: EmulatorClient) -> None:
    control.configure(profile="full")
    made = control.seed(UNAVAILABLE, seed=2)["created"]
    assert made == UNAVAILABLE
    for path in (*ISSUING_PATHS, "/v1/identity/verification_sessions",
                 "/v1/sigma/scheduled_query_runs", "/v1/accounts"):
        assert len(api.ids(path)) == 3, path
    card = api.ids("/v1/issuing/cards")[0]
    assert api.ok(f"/v1/issuing/cards/{card}")["id"] == card


def test_a_profile_can_be_set_per_account(api: Api, control: EmulatorClient) -> None:
    control.configure(profiles={PLATFORM: "full"})
    assert api.ok("/v1/issuing/cards")["data"] == []
    control.configure(profile="full", profiles={PLATFORM: "ordinary"})
    refused(api.get("/v1/issuing/cards"), ISSUING)
    # A connected account of a full platform has its own profile: ordinary by default.
    control.configure(profile="ordinary", profiles={PLATFORM: "full"})
    control.seed({"accounts": 1, "cards": 1}, seed=3)
    account = api.ids("/v1/accounts")[0]
    as_account = {"Stripe-Account": account}
    refused(api.get("/v1/issuing/cards", headers=as_account), ISSUING)
    assert control.seed({"cards": 2}, seed=4, account=account)["created"] == {"cards": 0}
    control.configure(profiles={PLATFORM: "full", account: "full"})
    assert api.ok("/v1/issuing/cards", headers=as_account)["data"] == []
    assert len(api.ids("/v1/issuing/cards")) == 1


def test_profiles_are_settings(emulator: Emulator, control: EmulatorClient) -> None:
    assert control.config()["profile"] == "ordinary"
    assert control.config()["profiles"] == {}
    with pytest.raises(ControlError, match="Unknown profile"):
        control.configure(profile="everything")
    with pytest.raises(ControlError, match="profiles maps account ids"):
        control.configure(profiles={PLATFORM: "everything"})
    with Emulator(port=0, profile="full", rate_limit=False) as other:
        assert other.client.config()["profile"] == "full"


def test_a_non_platform_lists_no_accounts_and_refuses_stripe_account(
        api: Api, control: EmulatorClient) -> None:
    assert api.ok("/v1/accounts") == {"object": "list", "data": [], "has_more": False,
                                      "url": "/v1/accounts"}
    response = api.get("/v1/customers", headers={"Stripe-Account": "acct_1Connected000001"})
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "platform_account_required",
        "doc_url": "https://stripe.com/docs/error-codes/platform-account-required",
        "message": NOT_A_PLATFORM, "type": "invalid_request_error"}
    assert api.get("/v1/account", headers={"Stripe-Account": PLATFORM}).status_code == 403
    assert api.error("/v1/accounts/acct_1Connected000001/persons", status=404)["message"] == (
        "No such account: 'acct_1Connected000001'")
    assert api.ok("/v1/account")["id"] == PLATFORM
    with pytest.raises(ControlError, match="not a Connect platform"):
        control.seed({"customers": 1}, account="acct_1Connected000001")


def test_a_platform_that_stops_being_one_has_no_accounts(api: Api,
                                                         control: EmulatorClient) -> None:
    control.configure(profile="full")
    control.seed({"accounts": 2, "persons": 3}, seed=5)
    account = api.ids("/v1/accounts")[0]
    control.seed({"customers": 2}, seed=6, account=account)
    control.configure(profile="ordinary")
    assert api.ok("/v1/accounts")["data"] == []
    assert api.error(f"/v1/accounts/{account}", status=404)["message"] == (
        f"No such account: '{account}'")
    assert api.error(f"/v1/accounts/{account}/persons", status=404)["code"] == "resource_missing"
    assert api.get("/v1/customers", headers={"Stripe-Account": account}).status_code == 403
    assert control.ground_truth("accounts") == []
    assert control.ground_truth("persons") == []
    assert control.ground_truth("customers", account=account) == []


def test_seeding_makes_nothing_of_a_product_the_account_lacks(
        api: Api, control: EmulatorClient) -> None:
    made = control.seed({**UNAVAILABLE, "customers": 3}, seed=7, years=0.01)
    assert made["created"] == {**{stream: 0 for stream in UNAVAILABLE}, "customers": 3}
    truth = control.ground_truth()
    assert all(truth[stream] == [] for stream in UNAVAILABLE)
    assert len(truth["customers"]) == 3
    types = {event["type"] for event in truth["events"]}
    assert types == {"customer.created"}
    assert {e["type"] for e in api.ok("/v1/events", {"limit": 100})["data"]} == types


def test_random_changes_skip_products_the_account_lacks(control: EmulatorClient) -> None:
    control.seed({"customers": 5}, seed=8)
    ops = control.mutate_random(40, seed=9, streams=["cards", "customers", "accounts"])["ops"]
    assert len(ops) == 40 and {op["stream"] for op in ops} == {"customers"}
    assert control.mutate_random(10, seed=9, streams=["cards"])["ops"] == []
    everything = control.mutate_random(200, seed=10)["events"]
    assert not [e for e in everything if e["type"].split(".")[0] in (
        "issuing_card", "issuing_cardholder", "issuing_authorization", "issuing_transaction",
        "issuing_dispute", "identity", "sigma", "account", "person")]


def test_explicit_changes_get_the_apis_refusal(control: EmulatorClient) -> None:
    with pytest.raises(ControlError, match="Your account is not set up to use Issuing"):
        control.create("cards")
    with pytest.raises(ControlError, match="Your account is not set up to use Identity"):
        control.create("identity_verification_sessions")
    with pytest.raises(ControlError, match="This API surface is not enabled for testmode"):
        control.create("scheduled_query_runs")
    with pytest.raises(ControlError, match="signed up for Connect"):
        control.create("accounts")
    control.configure(profile="full")
    card = control.create("cards")["ops"][0]["id"]
    control.configure(profile="ordinary")
    with pytest.raises(ControlError, match="not set up to use Issuing"):
        control.update("cards", card, {"metadata": {"a": "b"}})


def test_switching_profile_after_seeding_refuses_the_lists(api: Api,
                                                           control: EmulatorClient) -> None:
    control.configure(profile="full")
    control.seed({"cards": 4, "identity_verification_sessions": 2}, seed=11)
    assert len(control.ground_truth("cards")) == 4
    control.configure(profile="ordinary")
    refused(api.get("/v1/issuing/cards"), ISSUING)
    refused(api.get("/v1/identity/verification_sessions"), IDENTITY)
    assert control.ground_truth("cards") == []
    assert control.ground_truth("identity_verification_sessions") == []


def test_refusals_count_against_the_rate_limit(api: Api, control: EmulatorClient) -> None:
    control.configure(rate_limit=True, rate_limit_test=3)
    statuses = [api.get("/v1/issuing/cards").status_code for _ in range(8)]
    assert 400 in statuses and 429 in statuses
    assert set(statuses) == {400, 429}


def test_a_missing_permission_comes_before_a_missing_product(api: Api,
                                                             control: EmulatorClient) -> None:
    control.add_key(KEY, ["customers"])
    assert api.get("/v1/issuing/cards", key=KEY).status_code == 403
    control.add_key(KEY, ["customers", "cards"])
    refused(api.get("/v1/issuing/cards", key=KEY), ISSUING)


def test_restricted_keys_speak_the_old_wording_by_default(api: Api,
                                                          control: EmulatorClient) -> None:
    assert control.add_key(KEY, ["customers"])["wording"] == "old"
    error = api.error("/v1/charges", status=403, key=KEY)
    assert error == {"message": (
        f"The provided key '{MASKED}' does not have the required permissions for this endpoint "
        f"on account '{PLATFORM}'. Having the 'rak_charge_read' permission would allow this "
        "request to continue."), "type": "invalid_request_error"}


def test_restricted_keys_can_speak_the_new_wording(api: Api, control: EmulatorClient) -> None:
    control.add_key(KEY, ["customers"], wording="new")
    assert api.error("/v1/prices", status=403, key=KEY)["message"] == (
        f"The provided key '{MASKED}' does not have the required permissions for this endpoint "
        f"on account '{PLATFORM}'. Enabling \"Prices Read\" ('plan_read') permissions on this "
        "key would allow this request to continue.")
    assert api.error("/v1/customers/cus_x/payment_methods", status=403,
                     key=KEY)["message"].endswith(
        "Enabling \"PaymentMethods Read\" ('payment_method_read') permissions on this key would "
        "allow this request to continue.")
    with pytest.raises(ControlError, match="wording"):
        control.add_key(KEY, ["customers"], wording="newest")


def test_prices_and_plans_share_the_plan_permission(api: Api, control: EmulatorClient) -> None:
    control.add_key(KEY, ["prices"])
    assert control.add_key(KEY, ["prices"])["permissions"] == ["rak_plan_read"]
    assert api.get("/v1/plans", key=KEY).status_code == 200
    assert api.get("/v1/prices", key=KEY).status_code == 200


def test_the_account_needs_the_kyc_basic_permission(api: Api, control: EmulatorClient) -> None:
    control.add_key(KEY, ["customers"])
    assert api.error("/v1/account", status=403, key=KEY)["message"].endswith(
        "Having the 'rak_accounts_kyc_basic_read' permission would allow this request to "
        "continue.")
    control.add_key(KEY, ["rak_accounts_kyc_basic_read"])
    assert api.ok("/v1/account", key=KEY)["id"] == PLATFORM
    control.add_key(KEY, ["accounts_kyc_basic_read"])
    assert api.ok("/v1/account", key=KEY)["id"] == PLATFORM


def test_permissions_can_be_named_as_stripe_names_them(api: Api,
                                                       control: EmulatorClient) -> None:
    added = control.add_key(KEY, ["rak_customer_read", "event_read", "invoices"])
    assert added["permissions"] == ["rak_customer_read", "rak_event_read", "rak_invoice_read"]
    assert api.get("/v1/customers", key=KEY).status_code == 200
    assert api.get("/v1/events", key=KEY).status_code == 200
    assert api.get("/v1/invoiceitems", key=KEY).status_code == 200
    assert api.get("/v1/charges", key=KEY).status_code == 403
    with pytest.raises(ControlError, match="Unknown permission"):
        control.add_key(KEY, ["rak_nothing_read"])


def test_adding_a_key_again_replaces_its_permissions(api: Api, control: EmulatorClient) -> None:
    control.add_key(KEY, ["customers", "charges"])
    assert api.get("/v1/charges", key=KEY).status_code == 200
    control.add_key(KEY, ["customers"])
    assert api.get("/v1/charges", key=KEY).status_code == 403
    assert api.get("/v1/customers", key=KEY).status_code == 200
    listed = {k["key"]: k for k in requests.get(f"{api.url}/_emulator/keys",
                                                timeout=10).json()["keys"]}
    assert listed[KEY] == {"key": KEY, "livemode": False, "permissions": ["rak_customer_read"],
                           "wording": "old"}
