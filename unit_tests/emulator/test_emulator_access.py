"""Keys, modes, restricted permissions, Connect accounts, headers and unknown URLs."""

from __future__ import annotations

import base64
import re

import requests

from stripe_emulator import Emulator, EmulatorClient

from .support import LIVE_KEY, TEST_KEY, Api

PLATFORM = "acct_1EmulatorPlatfrm"


def test_every_answer_has_a_request_id_and_a_version(api: Api, control: EmulatorClient) -> None:
    for response in (api.get("/v1/customers"), api.get("/v1/nowhere"),
                     api.get("/v1/customers", key="sk_test_wrong_key_1234")):
        assert re.fullmatch(r"req_[A-Za-z0-9]{14}", response.headers["Request-Id"])
        assert response.headers["Stripe-Version"] == "2024-06-20"
    echoed = api.get("/v1/customers", headers={"Stripe-Version": "2023-10-16"})
    assert echoed.headers["Stripe-Version"] == "2023-10-16"


def test_bearer_and_basic_auth(emulator: Emulator, control: EmulatorClient) -> None:
    basic = base64.b64encode(f"{TEST_KEY}:".encode()).decode()
    response = requests.get(f"{emulator.url}/v1/customers",
                            headers={"Authorization": f"Basic {basic}"}, timeout=10)
    assert response.status_code == 200
    assert requests.get(f"{emulator.url}/v1/customers", auth=(TEST_KEY, ""),
                        timeout=10).status_code == 200


def test_a_wrong_key_is_401_with_the_key_masked(emulator: Emulator, api: Api) -> None:
    key = "sk_test_51Hq2mLkj8f7dSecretPartxyz1"
    response = api.get("/v1/customers", key=key)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Invalid API Key provided: sk_test_")
    assert error["message"].endswith("*xyz1")
    assert "SecretPart" not in error["message"]
    missing = requests.get(f"{emulator.url}/v1/customers", timeout=10)
    assert missing.status_code == 401
    assert "You did not provide an API key" in missing.json()["error"]["message"]


def test_mode_comes_from_the_key(api: Api, control: EmulatorClient) -> None:
    control.seed({"customers": 3}, seed=1)
    control.seed({"customers": 2}, seed=2, livemode=True)
    test = api.ok("/v1/customers")["data"]
    live = api.ok("/v1/customers", key=LIVE_KEY)["data"]
    assert len(test) == 3 and not any(c["livemode"] for c in test)
    assert len(live) == 2 and all(c["livemode"] for c in live)


def test_a_restricted_key_reads_only_what_it_may(api: Api, control: EmulatorClient) -> None:
    key = "rk_test_51Limited0000000000abc123"
    control.add_key(key, ["customers", "events"])
    control.seed({"customers": 2, "charges": 2}, seed=3)
    assert len(api.ok("/v1/customers", key=key)["data"]) == 2
    assert api.get("/v1/events", key=key).status_code == 200
    response = api.get("/v1/charges", key=key)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == (
        f"The provided key 'rk_test_{'*' * 19}abc123' does not have the required permissions "
        f"for this endpoint on account '{PLATFORM}'. Having the 'rak_charge_read' permission "
        "would allow this request to continue.")
    assert api.get("/v1/customers/cus_x/payment_methods",
                   key=key).json()["error"]["message"].endswith(
        "Having the 'rak_payment_method_read' permission would allow this request to continue.")
    control.remove_key(key)
    assert api.get("/v1/customers", key=key).status_code == 401


def test_stripe_account_scopes_every_call(api: Api, control: EmulatorClient) -> None:
    control.configure(profile="full")  # a Connect platform
    control.seed({"accounts": 2, "customers": 4}, seed=4)
    accounts = api.ids("/v1/accounts")
    assert len(accounts) == 2
    first, second = accounts
    control.seed({"customers": 3}, seed=5, account=first)
    control.seed({"customers": 1}, seed=6, account=second)
    as_first = api.ok("/v1/customers", headers={"Stripe-Account": first})["data"]
    as_second = api.ok("/v1/customers", headers={"Stripe-Account": second})["data"]
    platform = api.ok("/v1/customers")["data"]
    assert (len(platform), len(as_first), len(as_second)) == (4, 3, 1)
    assert not {c["id"] for c in as_first} & {c["id"] for c in platform}
    own = platform[0]["id"]
    assert api.get(f"/v1/customers/{own}",
                   headers={"Stripe-Account": first}).status_code == 404
    made = control.create("customers", account=first)["events"][0]
    assert made["account"] == first
    events = api.ok("/v1/events", headers={"Stripe-Account": first})["data"]
    assert made["id"] in {e["id"] for e in events}
    assert made["id"] not in {e["id"] for e in api.ok("/v1/events")["data"]}
    truth = control.ground_truth("customers", account=first)
    assert [c["id"] for c in truth] == api.ids("/v1/customers",
                                               headers={"Stripe-Account": first})
    assert len(truth) == 4
    response = api.get("/v1/customers", headers={"Stripe-Account": "acct_x"})
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert "does not have access to account 'acct_x' (or that account does not exist). " \
           "Application access may have been revoked." in message
    # Test-mode connected accounts do not exist for live keys.
    assert api.get("/v1/customers", key=LIVE_KEY,
                   headers={"Stripe-Account": first}).status_code == 403
    assert api.ok("/v1/account", headers={"Stripe-Account": first})["id"] == first
    assert api.ok("/v1/account")["id"] == PLATFORM


def test_unknown_urls_are_404_like_stripe(api: Api, control: EmulatorClient) -> None:
    error = api.error("/v1/nowhere", status=404)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Unrecognized request URL (GET: /v1/nowhere).")
    assert api.error("/v1/charges/ch_1/extra", status=404)["message"].startswith(
        "Unrecognized request URL (GET: /v1/charges/ch_1/extra)")
