"""A Connect platform at scale: connected accounts made in bulk with their own data and
profiles, listed by ``created`` ranges, removed or disconnected, their events, their ground
truth and whose rate-limit budget their requests spend."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from stripe_emulator import Emulator, EmulatorClient
from stripe_emulator.config import mask_key
from stripe_emulator.control import ControlError

from .support import TEST_KEY, Api

PLATFORM = "acct_1EmulatorPlatfrm"
YEAR = 365 * 86400


@pytest.fixture
def platform(control: EmulatorClient) -> EmulatorClient:
    control.configure(profiles={PLATFORM: "full"})
    return control


def as_account(account: str) -> dict[str, str]:
    return {"Stripe-Account": account}


def every_id(api: Api, path: str, params: dict[str, Any] | None = None,
             account: str | None = None) -> list[str]:
    headers = as_account(account) if account else None
    query: dict[str, Any] = {"limit": 100, **(params or {})}
    ids: list[str] = []
    while True:
        page = api.ok(path, query, headers=headers)
        ids += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            return ids
        query["starting_after"] = ids[-1]


def refused(account: str) -> str:
    return (f"The provided key '{mask_key(TEST_KEY, 4)}' does not have access to account "
            f"'{account}' (or that account does not exist). Application access may have been "
            "revoked.")


def test_accounts_are_made_in_bulk_each_with_its_own_data(
        api: Api, platform: EmulatorClient, emulator: Emulator) -> None:
    answer = requests.post(f"{emulator.url}/_emulator/accounts", timeout=60, json={
        "count": 20, "seed": 1, "counts": {"customers": 15, "invoices": 4}}).json()
    ids = answer["ids"]
    assert answer["created"]["accounts"] == 20 and answer["created"]["customers"] == 300
    assert answer["seconds"] >= 0
    assert len(set(ids)) == 20 and all(i.startswith("acct_") for i in ids)
    assert sorted(every_id(api, "/v1/accounts")) == sorted(ids)
    customers: set[str] = set()
    for account in ids[:5]:
        listed = every_id(api, "/v1/customers", account=account)
        assert len(listed) == 15
        assert [c["id"] for c in platform.ground_truth("customers", account=account)] == listed
        assert api.ok("/v1/account", headers=as_account(account))["id"] == account
        customers |= set(listed)
    assert len(customers) == 75
    # The platform's own data is apart.
    assert api.ok("/v1/customers")["data"] == []
    # Connected over the years asked for, each at its own time.
    created = [a["created"] for a in api.ok("/v1/accounts", {"limit": 100})["data"]]
    now = platform.clock()
    assert len(set(created)) == 20
    assert all(now - 3 * YEAR - 5 <= c <= now for c in created)
    # The same seed makes the same accounts with the same data.
    first = every_id(api, "/v1/customers", account=ids[0])
    platform.reset()
    assert platform.create_accounts(20, {"customers": 15, "invoices": 4}, seed=1) == ids
    assert every_id(api, "/v1/customers", account=ids[0]) == first


def test_each_account_can_have_its_own_id_time_data_and_profile(
        api: Api, platform: EmulatorClient) -> None:
    ids = platform.create_accounts(2, {"customers": 2}, seed=2, profile="ordinary", accounts=[
        {"id": "acct_1FullAccount00001", "profile": "full", "counts": {"cardholders": 3},
         "created": 1_600_000_000, "api_version": "2023-10-16"},
        {"id": "acct_1NoIssuing0000001", "counts": {"cardholders": 3, "customers": 1}},
    ])
    assert ids[:2] == ["acct_1FullAccount00001", "acct_1NoIssuing0000001"] and len(ids) == 4
    full, ordinary = ids[0], ids[1]
    assert api.ok(f"/v1/accounts/{full}")["created"] == 1_600_000_000
    assert len(api.ok("/v1/issuing/cardholders", headers=as_account(full))["data"]) == 3
    assert api.ok("/v1/customers", headers=as_account(full))["data"] == []
    error = api.error("/v1/issuing/cardholders", headers=as_account(ordinary))
    assert error["message"].startswith("Your account is not set up to use Issuing.")
    assert len(api.ok("/v1/customers", headers=as_account(ordinary))["data"]) == 1
    assert len(api.ok("/v1/customers", headers=as_account(ids[3]))["data"]) == 2
    assert api.get("/v1/customers", headers=as_account(full)).headers[
        "Stripe-Version"] == "2023-10-16"
    assert platform.config()["api_versions"] == {full: "2023-10-16"}
    profiles = platform.config()["profiles"]
    assert profiles[full] == "full" and profiles[ordinary] == profiles[ids[2]] == "ordinary"
    states = {a["id"]: a for a in platform.accounts()}
    assert states[full] == {"id": full, "access": "active", "created": 1_600_000_000,
                            "profile": "full", "api_version": "2023-10-16"}


def test_bad_requests_for_accounts_are_refused(control: EmulatorClient) -> None:
    with pytest.raises(ControlError, match="is not a Connect platform"):
        control.create_accounts(3)
    control.configure(profiles={PLATFORM: "full"})
    control.create_accounts(accounts=[{"id": "acct_1Taken0000000001"}])
    for kwargs, message in (
            ({"accounts": [{"id": "acct_1Taken0000000001"}]}, "already exists"),
            ({"accounts": [{"id": "acct_1Twice0000000001"}] * 2}, "given twice"),
            ({"accounts": [{"id": "cus_1"}]}, "looks like acct_"),
            ({"count": 1, "profile": "gold"}, "Unknown profile"),
            ({"count": 1, "counts": {"nonsense": 1}}, "Unknown stream"),
            ({"count": 1, "undated_share": 2}, "undated_share"),
            ({"count": 1, "api_version": "latest"}, "Invalid API version"),
            ({}, "Give count"),
            ({"count": -1}, "count is the number")):
        with pytest.raises(ControlError, match=message):
            control.create_accounts(**kwargs)
    assert [a["id"] for a in control.accounts()] == ["acct_1Taken0000000001"]


def test_created_ranges_split_a_thousand_accounts_into_each_exactly_once(
        api: Api, platform: EmulatorClient) -> None:
    started = time.perf_counter()
    ids = platform.create_accounts(1000, {"customers": 1}, seed=3)
    assert time.perf_counter() - started < 60
    now = int(platform.clock())
    everything = api.ok("/v1/accounts", {"limit": 100})
    created = [a["created"] for a in everything["data"]]
    assert created == sorted(created, reverse=True) and everything["has_more"] is True
    bounds = [now - 3 * YEAR - 10, *(now - YEAR * k // 4 for k in range(11, 0, -1)), now + 1]
    seen: list[str] = []
    for low, high in zip(bounds, bounds[1:], strict=False):
        chunk = every_id(api, "/v1/accounts", {"created[gte]": low, "created[lt]": high})
        seen += chunk
    assert len(seen) == 1000 and set(seen) == set(ids)
    # ending_before pages back up to the newest.
    oldest = every_id(api, "/v1/accounts")[-1]
    back: list[str] = []
    cursor = oldest
    while True:
        page = api.ok("/v1/accounts", {"limit": 100, "ending_before": cursor})
        back = [a["id"] for a in page["data"]] + back
        if not page["has_more"]:
            break
        cursor = page["data"][0]["id"]
    assert back + [oldest] == every_id(api, "/v1/accounts")


def test_accounts_without_created_match_no_created_filter(
        api: Api, platform: EmulatorClient) -> None:
    ids = platform.create_accounts(40, seed=4, accounts=[{"created": None}] * 3,
                                   undated_share=0.25)
    listed = api.ok("/v1/accounts", {"limit": 100})["data"]
    undated = {a["id"] for a in listed if "created" not in a}
    assert set(ids[:3]) <= undated and 3 < len(undated) < 25
    assert {a["id"] for a in listed} == set(ids)
    dated = every_id(api, "/v1/accounts", {"created[gte]": 0})
    assert set(dated) == set(ids) - undated
    # The unfiltered list has them after every dated account.
    everything = every_id(api, "/v1/accounts")
    assert everything[:len(dated)] == dated and set(everything[len(dated):]) == undated
    assert set(every_id(api, "/v1/accounts", {"starting_after": dated[-1]})) == undated
    assert every_id(api, "/v1/accounts", {"created[lt]": int(platform.clock()) + 10}) == dated
    assert "created" not in api.ok(f"/v1/accounts/{ids[0]}")
    assert "created" not in api.ok("/v1/account", headers=as_account(ids[0]))
    assert {a["id"] for a in platform.accounts() if a["created"] is None} == undated


def test_a_removed_account_is_gone_and_refused(api: Api, platform: EmulatorClient) -> None:
    gone, kept = platform.create_accounts(2, {"customers": 3}, seed=5)
    # Persons are the platform's view of its accounts: seeded on it, spread over them.
    platform.seed({"persons": 8}, seed=5)
    assert {p["account"] for p in platform.ground_truth("persons")} == {gone, kept}
    assert platform.remove_account(gone) == "removed"
    assert every_id(api, "/v1/accounts") == [kept]
    for path in ("/v1/customers", "/v1/events", "/v1/account"):
        response = api.get(path, headers=as_account(gone))
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "account_invalid" and error["message"] == refused(gone)
        assert error["type"] == "invalid_request_error"
    for path in (f"/v1/accounts/{gone}", f"/v1/accounts/{gone}/persons"):
        assert api.error(path, status=403)["message"] == refused(gone)
    assert len(api.ok("/v1/customers", headers=as_account(kept))["data"]) == 3
    truth = platform._call("GET", "ground_truth", params={"account": gone})
    assert truth["access"] == "removed" and truth["streams"]["customers"] == []
    assert {p["account"] for p in platform.ground_truth("persons")} == {kept}
    with pytest.raises(ControlError, match="was removed"):
        platform.seed({"customers": 1}, account=gone)
    with pytest.raises(ControlError, match="cannot be revoked or restored"):
        platform.restore_account(gone)
    assert platform.remove_account(gone) == "removed"
    with pytest.raises(ControlError, match="No such connected account"):
        platform.remove_account("acct_1NeverExisted0001")
    assert {a["id"]: a["access"] for a in platform.accounts()} == {gone: "removed",
                                                                   kept: "active"}


def test_a_revoked_account_is_refused_until_restored_with_its_data(
        api: Api, platform: EmulatorClient) -> None:
    account, other = platform.create_accounts(2, {"customers": 3}, seed=6, years=0.05)
    before = every_id(api, "/v1/events", account=account)
    assert platform.revoke_account(account) == "revoked"
    assert every_id(api, "/v1/accounts") == [other]
    for path in ("/v1/customers", "/v1/events"):
        response = api.get(path, headers=as_account(account))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "account_invalid"
        assert response.json()["error"]["message"] == refused(account)
    assert api.error(f"/v1/accounts/{account}", status=403)["code"] == "account_invalid"
    assert platform.ground_truth("customers", account=account) == []
    # Its owner goes on working while the platform is locked out.
    made = platform.create("customers", account=account)
    new_customer, new_event = made["ops"][0]["id"], made["events"][0]["id"]
    assert platform.revoke_account(account) == "revoked"
    assert platform.restore_account(account) == "active"
    assert sorted(every_id(api, "/v1/accounts")) == sorted([account, other])
    customers = every_id(api, "/v1/customers", account=account)
    assert len(customers) == 4 and customers[0] == new_customer
    assert every_id(api, "/v1/events", account=account) == [new_event, *before]
    assert len(platform.ground_truth("customers", account=account)) == 4


def test_each_accounts_events_are_its_own(api: Api, platform: EmulatorClient) -> None:
    first, second = platform.create_accounts(2, {"customers": 10, "invoices": 5}, seed=7,
                                             years=0.01)
    platform.seed({"customers": 5}, seed=8, years=0.01)
    platform_events = set(every_id(api, "/v1/events"))
    second_events = set(every_id(api, "/v1/events", account=second))
    made = platform.mutate_random(30, seed=9, streams=["customers", "invoices"], account=first)
    made_ids = [event["id"] for event in made["events"]]
    assert made_ids and all(event["account"] == first for event in made["events"])
    listed = api.ok("/v1/events", {"limit": 100}, headers=as_account(first))["data"]
    assert set(made_ids) <= {event["id"] for event in listed}
    assert all(event["account"] == first for event in listed)
    assert set(every_id(api, "/v1/events", account=second)) == second_events
    assert set(every_id(api, "/v1/events")) == platform_events
    created = platform.create("customers", account=second)["events"][0]
    assert created["account"] == second
    assert every_id(api, "/v1/events", account=second)[0] == created["id"]
    truth = [event["id"] for event in platform.ground_truth("events", account=first)]
    assert truth == every_id(api, "/v1/events", account=first)


def drain(api: Api, account: str | None) -> int:
    """Requests until the first 429 (the bucket holds one second's worth)."""
    headers = as_account(account) if account else None
    for sent in range(1, 20):
        if api.get("/v1/customers", headers=headers).status_code == 429:
            return sent - 1
    raise AssertionError("never rate limited")


def test_connected_accounts_share_the_platforms_budget_by_default(
        api: Api, platform: EmulatorClient) -> None:
    first, second = platform.create_accounts(2, seed=10)
    platform.configure(rate_limit=True, rate_limit_test=1)
    platform.reset_stats()
    assert platform.config()["rate_limit_scope"] == "platform"
    assert drain(api, first) == 1
    # One bucket: the second account and the platform find it empty too.
    assert api.get("/v1/customers", headers=as_account(second)).status_code == 429
    assert api.get("/v1/customers").status_code == 429
    stats = platform.stats()
    assert stats["by_account"] == {first: 2, second: 1, PLATFORM: 1}
    assert stats["rate_limited_by_account"] == {first: 1, second: 1, PLATFORM: 1}
    assert stats["rate_limited_by_reason"] == {"global-rate": 3}
    assert stats["rate_limit"] == {"enabled": True, "scope": "platform",
                                   "test_per_second": 1.0, "live_per_second": 100.0,
                                   "per_endpoint_per_second": None, "buckets": 1,
                                   "concurrency": None, "endpoint_concurrency": None,
                                   "merchant_per_second": 0.0}


def test_with_scope_account_each_connected_account_has_its_own_budget(
        api: Api, platform: EmulatorClient) -> None:
    first, second = platform.create_accounts(2, seed=11)
    platform.configure(rate_limit=True, rate_limit_test=1, rate_limit_scope="account")
    platform.reset_stats()
    assert drain(api, first) == 1
    assert drain(api, second) == 1
    assert api.get("/v1/customers").status_code == 200
    stats = platform.stats()
    assert stats["rate_limited_by_account"] == {first: 1, second: 1}
    assert stats["by_account"] == {first: 2, second: 2, PLATFORM: 1}
    assert stats["rate_limit"]["scope"] == "account" and stats["rate_limit"]["buckets"] == 3
    with pytest.raises(ControlError, match="rate_limit_scope is one of platform, account"):
        platform.configure(rate_limit_scope="endpoint")
